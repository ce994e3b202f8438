import Foundation
import Testing

@testable import Policies

@Suite struct CorePolicyRuntimeTests {
    @Test func chooseRunsFirstMatchingWhenElseOtherwise() async throws {
        let xml = document(inbound: """
            <choose>
                <when condition="@(context.Request.Headers.GetValueOrDefault("X-Tier", "") == "gold")"><set-header name="X-Branch" exists-action="override"><value>gold</value></set-header></when>
                <when condition="@(context.Request.Headers.ContainsKey("X-Tier"))"><set-header name="X-Branch" exists-action="override"><value>other</value></set-header></when>
                <otherwise><set-header name="X-Branch" exists-action="override"><value>none</value></set-header></otherwise>
            </choose>
            """)
        for (headers, expected) in [([PolicyHeader("X-Tier", "gold")], "gold"), ([PolicyHeader("x-tier", "silver")], "other"), ([], "none")] {
            let (_, sent) = try await execute(xml, request(headers: headers))
            #expect(sent.first.map { HeaderList.values($0.headers, "X-Branch") } == [expected])
        }
        let (result, _) = try await execute(xml, request(headers: [PolicyHeader("X-Tier", "silver")]))
        #expect(result.trace.contains { $0.kind == .branch && $0.path == "choose[1]/when[2]" && $0.message == "matched" })
    }

    @Test func returnResponseEndsThePipelineWithHeadersAndBody() async throws {
        let xml = document(
            inbound: """
                <return-response>
                    <set-status code="418" reason="Teapot" />
                    <set-header name="X-A" exists-action="override"><value>1</value><value>2</value></set-header>
                    <set-body>@("short and " + context.Request.Method)</set-body>
                </return-response>
                <set-header name="X-Never" exists-action="override"><value>x</value></set-header>
                """, outbound: "<set-header name=\"X-Out\" exists-action=\"override\"><value>o</value></set-header>")
        let (result, sent) = try await execute(xml)
        #expect(result.status == 418)
        #expect(result.reason == "Teapot")
        #expect(HeaderList.values(result.headers, "X-A") == ["1", "2"])
        #expect(result.header("X-Out") == nil)
        #expect(result.bodyText == "short and GET")
        #expect(sent.isEmpty)
    }

    @Test func returnResponseDefaultsTo200() async throws {
        let (result, _) = try await execute(document(inbound: "<return-response />"))
        #expect(result.status == 200)
        #expect(result.bodyText == "")
    }

    @Test func setHeaderExistsActions() async throws {
        let base = [PolicyHeader("X-A", "old"), PolicyHeader("X-B", "old"), PolicyHeader("X-C", "old"), PolicyHeader("X-D", "old")]
        let xml = document(inbound: """
            <set-header name="X-A" exists-action="override"><value>new</value></set-header>
            <set-header name="X-B" exists-action="skip"><value>new</value></set-header>
            <set-header name="X-E" exists-action="skip"><value>new</value></set-header>
            <set-header name="X-C" exists-action="append"><value>new1</value><value>new2</value></set-header>
            <set-header name="X-D" exists-action="delete" />
            <set-header name="X-Echo" exists-action="override"><value>@(string.Join(",", context.Request.Headers["X-C"]))</value></set-header>
            """)
        let (_, sent) = try await execute(xml, request(headers: base))
        let headers = try #require(sent.first?.headers)
        #expect(HeaderList.values(headers, "X-A") == ["new"])
        #expect(HeaderList.values(headers, "X-B") == ["old"])
        #expect(HeaderList.values(headers, "X-E") == ["new"])
        #expect(HeaderList.values(headers, "X-C") == ["old", "new1", "new2"])
        #expect(HeaderList.values(headers, "X-D") == [])
        #expect(HeaderList.values(headers, "X-Echo") == ["old,new1,new2"])
    }

