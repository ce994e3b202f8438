import ConfigurationStore
import Foundation
import Gateway
import GatewayAdmin
import GatewayConfiguration
import Logging
import NIOPosix
import Testing

/// The admin API over TLS on the operations listener, with admin client certificates (trusted
/// admin CAs from the store) in addition to bearer tokens.
@Suite(.serialized, .enabled(if: Curl.isAvailable))
struct AdminMutualTLSTests {
    @Test func adminClientCertificatesOrTokensAndAWrongCertificateIsRefused() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("drawbridge-admin-tls-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pki = try await SharedPKI.shared.pki()
        var logger = Logger(label: "test-admin-tls")
        logger.logLevel = .warning
        let store = try await SQLiteConfigurationStore.open(directory: directory)
        let token = try await AdminTokens.create(name: "operator", in: store)
        let materializer = StoreMaterializer(dataDirectory: directory) { config in
            config.listen.port = 0
            config.accessLog = false
        }
        let service = ConfigurationService(store: store, materializer: materializer, logger: logger)
        func text(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }
        func document(_ object: [String: Any]) throws -> Data { try JSONSerialization.data(withJSONObject: object) }
        // What an operator sets before restarting with TLS on the admin listener (here, directly).
        _ = try await service.apply([
            .put(ResourceKey(.caCertificates, "admin-root"), document: try document(["pem": try text(pki.rootCA), "storeName": "Root"])),
            .put(ResourceKey(.caCertificates, "admin-intermediate"), document: try document(["pem": try text(pki.intermediateCA), "storeName": "CertificateAuthority"])),
            .put(ResourceKey(.certificates, "admin-server"), document: try document(["pem": try text(pki.serverCertificate), "key": try text(pki.serverKey)])),
            .put(ResourceKey(.settings, "gateway"), document: try document([
                "operations": ["tls": ["certificate": "admin-server", "adminClientCAs": ["admin-root", "admin-intermediate"]]],
            ])),
        ], actor: "test", summary: "admin TLS")
        // A CA that is not uploaded is refused with its name.
        let refused = await #expect(throws: AdminError.self) {
            _ = try await service.apply([.put(ResourceKey(.settings, "gateway"), document: try document([
                "operations": ["tls": ["certificate": "admin-server", "adminClientCAs": ["nope"]]],
            ]))], actor: "test", summary: "bad admin TLS")
        }
        #expect(refused?.details.contains { $0.contains("admin client CA 'nope' is not uploaded") } == true, "\(String(describing: refused))")

        let (config, _, _) = try await service.currentConfiguration()
        let server = try GatewayServer(config: config, group: MultiThreadedEventLoopGroup.singleton, logger: logger)
        await service.attach(listening: config.listen) { next in try server.reload(config: next) }
        let operations = try await server.startOperations(address: "127.0.0.1", port: 0, group: MultiThreadedEventLoopGroup.singleton,
                                                          admin: AdminAPI(service: service))
        let (_, runTask) = try await TestGateway.run(server)
        defer {
            Task {
                server.shutdown()
                _ = try? await runTask.value
                await operations.stop()
                try? await store.close()
            }
        }
        let base = "https://localhost:\(operations.port)/admin"
        func call(_ method: String, _ path: String, certificate: (String, String)? = nil, bearer: String? = nil, body: String? = nil) async throws -> Curl.Result {
            var arguments = ["--cacert", pki.rootCA, "--resolve", "localhost:\(operations.port):127.0.0.1", "-X", method]
            if let (certificate, key) = certificate { arguments += ["--cert", certificate, "--key", key] }
            if let bearer { arguments += ["-H", "Authorization: Bearer \(bearer)"] }
            if let body { arguments += ["-H", "Content-Type: application/json", "--data-binary", body] }
            return try await Curl.run(arguments + [base + path])
        }
        let client = (pki.clientCertificate, pki.clientKey)

        // A trusted admin certificate: reads and writes without a token, audited by its subject.
        let status = try await call("GET", "/status", certificate: client)
        #expect(status.httpCode == 200, "\(status.stdout) \(status.stderr)")
        let write = try await call("PUT", "/named-values/greeting", certificate: client, body: #"{"value":"hello"}"#)
        #expect(write.httpCode == 201, "\(write.stdout)")
        let audit = try await call("GET", "/audit?limit=1", certificate: client)
        #expect(audit.body.contains("\"actor\" : \"certificate:") && audit.body.contains("demo-client"), "\(audit.body)")
        // No certificate: a bearer token still works; nothing at all is 401, for reads and writes.
        #expect(try await call("GET", "/status", bearer: token).httpCode == 200)
        let anonymousRead = try await call("GET", "/status")
        #expect(anonymousRead.httpCode == 401, "\(anonymousRead.stdout)")
        let anonymousWrite = try await call("PUT", "/named-values/x", body: #"{"value":"y"}"#)
        #expect(anonymousWrite.httpCode == 401, "\(anonymousWrite.stdout)")
        // A certificate from another CA fails the handshake (no HTTP answer at all); so does an expired one.
        let stranger = try await call("GET", "/status", certificate: (pki.unknownClientCertificate, pki.unknownClientKey), bearer: token)
        #expect(stranger.httpCode == 0 && stranger.status != 0, "\(stranger.stdout) \(stranger.stderr)")
        let expired = try await call("GET", "/status", certificate: (pki.expiredClientCertificate, pki.expiredClientKey), bearer: token)
        #expect(expired.httpCode == 0 && expired.status != 0, "\(expired.stdout) \(expired.stderr)")
        // Plain HTTP is not served on a TLS listener.
        let plain = try await Curl.run(["http://127.0.0.1:\(operations.port)/admin/status", "-H", "Authorization: Bearer \(token)"])
        #expect(plain.httpCode != 200, "\(plain.stdout)")
        // Probes need no certificate.
        let health = try await Curl.run(["--cacert", pki.rootCA, "--resolve", "localhost:\(operations.port):127.0.0.1",
                                         "https://localhost:\(operations.port)/healthz"])
        #expect(health.httpCode == 200, "\(health.stdout) \(health.stderr)")
    }
}
