import ClientCertificates
import Foundation
import Gateway
import GatewayConfiguration
import NIOPosix
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// OCSP for client certificates against a real `openssl ocsp` responder on loopback, driven by curl:
/// the built-in gate, `validate-client-certificate` (its `LastError.Reason`), `Verify()` in a policy
/// and `required` mode.
@Suite(.serialized, .enabled(if: Curl.isAvailable && OpenSSLPKI.isAvailable))
struct OCSPTests {
    /// `/gate`: requireTrustedClientCertificate; `/vcc`: validate-client-certificate answering 401 with
    /// the reason; `/verify`: 403 `verify-failed` unless `Verify()`.
    static func gateway(_ pki: OpenSSLPKI, tweak: @escaping @Sendable (inout GatewayConfig) -> Void) async throws -> TestGateway {
        let validate = try SeedPolicyTests.write("""
        <policies>
          <inbound><base /><validate-client-certificate validate-revocation="true" validate-trust="true" validate-not-before="true" validate-not-after="true" ignore-error="false" /></inbound>
          <backend><base /></backend><outbound><base /></outbound>
          <on-error><return-response><set-status code="401" reason="Unauthorized" /><set-body>@(context.LastError.Reason)</set-body></return-response></on-error>
        </policies>
        """)
        let verify = try SeedPolicyTests.write("""
        <policies>
          <inbound><base />
            <choose><when condition="@(context.Request.Certificate == null || !context.Request.Certificate.Verify())">
              <return-response><set-status code="403" reason="Forbidden" /><set-body>verify-failed</set-body></return-response>
            </when></choose>
          </inbound>
          <backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error>
        </policies>
        """)
        return try await TestGateway.start(tweaking: { config, _, echoPort in
            config.hostnames[0].trustedCAFiles = [pki.rootCA, pki.issuingCA]
            config.apis = [
                APIConfig(name: "gate", pathPrefix: "/gate", backendURL: "http://127.0.0.1:\(echoPort)", requireTrustedClientCertificate: true),
                APIConfig(name: "vcc", pathPrefix: "/vcc", backendURL: "http://127.0.0.1:\(echoPort)", policyFile: validate),
                APIConfig(name: "verify", pathPrefix: "/verify", backendURL: "http://127.0.0.1:\(echoPort)", policyFile: verify),
            ]
            config.policies.revocation.method = .ocsp
            config.policies.revocation.leafOnly = true
            config.policies.revocation.fetchTimeout = 2
            tweak(&config)
        })
    }

    static func curl(_ gateway: TestGateway, _ pki: OpenSSLPKI, _ client: String, _ path: String) async throws -> Curl.Result {
        try await CRLFileTests.curl(gateway, pki, client, path)
    }

    @Test func goodPassesRevokedIsRefusedByEveryPath() async throws {
        let port = try LoopbackPort.free()
        let pki = try OpenSSLPKI.create(clients: ["ocsp-good", "ocsp-revoked"], ocspURL: "http://127.0.0.1:\(port)")
        defer { pki.remove() }
        try pki.revoke("ocsp-revoked")
        let responder = try pki.startOCSPResponder(port: port)
        defer { OpenSSLPKI.stopOCSPResponder(responder) }

        let gateway = try await Self.gateway(pki) { _ in }
        for path in ["/gate/x", "/vcc/x", "/verify/x"] {
            let good = try await Self.curl(gateway, pki, "ocsp-good", path)
            #expect(good.httpCode == 200, "\(path): \(good.stdout)")
        }
        #expect(try await Self.curl(gateway, pki, "ocsp-revoked", "/gate/x").httpCode == 403)
        let operations = try await gateway.server.startOperations(address: "127.0.0.1", port: 0, group: MultiThreadedEventLoopGroup.singleton)
        let metrics = try await OperationsTests.scrape(operations.port)
        #expect(metrics[#"drawbridge_client_certificate_checks_total{outcome="revoked"}"#] == 1)
        #expect(metrics[#"drawbridge_client_certificate_checks_total{outcome="revocation_unknown"}"#] ?? 0 == 0)
        await operations.stop()
        let validated = try await Self.curl(gateway, pki, "ocsp-revoked", "/vcc/x")
        #expect(validated.httpCode == 401)
        #expect(validated.body == "ClientCertificateRevoked", "\(validated.body)")
        let verified = try await Self.curl(gateway, pki, "ocsp-revoked", "/verify/x")
        #expect(verified.httpCode == 403)
        #expect(verified.body == "verify-failed")
        try await gateway.stop()

        let required = try await Self.gateway(pki) { config in
            config.hostnames[0].clientCertificate = .required
            config.policies.revocation.method = .crl          // the hostname's own method applies in the handshake
            config.hostnames[0].revocationMethod = .ocsp
            config.apis[0].requireTrustedClientCertificate = false
        }
        #expect(try await Self.curl(required, pki, "ocsp-good", "/gate/x").httpCode == 200)
        let handshake = try await Self.curl(required, pki, "ocsp-revoked", "/gate/x")
        #expect(handshake.httpCode == 0, "revoked certificate accepted in required mode: \(handshake.stdout)")
        try await required.stop()
    }

