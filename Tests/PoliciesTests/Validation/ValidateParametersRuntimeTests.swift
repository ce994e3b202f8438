import Foundation
import Testing

@testable import Policies

@Suite struct ValidateParametersRuntimeTests {
    static let policy = #"<validate-parameters specified-parameter-action="prevent" unspecified-parameter-action="prevent" errors-variable-name="v"><headers specified-parameter-action="prevent" unspecified-parameter-action="detect"><parameter name="Accept" action="ignore" /></headers></validate-parameters>"#

    func run(_ policy: String = policy, path: String = "/echo/items/7", query: [(name: String, value: String)] = [],
             headers: [PolicyHeader] = [PolicyHeader("X-Tenant", "contoso")], description: APIDescription? = nil) async throws -> PolicyResult {
        let xml = document(inbound: policy, outbound: errorsHeader("v"))
        let (result, _) = try await execute(xml, request(path: path, query: query, headers: headers),
                                            options: validationOptions(try description ?? compiledDescription()))
        return result
    }

    @Test func aConformingRequestPasses() async throws {
        let result = try await run(query: [("verbose", "true"), ("tags", "a,b")])
        #expect(result.status == 200)
        #expect(result.backendCalled)
        #expect(result.header("X-Errors") == "none")
    }

    @Test func aPathParameterOutsideItsSchemaIsPreventedWith400() async throws {
        let result = try await run(path: "/echo/items/0")
        #expect(result.status == 400)
        #expect(!result.backendCalled)
        #expect(result.bodyText?.contains("The value of the path parameter id does not conform to the definition. Integer 0 is less than minimum value of 1.") == true)
        #expect(result.lastError?.source == "validate-parameters")
        #expect(result.lastError?.reason == "Bad request")
        #expect(result.lastError?.message.hasPrefix("Value of the path parameter id does not conform to the definition.") == true)
    }

    @Test func aValueThatCannotBeReadAsItsTypeIsReported() async throws {
        let result = try await run(query: [("verbose", "maybe")])
        #expect(result.status == 400)
        #expect(result.bodyText?.contains("Value of the query parameter verbose couldn't be parsed according to the definition.") == true)
    }

    @Test func arrayItemsAreCheckedAndRepeatedScalarsRefused() async throws {
        var result = try await run(query: [("tags", "a,c")])
        #expect(result.status == 400)
        #expect(result.bodyText?.contains(#"Value \"c\" is not defined in enum."#) == true)
        result = try await run(query: [("verbose", "true"), ("verbose", "false")])
        #expect(result.status == 400)
        #expect(result.bodyText?.contains("Request cannot contain multiple values for the query parameter verbose.") == true)
    }

    @Test func unspecifiedQueryParametersArePreventedAndUnspecifiedHeadersOnlyDetected() async throws {
        var result = try await run(query: [("debug", "1")])
        #expect(result.status == 400)
        #expect(result.bodyText?.contains("Unspecified query parameter debug is not allowed.") == true)
        result = try await run(headers: [PolicyHeader("X-Tenant", "contoso"), PolicyHeader("X-Extra", "1"), PolicyHeader("Accept", "*/*")])
        #expect(result.status == 200)
        let errors = try #require(result.header("X-Errors"))
        #expect(errors == #"[{"Name":"X-Extra","Type":"RequestHeader","ValidationRule":"Unspecified","Details":"Unspecified header X-Extra is not allowed.","Action":"detect"}]"#)
    }

    @Test func aHeaderIsValidatedAgainstItsPatternAndARequiredOneMustBeThere() async throws {
        var result = try await run(headers: [PolicyHeader("x-tenant", "Contoso1")])
        #expect(result.status == 400)
        #expect(result.bodyText?.contains("does not match regex pattern '^[a-z]+$'") == true)
        result = try await run(headers: [])
        #expect(result.status == 400)
        #expect(result.bodyText?.contains("Request is missing the required header X-Tenant.") == true)
    }

