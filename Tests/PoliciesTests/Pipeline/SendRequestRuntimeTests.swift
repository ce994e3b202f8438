import Foundation
import Testing

@testable import Policies

@Suite struct SendRequestRuntimeTests {
    @Test func sideCallStoresAnIResponseUsableByExpressionsAndReturnResponse() async throws {
        let xml = document(inbound: """
            <send-request mode="new" response-variable-name="lookup" timeout="7">
                <set-url>https://auth.example/check</set-url>
                <set-method>POST</set-method>
                <set-header name="X-Caller" exists-action="override"><value>@(context.Request.IpAddress)</value></set-header>
                <set-body>@("{\\"id\\":\\"" + context.Request.MatchedParameters["id"] + "\\"}")</set-body>
            </send-request>
            <choose>
                <when condition="@(((IResponse)context.Variables["lookup"]).StatusCode == 200)">
                    <set-header name="X-Lookup" exists-action="override"><value>@(((IResponse)context.Variables["lookup"]).Body.As<string>(true))</value></set-header>
                </when>
                <otherwise><return-response response-variable-name="lookup" /></otherwise>
            </choose>
            """)
        let ok = RecordingBackend(status: 200, body: "granted")
        let (result, sent) = try await execute(xml, backend: ok)
        #expect(result.status == 200)
        #expect(sent.count == 2)
        let side = try #require(sent.first)
        #expect(side.method == "POST")
        #expect(side.url.absoluteString == "https://auth.example/check")
        #expect(side.timeout == .seconds(7))
        #expect(HeaderList.values(side.headers, "X-Caller") == ["10.0.0.5"])
        guard case .bytes(let body) = side.body else {
            Issue.record("a side request sends bytes")
            return
        }
        #expect(String(decoding: body, as: UTF8.self) == "{\"id\":\"7\"}")
        #expect(sent.last.map { HeaderList.values($0.headers, "X-Lookup") } == ["granted"])
        // A refusal is returned to the client as the side response.
        let refusing = RecordingBackend(status: 403, body: "no")
        let (refused, sentRefused) = try await execute(xml, backend: refusing)
        #expect(refused.status == 403)
        #expect(refused.bodyText == "no")
        #expect(sentRefused.count == 1)
    }

    @Test func failuresAreErrorsUnlessIgnored() async throws {
        let strict = document(inbound: "<send-request mode=\"new\" response-variable-name=\"r\"><set-url>https://down.example/</set-url></send-request>")
        let (failed, _) = try await execute(strict, backend: RecordingBackend(failure: PolicyBackendError.timeout))
        #expect(failed.status == 500)
        #expect(failed.lastError?.source == "send-request")
        #expect(failed.lastError?.reason == "Timeout")
        let lenient = document(inbound: """
            <send-request mode="new" response-variable-name="r" ignore-error="true"><set-url>https://down.example/</set-url></send-request>
            <return-response><set-status code="200" /><set-body>@(context.Variables["r"] == null ? "null" : "set")</set-body></return-response>
            """)
        let (ignored, _) = try await execute(lenient, backend: RecordingBackend(failure: PolicyBackendError.connectionFailed("refused")))
        #expect(ignored.status == 200)
        #expect(ignored.bodyText == "null")
    }

    @Test func copyModeCopiesTheRequest() async throws {
        let xml = document(inbound: "<send-request mode=\"copy\" response-variable-name=\"r\" />", backend: "")
        let backend = RecordingBackend()
        let (_, sent) = try await execute(xml, request(method: "PUT", headers: [PolicyHeader("X-A", "1")]), body: BufferedBody("payload"), backend: backend)
        let side = try #require(sent.first)
        #expect(side.method == "PUT")
        #expect(side.url.absoluteString == "https://backend.example/api/items/7")
        #expect(HeaderList.values(side.headers, "X-A") == ["1"])
        guard case .bytes(let body) = side.body else {
            Issue.record("copy mode sends the body")
            return
        }
        #expect(body == Array("payload".utf8))
    }
}

