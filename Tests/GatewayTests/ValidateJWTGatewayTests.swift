import Crypto
import Foundation
import Gateway
import GatewayConfiguration
import Testing

/// `validate-jwt` end to end: curl through a real gateway with an HS256 key in the policy.
@Suite(.serialized, .enabled(if: Curl.isAvailable, "needs /usr/bin/curl"))
struct ValidateJWTGatewayTests {
    static func base64URL(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func token(secret: [UInt8], claims: String) -> String {
        let signingInput = base64URL(Data(#"{"alg":"HS256","typ":"JWT"}"#.utf8)) + "." + base64URL(Data(claims.utf8))
        let mac = HMAC<SHA256>.authenticationCode(for: Data(signingInput.utf8), using: SymmetricKey(data: secret))
        return signingInput + "." + base64URL(Array(mac))
    }

    @Test func inlineKeyTokensAreCheckedThroughTheGateway() async throws {
        let secret = Array((0..<32).map { UInt8($0 * 7 & 0xFF) })
        let policy = FileManager.default.temporaryDirectory.appendingPathComponent("jwt-\(UUID().uuidString).xml").path
        defer { try? FileManager.default.removeItem(atPath: policy) }
        try """
            <policies><inbound>
            <validate-jwt header-name="Authorization" failed-validation-httpcode="401" require-scheme="Bearer">
              <issuer-signing-keys><key>\(Data(secret).base64EncodedString())</key></issuer-signing-keys>
              <audiences><audience>api://drawbridge</audience></audiences>
            </validate-jwt>
            </inbound><backend><forward-request /></backend><outbound /><on-error /></policies>
            """.write(toFile: policy, atomically: true, encoding: .utf8)
        let gateway = try await TestGateway.start(tweaking: { config, _, _ in config.apis[1].policyFile = policy })
        let now = Int(Date().timeIntervalSince1970)
        func call(_ token: String?) async throws -> Curl.Result {
            var arguments = SecurityProbeTests.common(gateway) + ["--http1.1", "--max-time", "10"]
            if let token { arguments += ["-H", "Authorization: Bearer \(token)"] }
            return try await Curl.run(arguments + ["\(gateway.baseURL)/public/jwt"])
        }
        let valid = try await call(Self.token(secret: secret, claims: #"{"aud":"api://drawbridge","exp":\#(now + 300)}"#))
        #expect(valid.httpCode == 200, "\(valid.httpCode) \(valid.body) \(valid.stderr)")
        let expired = try await call(Self.token(secret: secret, claims: #"{"aud":"api://drawbridge","exp":\#(now - 3600)}"#))
        #expect(expired.httpCode == 401, "\(expired.body)")
        let missing = try await call(nil)
        #expect(missing.httpCode == 401, "\(missing.body)")
        let wrongKey = try await call(Self.token(secret: Array(repeating: 1, count: 32), claims: #"{"aud":"api://drawbridge","exp":\#(now + 300)}"#))
        #expect(wrongKey.httpCode == 401, "\(wrongKey.body)")
        try await gateway.stop()
    }
}
