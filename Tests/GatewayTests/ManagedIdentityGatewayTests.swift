import Foundation
import GatewayConfiguration
import Testing

@testable import Gateway

/// `authentication-managed-identity` end to end: curl through a real gateway, tokens from an
/// IMDS-compatible endpoint played by a loopback server, the echo backend showing what it received.
@Suite(.serialized, .enabled(if: Curl.isAvailable, "needs /usr/bin/curl"))
struct ManagedIdentityGatewayTests {
    static let tokenPath = "/metadata/identity/oauth2/token"

    static func call(_ gateway: TestGateway, _ path: String) async throws -> Curl.Result {
        try await Curl.run(SecurityProbeTests.common(gateway) + ["--http1.1", "--max-time", "15", "\(gateway.baseURL)\(path)"])
    }

    static func gateway(policy: String, endpoint: String?) async throws -> (TestGateway, String) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("managed-identity-\(UUID().uuidString).xml").path
        try policy.write(toFile: path, atomically: true, encoding: .utf8)
        let gateway = try await TestGateway.start(tweaking: { config, _, _ in
            config.apis[1].policyFile = path
            config.policies.managedIdentityEndpoint = endpoint
        })
        return (gateway, path)
    }

    @Test func theBackendReceivesTheTokenWhichIsFetchedOnce() async throws {
        let server = try await DocumentServer.start()
        let query = "?api-version=2018-02-01&resource=https%3A%2F%2Fstorage.azure.com%2F&client_id=abc-123"
        server.set(Self.tokenPath + query, .json(#"{"access_token":"mi-token-1","expires_in":"3600","token_type":"Bearer"}"#))
        let (gateway, path) = try await Self.gateway(policy: """
            <policies><inbound>
            <authentication-managed-identity resource="https://storage.azure.com/" client-id="abc-123" />
            </inbound><backend><forward-request /></backend><outbound /><on-error /></policies>
            """, endpoint: server.baseURL + Self.tokenPath)
        defer { try? FileManager.default.removeItem(atPath: path) }
        for _ in 0..<2 {
            let result = try await Self.call(gateway, "/public/storage")
            #expect(result.httpCode == 200, "\(result.body) \(result.stderr)")
            #expect(result.body.contains("Bearer mi-token-1"), "\(result.body)")
        }
        #expect(server.requests == [Self.tokenPath + query])  // cached for the second request
        let head = try #require(server.requestHeads.first)
        #expect(head.lowercased().contains("\r\nmetadata: true"), "\(head)")
        try await gateway.stop()
        await server.stop()
    }

    @Test func withoutAnEndpointOrWhenItIsDownTheRequestFailsClosed() async throws {
        let policy = """
            <policies><inbound>
            <authentication-managed-identity resource="https://vault.azure.net" />
            </inbound><backend><forward-request /></backend><outbound /><on-error /></policies>
            """
        let (unconfigured, path) = try await Self.gateway(policy: policy, endpoint: nil)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let refused = try await Self.call(unconfigured, "/public/vault")
        #expect(refused.httpCode == 500)
        #expect(refused.body.contains(#""statusCode":500"#), "\(refused.body)")
        #expect(!refused.body.contains("\"method\""))  // the echo backend was not reached
        try await unconfigured.stop()

        // An endpoint that refuses connections: a closed loopback port.
        let server = try await DocumentServer.start()
        let closed = server.baseURL + Self.tokenPath
        await server.stop()
        let (down, downPath) = try await Self.gateway(policy: policy, endpoint: closed)
        defer { try? FileManager.default.removeItem(atPath: downPath) }
        let failed = try await Self.call(down, "/public/vault")
        #expect(failed.httpCode == 500, "\(failed.body)")
        try await down.stop()
    }
}
