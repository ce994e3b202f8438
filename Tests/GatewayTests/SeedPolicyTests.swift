import Foundation
import Gateway
import GatewayConfiguration
import Testing

/// The seed page's three APIM policies, loaded verbatim (only the placeholders get real values), run
/// by the gateway for real TLS clients. `Verify()` checks the chain and revocation: the demo PKI's
/// certificates name a CRL distribution point that a loopback server answers.
@Suite(.serialized, .enabled(if: Curl.isAvailable))
struct SeedPolicyTests {
    static let issuerSubjectSnippet = """
    <policies><inbound><base />
    <choose>
        <when condition="@(context.Request.Certificate == null || !context.Request.Certificate.Verify() || context.Request.Certificate.Issuer != "trusted-issuer" || context.Request.Certificate.SubjectName.Name != "expected-subject-name")" >
            <return-response>
                <set-status code="403" reason="Invalid client certificate" />
            </return-response>
        </when>
    </choose>
    </inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>
    """

    static let uploadedCertificatesSnippet = """
    <policies><inbound><base />
    <choose>
        <when condition="@(context.Request.Certificate == null || !context.Request.Certificate.Verify()  || !context.Deployment.Certificates.Any(c => c.Value.Thumbprint == context.Request.Certificate.Thumbprint))" >
            <return-response>
                <set-status code="403" reason="Invalid client certificate" />
            </return-response>
        </when>
    </choose>
    </inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>
    """

