/// One validated policy statement, with what the error model needs: the element path
/// (`choose[1]/when[2]`, for `context.LastError.Path`), its `id` (`PolicyId`), and the scope it came from.
public struct PolicyStatement: Sendable {
    public let policy: Policy
    public let name: String
    public let id: String?
    public let path: String
    public let scope: PolicyScope
    public let position: SourcePosition
    /// The element as written, for printing the effective document and for traces.
    public let element: PolicyXMLElement
}

/// A policy and its typed, load-time-checked configuration.
public enum Policy: Sendable {
    /// `<base/>`: where the parent scope's section is spliced in (only before merging).
    case base
    case choose(ChoosePolicy)
    case returnResponse(ReturnResponsePolicy)
    case setStatus(SetStatusPolicy)
    case setHeader(SetHeaderPolicy)
    case setQueryParameter(SetQueryParameterPolicy)
    case setBody(SetBodyPolicy)
    case setVariable(SetVariablePolicy)
    case setMethod(SetMethodPolicy)
    case rewriteURI(RewriteURIPolicy)
    case setBackendService(SetBackendServicePolicy)
    case forwardRequest(ForwardRequestPolicy)
    case checkHeader(CheckHeaderPolicy)
    case ipFilter(IPFilterPolicy)
    case mockResponse(MockResponsePolicy)
    case cors(CORSPolicy)
    case rateLimitByKey(RateLimitByKeyPolicy)
    case quotaByKey(QuotaByKeyPolicy)
    case rateLimit(RateLimitPolicy)
    case quota(QuotaPolicy)
    case sendRequest(SendRequestPolicy)
    case retry(RetryPolicy)
    case limitConcurrency(LimitConcurrencyPolicy)
    case trace(TracePolicy)
    case validateClientCertificate(ValidateClientCertificatePolicy)
    case authenticationCertificate(AuthenticationCertificatePolicy)
    case validateJWT(ValidateJWTPolicy)
    case cacheLookupValue(CacheLookupValuePolicy)
    case cacheStoreValue(CacheStoreValuePolicy)
    case cacheRemoveValue(CacheRemoveValuePolicy)
    case findAndReplace(FindAndReplacePolicy)
    case authenticationBasic(AuthenticationBasicPolicy)
    case jsonp(JSONPPolicy)
    case emitMetric(EmitMetricPolicy)
    case cacheLookup(CacheLookupPolicy)
    case cacheStore(CacheStorePolicy)
    case sendOneWayRequest(SendOneWayRequestPolicy)
    case wait(WaitPolicy)
    case redirectContentURLs(RedirectContentURLsPolicy)
    case crossDomain(CrossDomainPolicy)
    case authenticationManagedIdentity(AuthenticationManagedIdentityPolicy)
    case validateAzureADToken(ValidateAzureADTokenPolicy)
    case jsonToXML(JSONToXMLPolicy)
    case xmlToJSON(XMLToJSONPolicy)
    case xslTransform(XSLTransformPolicy)
    case proxy(ProxyPolicy)
    case logToEventHub(LogToEventHubPolicy)
    case validateGraphQLRequest(ValidateGraphQLRequestPolicy)
    /// The root of a GraphQL resolver document (not a statement of `<policies>`).
    case httpDataSource(HTTPDataSourcePolicy)
    /// Inside an `<http-data-source>`'s `<http-response>` only.
    case publishEvent(PublishEventPolicy)
    /// The root of a GraphQL resolver document (Cosmos DB).
    case cosmosDBDataSource(CosmosDBDataSourcePolicy)
    case publishToDapr(PublishToDaprPolicy)
    case invokeDaprBinding(InvokeDaprBindingPolicy)
    case getAuthorizationContext(GetAuthorizationContextPolicy)
    case llmTokenLimit(LLMTokenLimitPolicy)
    case llmEmitTokenMetric(LLMEmitTokenMetricPolicy)
    case llmContentSafety(LLMContentSafetyPolicy)
    case llmSemanticCacheLookup(LLMSemanticCacheLookupPolicy)
    case llmSemanticCacheStore(LLMSemanticCacheStorePolicy)
    case validateParameters(ValidateParametersPolicy)
    case validateHeaders(ValidateHeadersPolicy)
    case validateStatusCode(ValidateStatusCodePolicy)
    case validateContent(ValidateContentPolicy)
    case validateODataRequest(ValidateODataRequestPolicy)
}

/// A catalogue entry: the element's declaration and how to build its typed configuration.
protocol PolicyDefinition: Sendable {
    static var schema: PolicySchema { get }
    /// Builds the policy from an element whose attributes and children were already checked
    /// against `schema`; returns nil when a problem was reported.
    static func parse(_ reader: PolicyElementReader) -> Policy?
}

extension Policy {
    /// The statements nested in this policy, in document order: the bodies of `<when>` and
    /// `<otherwise>`, `<retry>` and `<limit-concurrency>` (for traces and tools walking the tree).
    public var nestedStatements: [PolicyStatement] {
        switch self {
        case .choose(let choose): choose.whens.flatMap(\.statements) + (choose.otherwise ?? [])
        case .retry(let retry): retry.statements
        case .limitConcurrency(let limit): limit.statements
        case .wait(let wait): wait.statements
        default: []
        }
    }
}