    @Test func outboundSetHeaderChangesTheResponse() async throws {
        let xml = document(outbound: """
            <set-header name="Content-Type" exists-action="delete" />
            <set-header name="X-Status" exists-action="override"><value>@(context.Response.StatusCode.ToString())</value></set-header>
            """)
        let (result, _) = try await execute(xml, backend: RecordingBackend(status: 201))
        #expect(result.status == 201)
        #expect(result.header("Content-Type") == nil)
        #expect(result.header("X-Status") == "201")
        guard case .backend = result.body else {
            Issue.record("an untouched backend body must be streamed through")
            return
        }
    }

    @Test func setQueryParameterAndMethodAndVariable() async throws {
        let xml = document(inbound: """
            <set-variable name="count" value="@(context.Request.Url.Query.Count)" />
            <set-variable name="plain" value="text" />
            <set-query-parameter name="a" exists-action="override"><value>1</value></set-query-parameter>
            <set-query-parameter name="b" exists-action="append"><value>@(((int)context.Variables["count"]).ToString())</value></set-query-parameter>
            <set-query-parameter name="c" exists-action="delete" />
            <set-method>POST</set-method>
            <set-header name="X-Plain" exists-action="override"><value>@((string)context.Variables["plain"])</value></set-header>
            """)
        let (_, sent) = try await execute(xml, request(query: [("a", "0"), ("b", "x"), ("c", "gone")]))
        let backend = try #require(sent.first)
        #expect(backend.method == "POST")
        #expect(backend.url.absoluteString == "https://backend.example/api/items/7?a=1&b=x&b=3")
        #expect(HeaderList.values(backend.headers, "X-Plain") == ["text"])
    }

    @Test func setStatusAndSetBodyOutbound() async throws {
        let xml = document(outbound: """
            <set-status code="202" reason="Taken" />
            <set-body>@(context.Response.Body.As<string>() + "!")</set-body>
            """)
        let (result, _) = try await execute(xml, backend: RecordingBackend(body: "hello"))
        #expect(result.status == 202)
        #expect(result.reason == "Taken")
        #expect(result.bodyText == "hello!")
    }

