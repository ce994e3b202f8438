import AsyncHTTPClient
import Foundation
import Gateway
import GatewayConfiguration
import Logging
import NIOCore
import NIOPosix
import NIOSSL

/// A real gateway on a loopback port, with a fresh demo PKI and the built-in echo backend, for one test.
final class TestGateway: Sendable {
    let pki: DemoPKI
    let echo: EchoBackend
    let server: GatewayServer
    let port: Int
    private let runTask: Task<Void, any Error>

    var baseURL: String { "https://localhost:\(port)" }

    /// Builds the configuration with `configure` (given the PKI and the echo port), starts everything.
    static func start(
        configure: @Sendable (DemoPKI, Int) throws -> GatewayConfig = { pki, echoPort in
            var config = DemoGateway.configuration(pki: pki, echoPort: echoPort, port: 0)
            config.accessLog = false
            return config
        }
    ) async throws -> TestGateway {
        let pki = try await SharedPKI.shared.pki()
        let group = MultiThreadedEventLoopGroup.singleton
        let echo = try await EchoBackend.start(group: group)
        var logger = Logger(label: "test-gateway")
        logger.logLevel = .warning
        let config = try configure(pki, echo.port)
        let server = try GatewayServer(config: config, group: group, logger: logger)
        let (port, runTask) = try await run(server)
        return TestGateway(pki: pki, echo: echo, server: server, port: port, runTask: runTask)
    }

    /// Runs `server` in a task and returns the port it listens on, once it does.
    static func run(_ server: GatewayServer) async throws -> (port: Int, task: Task<Void, any Error>) {
        let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let runTask = Task {
            defer { portContinuation.finish() }
            try await server.run { port in portContinuation.yield(port) }
        }
        var port: Int?
        for await value in portStream {
            port = value
            break
        }
        guard let port else {
            _ = try await runTask.value
            throw TestFailure("gateway did not start")
        }
        return (port, runTask)
    }

    /// The demo configuration on a free port, without access log, adjusted by `tweak`.
    static func start(tweaking tweak: @escaping @Sendable (inout GatewayConfig, DemoPKI, Int) -> Void) async throws -> TestGateway {
        try await start { pki, echoPort in
            var config = DemoGateway.configuration(pki: pki, echoPort: echoPort, port: 0)
            config.accessLog = false
            tweak(&config, pki, echoPort)
            return config
        }
    }

    private init(pki: DemoPKI, echo: EchoBackend, server: GatewayServer, port: Int, runTask: Task<Void, any Error>) {
        self.pki = pki
        self.echo = echo
        self.server = server
        self.port = port
        self.runTask = runTask
    }

    func stop() async throws {
        server.shutdown()
        try await runTask.value
        await echo.stop()
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// One demo PKI for the whole test run (key generation is the slow part), with its CRLs served by an
/// echo backend on a loopback port for the whole run, so `Verify()` can check revocation.
actor SharedPKI {
    static let shared = SharedPKI()
    private var created: DemoPKI?
    private var crlServer: EchoBackend?

    func pki() async throws -> DemoPKI {
        if let created { return created }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("drawbridge-tests-\(ProcessInfo.processInfo.processIdentifier)").path
        let pki = DemoPKI(directory: (directory as NSString).appendingPathComponent("pki"))
        let server = try await EchoBackend.start(group: MultiThreadedEventLoopGroup.singleton, crlDirectory: pki.crlDirectory)
        try pki.createIfMissing(serverNames: ["localhost", "api.example.test", "a.wild.test", "b.wild.test", "other.example.test"],
                                crlBaseURL: "http://127.0.0.1:\(server.port)/crl")
        crlServer = server
        created = pki
        return pki
    }

    /// CRL files the shared distribution point has served so far.
    func crlRequestsServed() -> Int { crlServer?.crlRequestsServed ?? 0 }
}

/// An AsyncHTTPClient that trusts the demo root and optionally presents a client certificate.
enum TestClients {
    static func client(pki: DemoPKI, certificate: String?, key: String?, http2: Bool) throws -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(pki.rootCA)
        if let certificate, let key {
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
            tls.privateKey = .file(key)
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.httpVersion = http2 ? .automatic : .http1Only
        configuration.redirectConfiguration = .disallow
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }
}

/// Runs curl (the real command-line client) and returns its exit status, stdout and stderr.
enum Curl {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
        /// The HTTP status written by `-w '%{http_code}'` at the end of stdout.
        var httpCode: Int? { Int(stdout.suffix(3)) }
        var body: String { String(stdout.dropLast(3)) }
    }

    static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/curl") }

    /// Runs on a Dispatch thread: blocking the few cooperative threads would starve the gateway
    /// under test, which runs in the same process.
    static func run(_ arguments: [String]) async throws -> Result {
        try await OffPool.run { try runBlocking(arguments) }
    }

    private static func runBlocking(_ arguments: [String]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["--silent", "--show-error", "--max-time", "60", "-w", "%{http_code}"] + arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read before waiting so a large output cannot fill the pipe and block curl.
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus,
                      stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self))
    }
}

/// Runs blocking work (child processes) on a Dispatch thread instead of a cooperative one.
enum OffPool {
    static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try work() })
            }
        }
    }
}

extension TestClients {
    /// Runs `body` with a client and always shuts the client down, also when `body` throws (an
    /// AsyncHTTPClient dropped without shutdown traps).
    static func with<T: Sendable>(
        pki: DemoPKI, certificate: String?, key: String?, http2: Bool,
        _ body: (HTTPClient) async throws -> T
    ) async throws -> T {
        let client = try client(pki: pki, certificate: certificate, key: key, http2: http2)
        do {
            let result = try await body(client)
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }
}