@Suite struct PipelineBehaviourTests {
    @Test func consumingTheBodyLeavesNothingForTheBackend() async throws {
        let consume = document(inbound: "<set-variable name=\"b\" value=\"@(context.Request.Body.As<string>())\" />")
        let (_, sent) = try await execute(consume, body: BufferedBody("data"))
        guard case .bytes(let bytes) = try #require(sent.first).body else {
            Issue.record("a read body is sent as bytes")
            return
        }
        #expect(bytes.isEmpty)
        let preserve = document(inbound: "<set-variable name=\"b\" value=\"@(context.Request.Body.As<string>(preserveContent: true))\" />")
        let (_, sent2) = try await execute(preserve, body: BufferedBody("data"))
        guard case .bytes(let bytes2) = try #require(sent2.first).body else {
            Issue.record("a read body is sent as bytes")
            return
        }
        #expect(bytes2 == Array("data".utf8))
    }

    @Test func tooLargeBodyIs413() async throws {
        let xml = document(inbound: "<set-variable name=\"b\" value=\"@(context.Request.Body.As<string>(true))\" />")
        let (result, sent) = try await execute(xml, body: BufferedBody(String(repeating: "x", count: 100)), options: PolicyPipelineOptions(maximumBodyBytes: 10))
        #expect(result.status == 413)
        #expect(sent.isEmpty)
    }

    @Test func oneCompiledPipelineServesConcurrentRequests() async throws {
        let xml = document(inbound: """
            <set-variable name="n" value="@(context.Request.Headers.GetValueOrDefault("X-N", ""))" />
            <set-header name="X-Echo" exists-action="override"><value>@((string)context.Variables["n"] + "-" + context.Request.Headers["X-N"][0])</value></set-header>
            """, backend: "", outbound: "<set-header name=\"X-Out\" exists-action=\"override\"><value>@(context.Request.Headers[\"X-Echo\"][0])</value></set-header>")
        let built = try pipeline(xml)
        let results = await withTaskGroup(of: (Int, String?).self) { group in
            for index in 0..<50 {
                group.addTask {
                    let result = await built.run(request(headers: [PolicyHeader("X-N", String(index))]), backend: RecordingBackend())
                    return (index, result.header("X-Out"))
                }
            }
            var collected: [(Int, String?)] = []
            for await item in group { collected.append(item) }
            return collected
        }
        #expect(results.count == 50)
        for (index, value) in results { #expect(value == "\(index)-\(index)") }
    }

    @Test func timestampElapsedAndTracingFlag() async throws {
        let xml = document(inbound: """
            <return-response><set-status code="200" /><set-body>@(context.Timestamp.Year.ToString() + "|" + (context.Elapsed.TotalSeconds >= 0) + "|" + context.Tracing)</set-body></return-response>
            """)
        let (result, _) = try await execute(xml, options: PolicyPipelineOptions(tracing: false))
        let parts = try #require(result.bodyText).split(separator: "|")
        #expect(parts.count == 3)
        #expect((Int(parts[0]) ?? 0) >= 2024)
        #expect(parts[1] == "True")
        #expect(parts[2] == "False")
    }
}

@Suite struct HeaderSafetyTests {
    @Test func expressionsCannotSplitHeaders() async throws {
        let xml = document(inbound: """
            <set-header name="X-Bad" exists-action="override"><value>@("a\\r\\nSet-Cookie: evil=1")</value></set-header>
            """)
        let (result, sent) = try await execute(xml)
        #expect(result.status == 500)
        #expect(result.lastError?.reason == "ExpressionValueEvaluationFailure")
        #expect(sent.isEmpty)
        let badName = document(inbound: "<set-header name=\"@(&quot;X Bad&quot;)\" exists-action=\"override\"><value>1</value></set-header>")
        let (named, _) = try await execute(badName)
        #expect(named.status == 500)
    }
}

@Suite struct BodyBufferingDecisionTests {
    @Test func responseBodyIsBufferedOnlyForOutboundReaders() async throws {
        let inboundOnly = try pipeline(document(inbound: "<set-variable name=\"b\" value=\"@(context.Request.Body.As<string>(true))\" />"))
        #expect(inboundOnly.readsBody)
        #expect(inboundOnly.readsResponseBody == false)
        let result = await inboundOnly.run(request(), body: BufferedBody("x"), backend: RecordingBackend(body: "streamed"))
        guard case .backend = result.body else {
            Issue.record("the backend body must stream when no outbound policy reads it")
            return
        }
        let outbound = try pipeline(document(outbound: "<set-variable name=\"b\" value=\"@(context.Response.Body.As<string>(true))\" />"))
        #expect(outbound.readsResponseBody)
        let buffered = await outbound.run(request(), backend: RecordingBackend(body: "kept"))
        #expect(buffered.bodyText == "kept")
    }
}

@Suite struct BackendIDTests {
    @Test func backendIDsResolveThroughTheConfiguredBackends() async throws {
        let options = PolicyPipelineOptions(backends: ["orders": try #require(URL(string: "https://orders.internal/v3"))])
        let (result, sent) = try await execute(document(inbound: "<set-backend-service backend-id=\"orders\" />"), options: options)
        #expect(result.status == 200)
        #expect(sent.first?.url.absoluteString == "https://orders.internal/v3/items/7")
        do {
            _ = try pipeline(document(inbound: "<set-backend-service backend-id=\"billing\" />"), options: options)
            Issue.record("an unknown backend id must fail the build")
        } catch let error as PolicyPipelineError {
            #expect(error.description.contains("unknown backend-id 'billing'"))
            #expect(error.description.contains("configured: orders"))
        }
        let dynamic = document(inbound: "<set-backend-service backend-id=\"@(context.Request.Headers.GetValueOrDefault(&quot;X-Backend&quot;, &quot;none&quot;))\" />")
        let (missing, _) = try await execute(dynamic, options: options)
        #expect(missing.status == 500)
        #expect(missing.lastError?.reason == "BackendNotFound")
        let (found, foundSent) = try await execute(dynamic, request(headers: [PolicyHeader("X-Backend", "orders")]), options: options)
        #expect(found.status == 200)
        #expect(foundSent.first?.url.host == "orders.internal")
    }
}
