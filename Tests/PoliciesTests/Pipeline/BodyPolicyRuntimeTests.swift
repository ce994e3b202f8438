import Foundation
import Testing

@testable import Policies

@Suite struct BodyPolicyRuntimeTests {
    @Test func findAndReplaceInTheResponse() async throws {
        let xml = document(outbound: "<find-and-replace from=\"backend\" to=\"gateway\" />")
        let (result, _) = try await execute(xml, backend: RecordingBackend(body: "backend body from backend.example"))
        #expect(result.bodyText == "gateway body from gateway.example")
    }

    @Test func findAndReplaceInTheRequestSentToTheBackend() async throws {
        let xml = document(inbound: "<find-and-replace from=\"@(&quot;secret&quot;)\" to=\"***\" />")
        let (_, sent) = try await execute(xml, request(method: "POST"), body: CountingBody("a secret, another secret"))
        guard case .bytes(let bytes)? = sent.first?.body else {
            Issue.record("the body was not replaced")
            return
        }
        #expect(String(decoding: bytes, as: UTF8.self) == "a ***, another ***")
    }

    @Test func replacementIsOrdinalLeftToRightAndNonOverlapping() {
        // .NET: "aaa".Replace("aa", "X") == "Xa"; "abcabc".Replace("ABC", "x") leaves it (ordinal, case-sensitive).
        func replaced(_ text: String, _ from: String, _ to: String) -> String? {
            ByteReplacement.replacingAll(in: Array(text.utf8), Array(from.utf8), with: Array(to.utf8), limit: 1 << 20)
                .map { String(decoding: $0, as: UTF8.self) }
        }
        #expect(replaced("aaa", "aa", "X") == "Xa")
        #expect(replaced("abcabc", "ABC", "x") == "abcabc")
        #expect(replaced("aabaabaaab", "aab", "-") == "--a-")
        #expect(replaced("héllo wörld", "ö", "o") == "héllo world")
        #expect(replaced("x", "xyz", "") == "x")
        // Growth past the limit is refused, not performed.
        #expect(ByteReplacement.replacingAll(in: [UInt8](repeating: 97, count: 1000), [97], with: [UInt8](repeating: 98, count: 100), limit: 10_000) == nil)
    }

