import AsyncHTTPClient
import Foundation
import Gateway
import GatewayConfiguration
import NIOPosix
import Testing

/// Client-certificate validation end to end: `validate-client-certificate` with a CRL from a loopback
/// distribution point, the CRL server going away (fail-closed / fail-open), and
/// `authentication-certificate` presenting a certificate to an mTLS backend.
@Suite(.serialized, .enabled(if: Curl.isAvailable))
struct CertificateValidationTests {
    func status(_ gateway: TestGateway, certificate: String?, key: String?, path: String = "/echo/users/1") async throws -> (Int?, String) {
        var arguments = ["--cacert", gateway.pki.rootCA]
        if let certificate, let key { arguments += ["--cert", certificate, "--key", key] }
        let result = try await Curl.run(arguments + ["\(gateway.baseURL)\(path)"])
        return (result.httpCode, result.body)
    }

    @Test func validateClientCertificatePolicyWithRevocation() async throws {
        let pki = try await SharedPKI.shared.pki()
        let policy = try SeedPolicyTests.write("""
        <policies>
          <inbound>
            <base />
            <validate-client-certificate validate-revocation="true" validate-trust="true" validate-not-before="true" validate-not-after="true" ignore-error="false">
              <identities>
                <identity issuer-subject="CN=Drawbridge Demo Intermediate CA, O=Drawbridge Demo, C=NL" />
              </identities>
            </validate-client-certificate>
          </inbound>
          <backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error>
        </policies>
        """)
        let gateway = try await SeedPolicyTests.gateway(policy: policy)
        let valid = try await status(gateway, certificate: pki.clientCertificate, key: pki.clientKey)
        #expect(valid.0 == 200)
        for (certificate, key) in [(pki.revokedClientCertificate, pki.revokedClientKey), (pki.expiredClientCertificate, pki.expiredClientKey),
                                   (pki.unknownClientCertificate, pki.unknownClientKey)] {
            let refused = try await status(gateway, certificate: certificate, key: key)
            #expect(refused.0 == 401, "\(certificate)")
            #expect(refused.1 == #"{"statusCode":401,"message":"Invalid client certificate"}"#, "\(refused.1)")
        }
        let missing = try await status(gateway, certificate: nil, key: nil)
        #expect(missing.0 == 401)
        try await gateway.stop()
    }

    /// A PKI of its own whose CRL server is stopped: no CRL can be had for the client certificate.
    @Test(arguments: [false, true])
    func unreachableDistributionPoint(failOpen: Bool) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("drawbridge-crl-down-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let isolated = DemoPKI(directory: directory)
        let crlServer = try await EchoBackend.start(group: MultiThreadedEventLoopGroup.singleton, crlDirectory: isolated.crlDirectory)
        try isolated.createIfMissing(crlBaseURL: "http://127.0.0.1:\(crlServer.port)/crl")
        await crlServer.stop()
        let policy = try DemoGateway.writePolicy(pki: isolated)
        let gateway = try await TestGateway.start(tweaking: { config, _, port in
            config = DemoGateway.configuration(pki: isolated, echoPort: port, port: 0, policyFile: policy)
            config.accessLog = false
            config.policies.revocation.failOpen = failOpen
            config.policies.revocation.fetchTimeout = 1
        })
        let result = try await Curl.run(["--cacert", isolated.rootCA, "--cert", isolated.clientCertificate, "--key", isolated.clientKey,
                                         "\(gateway.baseURL)/echo/users/1"])
        #expect(result.httpCode == (failOpen ? 200 : 403), "\(result.stdout)")
        try await gateway.stop()
    }

    /// The backend is another gateway that requires a client certificate in its handshake; the front
    /// gateway presents one only through `authentication-certificate`.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl")))
    func authenticationCertificateReachesAnMTLSBackend() async throws {
        let pki = try await SharedPKI.shared.pki()
        let bundle = FileManager.default.temporaryDirectory.appendingPathComponent("drawbridge-backend-\(UUID().uuidString).pfx").path
        defer { try? FileManager.default.removeItem(atPath: bundle) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["pkcs12", "-export", "-in", pki.clientCertificate, "-inkey", pki.clientKey, "-out", bundle, "-passout", "pass:backend-pw"]
        try process.run()
        process.waitUntilExit()
        let pfx = try Data(contentsOf: URL(fileURLWithPath: bundle)).base64EncodedString()

        let backend = try await TestGateway.start(tweaking: { config, _, port in
            config.hostnames[0].clientCertificate = .required
            config.apis = [APIConfig(name: "inner", pathPrefix: "/", backendURL: "http://127.0.0.1:\(port)")]
        })
        let backendPort = backend.port
        for present in [true, false] {
            let policy = try SeedPolicyTests.write("""
            <policies>
              <inbound><base />\(present ? "<authentication-certificate body=\"@(Convert.FromBase64String(&quot;\(pfx)&quot;))\" password=\"backend-pw\" />" : "")</inbound>
              <backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error>
            </policies>
            """)
            let front = try await TestGateway.start(tweaking: { config, pki, _ in
                config.apis = [APIConfig(name: "mtls-backend", pathPrefix: "/mtls", backendURL: "https://localhost:\(backendPort)/inner",
                                         policyFile: policy)]
                config.backend.trustedCAFiles = [pki.rootCA]
            })
            let result = try await Curl.run(["--cacert", pki.rootCA, "\(front.baseURL)/mtls/ping"])
            if present {
                #expect(result.httpCode == 200, "\(result.body)")
                #expect(result.body.contains("\"path\":\"/inner/ping\""))
            } else {
                #expect(result.httpCode != 200, "without the certificate the backend's handshake must fail")
            }
            try await front.stop()
        }
        try await backend.stop()
    }
}
