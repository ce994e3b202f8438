import Foundation
import PolicyExpressions

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

// MARK: Run

extension CORSPolicy {
    struct Step: SynchronousPolicyStep {
        let policy: CORSPolicy

        func run(_ execution: PolicyExecution, _ step: CompiledStep) throws -> Flow { execution.cors(policy) }
    }

    func compile(_ compiler: inout StepCompiler) -> (any SynchronousPolicyStep)? { Step(policy: self) }
}

/// `cors`: answers preflight requests itself and adds the CORS headers to the response of allowed
/// cross-origin requests. Unmatched requests end with an empty 200 when `terminate-unmatched-request`
/// is true (the default), else go on without CORS headers.
extension PolicyExecution {
    func cors(_ policy: CORSPolicy) -> Flow {
        guard let origin = HeaderList.values(state.requestHeaders, "Origin").first else { return .proceed }
        let originAllowed = policy.allowedOrigins.contains { allowed in
            switch allowed {
            case .any: return true
            case .exactly(let text): return text.caseInsensitiveCompare(origin) == .orderedSame
            }
        }
        let allowOrigin = policy.allowedOrigins.contains(.any) && !policy.allowCredentials ? "*" : origin
        let methods = policy.allowedMethods.isEmpty ? ["GET", "POST"] : policy.allowedMethods
        let isPreflight = state.method == "OPTIONS" && !HeaderList.values(state.requestHeaders, "Access-Control-Request-Method").isEmpty
        if isPreflight {
            let method = HeaderList.values(state.requestHeaders, "Access-Control-Request-Method").first?.trimmingCharacters(in: .whitespaces) ?? ""
            let requested = HeaderList.values(state.requestHeaders, "Access-Control-Request-Headers")
                .flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            let methodAllowed = methods.contains("*") || methods.contains { $0.caseInsensitiveCompare(method) == .orderedSame }
            let headersAllowed = policy.allowedHeaders.contains("*") || requested.allSatisfy { header in
                policy.allowedHeaders.contains { $0.caseInsensitiveCompare(header) == .orderedSame }
            }
            guard originAllowed, methodAllowed, headersAllowed else {
                state.record(.info, "cors: preflight not matched")
                return policy.terminateUnmatchedRequest ? endEmpty() : .proceed
            }
            var headers = [PolicyHeader("Access-Control-Allow-Origin", allowOrigin)]
            if policy.allowCredentials { headers.append(PolicyHeader("Access-Control-Allow-Credentials", "true")) }
            headers.append(PolicyHeader("Access-Control-Allow-Methods", methods.contains("*") ? method : methods.joined(separator: ",")))
            if !requested.isEmpty {
                headers.append(PolicyHeader("Access-Control-Allow-Headers", policy.allowedHeaders.contains("*") ? requested.joined(separator: ",") : policy.allowedHeaders.joined(separator: ",")))
            }
            if let maxAge = policy.preflightResultMaxAge { headers.append(PolicyHeader("Access-Control-Max-Age", String(maxAge))) }
            if allowOrigin != "*" { headers.append(PolicyHeader("Vary", "Origin")) }
            state.record(.info, "cors: preflight answered")
            _ = endEmpty()
            state.responseHeaders = headers
            return .stop
        }
        guard originAllowed else {
            state.record(.info, "cors: origin not allowed")
            return policy.terminateUnmatchedRequest ? endEmpty() : .proceed
        }
        extraResponseHeaders.append(PolicyHeader("Access-Control-Allow-Origin", allowOrigin))
        if policy.allowCredentials { extraResponseHeaders.append(PolicyHeader("Access-Control-Allow-Credentials", "true")) }
        if !policy.exposeHeaders.isEmpty {
            extraResponseHeaders.append(PolicyHeader("Access-Control-Expose-Headers", policy.exposeHeaders.joined(separator: ",")))
        }
        if allowOrigin != "*" { extraResponseHeaders.append(PolicyHeader("Vary", "Origin")) }
        return .proceed
    }

    private func endEmpty() -> Flow {
        state.status = 200
        state.reason = "OK"
        state.responseHeaders = []
        state.responseBody = MessageBodyObject([])
        state.backendBody = nil
        return .stop
    }
}
