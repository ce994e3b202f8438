import Foundation
import Testing

@testable import Policies

@Suite struct PolicyTestRunnerTests {
    @Test func runsOfflineWithTraceAndBackendResponse() async throws {
        let policy = document(
            inbound: """
                <choose>
                    <when condition="@(context.Request.Headers.ContainsKey("X-Admin"))"><rewrite-uri template="/admin/{id}" /></when>
                    <otherwise><set-header name="X-Mode" exists-action="override"><value>@("user:" + context.Request.MatchedParameters["id"])</value></set-header></otherwise>
                </choose>
                """,
            outbound: "<set-body>@(context.Response.Body.As<JObject>()[\"greeting\"].ToString().ToUpper())</set-body>")
        let requestJSON = """
            { "method": "GET", "url": "https://gw.example/echo/items/7?x=1", "headers": { "Accept": "application/json" },
              "matchedParameters": { "id": "7" },
              "api": { "id": "echo", "name": "Echo", "path": "/echo", "serviceUrl": "https://backend.example/api" } }
            """
        let backendJSON = "{ \"statusCode\": 200, \"headers\": { \"Content-Type\": \"application/json\" }, \"body\": { \"greeting\": \"hello\" } }"
        let report = try await PolicyTestRunner.run(policy: policy, file: "p.xml", requestJSON: requestJSON, backendResponseJSON: backendJSON)
        #expect(report.result.status == 200)
        #expect(report.result.bodyText == "HELLO")
        #expect(report.backendRequest?.url.absoluteString == "https://backend.example/api/items/7?x=1")
        #expect(report.backendRequest.map { HeaderList.values($0.headers, "X-Mode") } == ["user:7"])
        let text = report.text
        #expect(text.hasPrefix("HTTP 200 OK"))
        #expect(text.contains("choose[1]/otherwise[1]: otherwise taken"))
        #expect(text.contains("\"user:7\" (string)"))
        #expect(text.contains("Backend request: GET https://backend.example/api/items/7?x=1"))
    }

    @Test func clientCertificatePEMAndErrors() async throws {
        let root = try PipelinePKI.root()
        let leaf = try PipelinePKI.leaf(issuer: root)
        let pem = "-----BEGIN CERTIFICATE-----\n" + Data(leaf.der).base64EncodedString(options: .lineLength64Characters) + "\n-----END CERTIFICATE-----\n"
        #expect(try PolicyTestRunner.pemCertificates(pem) == [leaf.der])
        let policy = document(inbound: """
            <set-header name="X-Thumb" exists-action="override"><value>@(context.Request.Certificate.Thumbprint)</value></set-header>
            """)
        let report = try await PolicyTestRunner.run(
            policy: policy, file: "p.xml", requestJSON: "{\"url\":\"https://gw.example/x\"}", clientCertificatePEM: pem)
        #expect(report.backendRequest.map { HeaderList.values($0.headers, "X-Thumb") } == [leaf.wrapped.thumbprint])
        #expect(report.result.bodyText == "backend reached")
        await #expect(throws: PolicyTestRunner.InputError.self) {
            _ = try await PolicyTestRunner.run(policy: policy, file: "p.xml", requestJSON: "[1]")
        }
    }
}

@Suite struct BackendAddressTests {
    @Test func withoutAServiceURLForwardingFailsClosed() async throws {
        let built = try pipeline(document())
        var noService = request()
        noService.identity.serviceURL = nil
        let backend = RecordingBackend()
        let result = await built.run(noService, backend: backend)
        #expect(result.status == 500)
        #expect(result.lastError?.reason == "BackendConnectionFailure")
        #expect(backend.requests.isEmpty)
        let routed = try pipeline(document(inbound: "<set-backend-service base-url=\"https://chosen.example/v1\" />"))
        let result2 = await routed.run(noService, backend: backend)
        #expect(result2.status == 200)
        #expect(backend.requests.first?.url.absoluteString == "https://chosen.example/v1/items/7")
    }
}

@Suite struct ValueConversionTests {
    @Test func dotNetToStringForPolicyInputs() throws {
        #expect(ValueConversion.string(.null) == "")
        #expect(ValueConversion.string(.bool(true)) == "True")
        #expect(ValueConversion.string(.double(1.5)) == "1.5")
        #expect(ValueConversion.string(.long(-4)) == "-4")
        let id = UUID()
        #expect(ValueConversion.string(.guid(id)) == id.uuidString.lowercased())
        #expect(ValueConversion.bool(.string(" TRUE ")) == true)
        #expect(ValueConversion.bool(.string("yes")) == nil)
        #expect(ValueConversion.int(.string("42")) == 42)
        #expect(ValueConversion.int(.double(4.2)) == nil)
        #expect(ValueConversion.bytes(.bytes([1, 2])) == [1, 2])
    }
}

@Suite struct PolicyTestRunnerReportTests {
    @Test func reportShowsErrorsAndSteps() async throws {
        let policy = document(inbound: """
            <set-variable name="tier" value="@(context.Request.Headers.GetValueOrDefault("X-Tier", "free"))" />
            <choose>
                <when condition="@((string)context.Variables["tier"] == "gold")"><set-backend-service base-url="https://gold.example" /></when>
                <otherwise><set-header name="X-Fail" exists-action="override"><value>@(context.Request.Headers["Missing"][0])</value></set-header></otherwise>
            </choose>
            """)
        let report = try await PolicyTestRunner.run(policy: policy, file: "p.xml", requestJSON: "{\"url\":\"https://gw.example/x\"}")
        let text = report.text
        #expect(text.hasPrefix("HTTP 500 Internal Server Error"))
        #expect(text.contains("LastError: source=set-header reason=ExpressionValueEvaluationFailure"))
        #expect(text.contains("path=choose[1]/otherwise[1]/set-header[1]"))
        #expect(text.contains("= \"free\" (string)"))
        #expect(text.contains("[branch] inbound choose[1]/when[1]: not matched"))
        #expect(report.backendRequest == nil)
    }
}

@Suite struct TracePositionTests {
    @Test func policyEntriesNameScopeAndFilePosition() async throws {
        let xml = "<policies>\n<inbound>\n  <set-variable name=\"a\" value=\"1\" />\n</inbound>\n<backend /><outbound /><on-error /></policies>"
        let (result, _) = try await execute(xml)
        #expect(result.trace.contains { $0.kind == .policy && $0.message == "set-variable (api scope, test.xml:3:3)" })
    }
}
