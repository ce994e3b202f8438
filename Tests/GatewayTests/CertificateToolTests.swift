import Foundation
import Gateway
import Testing

/// `drawbridge certcheck` exit codes (0 valid, 1 invalid, 2 usage or input error) and `drawbridge cert
/// inspect` (ISO 8601 dates with zone, days until expiry, expired marker, `--json`), as a user runs them.
@Suite(.serialized)
struct CertificateToolTests {
    @Test func certcheckExitCodesTellValidInvalidAndInputErrorsApart() async throws {
        let pki = try await SharedPKI.shared.pki()
        let crls = ["intermediate.crl", "root.crl"].flatMap { ["--crl", (pki.crlDirectory as NSString).appendingPathComponent($0)] }
        let base = ["certcheck", "--trusted", pki.rootCA, "--untrusted", pki.intermediateCA]
        let valid = try await CLITests.run(base + crls + ["--leaf", pki.clientCertificate])
        #expect(valid.status == 0, "\(valid.stdout) \(valid.stderr)")
        #expect(valid.stdout.hasPrefix("VALID"))
        let revoked = try await CLITests.run(base + crls + ["--leaf", pki.revokedClientCertificate])
        #expect(revoked.status == 1)
        #expect(revoked.stdout.hasPrefix("INVALID ClientCertificateRevoked"), "\(revoked.stdout)")
        let unknown = try await CLITests.run(base + ["--crl", (pki.crlDirectory as NSString).appendingPathComponent("intermediate.crl"),
                                                     "--leaf", pki.clientCertificate])
        #expect(unknown.status == 1)
        #expect(unknown.stdout.hasPrefix("INVALID ClientCertificateRevocationUnknown"), "\(unknown.stdout)")
        let missing = try await CLITests.run(base + ["--leaf", "/nonexistent/leaf.pem"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("cannot read /nonexistent/leaf.pem"), "\(missing.stderr)")
        let notACertificate = try await CLITests.run(base + ["--leaf", pki.clientKey])
        #expect(notACertificate.status == 2, "\(notACertificate.stderr)")
        let badOption = try await CLITests.run(base + ["--leaf", pki.clientCertificate, "--eku", "bogus"])
        #expect(badOption.status == 2)
        let usage = try await CLITests.run(["certcheck", "--trusted", pki.rootCA])
        #expect(usage.status == 2)
    }

    @Test func inspectPrintsISODatesDaysLeftAndExpiredAsTextAndJSON() async throws {
        let pki = try await SharedPKI.shared.pki()
        let text = try await CLITests.run(["cert", "inspect", pki.clientCertificate])
        #expect(text.status == 0)
        #expect(text.stdout.range(of: #"Not After:  \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"#, options: .regularExpression) != nil, "\(text.stdout)")
        #expect(text.stdout.contains("days until expiry"))
        let expired = try await CLITests.run(["cert", "inspect", pki.expiredClientCertificate])
        #expect(expired.stdout.contains("EXPIRED"), "\(expired.stdout)")

        let json = try await CLITests.run(["cert", "inspect", "--json", pki.clientCertificate])
        #expect(json.status == 0)
        let objects = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(objects.count == 2)  // leaf and intermediate in the PEM file
        let leaf = try #require(objects.first)
        #expect(leaf["subject"] as? String == "CN=demo-client, O=Drawbridge Demo, C=NL" || (leaf["subject"] as? String)?.contains("demo-client") == true)
        let notAfter = try #require(leaf["notAfter"] as? String)
        let parsed = try #require(ISO8601DateFormatter().date(from: notAfter), "\(notAfter)")
        let days = try #require(leaf["daysUntilExpiry"] as? Int)
        #expect(abs(Double(days) - parsed.timeIntervalSinceNow / 86_400) < 1.01)
        #expect(leaf["expired"] as? Bool == false)
        let expiredJSON = try await CLITests.run(["cert", "inspect", "--json", pki.expiredClientCertificate])
        let expiredLeaf = try #require((try JSONSerialization.jsonObject(with: Data(expiredJSON.stdout.utf8)) as? [[String: Any]])?.first)
        #expect(expiredLeaf["expired"] as? Bool == true)
        #expect((expiredLeaf["daysUntilExpiry"] as? Int ?? 0) < 0)

        let missing = try await CLITests.run(["cert", "inspect", "/nonexistent.pem"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("cannot read /nonexistent.pem"))
    }
}
