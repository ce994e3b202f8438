import PolicyExpressions
import Foundation

/// `<cache-lookup vary-by-developer="…" vary-by-developer-groups="…" [caching-type] [downstream-caching-type="none"]
/// [must-revalidate="true"] [allow-private-response-caching="false"]><vary-by-header>…</vary-by-header>
/// <vary-by-query-parameter>a;b</vary-by-query-parameter></cache-lookup>` (inbound): a GET whose
/// response `cache-store` kept is answered from the cache (the backend is not called, outbound does
/// not run). The key is the API, the operation, the path and the values of the `vary-by-*` headers
/// and query parameters. A request carrying `Authorization` is neither looked up nor stored unless
/// `allow-private-response-caching` holds. `vary-by-developer(-groups)` are accepted and have no
/// effect: Drawbridge has no developer accounts (every caller is the same "developer").
public struct CacheLookupPolicy: Sendable, PolicyDefinition {
    public let varyByDeveloper: PolicyParameter<Bool>
    public let varyByDeveloperGroups: PolicyParameter<Bool>
    public let downstreamCachingType: PolicyParameter<String>
    public let mustRevalidate: PolicyParameter<Bool>
    public let allowPrivateResponseCaching: PolicyParameter<Bool>
    public let varyByHeaders: [String]
    public let varyByQueryParameters: [String]
    let cachingType: CachingType

    static let schema = PolicySchema(
        "cache-lookup", sections: [.inbound],
        attributes: [
            PolicyAttributeSpec("vary-by-developer", .boolean, required: true),
            PolicyAttributeSpec("vary-by-developer-groups", .boolean, required: true),
            CachingType.attribute,
            PolicyAttributeSpec("downstream-caching-type", .choice(["none", "private", "public"]), default: "none"),
            PolicyAttributeSpec("must-revalidate", .boolean, default: "true"),
            PolicyAttributeSpec("allow-private-response-caching", .boolean, default: "false"),
        ],
        children: .elements(["vary-by-header", "vary-by-query-parameter"]))
    static let varySchema = PolicySchema("vary", allowsText: true)

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        func names(_ element: String, separator: Character?) -> [String] {
            reader.element.childElements.filter { $0.name == element }.flatMap { child -> [String] in
                let childReader = reader.child(child, PolicySchema(element, allowsText: true))
                guard case .constant(let text)? = childReader.text else {
                    childReader.error("'<\(element)>' of '<cache-lookup>' must hold a name as literal text")
                    return []
                }
                let parts = separator.map { text.split(separator: $0).map(String.init) } ?? [text]
                return parts.map(ASCII.trimmingWhitespace).filter { !$0.isEmpty }
            }
        }
        let headers = names("vary-by-header", separator: nil)
        let parameters = names("vary-by-query-parameter", separator: ";")
        guard let developer = reader.boolean("vary-by-developer"), let groups = reader.boolean("vary-by-developer-groups"),
            let downstream = reader.string("downstream-caching-type"), let revalidate = reader.boolean("must-revalidate"),
            let allowPrivate = reader.boolean("allow-private-response-caching"),
            let cachingType = reader.literal("caching-type").flatMap(CachingType.init(rawValue:))
        else { return nil }
        return .cacheLookup(
            CacheLookupPolicy(
                varyByDeveloper: developer, varyByDeveloperGroups: groups, downstreamCachingType: downstream, mustRevalidate: revalidate,
                allowPrivateResponseCaching: allowPrivate, varyByHeaders: headers, varyByQueryParameters: parameters, cachingType: cachingType))
    }
}

// MARK: Run

extension CacheLookupPolicy {
    struct Step: WaitingPolicyStep {
        let varyByDeveloper: RuntimeParameter<Bool>
        let varyByDeveloperGroups: RuntimeParameter<Bool>
        let downstream: RuntimeParameter<String>
        let mustRevalidate: RuntimeParameter<Bool>
        let allowPrivate: RuntimeParameter<Bool>
        let headers: [String]
        let parameters: [String]

        func run(_ execution: PolicyExecution, _ step: CompiledStep) async throws -> Flow {
            let state = execution.state
            _ = try execution.bool(varyByDeveloper, step)
            _ = try execution.bool(varyByDeveloperGroups, step)
            let downstreamText = try execution.string(downstream, step)
            guard let downstreamType = ResponseCacheLookup.Downstream(rawValue: downstreamText) else {
                throw PolicyFailure.expression(step.name, "'\(downstreamText.prefix(64))' is not a valid downstream-caching-type.")
            }
            let revalidate = try execution.bool(mustRevalidate, step)
            guard state.method == "GET" else {
                state.record(.info, "not a GET: no cache lookup")
                return .proceed
            }
            if !HeaderList.values(state.requestHeaders, "Authorization").isEmpty, !(try execution.bool(allowPrivate, step)) {
                state.record(.info, "the request carries Authorization: no cache lookup (allow-private-response-caching is false)")
                return .proceed
            }
            // Length-prefixed parts: no choice of values can make two different requests share a key.
            var key = ""
            func append(_ part: String) { key += String(part.utf8.count) + ":" + part }
            append(state.identity.apiId)
            append(state.identity.operationId)
            append(state.operationPath)
            for header in headers { append(HeaderList.values(state.requestHeaders, header).joined(separator: ",")) }
            for parameter in parameters { append(state.query.filter { $0.name == parameter }.map(\.value).joined(separator: ",")) }
            let lookup = ResponseCacheLookup(key: CacheKeys.response(key), downstream: downstreamType, mustRevalidate: revalidate)
            execution.responseCache = lookup
            guard case .response(let cached)? = await execution.options.cache.lookup(lookup.key) else {
                state.record(.info, "response cache miss")
                return .proceed
            }
            state.record(.info, "response cache hit")
            state.status = cached.status
            state.reason = cached.reason
            var headers = cached.headers
            if let control = lookup.cacheControl(maxAge: Int(cached.expires.timeIntervalSinceNow.rounded(.down))) {
                HeaderList.set(&headers, "Cache-Control", control)
            }
            state.responseHeaders = headers
            state.responseBody = MessageBodyObject(cached.body)
            state.backendBody = nil
            // Served from the cache: cache-store has nothing to store.
            execution.responseCache = nil
            return .stop
        }
    }

    func compile(_ compiler: inout StepCompiler, _ statement: PolicyStatement) -> (any WaitingPolicyStep)? {
        if let problem = cachingType.problem(cacheIsExternal: compiler.cacheIsExternal) {
            compiler.diagnostics.append(PolicyDiagnostic(at: statement.position, problem))
            return nil
        }
        guard let developer = compiler.parameter(varyByDeveloper), let groups = compiler.parameter(varyByDeveloperGroups),
            let downstream = compiler.parameter(downstreamCachingType), let revalidate = compiler.parameter(mustRevalidate),
            let allowPrivate = compiler.parameter(allowPrivateResponseCaching)
        else { return nil }
        return Step(
            varyByDeveloper: developer, varyByDeveloperGroups: groups, downstream: downstream, mustRevalidate: revalidate,
            allowPrivate: allowPrivate, headers: varyByHeaders, parameters: varyByQueryParameters)
    }
}