    /// Responder authorisation: a delegated responder certificate with id-kp-OCSPSigning issued by the
    /// CA is accepted; one without that usage, or issued by another CA, is not ("unknown").
    @Test(arguments: [("delegate", true, false, true), ("no-eku", false, false, false), ("root-issued", true, true, false)])
    func delegatedResponderMustBeAuthorised(name: String, authorised: Bool, byRoot: Bool, accepted: Bool) async throws {
        let port = try LoopbackPort.free()
        let pki = try OpenSSLPKI.create(clients: ["ocsp-good"], ocspURL: "http://127.0.0.1:\(port)")
        defer { pki.remove() }
        try pki.issueResponder(name, authorised: authorised, byRoot: byRoot)
        let responder = try pki.startOCSPResponder(port: port, signer: name)
        defer { OpenSSLPKI.stopOCSPResponder(responder) }
        let gateway = try await Self.gateway(pki) { _ in }
        let result = try await Self.curl(gateway, pki, "ocsp-good", "/vcc/x")
        if accepted {
            #expect(result.httpCode == 200, "\(name): \(result.body)")
        } else {
            #expect(result.httpCode == 401, "\(name)")
            #expect(result.body == "ClientCertificateRevocationUnknown", "\(name): \(result.body)")
        }
        try await gateway.stop()
    }

    /// No responder listening, or one that never answers: the status is unknown (its own reason),
    /// within the fetch timeout; fail-open accepts.
    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func responderDownIsUnknownAndFollowsTheFailureMode(failOpen: Bool, hanging: Bool) async throws {
        let blackhole = hanging ? try LoopbackPort.blackhole() : nil
        defer { if let blackhole { close(blackhole.fd) } }
        let port = try blackhole?.port ?? LoopbackPort.free()
        let pki = try OpenSSLPKI.create(clients: ["ocsp-good"], ocspURL: "http://127.0.0.1:\(port)")
        defer { pki.remove() }
        let gateway = try await Self.gateway(pki) { config in config.policies.revocation.failOpen = failOpen }
        let operations = try await gateway.server.startOperations(address: "127.0.0.1", port: 0, group: MultiThreadedEventLoopGroup.singleton)
        let started = ContinuousClock.now
        let validated = try await Self.curl(gateway, pki, "ocsp-good", "/vcc/x")
        #expect(ContinuousClock.now - started < .seconds(20), "the 2 s fetch timeout must bound the wait")
        if failOpen {
            #expect(validated.httpCode == 200, "\(validated.stdout)")
            #expect(try await Self.curl(gateway, pki, "ocsp-good", "/gate/x").httpCode == 200)
        } else {
            #expect(validated.httpCode == 401)
            #expect(validated.body == "ClientCertificateRevocationUnknown", "\(validated.body)")
            #expect(try await Self.curl(gateway, pki, "ocsp-good", "/gate/x").httpCode == 403)
            #expect(try await Self.curl(gateway, pki, "ocsp-good", "/verify/x").httpCode == 403)
            // Unknown revocation has its own metrics label, never "revoked": counted for the gate (/gate) and for
            // validate-client-certificate (/vcc); the `Verify()` policy's own 403 (/verify) counts as policy_refused.
            let metrics = try await OperationsTests.scrape(operations.port)
            #expect(metrics[#"drawbridge_client_certificate_checks_total{outcome="revocation_unknown"}"#] == 2)
            #expect(metrics[#"drawbridge_client_certificate_checks_total{outcome="policy_refused"}"#] == 1)
            #expect(metrics[#"drawbridge_client_certificate_checks_total{outcome="revoked"}"#] ?? 0 == 0)
        }
        await operations.stop()
        try await gateway.stop()
    }

    /// `ocsp-then-crl`: with the responder down, the CRL file decides.
    @Test func ocspThenCRLFallsBackToTheCRL() async throws {
        let port = try LoopbackPort.free()
        let pki = try OpenSSLPKI.create(clients: ["ocsp-good", "ocsp-revoked"], ocspURL: "http://127.0.0.1:\(port)")
        defer { pki.remove() }
        try pki.revoke("ocsp-revoked")
        let crl = try pki.issuingCRL("issuing.crl")
        let gateway = try await Self.gateway(pki) { config in
            config.policies.revocation.method = .ocspThenCRL
            config.policies.revocation.crlFiles = [crl]
        }
        #expect(try await Self.curl(gateway, pki, "ocsp-good", "/vcc/x").httpCode == 200)
        let revoked = try await Self.curl(gateway, pki, "ocsp-revoked", "/vcc/x")
        #expect(revoked.body == "ClientCertificateRevoked", "\(revoked.body)")
        try await gateway.stop()
    }

    /// A verdict is kept until the response's nextUpdate, across reloads: with the responder gone,
    /// a certificate found good a moment ago still passes.
    @Test func verdictsAreCachedAcrossReloads() async throws {
        let port = try LoopbackPort.free()
        let pki = try OpenSSLPKI.create(clients: ["ocsp-good"], ocspURL: "http://127.0.0.1:\(port)")
        defer { pki.remove() }
        let responder = try pki.startOCSPResponder(port: port)
        let gateway = try await Self.gateway(pki) { _ in }
        #expect(try await Self.curl(gateway, pki, "ocsp-good", "/vcc/x").httpCode == 200)
        OpenSSLPKI.stopOCSPResponder(responder)
        try gateway.server.reload(config: gateway.server.snapshot.config)   // a fresh verification cache
        let again = try await Self.curl(gateway, pki, "ocsp-good", "/vcc/x")
        #expect(again.httpCode == 200, "\(again.body)")
        try await gateway.stop()
    }
}
