/// Every policy Drawbridge understands, by element name.
enum PolicyCatalogue {
    static let definitions: [any PolicyDefinition.Type] = [
        ChoosePolicy.self, ReturnResponsePolicy.self, SetStatusPolicy.self, SetHeaderPolicy.self,
        SetQueryParameterPolicy.self, SetBodyPolicy.self, SetVariablePolicy.self, SetMethodPolicy.self,
        RewriteURIPolicy.self, SetBackendServicePolicy.self, ForwardRequestPolicy.self, CheckHeaderPolicy.self,
        IPFilterPolicy.self, MockResponsePolicy.self, CORSPolicy.self, RateLimitByKeyPolicy.self,
        QuotaByKeyPolicy.self, SendRequestPolicy.self, RetryPolicy.self, LimitConcurrencyPolicy.self,
        TracePolicy.self, ValidateClientCertificatePolicy.self, AuthenticationCertificatePolicy.self,
        IncludeFragmentPolicy.self,
    ]

    static let byName: [String: any PolicyDefinition.Type] = Dictionary(
        uniqueKeysWithValues: definitions.map { ($0.schema.elementName, $0) })

    /// APIM policies Drawbridge does not implement, so the error can say "not supported" rather
    /// than "unknown".
    static let knownUnsupported: Set<String> = [
        "find-and-replace", "json-to-xml", "xml-to-json", "xsl-transform", "redirect-content-urls", "wait",
        "validate-jwt", "validate-azure-ad-token", "authentication-basic", "authentication-managed-identity",
        "get-authorization-context", "rate-limit", "quota", "cache-lookup", "cache-store", "cache-lookup-value",
        "cache-store-value", "cache-remove-value", "jsonp", "cross-domain", "proxy", "send-one-way-request",
        "log-to-eventhub", "emit-metric", "validate-content", "validate-parameters", "validate-headers",
        "validate-status-code", "validate-graphql-request", "validate-odata-request", "publish-to-dapr",
        "invoke-dapr-binding", "set-graphql-resolver", "http-data-source", "sql-data-source",
        "cosmosdb-data-source", "publish-event", "azure-openai-token-limit", "llm-token-limit",
        "azure-openai-emit-token-metric", "llm-emit-token-metric", "azure-openai-semantic-cache-lookup",
        "azure-openai-semantic-cache-store", "llm-semantic-cache-lookup", "llm-semantic-cache-store",
        "llm-content-safety",
    ]
}
