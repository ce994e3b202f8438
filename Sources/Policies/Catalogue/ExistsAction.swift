import Foundation

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

    /// The `<value>` children: literal text is trimmed (surrounding whitespace is layout, and HTTP
    /// drops it anyway) and must not contain line breaks or other control characters, which would
    /// let a policy inject headers.
    static func values(_ reader: PolicyElementReader) -> [PolicyParameter<String>]? {
        var valid = true
        let values = reader.children(named: "value", valueSchema).map { value -> PolicyParameter<String> in
            guard let text = value.text else { return .constant("") }
            guard let literal = text.constant else { return text }
            let trimmed = literal.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\t" || $0.value == 0x7F }) {
                reader.context.error(
                    at: value.element.textNodes.first?.position ?? value.element.position,
                    "'<value>' of \(reader.tag) contains a line break or control character")
                valid = false
            }
            return .constant(trimmed)
        }
        return valid ? values : nil
    }

    /// A literal name must be an HTTP token (RFC 9110); expressions are checked at run time.
    static func checkName(_ reader: PolicyElementReader, _ name: PolicyParameter<String>) -> Bool {
        guard let literal = name.constant, !literal.isEmpty, !SetMethodPolicy.isToken(literal) else { return true }  // empty: already reported
        reader.error(attribute: "name", "invalid name \(reader.quote(literal, attribute: "name")) in \(reader.tag): expected letters, digits and !#$%&'*+-.^_`|~")
        return false
    }

    init?(_ reader: PolicyElementReader, checkTokenName: Bool) {
        let values = Self.values(reader)
        guard let values, let name = reader.string("name"), let existsAction = reader.choice("exists-action", as: ExistsAction.self)
        else { return nil }
        if checkTokenName, !Self.checkName(reader, name) { return nil }
        if existsAction.constant == .delete, !values.isEmpty {
            reader.context.warning(
                at: reader.element.position, "\(reader.tag) with exists-action 'delete' ignores its '<value>' elements")
        }
        self.name = name
        self.existsAction = existsAction
        self.values = values
    }
}
