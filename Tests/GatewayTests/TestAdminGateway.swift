import ConfigurationStore
import Foundation
import Gateway
import GatewayAdmin
import GatewayConfiguration
import Logging
import NIOPosix

/// A gateway served from a configuration store (as `serve --store`), in this process: its admin
/// API on a loopback operations port, driven with curl, and the demo echo backend.
final class TestAdminGateway: Sendable {
    let directory: String
    let pki: DemoPKI
    let echo: EchoBackend
    let service: ConfigurationService
    let server: GatewayServer
    let operations: OperationsServer
    let port: Int
    let token: String
    private let runTask: Task<Void, any Error>

    var baseURL: String { "https://localhost:\(port)" }
    var adminURL: String { "http://127.0.0.1:\(operations.port)/admin" }

    static func start(directory: String? = nil) async throws -> TestAdminGateway {
        let directory = directory ?? FileManager.default.temporaryDirectory.appendingPathComponent("drawbridge-admin-\(UUID().uuidString)").path
        let pki = try await SharedPKI.shared.pki()
        let group = MultiThreadedEventLoopGroup.singleton
        let echo = try await EchoBackend.start(group: group)
        var logger = Logger(label: "test-admin")
        logger.logLevel = .warning
        let store = try await SQLiteConfigurationStore.open(directory: directory)
        let token = try await AdminTokens.create(name: "test-operator", in: store)
        let materializer = StoreMaterializer(dataDirectory: directory) { config in
            config.listen.port = 0
            config.accessLog = false
        }
        let service = ConfigurationService(store: store, materializer: materializer, logger: logger)
        let (config, _, _) = try await service.currentConfiguration()
        let server = try GatewayServer(config: config, group: group, logger: logger)
        await service.attach(listening: config.listen) { next in try server.reload(config: next) }
        let operations = try await server.startOperations(port: 0, group: group, admin: AdminAPI(service: service))
        let (port, runTask) = try await TestGateway.run(server)
        return TestAdminGateway(directory: directory, pki: pki, echo: echo, service: service, server: server,
                                operations: operations, port: port, token: token, runTask: runTask)
    }

    private init(directory: String, pki: DemoPKI, echo: EchoBackend, service: ConfigurationService, server: GatewayServer,
                 operations: OperationsServer, port: Int, token: String, runTask: Task<Void, any Error>) {
        self.directory = directory
        self.pki = pki
        self.echo = echo
        self.service = service
        self.server = server
        self.operations = operations
        self.port = port
        self.token = token
        self.runTask = runTask
    }

    func stop() async throws {
        server.shutdown()
        try await runTask.value
        await operations.stop()
        await echo.stop()
        try await service.store.close()
    }

    struct Answer: CustomStringConvertible {
        let status: Int
        let headers: [String: String]
        let body: String
        var description: String { "\(status) \(headers) \(body)" }
        var json: [String: Any] { ((try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]) ?? [:] }
        var jsonArray: [[String: Any]] { ((try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [[String: Any]]) ?? [] }
        var errorDetails: [String] { ((json["error"] as? [String: Any])?["details"] as? [String]) ?? [] }
        var errorMessage: String { ((json["error"] as? [String: Any])?["message"] as? String) ?? "" }
        var errorCode: String { ((json["error"] as? [String: Any])?["code"] as? String) ?? "" }
    }

    enum Auth { case operator_, none, bearer(String) }

    /// One admin API call with curl, with the test operator's token unless told otherwise.
    func admin(_ method: String, _ path: String, json: Any? = nil, raw: String? = nil, contentType: String? = nil,
               headers: [String] = [], auth: Auth = .operator_) async throws -> Answer {
        let bearer: String?
        switch auth {
        case .operator_: bearer = token
        case .none: bearer = nil
        case .bearer(let other): bearer = other
        }
        return try await Self.call(adminURL: adminURL, method, path, json: json, raw: raw, contentType: contentType, headers: headers, token: bearer)
    }

    static func call(adminURL: String, _ method: String, _ path: String, json: Any? = nil, raw: String? = nil, contentType: String? = nil,
                     headers: [String] = [], token: String?) async throws -> Answer {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("drawbridge-call-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var arguments = ["-X", method, "-D", folder + "/headers"]
        if let bearer = token { arguments += ["-H", "Authorization: Bearer \(bearer)"] }
        for header in headers { arguments += ["-H", header] }
        if let json {
            try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: folder + "/body"))
            arguments += ["-H", "Content-Type: \(contentType ?? "application/json")", "--data-binary", "@" + folder + "/body"]
        } else if let raw {
            try Data(raw.utf8).write(to: URL(fileURLWithPath: folder + "/body"))
            arguments += ["-H", "Content-Type: \(contentType ?? "application/xml")", "--data-binary", "@" + folder + "/body"]
        }
        let result = try await Curl.run(arguments + [adminURL + path])
        guard let code = result.httpCode else { throw TestFailure("curl: \(result.stderr)") }
        var headerMap: [String: String] = [:]
        let headerText = (try? String(contentsOfFile: folder + "/headers", encoding: .utf8)) ?? ""
        for line in headerText.split(separator: "\r\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2 { headerMap[parts[0].lowercased()] = parts[1].trimmingCharacters(in: .whitespaces) }
        }
        return Answer(status: code, headers: headerMap, body: result.body)
    }

    func text(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }

    /// Curl to the data plane, optionally with the demo client certificate.
    func get(_ path: String, certificate: Bool) async throws -> Curl.Result {
        var arguments = ["--cacert", pki.rootCA, "-i"]
        if certificate { arguments += ["--cert", pki.clientCertificate, "--key", pki.clientKey] }
        return try await Curl.run(arguments + [baseURL + path])
    }

    /// Through the admin API only: the demo PKI's CAs, the server certificate, `localhost` in
    /// `negotiate` mode, the echo API with `policy` (the seed's by default).
    func configureSeedSetup(policy: String? = nil) async throws -> String {
        let seed = try text(try DemoGateway.writePolicy(pki: pki))
        var answers: [Answer] = []
        answers.append(try await admin("PUT", "/ca-certificates/demo-root", json: ["pem": try text(pki.rootCA)]))
        answers.append(try await admin("PUT", "/ca-certificates/demo-intermediate", json: ["pem": try text(pki.intermediateCA), "storeName": "CertificateAuthority"]))
        answers.append(try await admin("PUT", "/certificates/localhost", json: ["pem": try text(pki.serverCertificate), "key": try text(pki.serverKey)]))
        answers.append(try await admin("PUT", "/hostnames/localhost", json: ["certificate": "localhost", "clientCertificate": "negotiate"]))
        answers.append(try await admin("PUT", "/apis/echo", json: ["path": "/echo", "backend": "http://127.0.0.1:\(echo.port)"]))
        answers.append(try await admin("PUT", "/apis/echo/policy", raw: policy ?? seed))
        for answer in answers where answer.status != 201 {
            throw TestFailure("setup step refused: \(answer)")
        }
        return seed
    }
}
