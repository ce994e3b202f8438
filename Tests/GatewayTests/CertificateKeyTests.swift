import Foundation
import Gateway
import GatewayConfiguration
import Testing

/// `policies.certificates` with keys, used by `authentication-certificate certificate-id` against a
/// backend that requires a client certificate in its handshake (another gateway in `required` mode):
/// certificate + key files, one combined PEM, an encrypted key with its password, and a PFX whose
/// password is a secret named value.
@Suite(.serialized, .enabled(if: Curl.isAvailable && OpenSSLPKI.isAvailable))
struct CertificateKeyTests {
    @Test func everyWayOfGivingAKeyReachesAnMTLSBackend() async throws {
        let pki = try await SharedPKI.shared.pki()
        let folder = try CLITests.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        @Sendable func path(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }
        let combined = try String(contentsOfFile: pki.clientCertificate, encoding: .utf8) + String(contentsOfFile: pki.clientKey, encoding: .utf8)
        try Data(combined.utf8).write(to: URL(fileURLWithPath: path("combined.pem")))
        try OpenSSLPKI.run(["pkcs12", "-export", "-in", pki.clientCertificate, "-inkey", pki.clientKey, "-out", path("client.pfx"),
                            "-passout", "pass:pfx-secret-pw"])
        try OpenSSLPKI.run(["pkey", "-in", pki.clientKey, "-aes256", "-passout", "pass:key-pw", "-out", path("encrypted-key.pem")])

        let backend = try await TestGateway.start(tweaking: { config, _, port in
            config.hostnames[0].clientCertificate = .required
            config.apis = [APIConfig(name: "inner", pathPrefix: "/", backendURL: "http://127.0.0.1:\(port)")]
        })
        let backendPort = backend.port
        let ids = ["split", "combined", "encrypted", "pfx"]
        var policies: [String: String] = [:]
        for id in ids {
            policies[id] = try SeedPolicyTests.write("""
            <policies><inbound><base /><authentication-certificate certificate-id="\(id)" /></inbound>
            <backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>
            """)
        }
        let policyFiles = policies
        let front = try await TestGateway.start(tweaking: { config, pki, _ in
            config.apis = ids.map { id in
                APIConfig(name: id, pathPrefix: "/\(id)", backendURL: "https://localhost:\(backendPort)/inner", policyFile: policyFiles[id])
            }
            config.backend.trustedCAFiles = [pki.rootCA]
            config.policies.namedValues["pfx-password"] = "pfx-secret-pw"
            config.policies.secretNamedValues.insert("pfx-password")
            config.policies.certificateFiles = ["split": pki.clientCertificate, "combined": path("combined.pem"),
                                                "encrypted": pki.clientCertificate, "pfx": path("client.pfx")]
            config.policies.certificateKeyFiles = ["split": pki.clientKey, "encrypted": path("encrypted-key.pem")]
            config.policies.certificatePasswords = ["encrypted": "key-pw", "pfx": "pfx-secret-pw"]
        })
        for id in ids {
            let result = try await Curl.run(["--cacert", pki.rootCA, "\(front.baseURL)/\(id)/ping"])
            #expect(result.httpCode == 200, "\(id): \(result.body)")
            #expect(result.body.contains("\"path\":\"/inner/ping\""), "\(id): \(result.body)")
        }
        try await front.stop()
        try await backend.stop()

        // Refusals name the file and the problem, never the password.
        // (Uploaded certificates are loaded with the policies: an API needs a policy document.)
        let plain = try SeedPolicyTests.write("<policies><inbound><base /></inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>")
        var config = DemoGateway.configuration(pki: pki, echoPort: 9, port: 0, policyFile: plain)
        config.policies.certificateFiles = ["pfx": path("client.pfx")]
        config.policies.certificatePasswords = ["pfx": "not-the-pw"]
        #expect { _ = try GatewaySnapshot(config: config) } throws: { error in
            "\(error)".contains(path("client.pfx")) && "\(error)".contains("password is incorrect") && !"\(error)".contains("not-the-pw")
        }
        config.policies.certificateFiles = ["mismatch": pki.clientCertificate]
        config.policies.certificateKeyFiles = ["mismatch": pki.expiredClientKey]
        config.policies.certificatePasswords = [:]
        #expect { _ = try GatewaySnapshot(config: config) } throws: { error in "\(error)".contains("does not belong") }
        config.policies.certificateKeyFiles = ["mismatch": path("encrypted-key.pem")]
        config.policies.certificatePasswords = ["mismatch": "wrong-key-pw"]
        #expect { _ = try GatewaySnapshot(config: config) } throws: { error in
            "\(error)".contains("cannot be decrypted") && !"\(error)".contains("wrong-key-pw")
        }
    }
}
