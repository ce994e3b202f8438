import Foundation
import Gateway
import GatewayConfiguration
import Testing

/// Revocation from CRL files given in the configuration, with a PKI made by the `openssl` command
/// line (root → issuing CA → clients, no CRL distribution points anywhere), driven by curl: the
/// built-in gate, `validate-client-certificate` (its `LastError.Reason`) and `required` mode.
@Suite(.serialized, .enabled(if: Curl.isAvailable && OpenSSLPKI.isAvailable))
struct CRLFileTests {
    /// `/gate`: requireTrustedClientCertificate; `/vcc`: validate-client-certificate answering 401
    /// with `context.LastError.Reason` as the body.
    static func gateway(_ pki: OpenSSLPKI, tweak: @escaping @Sendable (inout GatewayConfig) -> Void) async throws -> TestGateway {
        let policy = try SeedPolicyTests.write("""
        <policies>
          <inbound><base /><validate-client-certificate validate-revocation="true" validate-trust="true" validate-not-before="true" validate-not-after="true" ignore-error="false" /></inbound>
          <backend><base /></backend><outbound><base /></outbound>
          <on-error><return-response><set-status code="401" reason="Unauthorized" /><set-body>@(context.LastError.Reason)</set-body></return-response></on-error>
        </policies>
        """)
        return try await TestGateway.start(tweaking: { config, _, echoPort in
            config.hostnames[0].trustedCAFiles = [pki.rootCA, pki.issuingCA]
            config.apis = [
                APIConfig(name: "gate", pathPrefix: "/gate", backendURL: "http://127.0.0.1:\(echoPort)", requireTrustedClientCertificate: true),
                APIConfig(name: "vcc", pathPrefix: "/vcc", backendURL: "http://127.0.0.1:\(echoPort)", policyFile: policy),
            ]
            tweak(&config)
        })
    }

    static func curl(_ gateway: TestGateway, _ pki: OpenSSLPKI, _ client: String, _ path: String) async throws -> Curl.Result {
        try await Curl.run(["--cacert", gateway.pki.rootCA, "--http1.1", "--cert", pki.certificate(client), "--key", pki.key(client),
                            "\(gateway.baseURL)\(path)"])
    }

    @Test func crlFilesRevokeWithoutAnyDistributionPoint() async throws {
        let pki = try OpenSSLPKI.create(clients: ["hand-good", "hand-revoked"])
        defer { pki.remove() }
        try pki.revoke("hand-revoked")
        let issuingCRL = try pki.issuingCRL("issuing.crl", der: true)   // DER, on the hostname
        let rootCRL = try pki.rootCRL("root.crl")                         // PEM, global
        let gateway = try await Self.gateway(pki) { config in
            config.hostnames[0].crlFiles = [issuingCRL]
            config.policies.revocation.crlFiles = [rootCRL]
        }
        let good = try await Self.curl(gateway, pki, "hand-good", "/gate/x")
        #expect(good.httpCode == 200, "\(good.stdout) \(good.stderr)")
        let refused = try await Self.curl(gateway, pki, "hand-revoked", "/gate/x")
        #expect(refused.httpCode == 403, "\(refused.stdout)")
        let validated = try await Self.curl(gateway, pki, "hand-good", "/vcc/x")
        #expect(validated.httpCode == 200, "\(validated.stdout)")
        let revoked = try await Self.curl(gateway, pki, "hand-revoked", "/vcc/x")
        #expect(revoked.httpCode == 401)
        #expect(revoked.body == "ClientCertificateRevoked", "\(revoked.body)")
        try await gateway.stop()

        // required mode decides in the handshake with the same CRLs.
        let required = try await Self.gateway(pki) { config in
            config.hostnames[0].clientCertificate = .required
            config.hostnames[0].crlFiles = [issuingCRL]
            config.policies.revocation.crlFiles = [rootCRL]
            config.apis[0].requireTrustedClientCertificate = false
        }
        #expect(try await Self.curl(required, pki, "hand-good", "/gate/x").httpCode == 200)
        let handshake = try await Self.curl(required, pki, "hand-revoked", "/gate/x")
        #expect(handshake.httpCode == 0, "revoked certificate accepted in required mode: \(handshake.stdout)")
        try await required.stop()
    }