    @Test func requestBodyIsReadOnlyWhenAPolicyNeedsIt() async throws {
        let untouched = CountingBody("{\"a\":1}")
        let (_, sent1) = try await execute(document(inbound: "<set-header name=\"X\" exists-action=\"override\"><value>1</value></set-header>"), body: untouched)
        #expect(untouched.readCount == 0)
        guard case .client = try #require(sent1.first).body else {
            Issue.record("the untouched body must be streamed")
            return
        }
        let read = CountingBody("{\"a\":1}")
        let xml = document(inbound: """
            <set-header name="X-A" exists-action="override"><value>@(context.Request.Body.As<JObject>(true)["a"].ToString())</value></set-header>
            """)
        let (_, sent2) = try await execute(xml, body: read)
        #expect(read.readCount == 1)
        let request2 = try #require(sent2.first)
        #expect(HeaderList.values(request2.headers, "X-A") == ["1"])
        guard case .bytes(let bytes) = request2.body else {
            Issue.record("a read body is forwarded from memory")
            return
        }
        #expect(bytes == Array("{\"a\":1}".utf8))
        // set-body with literal text replaces the body without reading it.
        let replaced = CountingBody("original")
        let (_, sent3) = try await execute(document(inbound: "<set-body>replacement</set-body>"), body: replaced)
        #expect(replaced.readCount == 0)
        guard case .bytes(let bytes3) = try #require(sent3.first).body else {
            Issue.record("a replaced body is sent as bytes")
            return
        }
        #expect(String(decoding: bytes3, as: UTF8.self) == "replacement")
    }

    @Test func rewriteURIWithTemplateParametersAndCopyUnmatched() async throws {
        let xml = document(inbound: "<rewrite-uri template=\"/v2/things/{id}?view=full\" />")
        let (_, sent) = try await execute(xml, request(query: [("page", "2")]))
        #expect(sent.first?.url.absoluteString == "https://backend.example/api/v2/things/7?view=full&page=2")
        let strict = document(inbound: "<rewrite-uri template=\"/v2/things/{id}\" copy-unmatched-params=\"false\" />")
        let (_, sent2) = try await execute(strict, request(query: [("page", "2")]))
        #expect(sent2.first?.url.absoluteString == "https://backend.example/api/v2/things/7")
    }

    @Test func setBackendServiceChangesTheBaseURL() async throws {
        let xml = document(inbound: """
            <set-backend-service base-url="http://other.example:8080/base" />
            <set-header name="X-Url" exists-action="override"><value>@(context.Request.Url.ToString())</value></set-header>
            """)
        let (_, sent) = try await execute(xml)
        let backend = try #require(sent.first)
        #expect(backend.url.absoluteString == "http://other.example:8080/base/items/7")
        #expect(HeaderList.values(backend.headers, "X-Url") == ["http://other.example:8080/base/items/7"])
    }

    @Test func checkHeader() async throws {
        let xml = document(inbound: """
            <check-header name="X-Key" failed-check-httpcode="401" failed-check-error-message="Missing or bad key" ignore-case="true">
                <value>Alpha</value><value>beta</value>
            </check-header>
            """)
        var (result, sent) = try await execute(xml)
        #expect(result.status == 401)
        #expect(result.bodyText == "{\"statusCode\":401,\"message\":\"Missing or bad key\"}")
        #expect(result.lastError?.reason == "HeaderNotFound")
        #expect(sent.isEmpty)
        (result, sent) = try await execute(xml, request(headers: [PolicyHeader("x-key", "gamma")]))
        #expect(result.lastError?.reason == "HeaderValueNotAllowed")
        (result, sent) = try await execute(xml, request(headers: [PolicyHeader("X-Key", "ALPHA")]))
        #expect(result.status == 200)
        #expect(sent.count == 1)
    }

    @Test func ipFilter() async throws {
        let allow = document(inbound: """
            <ip-filter action="allow"><address>10.0.0.5</address><address-range from="192.168.1.0" to="192.168.1.255" /></ip-filter>
            """)
        for (ip, ok) in [("10.0.0.5", true), ("192.168.1.77", true), ("::ffff:192.168.1.9", true), ("10.0.0.6", false), ("2001:db8::1", false)] {
            let (result, _) = try await execute(allow, request(clientIP: ip))
            #expect((result.status == 200) == ok, "\(ip)")
            if !ok {
                #expect(result.status == 403)
                #expect(result.lastError?.reason == "CallerIpNotAllowed")
                #expect(result.lastError?.source == "ip-filter")
            }
        }
        let forbid = document(inbound: "<ip-filter action=\"forbid\"><address-range from=\"2001:db8::\" to=\"2001:db8::ffff\" /></ip-filter>")
        let (blocked, _) = try await execute(forbid, request(clientIP: "2001:db8::12"))
        #expect(blocked.status == 403)
        #expect(blocked.lastError?.reason == "CallerIpBlocked")
        let (passed, _) = try await execute(forbid, request(clientIP: "2001:db9::12"))
        #expect(passed.status == 200)
        let (garbage, _) = try await execute(forbid, request(clientIP: "not-an-ip"))
        #expect(garbage.lastError?.reason == "FailedToParseCallerIP")
    }

    @Test func mockResponse() async throws {
        let xml = document(inbound: "<mock-response status-code=\"201\" content-type=\"application/xml\" />")
        let (result, sent) = try await execute(xml)
        #expect(result.status == 201)
        #expect(result.header("Content-Type") == "application/xml")
        #expect(sent.isEmpty)
    }

    @Test func withoutForwardRequestOutboundFollowsInbound() async throws {
        let xml = document(inbound: "<set-variable name=\"v\" value=\"in\" />", backend: "", outbound: """
            <set-header name="X-V" exists-action="override"><value>@((string)context.Variables["v"])</value></set-header>
            """)
        let (result, sent) = try await execute(xml)
        #expect(sent.isEmpty)
        #expect(result.status == 200)
        #expect(result.header("X-V") == "in")
        #expect(result.backendCalled == false)
    }

    @Test func forwardRequestFailures() async throws {
        let (timeout, _) = try await execute(document(), backend: RecordingBackend(failure: PolicyBackendError.timeout))
        #expect(timeout.status == 500)
        #expect(timeout.lastError?.reason == "Timeout")
        #expect(timeout.lastError?.source == "forward-request")
        #expect(timeout.bodyText?.hasPrefix("{\"statusCode\":500,\"message\":\"Internal server error\"") == true)
        let (refused, _) = try await execute(document(), backend: RecordingBackend(failure: PolicyBackendError.connectionFailed("refused")))
        #expect(refused.lastError?.reason == "BackendConnectionFailure")
        let strict = document(backend: "<forward-request timeout=\"5\" fail-on-error-status-code=\"true\" />", onError: """
            <set-header name="X-Reason" exists-action="override"><value>@(context.LastError.Reason)</value></set-header>
            """)
        let backend = RecordingBackend(status: 503)
        let (failed, sent) = try await execute(strict, backend: backend)
        #expect(sent.first?.timeout == .seconds(5))
        #expect(failed.status == 503)
        #expect(failed.header("X-Reason") == "BackendErrorStatusCode")
        let (lenient, _) = try await execute(document(), backend: RecordingBackend(status: 503))
        #expect(lenient.status == 503)
        #expect(lenient.lastError == nil)
    }

    @Test func traceAndContextTraceAreRecorded() async throws {
        let xml = document(inbound: """
            <trace source="audit" severity="information"><message>@("method " + context.Request.Method)</message><metadata name="k" value="v" /></trace>
            <set-variable name="x" value="@{ context.Trace("from expression"); return 1; }" />
            """)
        let (result, _) = try await execute(xml, options: PolicyPipelineOptions(tracing: false))
        let traces = result.trace.filter { $0.kind == .trace }.map(\.message)
        #expect(traces == ["audit [information]: method GET {k=v}", "from expression"])
    }

    @Test func contextTreeValues() async throws {
        let xml = document(inbound: """
            <set-header name="X-Ctx" exists-action="override"><value>@(context.Api.Name + "|" + context.Api.Path + "|" + context.Operation.Id + "|" + context.Operation.UrlTemplate + "|" + context.Request.MatchedParameters["id"] + "|" + context.Request.IpAddress + "|" + context.Request.OriginalUrl.Path + "|" + context.Request.Url.Host + "|" + context.Deployment.GatewayId + "|" + (context.User == null) + "|" + context.Api.ServiceUrl.Host)</value></set-header>
            <set-header name="X-Id" exists-action="override"><value>@(context.RequestId.ToString())</value></set-header>
            """)
        let (_, sent) = try await execute(xml)
        let headers = try #require(sent.first?.headers)
        #expect(HeaderList.values(headers, "X-Ctx") == ["Echo API|/echo|get-item|/items/{id}|7|10.0.0.5|/echo/items/7|backend.example|drawbridge|True|backend.example"])
        #expect(HeaderList.values(headers, "X-Id").first?.count == 36)
    }

    @Test func unsupportedPoliciesFailAtLoadOrAreSkipped() throws {
        let xml = document(inbound: "<set-backend-service base-url=\"http://fabric\" sf-partition-key=\"@(context.Request.IpAddress)\" />")
        #expect(throws: PolicyPipelineError.self) { try pipeline(xml) }
        do {
            _ = try pipeline(xml)
        } catch let error as PolicyPipelineError {
            #expect(error.description.contains("set-backend-service"))
            #expect(error.description.contains("test.xml:1:"))
        }
        let skipped = try pipeline(xml, options: PolicyPipelineOptions(skipUnsupportedPolicies: true))
        #expect(skipped.warnings.count == 1)
        #expect(skipped.warnings.first?.severity == .warning)
    }
}
