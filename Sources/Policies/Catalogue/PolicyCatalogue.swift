/// Every policy Drawbridge understands, by element name.
enum PolicyCatalogue {
    static let definitions: [any PolicyDefinition.Type] = [
        ChoosePolicy.self, ReturnResponsePolicy.self, SetStatusPolicy.self, SetHeaderPolicy.self,
        SetQueryParameterPolicy.self, SetBodyPolicy.self, SetVariablePolicy.self, SetMethodPolicy.self,
        RewriteURIPolicy.self, SetBackendServicePolicy.self, ForwardRequestPolicy.self, CheckHeaderPolicy.self,
        IPFilterPolicy.self, MockResponsePolicy.self, CORSPolicy.self, RateLimitByKeyPolicy.self,
        QuotaByKeyPolicy.self, SendRequestPolicy.self, RetryPolicy.self, LimitConcurrencyPolicy.self,
        TracePolicy.self, ValidateClientCertificatePolicy.self, AuthenticationCertificatePolicy.self,
        IncludeFragmentPolicy.self, ValidateJWTPolicy.self, CacheLookupValuePolicy.self, CacheStoreValuePolicy.self,
        CacheRemoveValuePolicy.self, FindAndReplacePolicy.self, AuthenticationBasicPolicy.self, JSONPPolicy.self,
        EmitMetricPolicy.self, CacheLookupPolicy.self, CacheStorePolicy.self,
        SendOneWayRequestPolicy.self, WaitPolicy.self, RedirectContentURLsPolicy.self, CrossDomainPolicy.self,
        RateLimitPolicy.self, QuotaPolicy.self,
        AuthenticationManagedIdentityPolicy.self, ValidateAzureADTokenPolicy.self, JSONToXMLPolicy.self, XMLToJSONPolicy.self,
        ProxyPolicy.self, XSLTransformPolicy.self, LogToEventHubPolicy.self,
        ValidateGraphQLRequestPolicy.self, HTTPDataSourcePolicy.self, CosmosDBDataSourcePolicy.self,
        PublishToDaprPolicy.self, InvokeDaprBindingPolicy.self, GetAuthorizationContextPolicy.self,
        // AI gateway (the azure-openai-* names are aliases of the llm-* policies).
        LLMTokenLimitPolicy.self, AzureOpenAITokenLimitPolicy.self, LLMEmitTokenMetricPolicy.self, AzureOpenAIEmitTokenMetricPolicy.self,
        LLMContentSafetyPolicy.self, LLMSemanticCacheLookupPolicy.self, AzureOpenAISemanticCacheLookupPolicy.self,
        LLMSemanticCacheStorePolicy.self, AzureOpenAISemanticCacheStorePolicy.self,
        ValidateParametersPolicy.self, ValidateHeadersPolicy.self, ValidateStatusCodePolicy.self, ValidateContentPolicy.self,
        ValidateODataRequestPolicy.self,
    ]

    static let byName: [String: any PolicyDefinition.Type] = Dictionary(
        uniqueKeysWithValues: definitions.map { ($0.schema.elementName, $0) })

    /// The supported policy whose name is closest to a misspelt one (at most two edits away).
    static func suggestion(for name: String) -> String? {
        guard name.count <= 40 else { return nil }
        let lowered = Array(name.lowercased())
        var best: (name: String, distance: Int)? = nil
        for candidate in byName.keys.sorted() {
            let distance = editDistance(lowered, Array(candidate))
            if distance <= 2, distance < (best?.distance ?? .max) { best = (candidate, distance) }
        }
        return best?.name
    }

    /// Levenshtein distance between two short names.
    private static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        var previous = Array(0...b.count)
        for (i, left) in a.enumerated() {
            var current = [i + 1] + Array(repeating: 0, count: b.count)
            for (j, right) in b.enumerated() {
                current[j + 1] = min(previous[j + 1] + 1, current[j] + 1, previous[j] + (left == right ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }

    /// APIM policies Drawbridge does not implement, so the error can say "not supported" rather
    /// than "unknown".
    static let knownUnsupported: Set<String> = [
        "set-graphql-resolver", "sql-data-source",
    ]
}
