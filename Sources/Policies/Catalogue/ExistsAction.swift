/// What `set-header` and `set-query-parameter` do when the name is already present.
public enum ExistsAction: String, Sendable, Hashable, CaseIterable {
    /// Replace the existing values.
    case override
    /// Keep the existing values; set only when absent.
    case skip
    /// Add the values after the existing ones.
    case append
    /// Remove the header or parameter.
    case delete

    static let words = allCases.map(\.rawValue)
}

/// The shared shape of `set-header` and `set-query-parameter`: a name, an exists-action and values.
struct NamedValuesSetting {
    let name: PolicyParameter<String>
    let existsAction: PolicyParameter<ExistsAction>
    let values: [PolicyParameter<String>]

    static func attributes() -> [PolicyAttributeSpec] {
        [
            PolicyAttributeSpec("name", .nonEmptyText, required: true),
            PolicyAttributeSpec("exists-action", .choice(ExistsAction.words), default: ExistsAction.override.rawValue),
        ]
    }

    static let valueSchema = PolicySchema("value", allowsText: true)

    init?(_ reader: PolicyElementReader) {
        let values = reader.children(named: "value", Self.valueSchema).map { $0.text ?? .constant("") }
        guard let name = reader.string("name"), let existsAction = reader.choice("exists-action", as: ExistsAction.self)
        else { return nil }
        if existsAction.constant == .delete, !values.isEmpty {
            reader.context.warning(
                at: reader.element.position, "\(reader.tag) with exists-action 'delete' ignores its '<value>' elements")
        }
        self.name = name
        self.existsAction = existsAction
        self.values = values
    }
}
