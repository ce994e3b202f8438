import Foundation

/// `<send-request mode="new|copy" response-variable-name="r" timeout="60" ignore-error="false">`
/// with `<set-url>`, `<set-method>`, `<set-header>`s, `<set-body>` and `<authentication-certificate>`:
/// a side call whose response is stored in a variable.
public struct SendRequestPolicy: Sendable, PolicyDefinition {
    public enum Mode: String, Sendable, Hashable {
        /// A request with nothing copied from the current one.
        case new
        /// A copy of the current request, then modified.
        case copy
    }

    public let mode: PolicyParameter<Mode>
    public let responseVariableName: String
    /// Seconds (APIM: 60).
    public let timeout: PolicyParameter<Int>
    /// When true, a failed call stores null in the variable instead of raising an error.
    public let ignoreError: PolicyParameter<Bool>
    public let url: PolicyParameter<String>?
    public let method: SetMethodPolicy?
    public let headers: [SetHeaderPolicy]
    public let body: SetBodyPolicy?
    public let authenticationCertificate: AuthenticationCertificatePolicy?

    static let schema = PolicySchema(
        "send-request",
        attributes: [
            PolicyAttributeSpec("mode", .choice(["new", "copy"]), default: "new"),
            PolicyAttributeSpec("response-variable-name", .nonEmptyText, required: true, expressions: false),
            PolicyAttributeSpec("timeout", .integer(1...240_000), default: "60"),
            PolicyAttributeSpec("ignore-error", .boolean, default: "false"),
        ],
        children: .elements([
            "set-url", "set-method", "set-header", "set-body", "authentication-certificate", "authentication-managed-identity",
            "proxy",
        ]))
    /// APIM children of send-request that Drawbridge does not implement.
    static let unsupportedChildren: Set<String> = ["authentication-managed-identity", "proxy"]
    static let urlSchema = PolicySchema("set-url", allowsText: true)

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        for name in ["set-url", "set-method", "set-body", "authentication-certificate"] { reader.atMostOne(name) }
        var url: PolicyParameter<String>? = nil
        if let element = reader.element.childElements.first(where: { $0.name == "set-url" }) {
            let urlReader = reader.child(element, urlSchema)
            url = urlReader.text
            if let literal = url?.constant?.trimmingCharacters(in: .whitespacesAndNewlines) {
                if PolicyAttributeType.absoluteURL(literal) == nil {
                    reader.context.error(
                        at: element.textNodes.first?.position ?? element.position,
                        "invalid URL \(urlReader.quoteText(literal)) in '<set-url>': expected an absolute http or https URL")
                }
                url = .constant(literal)
            } else if url == nil {
                urlReader.error("'<set-url>' requires the URL as its text")
            }
        }
        var method: SetMethodPolicy? = nil
        var headers: [SetHeaderPolicy] = []
        var body: SetBodyPolicy? = nil
        var certificate: AuthenticationCertificatePolicy? = nil
        // The children look like policies, but belong to the side request: read them with the
        // policies' own rules, without the section check (set-method is fine here in any section).
        for child in reader.element.childElements {
            switch child.name {
            case "set-method": method = SetMethodPolicy.make(reader.child(child, SetMethodPolicy.schema))
            case "set-header": SetHeaderPolicy.make(reader.child(child, SetHeaderPolicy.schema)).map { headers.append($0) }
            case "set-body": body = SetBodyPolicy.make(reader.child(child, SetBodyPolicy.schema))
            case "authentication-certificate":
                certificate = AuthenticationCertificatePolicy.make(reader.child(child, AuthenticationCertificatePolicy.schema))
            case let name where unsupportedChildren.contains(name):
                reader.context.unsupported(child)
            default: break
            }
        }
        guard let mode = reader.choice("mode", as: Mode.self), let variable = reader.literal("response-variable-name"),
            let timeout = reader.integer("timeout"), let ignoreError = reader.boolean("ignore-error")
        else { return nil }
        if mode.constant == .new, url == nil, reader.isValid {
            reader.error("'<send-request mode=\"new\">' requires '<set-url>'")
            return nil
        }
        return .sendRequest(
            SendRequestPolicy(
                mode: mode, responseVariableName: variable, timeout: timeout, ignoreError: ignoreError, url: url,
                method: method, headers: headers, body: body, authenticationCertificate: certificate))
    }
}