    /// Without the root's CRL, `scope: chain` cannot know the issuing CA's status: "unknown", never
    /// "revoked"; fail-open then accepts the good certificate but still refuses the revoked one;
    /// `scope: leaf` needs only the issuing CA's CRL.
    @Test func missingRootCRLIsUnknownAndOnlyUnknownFollowsTheFailureMode() async throws {
        let pki = try OpenSSLPKI.create(clients: ["hand-good", "hand-revoked"])
        defer { pki.remove() }
        try pki.revoke("hand-revoked")
        let issuingCRL = try pki.issuingCRL("issuing.crl")
        for (failOpen, leafOnly) in [(false, false), (true, false), (false, true)] {
            let gateway = try await Self.gateway(pki) { config in
                config.policies.revocation.crlFiles = [issuingCRL]
                config.policies.revocation.failOpen = failOpen
                config.policies.revocation.leafOnly = leafOnly
            }
            let good = try await Self.curl(gateway, pki, "hand-good", "/vcc/x")
            if failOpen || leafOnly {
                #expect(good.httpCode == 200, "failOpen \(failOpen) leafOnly \(leafOnly): \(good.stdout)")
            } else {
                #expect(good.httpCode == 401)
                #expect(good.body == "ClientCertificateRevocationUnknown", "\(good.body)")
                #expect(try await Self.curl(gateway, pki, "hand-good", "/gate/x").httpCode == 403)
            }
            let revoked = try await Self.curl(gateway, pki, "hand-revoked", "/vcc/x")
            #expect(revoked.httpCode == 401)
            // fail-open decides only an unknown status: the leaf's CRL says revoked.
            #expect(revoked.body == "ClientCertificateRevoked", "failOpen \(failOpen) leafOnly \(leafOnly): \(revoked.body)")
            try await gateway.stop()
        }
    }

    /// A CRL file is read again on reload (what SIGHUP does): a certificate revoked after start is
    /// refused once the new CRL is in place and the configuration reloaded.
    @Test func reloadReadsTheCRLFileAgain() async throws {
        let pki = try OpenSSLPKI.create(clients: ["hand-later"])
        defer { pki.remove() }
        let issuingCRL = try pki.issuingCRL("issuing.crl")
        let gateway = try await Self.gateway(pki) { config in
            config.policies.revocation.crlFiles = [issuingCRL]
            config.policies.revocation.leafOnly = true
        }
        #expect(try await Self.curl(gateway, pki, "hand-later", "/gate/x").httpCode == 200)
        try pki.revoke("hand-later")
        _ = try pki.issuingCRL("issuing.crl")
        try gateway.server.reload(config: gateway.server.snapshot.config)
        let refused = try await Self.curl(gateway, pki, "hand-later", "/vcc/x")
        #expect(refused.body == "ClientCertificateRevoked", "\(refused.body)")
        try await gateway.stop()
    }

    /// Without a SIGHUP: a CRL file replaced in place is picked up at the next check.
    @Test func aChangedCRLFileIsReadWithoutSIGHUP() async throws {
        let pki = try OpenSSLPKI.create(clients: ["hand-watched"])
        defer { pki.remove() }
        let issuingCRL = try pki.issuingCRL("issuing.crl")
        let gateway = try await Self.gateway(pki) { config in
            config.policies.revocation.crlFiles = [issuingCRL]
            config.policies.revocation.leafOnly = true
            config.policies.revocation.crlFileCheck = 0.2
        }
        #expect(try await Self.curl(gateway, pki, "hand-watched", "/vcc/x").httpCode == 200)
        try pki.revoke("hand-watched")
        _ = try pki.issuingCRL("issuing.crl")
        var body = ""
        for _ in 0..<50 {
            try await Task.sleep(for: .milliseconds(100))
            body = try await Self.curl(gateway, pki, "hand-watched", "/vcc/x").body
            if body == "ClientCertificateRevoked" { break }
        }
        #expect(body == "ClientCertificateRevoked", "the changed CRL file was not picked up: \(body)")
        try await gateway.stop()
    }

    @Test func unusableCRLFileStopsTheLoadNamingTheFile() async throws {
        let pki = try OpenSSLPKI.create(clients: [])
        defer { pki.remove() }
        let demo = try await SharedPKI.shared.pki()
        let junk = pki.path("junk.crl")
        try Data("-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n".utf8).write(to: URL(fileURLWithPath: junk))
        for file in [junk, pki.path("missing.crl"), pki.rootCA] {
            for perHostname in [false, true] {
                var config = DemoGateway.configuration(pki: demo, echoPort: 9, port: 0)
                if perHostname { config.hostnames[0].crlFiles = [file] } else { config.policies.revocation.crlFiles = [file] }
                #expect { _ = try GatewaySnapshot(config: config) } throws: { error in "\(error)".contains(file) }
            }
        }
    }
}
