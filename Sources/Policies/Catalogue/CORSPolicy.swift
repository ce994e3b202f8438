import Foundation

/// `<cors>`: answers preflight requests and adds CORS headers. Everything is literal.
public struct CORSPolicy: Sendable, PolicyDefinition {
    public enum Origin: Sendable, Hashable {
        case any
        case exactly(String)
    }

    public let allowCredentials: Bool
    /// When true, a preflight or request from an origin not allowed gets no CORS headers and
    /// (for preflight) an empty 200 (APIM's documented behaviour; the pipeline implements it).
    public let terminateUnmatchedRequest: Bool
    public let allowedOrigins: [Origin]
    /// Empty means the defaults of the spec (GET, POST); `["*"]` means any.
    public let allowedMethods: [String]
    /// Seconds a browser may cache a preflight result.
    public let preflightResultMaxAge: Int?
    public let allowedHeaders: [String]
    public let exposeHeaders: [String]

    static let schema = PolicySchema(
        "cors", sections: [.inbound],
        attributes: [
            PolicyAttributeSpec("allow-credentials", .boolean, default: "false", expressions: false),
            PolicyAttributeSpec("terminate-unmatched-request", .boolean, default: "true", expressions: false),
        ],
        children: .elements(["allowed-origins", "allowed-methods", "allowed-headers", "expose-headers"]))
    static let originsSchema = PolicySchema("allowed-origins", children: .elements(["origin"]))
    static let methodsSchema = PolicySchema(
        "allowed-methods",
        attributes: [PolicyAttributeSpec("preflight-result-max-age", .integer(0...Int.max), expressions: false)],
        children: .elements(["method"]))
    static let headersSchema = PolicySchema("allowed-headers", children: .elements(["header"]))
    static let exposeSchema = PolicySchema("expose-headers", children: .elements(["header"]))

    /// The literal texts of a list element's items (`<origin>`, `<method>`, `<header>`).
    private static func items(_ list: PolicyElementReader, _ itemName: String) -> [(text: String, position: SourcePosition, shown: String)] {
        list.children(named: itemName, PolicySchema(itemName, allowsText: true)).compactMap { item in
            let position = item.element.textNodes.first?.position ?? item.element.position
            guard case .literal(let text)? = item.element.textValue else {
                list.context.error(at: position, "'<\(itemName)>' requires literal text")
                return nil
            }
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            return (trimmed, position, item.quoteText(trimmed))
        }
    }

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        for name in ["allowed-origins", "allowed-methods", "allowed-headers", "expose-headers"] { reader.atMostOne(name) }
        let allowCredentials = reader.literal("allow-credentials").flatMap(PolicyAttributeType.boolean)
        let terminate = reader.literal("terminate-unmatched-request").flatMap(PolicyAttributeType.boolean)
        let originsElement = reader.element.childElements.first { $0.name == "allowed-origins" }
        guard let originsElement else {
            reader.error("'<cors>' requires '<allowed-origins>'")
            return nil
        }
        let originsReader = reader.child(originsElement, originsSchema)
        var origins: [Origin] = []
        for (text, position, shown) in items(originsReader, "origin") {
            if text == "*" {
                origins.append(.any)
                if allowCredentials == true {
                    reader.context.error(at: position, "'<cors allow-credentials=\"true\">' cannot allow the origin '*'; list the origins")
                }
            } else if let url = PolicyAttributeType.absoluteURL(text), url.path.isEmpty || url.path == "/", url.query == nil {
                origins.append(.exactly(text.hasSuffix("/") ? String(text.dropLast()) : text))
            } else {
                reader.context.error(at: position, "invalid origin \(shown): expected '*' or a scheme and host such as 'https://example.com'")
            }
        }
        if origins.isEmpty, originsReader.isValid {
            originsReader.error("'<allowed-origins>' requires at least one '<origin>'")
        }
        var methods: [String] = []
        var maxAge: Int? = nil
        if let element = reader.element.childElements.first(where: { $0.name == "allowed-methods" }) {
            let methodsReader = reader.child(element, methodsSchema)
            maxAge = methodsReader.integer("preflight-result-max-age")?.constant
            for (text, position, shown) in items(methodsReader, "method") {
                if text == "*" || SetMethodPolicy.isToken(text) {
                    methods.append(text == "*" ? text : text.uppercased())
                } else {
                    reader.context.error(at: position, "invalid HTTP method \(shown) in '<allowed-methods>'")
                }
            }
        }
        var lists: [[String]] = []
        for (name, schema) in [("allowed-headers", headersSchema), ("expose-headers", exposeSchema)] {
            var headers: [String] = []
            if let element = reader.element.childElements.first(where: { $0.name == name }) {
                for (text, position, shown) in items(reader.child(element, schema), "header") {
                    if text == "*" || SetMethodPolicy.isToken(text) {
                        headers.append(text)
                    } else {
                        reader.context.error(at: position, "invalid header name \(shown) in '<\(name)>'")
                    }
                }
            }
            lists.append(headers)
        }
        guard let allowCredentials, let terminate else { return nil }
        return .cors(
            CORSPolicy(
                allowCredentials: allowCredentials, terminateUnmatchedRequest: terminate, allowedOrigins: origins,
                allowedMethods: methods, preflightResultMaxAge: maxAge, allowedHeaders: lists[0], exposeHeaders: lists[1]))
    }
}
