import Foundation
import Testing

@testable import Policies

@Suite struct ValidateStatusCodeRuntimeTests {
    func run(_ policy: String, status: Int, path: String = "/echo/items/7") async throws -> PolicyResult {
        let xml = document(outbound: policy + errorsHeader("v"))
        let backend = RecordingBackend(status: status, headers: [PolicyHeader("Content-Type", "application/json")], body: #"{"name":"a","price":1}"#)
        let (result, _) = try await execute(xml, request(path: path), backend: backend, options: validationOptions(try compiledDescription()))
        return result
    }

    static let example = #"<validate-status-code unspecified-status-code-action="prevent" errors-variable-name="v" />"#

    @Test func describedCodesAndRangesPass() async throws {
        #expect(try await run(Self.example, status: 200).status == 200)
        #expect(try await run(Self.example, status: 404).status == 404)  // 4XX
    }

    @Test func anUnspecifiedCodeBecomes502WithoutLeakingTheBackendsAnswer() async throws {
        let result = try await run(Self.example, status: 500)
        #expect(result.status == 502)
        #expect(result.bodyText?.contains("The request could not be processed due to an internal error. Contact the API owner.") == true)
        #expect(result.bodyText?.contains("price") == false)
        #expect(result.lastError?.reason == "Response not allowed")
        #expect(result.lastError?.message == "Response status code 500 is not allowed.")
    }

    @Test func anOverrideAppliesToUnspecifiedCodesAndDetectRecords() async throws {
        let policy = #"<validate-status-code unspecified-status-code-action="prevent" errors-variable-name="v"><status-code code="500" action="detect" /></validate-status-code>"#
        let result = try await run(policy, status: 500)
        #expect(result.status == 500)
        #expect(result.header("X-Errors") == #"[{"Name":"500","Type":"StatusCode","ValidationRule":"Unspecified","Details":"Response status code 500 is not allowed.","Action":"detect"}]"#)
        #expect(result.trace.contains { $0.message.contains("validate-status-code: detect: StatusCode Unspecified '500'") })
    }

    @Test func inboundIsRefusedAndCodesAreChecked() {
        #expect(!loadErrors(Self.example, section: .inbound).isEmpty)
        let errors = loadErrors(#"<validate-status-code unspecified-status-code-action="ignore"><status-code code="99" action="ignore" /></validate-status-code>"#, section: .outbound)
        #expect(errors.contains { $0.contains("'code'") })
    }
}

@Suite struct ValidateHeadersRuntimeTests {
    func run(_ policy: String, headers: [PolicyHeader], status: Int = 200) async throws -> PolicyResult {
        let xml = document(outbound: policy + errorsHeader("v"))
        let backend = RecordingBackend(status: status, headers: headers, body: "{}")
        let (result, _) = try await execute(xml, request(), backend: backend, options: validationOptions(try compiledDescription()))
        return result
    }

    static let example = #"<validate-headers specified-header-action="prevent" unspecified-header-action="prevent" errors-variable-name="v"><header name="Date" action="ignore" /></validate-headers>"#

    @Test func describedHeadersConformAndFramingHeadersAreNotReported() async throws {
        let result = try await run(Self.example, headers: [PolicyHeader("X-Rate", "10"), PolicyHeader("Content-Type", "application/json"),
                                                           PolicyHeader("Content-Length", "2"), PolicyHeader("Date", "today")])
        #expect(result.status == 200)
    }

    @Test func anUnspecifiedHeaderIsPreventedWith502() async throws {
        let result = try await run(Self.example, headers: [PolicyHeader("X-Backend-Stack", "trace")])
        #expect(result.status == 502)
        #expect(result.lastError?.message == "Unspecified header X-Backend-Stack is not allowed.")
    }

    @Test func aValueOutsideItsSchemaIsReported() async throws {
        let detect = #"<validate-headers specified-header-action="detect" unspecified-header-action="ignore" errors-variable-name="v" />"#
        let result = try await run(detect, headers: [PolicyHeader("X-Rate", "150")])
        #expect(result.status == 200)
        #expect(result.header("X-Errors")?.contains("Value of the header X-Rate does not conform to the definition. Integer 150 exceeds maximum value of 100.") == true)
        let twice = try await run(detect, headers: [PolicyHeader("X-Rate", "1"), PolicyHeader("X-Rate", "2")])
        #expect(twice.header("X-Errors")?.contains("Response cannot contain multiple values for the header X-Rate.") == true)
    }
}