    @Test func literalSegmentsWinOverParameters() async throws {
        // `/items/mine` is its own operation: no `id`, no required X-Tenant.
        let result = try await run(path: "/echo/items/mine", headers: [])
        #expect(result.status == 200)
    }

    @Test func actionsMayBeExpressionsAndIgnoreSkips() async throws {
        let policy = #"<validate-parameters specified-parameter-action="@("ignore")" unspecified-parameter-action="ignore" />"#
        let result = try await run(policy, path: "/echo/items/0", query: [("x", "1")])
        #expect(result.status == 200)
        let bad = #"<validate-parameters specified-parameter-action="@("block")" unspecified-parameter-action="ignore" />"#
        let failed = try await run(bad, path: "/echo/items/0")
        #expect(failed.status == 500)
        #expect(failed.lastError?.reason == "ExpressionValueEvaluationFailure")
    }

    @Test func aContentFormParameterIsReadAsJSON() async throws {
        let text = #"{"openapi":"3.1.0","paths":{"/items/{id}":{"get":{"parameters":[{"name":"id","in":"path","required":true,"schema":{"type":"string"}},{"name":"filter","in":"query","content":{"application/json":{"schema":{"type":"object","required":["q"]}}}}],"responses":{"200":{"description":"ok"}}}}}}"#
        let description = try compiledDescription(text)
        #expect(try await run(query: [("filter", #"{"q":"x"}"#)], description: description).status == 200)
        let missing = try await run(query: [("filter", #"{"p":"x"}"#)], description: description)
        #expect(missing.status == 400)
        #expect(missing.bodyText?.contains("Required properties are missing from object: q.") == true)
        #expect(try await run(query: [("filter", "not json")], description: description).status == 400)
    }

    @Test func withoutADescriptionTheSchemaIsMissing() async throws {
        let xml = document(inbound: Self.policy)
        let (result, _) = try await execute(xml, options: validationOptions(nil))
        #expect(result.status == 400)
        #expect(result.lastError?.message == "API's schema doesn't exist or it couldn't be resolved.")
    }

    @Test("load errors", arguments: [
        (#"<validate-parameters specified-parameter-action="block" unspecified-parameter-action="ignore" />"#, "expected one of 'ignore', 'prevent', 'detect'"),
        (#"<validate-parameters specified-parameter-action="ignore" />"#, "unspecified-parameter-action"),
        (#"<validate-parameters specified-parameter-action="ignore" unspecified-parameter-action="ignore"><path unspecified-parameter-action="ignore" /></validate-parameters>"#, "unknown attribute 'unspecified-parameter-action' on '<path>'"),
        (#"<validate-parameters specified-parameter-action="ignore" unspecified-parameter-action="ignore"><query><parameter name="a" /></query></validate-parameters>"#, "action"),
    ])
    func loadErrors(statement: String, expected: String) {
        let errors = statementLoadErrors(statement)
        #expect(errors.contains { $0.contains(expected) }, "\(errors)")
    }

    @Test func onlyOncePerSection() {
        let twice = #"<validate-parameters specified-parameter-action="ignore" unspecified-parameter-action="ignore" /><validate-parameters specified-parameter-action="ignore" unspecified-parameter-action="ignore" />"#
        #expect(statementLoadErrors(twice).contains { $0.contains("'<validate-parameters>' may appear at most once in '<inbound>'") })
        let headers = #"<validate-headers specified-header-action="ignore" unspecified-header-action="ignore" />"#
        #expect(statementLoadErrors(headers + headers, section: .outbound).count == 1)
        let codes = #"<validate-status-code unspecified-status-code-action="ignore" />"#
        #expect(statementLoadErrors(codes + codes, section: .outbound).isEmpty)  // "Multiple statements per policy document: supported"
    }

    @Test func outboundIsRefused() {
        let errors = statementLoadErrors(#"<validate-parameters specified-parameter-action="ignore" unspecified-parameter-action="ignore" />"#, section: .outbound)
        #expect(!errors.isEmpty)
    }
}

func statementLoadErrors(_ statement: String, section: PolicySection = .inbound) -> [String] {
    loadErrors(statement, section: section)
}