    static func write(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("drawbridge-policy-\(UUID().uuidString).xml").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// The demo configuration with `policy` on the /echo API.
    static func gateway(policy: String, tweak: @escaping @Sendable (inout GatewayConfig, DemoPKI) -> Void = { _, _ in }) async throws -> TestGateway {
        try await TestGateway.start(tweaking: { config, pki, port in
            config = DemoGateway.configuration(pki: pki, echoPort: port, port: 0, policyFile: policy)
            config.accessLog = false
            tweak(&config, pki)
        })
    }

    /// (label, certificate, key, expected status)
    static func clients(_ pki: DemoPKI) -> [(String, String?, String?, Int)] {
        [("valid", pki.clientCertificate, pki.clientKey, 200),
         ("none", nil, nil, 403),
         ("expired", pki.expiredClientCertificate, pki.expiredClientKey, 403),
         ("unknown CA", pki.unknownClientCertificate, pki.unknownClientKey, 403),
         ("revoked", pki.revokedClientCertificate, pki.revokedClientKey, 403)]
    }

    func expectStatuses(_ gateway: TestGateway, path: String = "/echo/users/42",
                        expectations: [(String, String?, String?, Int)]) async throws {
        for (label, certificate, key, expected) in expectations {
            for protocolFlag in ["--http1.1", "--http2"] {
                var arguments = ["--cacert", gateway.pki.rootCA, protocolFlag, "-i"]
                if let certificate, let key { arguments += ["--cert", certificate, "--key", key] }
                let result = try await Curl.run(arguments + ["\(gateway.baseURL)\(path)"])
                #expect(result.httpCode == expected, "\(label) \(protocolFlag): \(result.stdout) \(result.stderr)")
                if expected == 200 {
                    // The backend was reached: the echo backend describes the request it got.
                    #expect(result.stdout.contains("\"path\":\"/users/42\""), "\(label) \(protocolFlag): \(result.stdout)")
                }
                if expected == 403 && protocolFlag == "--http1.1" {
                    #expect(result.stdout.hasPrefix("HTTP/1.1 403 Invalid client certificate"), "\(label): \(result.stdout)")
                }
            }
        }
    }

    @Test func thumbprintSnippet() async throws {
        let pki = try await SharedPKI.shared.pki()
        let policy = try DemoGateway.writePolicy(pki: pki)
        let gateway = try await Self.gateway(policy: policy)
        try await expectStatuses(gateway, expectations: Self.clients(pki))
        try await gateway.stop()
    }

    @Test func issuerAndSubjectSnippet() async throws {
        let pki = try await SharedPKI.shared.pki()
        // .NET's X500DistinguishedName text: RDNs in reverse order, ", " between them.
        let text = Self.issuerSubjectSnippet
            .replacingOccurrences(of: "\"trusted-issuer\"", with: "\"CN=Drawbridge Demo Intermediate CA, O=Drawbridge Demo, C=NL\"")
            .replacingOccurrences(of: "\"expected-subject-name\"", with: "\"CN=demo-client, O=Drawbridge Demo, C=NL\"")
        let policy = try Self.write(text)
        let gateway = try await Self.gateway(policy: policy)
        try await expectStatuses(gateway, expectations: Self.clients(pki))
        try await gateway.stop()
    }

    @Test func uploadedCertificatesSnippet() async throws {
        let pki = try await SharedPKI.shared.pki()
        let policy = try Self.write(Self.uploadedCertificatesSnippet)
        let gateway = try await Self.gateway(policy: policy) { config, pki in
            // Only the valid client's certificate is uploaded; the revoked one is too, to show that
            // Verify() refuses it even though it is in the store.
            config.policies.certificateFiles = ["demo-client": pki.clientCertificate, "revoked": pki.revokedClientCertificate]
        }
        try await expectStatuses(gateway, expectations: Self.clients(pki))
        try await gateway.stop()
    }

    /// CRLs fetched from distribution points are the server's: a reload (SIGHUP, an admin change)
    /// keeps them, and the next request after it fetches nothing.
    @Test func fetchedCRLsSurviveAReload() async throws {
        let pki = try await SharedPKI.shared.pki()
        let policy = try DemoGateway.writePolicy(pki: pki)
        let gateway = try await Self.gateway(policy: policy)
        let before = await SharedPKI.shared.crlRequestsServed()
        try await expectStatuses(gateway, expectations: [("valid", pki.clientCertificate, pki.clientKey, 200)])
        let fetched = await SharedPKI.shared.crlRequestsServed()
        #expect(fetched > before, "Verify() fetched the CRLs of the chain")
        try gateway.server.reload(config: gateway.server.snapshot.config)
        try await expectStatuses(gateway, expectations: [("valid", pki.clientCertificate, pki.clientKey, 200),
                                                         ("revoked", pki.revokedClientCertificate, pki.revokedClientKey, 403)])
        #expect(await SharedPKI.shared.crlRequestsServed() == fetched, "no CRL fetched again after the reload")
        try await gateway.stop()
    }

    @Test func verifyNoRevocationAcceptsTheRevokedCertificate() async throws {
        let pki = try await SharedPKI.shared.pki()
        let policy = try Self.write(Self.issuerSubjectSnippet
            .replacingOccurrences(of: "Verify()", with: "VerifyNoRevocation()")
            .replacingOccurrences(of: " || context.Request.Certificate.Issuer != \"trusted-issuer\" || context.Request.Certificate.SubjectName.Name != \"expected-subject-name\"", with: ""))
        let gateway = try await Self.gateway(policy: policy)
        try await expectStatuses(gateway, expectations: [
            ("revoked", pki.revokedClientCertificate, pki.revokedClientKey, 200),
            ("expired", pki.expiredClientCertificate, pki.expiredClientKey, 403),
            ("none", nil, nil, 403),
        ])
        try await gateway.stop()
    }

    @Test func aBrokenPolicyRefusesToStartWithItsPosition() async throws {
        let pki = try await SharedPKI.shared.pki()
        let policy = try Self.write("<policies><inbound><set-status code=\"4o3\" /></inbound></policies>")
        var config = DemoGateway.configuration(pki: pki, echoPort: 9, port: 0, policyFile: policy)
        config.accessLog = false
        do {
            _ = try GatewaySnapshot(config: config)
            Issue.record("a broken policy must not load")
        } catch {
            #expect("\(error)".contains("\(policy):1:"), "\(error)")
        }
    }
}
