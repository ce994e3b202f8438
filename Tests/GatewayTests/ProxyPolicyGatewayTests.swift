import Foundation
import GatewayConfiguration
import Testing

@testable import Gateway

/// `proxy` end to end: curl through the gateway, whose forwarded requests go through a loopback
/// forward proxy — CONNECT for an https backend (a second gateway), absolute-form for the http echo
/// backend — carrying the policy's Basic credentials in `Proxy-Authorization`.
@Suite(.serialized, .enabled(if: Curl.isAvailable, "needs /usr/bin/curl"))
struct ProxyPolicyGatewayTests {
    static func policy(proxyPort: Int, password: String) throws -> String {
        try CataloguePolicyGatewayTests.writePolicy("""
            <policies>
              <inbound><proxy url="http://127.0.0.1:\(proxyPort)" username="gateway" password="\(password)" /></inbound>
              <backend><forward-request /></backend>
              <outbound />
              <on-error />
            </policies>
            """)
    }

    @Test func forwardedRequestsGoThroughTheProxy() async throws {
        let proxy = try await TestForwardProxy.start(expecting: "Basic Z2F0ZXdheTpzM2NyZXQ=")  // gateway:s3cret
        let good = try Self.policy(proxyPort: proxy.port, password: "s3cret")
        let bad = try Self.policy(proxyPort: proxy.port, password: "wrong")
        // send-request's own <proxy> child (written once the echo backend's port is known).
        let side = FileManager.default.temporaryDirectory.appendingPathComponent("side-\(UUID().uuidString).xml").path
        defer { for path in [good, bad, side] { try? FileManager.default.removeItem(atPath: path) } }
        let proxyPort = proxy.port
        let backendGateway = try await TestGateway.start(tweaking: { config, _, port in
            config.hostnames[0].clientCertificate = .off
            config.apis = [APIConfig(name: "echo", pathPrefix: "/", backendURL: "http://127.0.0.1:\(port)")]
        })
        let backendPort = backendGateway.port
        let gateway = try await TestGateway.start(tweaking: { config, pki, port in
            config.apis = [
                APIConfig(name: "tls", pathPrefix: "/tls", backendURL: "https://localhost:\(backendPort)/inner", policyFile: good),
                APIConfig(name: "plain", pathPrefix: "/plain", backendURL: "http://127.0.0.1:\(port)/base", policyFile: good),
                APIConfig(name: "refused", pathPrefix: "/refused", backendURL: "https://localhost:\(backendPort)/inner", policyFile: bad),
                APIConfig(name: "side", pathPrefix: "/side", backendURL: "http://127.0.0.1:\(port)", policyFile: side),
            ]
            try? """
                <policies>
                  <inbound>
                    <send-request mode="new" response-variable-name="answer" timeout="10">
                      <set-url>http://127.0.0.1:\(port)/side-call</set-url>
                      <proxy url="http://127.0.0.1:\(proxyPort)" username="gateway" password="s3cret" />
                    </send-request>
                    <return-response>
                      <set-status code="200" />
                      <set-body>@("side " + ((IResponse)context.Variables["answer"]).StatusCode)</set-body>
                    </return-response>
                  </inbound>
                  <backend><forward-request /></backend>
                  <outbound />
                  <on-error />
                </policies>
                """.write(toFile: side, atomically: true, encoding: .utf8)
            config.backend.trustedCAFiles = [pki.rootCA]
        })

        // https backend: a CONNECT tunnel, TLS to the backend inside it.
        let tls = try await CataloguePolicyGatewayTests.call(gateway, "/tls/ping")
        #expect(tls.httpCode == 200, "\(tls.stdout) \(tls.stderr)")
        #expect(tls.body.contains("\"path\":\"/inner/ping\""), "\(tls.body)")
        let connects = proxy.seen.filter { $0.method == "CONNECT" }
        #expect(connects.count == 1 && connects.first?.target == "localhost:\(backendPort)", "\(proxy.seen)")

        // http backend: the absolute-form target on the proxy connection.
        let plain = try await CataloguePolicyGatewayTests.call(gateway, "/plain/item?x=1")
        #expect(plain.httpCode == 200, "\(plain.stdout) \(plain.stderr)")
        let absolute = proxy.seen.filter { $0.method == "GET" }
        #expect(absolute.count == 1 && absolute.first?.target == "http://127.0.0.1:\(gateway.echo.port)/base/item?x=1", "\(proxy.seen)")
        #expect(proxy.seen.allSatisfy { $0.authorization?.hasPrefix("Basic ") == true })

        // The proxy refuses the credentials (407): the gateway answers an error and says why.
        let refused = try await CataloguePolicyGatewayTests.call(gateway, "/refused/ping")
        #expect(refused.httpCode != 200, "\(refused.stdout)")
        #expect(proxy.seen.last?.authorization == "Basic Z2F0ZXdheTp3cm9uZw==")
        #expect(!refused.body.contains("wrong") && !refused.body.contains("Z2F0ZXdheTp3cm9uZw"), "\(refused.body)")

        // send-request with a <proxy> child: its side request goes through the proxy too.
        let sideCall = try await CataloguePolicyGatewayTests.call(gateway, "/side/go")
        #expect(sideCall.httpCode == 200 && sideCall.body.hasSuffix("side 200"), "\(sideCall.stdout) \(sideCall.stderr)")
        #expect(proxy.seen.contains { $0.target == "http://127.0.0.1:\(gateway.echo.port)/side-call" }, "\(proxy.seen)")

        try await gateway.stop()
        try await backendGateway.stop()
        await proxy.stop()
    }
}
