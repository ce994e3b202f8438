/// `<rewrite-uri template="/v2/{id}" copy-unmatched-params="true"/>`: rewrites the public URL into
/// the backend's form; `{name}` takes a matched template parameter.
public struct RewriteURIPolicy: Sendable, PolicyDefinition {
    public let template: PolicyParameter<String>
    public let copyUnmatchedParameters: PolicyParameter<Bool>

    static let schema = PolicySchema(
        "rewrite-uri", sections: [.inbound],
        attributes: [
            PolicyAttributeSpec("template", .nonEmptyText, required: true),
            PolicyAttributeSpec("copy-unmatched-params", .boolean, default: "true"),
        ])

    /// Nil when every `{` has a name and a matching `}`; otherwise the problem.
    static func templateProblem(_ template: String) -> String? {
        var open = false
        var name = ""
        for character in template {
            switch character {
            case "{":
                if open { return "'{' inside a parameter name" }
                open = true
                name = ""
            case "}":
                if !open { return "'}' without a matching '{'" }
                if name.isEmpty { return "an empty parameter name '{}'" }
                open = false
            default:
                if open { name.append(character) }
            }
        }
        return open ? "'{' is never closed" : nil
    }

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        guard let template = reader.string("template"), let copy = reader.boolean("copy-unmatched-params") else { return nil }
        if let literal = template.constant, let problem = templateProblem(literal) {
            reader.error(attribute: "template", "invalid URI template \(reader.quote(literal, attribute: "template")) in \(reader.tag): \(problem)")
            return nil
        }
        return .rewriteURI(RewriteURIPolicy(template: template, copyUnmatchedParameters: copy))
    }
}
