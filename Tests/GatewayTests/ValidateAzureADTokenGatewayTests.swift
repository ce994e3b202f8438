import Foundation
import GatewayConfiguration
import Testing

@testable import Gateway

/// `validate-azure-ad-token` end to end: curl through a real gateway whose Entra authority
/// (`policies.entraAuthority`) is a loopback server serving the tenant's discovery document and JWKS.
@Suite(.serialized, .enabled(if: Curl.isAvailable, "needs /usr/bin/curl"))
struct ValidateAzureADTokenGatewayTests {
    static let tenant = "0b1d2c3e-4f50-6172-8394-a5b6c7d8e9f0"

    static func claims(_ server: DocumentServer, azp: String = "client-app", aud: String = "api://backend-app", tid: String = tenant,
                       exp: Int? = nil) -> String {
        let expiry = exp ?? Int(Date().timeIntervalSince1970) + 300
        return #"{"iss":"\#(server.baseURL)/\#(tid)/v2.0","aud":"\#(aud)","tid":"\#(tid)","azp":"\#(azp)","exp":\#(expiry)}"#
    }

    @Test func entraTokensThroughTheGateway() async throws {
        let signer = try TestSigner()
        let server = try await DocumentServer.start()
        server.set("/\(Self.tenant)/v2.0/.well-known/openid-configuration",
                   .json(#"{"issuer":"\#(server.baseURL)/\#(Self.tenant)/v2.0","jwks_uri":"\#(server.baseURL)/\#(Self.tenant)/discovery/v2.0/keys"}"#))
        server.set("/\(Self.tenant)/discovery/v2.0/keys", .json(try signer.jwks()))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("entra-\(UUID().uuidString).xml").path
        try """
            <policies><inbound>
            <validate-azure-ad-token tenant-id="\(Self.tenant)">
              <client-application-ids><application-id>client-app</application-id></client-application-ids>
              <backend-application-ids><application-id>backend-app</application-id></backend-application-ids>
            </validate-azure-ad-token>
            </inbound><backend><forward-request /></backend><outbound /><on-error /></policies>
            """.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let baseURL = server.baseURL
        let gateway = try await TestGateway.start(tweaking: { config, _, _ in
            config.apis[1].policyFile = path
            config.policies.entraAuthority = baseURL
        })
        func call(_ token: String) async throws -> Curl.Result {
            try await Curl.run(SecurityProbeTests.common(gateway) + ["--http1.1", "--max-time", "15", "-H", "Authorization: Bearer \(token)",
                                                                     "\(gateway.baseURL)/public/entra"])
        }
        for (algorithm, kid) in [("RS256", "rsa-1"), ("ES256", "ec-1")] {
            let accepted = try await call(try signer.token(algorithm, kid: kid, claims: Self.claims(server)))
            #expect(accepted.httpCode == 200, "\(algorithm): \(accepted.body) \(accepted.stderr)")
        }
        #expect(server.requests == ["/\(Self.tenant)/v2.0/.well-known/openid-configuration", "/\(Self.tenant)/discovery/v2.0/keys"])
        let otherTenant = "ffffffff-4f50-6172-8394-a5b6c7d8e9f0"
        let refusals: [(String, String)] = [
            ("other client", try signer.token("RS256", kid: "rsa-1", claims: Self.claims(server, azp: "intruder"))),
            ("other audience", try signer.token("RS256", kid: "rsa-1", claims: Self.claims(server, aud: "api://elsewhere"))),
            ("other tenant", try signer.token("RS256", kid: "rsa-1", claims: Self.claims(server, tid: otherTenant))),
            ("expired", try signer.token("RS256", kid: "rsa-1", claims: Self.claims(server, exp: Int(Date().timeIntervalSince1970) - 600))),
            ("HS256 with no such key", try signer.token("HS256", claims: Self.claims(server))),
            ("alg none", try signer.token("none", claims: Self.claims(server))),
        ]
        for (name, token) in refusals {
            let refused = try await call(token)
            #expect(refused.httpCode == 401, "\(name): \(refused.body)")
            #expect(refused.body.contains(#""statusCode":401"#), "\(name): \(refused.body)")
        }
        try await gateway.stop()
        await server.stop()
    }
}
