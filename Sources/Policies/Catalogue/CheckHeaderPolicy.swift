/// `<check-header name="…" failed-check-httpcode="401" failed-check-error-message="…" ignore-case="true">`
/// with optional `<value>`s: the header must be present (and, with values, equal one of them).
public struct CheckHeaderPolicy: Sendable, PolicyDefinition {
    public let name: PolicyParameter<String>
    public let failedCheckHTTPCode: PolicyParameter<Int>
    public let failedCheckErrorMessage: PolicyParameter<String>
    public let ignoreCase: PolicyParameter<Bool>
    /// Empty: presence is enough.
    public let values: [PolicyParameter<String>]

    static let schema = PolicySchema(
        "check-header", sections: [.inbound, .outbound],
        attributes: [
            PolicyAttributeSpec("name", .nonEmptyText, required: true),
            PolicyAttributeSpec("failed-check-httpcode", .integer(100...599), required: true),
            PolicyAttributeSpec("failed-check-error-message", required: true),
            PolicyAttributeSpec("ignore-case", .boolean, required: true),
        ],
        children: .elements(["value"]))

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        let values = NamedValuesSetting.values(reader)
        guard let values, let name = reader.string("name"), NamedValuesSetting.checkName(reader, name),
            let code = reader.integer("failed-check-httpcode"),
            let message = reader.string("failed-check-error-message"), let ignoreCase = reader.boolean("ignore-case")
        else { return nil }
        return .checkHeader(
            CheckHeaderPolicy(name: name, failedCheckHTTPCode: code, failedCheckErrorMessage: message, ignoreCase: ignoreCase, values: values))
    }
}
