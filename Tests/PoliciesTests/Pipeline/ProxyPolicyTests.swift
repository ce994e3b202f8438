import Foundation
import Testing

@testable import Policies

/// `proxy`: what the forwarded request carries, and APIM's limits (http:// proxies only, inbound).
@Suite struct ProxyPolicyTests {
    @Test func theForwardedRequestCarriesTheProxy() async throws {
        let built = try pipeline(document(inbound: #"<proxy url="http://10.0.0.5:3128" username="@("u" + "ser")" password="pa:ss" />"#))
        let backend = RecordingBackend()
        #expect(await built.run(request(), backend: backend).status == 200)
        let proxy = try #require(backend.requests.first?.proxy)
        #expect(proxy.host == "10.0.0.5" && proxy.port == 3128)
        #expect(proxy.authorization == "Basic " + Data("user:pa:ss".utf8).base64EncodedString())
        // Without credentials; the port defaults to 80.
        let plain = try pipeline(document(inbound: #"<proxy url="http://proxy.internal" />"#))
        let other = RecordingBackend()
        _ = await plain.run(request(), backend: other)
        #expect(other.requests.first?.proxy == BackendProxy(host: "proxy.internal", port: 80))
        // No proxy policy: direct.
        let direct = RecordingBackend()
        _ = await (try pipeline(document(inbound: ""))).run(request(), backend: direct)
        #expect(direct.requests.first?.proxy == nil)
    }

    @Test func sendRequestTakesAProxyChild() async throws {
        let built = try pipeline(document(inbound: """
            <send-request mode="new" response-variable-name="r" timeout="5">
              <set-url>http://side.example/x</set-url>
              <proxy url="http://10.0.0.9:8080" />
            </send-request>
            """))
        let backend = RecordingBackend()
        _ = await built.run(request(), backend: backend)
        #expect(backend.requests.first?.urlText == "http://side.example/x")
        #expect(backend.requests.first?.proxy == BackendProxy(host: "10.0.0.9", port: 8080))
        #expect(backend.requests.last?.proxy == nil)  // the forwarded request: no proxy policy
        #expect(throws: (any Error).self) {
            try pipeline(document(inbound: #"<send-request mode="new" response-variable-name="r"><set-url>http://a/</set-url><proxy url="https://p:1" /></send-request>"#))
        }
    }

    @Test(arguments: [
        (#"<proxy url="https://proxy:443" />"#, "the gateway reaches the proxy over http:// only"),
        (#"<proxy url="http://proxy:8080/path" />"#, "has a path, query or fragment"),
        (#"<proxy url="http://u:p@proxy:8080" />"#, "credentials go in 'username' and 'password'"),
        (#"<proxy url="not a url" />"#, "expected http://host:port"),
        (#"<proxy url="http://proxy:8080" username="a:b" />"#, "must not contain ':'"),
        (#"<proxy username="a" />"#, "url"),
    ])
    func badAttributesAreRefusedAtLoad(xml: String, reason: String) throws {
        do {
            _ = try pipeline(document(inbound: xml))
            Issue.record("loaded: \(xml)")
        } catch {
            #expect("\(error)".contains(reason), "\(error)")
        }
        #expect(throws: (any Error).self) { try pipeline(document(outbound: #"<proxy url="http://proxy:8080" />"#)) }
    }

    @Test func aComputedURLIsCheckedWhenTheRequestRuns() async throws {
        let built = try pipeline(document(inbound: #"<proxy url="@("ftp://" + "proxy")" />"#))
        let result = await built.run(request(), backend: RecordingBackend())
        #expect(result.status == 500)
        #expect(result.lastError?.message.contains("invalid proxy URL") == true, "\(String(describing: result.lastError))")
    }
}
