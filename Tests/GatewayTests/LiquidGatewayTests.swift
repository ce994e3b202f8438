import Foundation
import GatewayConfiguration
import Testing

@testable import Gateway

/// `set-body template="liquid"` end to end: curl through a real gateway, the request body rewritten
/// by a template inbound, the echo backend's JSON answer rendered by another outbound.
@Suite(.serialized, .enabled(if: Curl.isAvailable, "needs /usr/bin/curl"))
struct LiquidGatewayTests {
    @Test func templatesRewriteTheRequestAndTheResponse() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("liquid-\(UUID().uuidString).xml").path
        try """
            <policies>
              <inbound><set-body template="liquid">{"hello":"{{ body.name | Upcase }}"}</set-body></inbound>
              <backend><forward-request /></backend>
              <outbound>
                <set-body template="liquid">method={{ body.method }};user={{ body.headers["x-user"] | Default: "anon" }};bytes={{ body.bodyBytes }}{% for h in context.Request.Headers %}{% if h.Key == "X-User" %};seen{% endif %}{% endfor %}</set-body>
              </outbound>
              <on-error />
            </policies>
            """.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let gateway = try await TestGateway.start(tweaking: { config, _, _ in config.apis[1].policyFile = path })
        let result = try await Curl.run(SecurityProbeTests.common(gateway) + [
            "--http1.1", "--max-time", "10", "-X", "POST", "-H", "Content-Type: application/json", "-H", "X-User: ada-user",
            "--data", #"{"name":"ada"}"#, "\(gateway.baseURL)/public/liquid",
        ])
        #expect(result.httpCode == 200, "\(result.body) \(result.stderr)")
        // {"hello":"ADA"} is 15 bytes.
        #expect(result.body == "method=POST;user=ada-user;bytes=15;seen", "\(result.body)")
        try await gateway.stop()
    }
}
