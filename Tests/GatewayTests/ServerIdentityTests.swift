import Foundation
import Gateway
import GatewayConfiguration
import Testing

/// Server certificates from PKCS#12, and the TLS floor.
@Suite(.serialized, .enabled(if: Curl.isAvailable && FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl")))
struct ServerIdentityTests {
    static func makePKCS12(pki: DemoPKI, password: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("drawbridge-\(UUID().uuidString).p12").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["pkcs12", "-export", "-in", pki.serverCertificate, "-inkey", pki.serverKey,
                             "-out", path, "-passout", "pass:\(password)"]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw TestFailure("openssl pkcs12 failed") }
        return path
    }

    @Test func pkcs12ServerIdentityServesTLS() async throws {
        let pkiForBundle = try await SharedPKI.shared.pki()
        let bundle = try Self.makePKCS12(pki: pkiForBundle, password: "s3cret")
        defer { try? FileManager.default.removeItem(atPath: bundle) }
        let gateway = try await TestGateway.start(tweaking: { config, pki, port in
            config.hostnames[0].serverCertificate = .pkcs12(file: bundle, password: "s3cret")
        })
        let result = try await Curl.run(["--cacert", gateway.pki.rootCA, "\(gateway.baseURL)/public/p12"])
        #expect(result.httpCode == 200, "\(result.stderr)")
        try await gateway.stop()
    }

    @Test func wrongPKCS12PasswordIsAClearStartupError() async throws {
        let pki = try await SharedPKI.shared.pki()
        let bundle = try Self.makePKCS12(pki: pki, password: "right")
        defer { try? FileManager.default.removeItem(atPath: bundle) }
        var config = DemoGateway.configuration(pki: pki, echoPort: 9, port: 0)
        config.hostnames[0].serverCertificate = .pkcs12(file: bundle, password: "tr0ub4dor&3")
        do {
            _ = try GatewaySnapshot(config: config)
            Issue.record("a wrong password must refuse to start")
        } catch {
            let text = "\(error)"
            #expect(text.contains("hostname 'localhost'"))
            #expect(text.contains("PKCS#12"))
            #expect(text.contains("wrong password"))
            #expect(!text.contains("tr0ub4dor"), "the password never appears in errors")
        }
    }

    @Test func missingKeyFileNamesTheFile() async throws {
        let pki = try await SharedPKI.shared.pki()
        var config = DemoGateway.configuration(pki: pki, echoPort: 9, port: 0)
        config.hostnames[0].serverCertificate = .pem(certificateFile: pki.serverCertificate, keyFile: "/nonexistent/key.pem")
        #expect(throws: GatewayStartupError.self) { _ = try GatewaySnapshot(config: config) }
        do { _ = try GatewaySnapshot(config: config) } catch { #expect("\(error)".contains("/nonexistent/key.pem")) }
    }

    @Test func tlsBelow12IsRefusedAndTLS13IsPreferred() async throws {
        let gateway = try await TestGateway.start()
        let old = try await Curl.run(["--cacert", gateway.pki.rootCA, "--tlsv1.0", "--tls-max", "1.1", "\(gateway.baseURL)/public/x"])
        #expect(old.status != 0, "TLS 1.0/1.1 must not be negotiated")
        let modern = try await Curl.run(["--cacert", gateway.pki.rootCA, "-v", "\(gateway.baseURL)/public/x"])
        #expect(modern.httpCode == 200)
        #expect(modern.stderr.contains("SSL connection using TLSv1.3"), "\(modern.stderr)")
        try await gateway.stop()
    }
}