    /// `AsFormUrlEncodedContent()` then APIM's `ToFormUrlEncodedContent()` (the policy reference's set-body example):
    /// values in order, repeated keys repeated, form encoding on the way back.
    @Test func formContentIsWrittenBackAsFormText() async throws {
        let xml = document(inbound: """
            <set-body>@{
                var body = context.Request.Body.AsFormUrlEncodedContent();
                body["a"].Add("x&y=z");
                body.Remove("drop");
                return body.ToFormUrlEncodedContent();
            }</set-body>
            """)
        let (_, sent) = try await execute(xml, request(method: "POST"), body: BufferedBody("a=1&drop=z&b=hello+world&a=2&c%20d=%C3%A9"))
        guard case .bytes(let bytes)? = sent.first?.body else {
            Issue.record("the body was not set")
            return
        }
        #expect(String(decoding: bytes, as: UTF8.self) == "a=1&a=2&a=x%26y%3Dz&b=hello+world&c+d=%C3%A9")
        // An empty form is empty text; the method is only on the form dictionary's type.
        let (_, empty) = try await execute(document(inbound: "<set-body>@(context.Request.Body.AsFormUrlEncodedContent().ToFormUrlEncodedContent())</set-body>"),
                                           request(method: "POST"), body: BufferedBody(""))
        if case .bytes(let bytes)? = empty.first?.body { #expect(bytes.isEmpty) } else { Issue.record("no body") }
        #expect(throws: (any Error).self) {
            try pipeline(document(inbound: #"<set-body>@(new Dictionary<string, string>().ToFormUrlEncodedContent())</set-body>"#))
        }
    }

    @Test func findAndReplaceFailures() async throws {
        #expect(loadErrors("<find-and-replace from=\"\" to=\"x\" />").contains { $0.contains("'from'") })
        #expect(loadErrors("<find-and-replace from=\"x\" />").contains { $0.contains("requires the attribute 'to'") })
        let empty = document(outbound: "<find-and-replace from=\"@(&quot;&quot;)\" to=\"x\" />")
        let (result, _) = try await execute(empty)
        #expect(result.status == 500)
        #expect(result.lastError?.reason == "ExpressionValueEvaluationFailure")
        let growth = document(outbound: "<find-and-replace from=\"a\" to=\"@(new string('b', 1000))\" />")
        let (grown, _) = try await execute(
            growth, backend: RecordingBackend(body: String(repeating: "a", count: 5000)), options: PolicyPipelineOptions(maximumBodyBytes: 100_000))
        #expect(grown.status == 500)
        #expect(grown.lastError?.reason == "BodyTooLarge")
    }

    @Test func authenticationBasicReplacesAuthorization() async throws {
        let xml = document(inbound: "<authentication-basic username=\"user\" password=\"pass\" />")
        let (_, sent) = try await execute(xml, request(headers: [PolicyHeader("authorization", "Bearer client-token")]))
        // base64("user:pass") == "dXNlcjpwYXNz" (RFC 7617's encoding).
        #expect(sent.first.map { HeaderList.values($0.headers, "Authorization") } == ["Basic dXNlcjpwYXNz"])
        let utf8 = document(inbound: "<authentication-basic username=\"@(&quot;test&quot;)\" password=\"123£\" />")
        let (_, sentUTF8) = try await execute(utf8)
        // RFC 7617 §2.1's example: test:123£ in UTF-8.
        #expect(sentUTF8.first.map { HeaderList.values($0.headers, "Authorization") } == ["Basic dGVzdDoxMjPCow=="])
    }

    @Test func authenticationBasicErrors() async throws {
        #expect(loadErrors("<authentication-basic username=\"a:b\" password=\"p\" />").contains { $0.contains("must not contain ':'") })
        #expect(loadErrors("<authentication-basic username=\"a\" />").contains { $0.contains("requires the attribute 'password'") })
        #expect(loadErrors("<authentication-basic username=\"a\" password=\"p\" />", section: .outbound).contains { $0.contains("not allowed in '<outbound>'") })
        let computed = document(inbound: "<authentication-basic username=\"@(&quot;a:b&quot;)\" password=\"p\" />")
        let (result, sent) = try await execute(computed)
        #expect(result.status == 500)
        #expect(sent.isEmpty)
    }

    @Test func jsonpWrapsOnlyWithAValidCallback() async throws {
        let xml = document(outbound: "<jsonp callback-parameter-name=\"cb\" />")
        let backend = { RecordingBackend(headers: [PolicyHeader("Content-Type", "application/json")], body: "{\"a\":1}") }
        let (wrapped, _) = try await execute(xml, request(query: [("cb", "app.render")]), backend: backend())
        #expect(wrapped.bodyText == "app.render({\"a\":1});")
        #expect(wrapped.header("Content-Type") == "application/javascript; charset=utf-8")
        let (plain, _) = try await execute(xml, request(), backend: backend())
        #expect(plain.header("Content-Type") == "application/json")
        for hostile in ["alert(1)//", "a b", "1abc", "a..b", "", String(repeating: "a", count: 300)] {
            let (kept, _) = try await execute(xml, request(query: [("cb", hostile)]), backend: backend())
            #expect(kept.bodyText == "{\"a\":1}", "callback \(hostile.prefix(20))")
            #expect(kept.header("Content-Type") == "application/json")
        }
        #expect(loadErrors("<jsonp callback-parameter-name=\"cb\" />").contains { $0.contains("not allowed in '<inbound>'") })
    }
}

@Suite struct URLPolicyRuntimeTests {
    @Test func redirectContentURLsBothWays() async throws {
        // The request: https://gw.example/echo/items/7; the API's backend: https://backend.example/api.
        let outbound = document(outbound: "<redirect-content-urls />")
        let (result, _) = try await execute(
            outbound, backend: RecordingBackend(body: #"{"self":"https://backend.example/api/items/7","other":"https://elsewhere.example/api"}"#))
        #expect(result.bodyText == #"{"self":"https://gw.example/echo/items/7","other":"https://elsewhere.example/api"}"#)
        let inbound = document(inbound: "<redirect-content-urls />")
        let (_, sent) = try await execute(inbound, request(method: "POST"), body: CountingBody("see https://gw.example/echo/items/8"))
        guard case .bytes(let bytes)? = sent.first?.body else {
            Issue.record("the request body was not rewritten")
            return
        }
        #expect(String(decoding: bytes, as: UTF8.self) == "see https://backend.example/api/items/8")
        #expect(loadErrors("<redirect-content-urls />", section: .backend).contains { $0.contains("not allowed in '<backend>'") })
        #expect(loadErrors("<redirect-content-urls base=\"x\" />").contains { $0.contains("unknown attribute 'base'") })
    }

    @Test func crossDomainAnswersCrossdomainXMLInTheGlobalScope() async throws {
        let xml = document(inbound: "<cross-domain><cross-domain-policy><allow-http-request-headers-from domain=\"*\" headers=\"*\" /></cross-domain-policy></cross-domain>")
        let built = try pipeline(xml, scope: .global)
        let served = await built.run(request(path: "/crossdomain.xml"), backend: RecordingBackend())
        #expect(served.status == 200)
        #expect(served.header("Content-Type") == "application/xml")
        #expect(served.bodyText?.hasPrefix("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<cross-domain-policy>") == true, "\(served.bodyText ?? "")")
        #expect(served.bodyText?.contains("allow-http-request-headers-from") == true)
        #expect(!served.backendCalled)
        let other = await built.run(request(), backend: RecordingBackend())
        #expect(other.backendCalled)
        #expect(throws: (any Error).self) { try pipeline(xml, scope: .api) }
        #expect(loadErrors("<cross-domain><other /></cross-domain>").contains { $0.contains("one '<cross-domain-policy>'") || $0.contains("global scope") })
    }
}
