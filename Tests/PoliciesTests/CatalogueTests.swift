import Testing

@testable import Policies

@Suite("Catalogue")
struct CatalogueTests {
    @Test("every policy of the brief is in the catalogue, with a declared section set")
    func everyPolicy() {
        let names = Set(PolicyCatalogueInfo.schemas.map(\.elementName))
        let expected: Set<String> = [
            "choose", "return-response", "set-status", "set-header", "set-query-parameter", "set-body", "set-variable",
            "set-method", "rewrite-uri", "set-backend-service", "forward-request", "check-header", "ip-filter",
            "mock-response", "cors", "rate-limit-by-key", "quota-by-key", "send-request", "retry", "limit-concurrency",
            "trace", "include-fragment", "validate-client-certificate", "authentication-certificate", "validate-jwt",
            "cache-lookup-value", "cache-store-value", "cache-remove-value", "find-and-replace", "authentication-basic", "jsonp", "emit-metric",
            "cache-lookup", "cache-store", "wait", "send-one-way-request", "redirect-content-urls", "cross-domain",
            "rate-limit", "quota",
            "authentication-managed-identity", "validate-azure-ad-token", "json-to-xml", "xml-to-json",
            "proxy", "xsl-transform", "log-to-eventhub",
            "validate-graphql-request", "http-data-source", "cosmosdb-data-source",
            "publish-to-dapr", "invoke-dapr-binding", "get-authorization-context",
            // AI gateway
            "llm-token-limit", "azure-openai-token-limit", "llm-emit-token-metric", "azure-openai-emit-token-metric",
            "llm-content-safety", "llm-semantic-cache-lookup", "azure-openai-semantic-cache-lookup", "llm-semantic-cache-store",
            "azure-openai-semantic-cache-store",
            "validate-parameters", "validate-headers", "validate-status-code", "validate-content", "validate-odata-request",
        ]
        #expect(names == expected)
        // GraphQL resolver policies have no section: they are the roots of resolver documents.
        #expect(PolicyCatalogueInfo.schemas.allSatisfy { !$0.sections.isEmpty || GraphQLAPI.resolverRoots.contains($0.elementName) })
        #expect(names.isDisjoint(with: PolicyCatalogueInfo.unsupported))
    }

    @Test("every attribute default is a valid value of its own type")
    func defaultsAreValid() {
        for schema in PolicyCatalogueInfo.schemas {
            for attribute in schema.attributes {
                guard let value = attribute.defaultValue else { continue }
                #expect(attribute.type.problem(with: value) == nil, "\(schema.elementName) \(attribute.name) default '\(value)'")
                #expect(!attribute.isRequired, "\(schema.elementName) \(attribute.name) is required and has a default")
            }
        }
    }
}

@Suite("Diagnostics stay short")
struct DiagnosticLengthTests {
    @Test("a huge invalid value is quoted truncated")
    func truncated() {
        let errors = loadErrors(#"<set-status code="\#(String(repeating: "9", count: 10_000))" />"#)
        #expect(errors == ["test.xml:1:38: invalid value '\(String(repeating: "9", count: 77))…' for attribute 'code' of '<set-status>': expected an integer from 100 to 599"])
    }
}
