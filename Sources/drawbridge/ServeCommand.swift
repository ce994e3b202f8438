import ArgumentParser
import Dispatch
import Foundation
import Gateway
import GatewayConfiguration
import Logging
import NIOPosix

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the gateway. Without --config, runs the embedded demo (its own PKI, an echo API).")

    @Option(name: .long, help: "YAML configuration file.")
    var config: String?

    @Option(name: .long, help: "Demo only: folder for the demo PKI.")
    var demoDirectory: String = ".drawbridge"

    @Option(name: .long, help: "Demo only: port to listen on.")
    var port: Int = 8443

    @Option(name: .long, help: "Demo only: port of the echo backend (it also serves the demo CRLs).")
    var echoPort: Int = 8480

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardOutput(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "drawbridge")
        let group = MultiThreadedEventLoopGroup.singleton

        var echo: EchoBackend?
        var instructions: String?
        let gatewayConfig: GatewayConfig
        if let path = config {
            do {
                gatewayConfig = try GatewayConfigLoader.load(path: path)
            } catch let error as ConfigurationError {
                throw ValidationError("configuration error: \(error)")
            }
        } else {
            let pki = DemoPKI(directory: (demoDirectory as NSString).appendingPathComponent("pki"))
            if try pki.createIfMissing(crlBaseURL: "http://127.0.0.1:\(echoPort)/crl") {
                logger.info("created demo PKI", metadata: ["directory": "\(pki.directory)"])
            }
            let backend = try await EchoBackend.start(group: group, port: echoPort, crlDirectory: pki.crlDirectory)
            logger.info("demo echo backend listening (and serving the demo CRLs)", metadata: ["address": "127.0.0.1:\(backend.port)"])
            echo = backend
            gatewayConfig = DemoGateway.configuration(pki: pki, echoPort: backend.port, port: port,
                                                      policyFile: try DemoGateway.writePolicy(pki: pki))
            instructions = DemoGateway.instructions(pki: pki, port: port)
        }

        let server: GatewayServer
        do {
            server = try GatewayServer(config: gatewayConfig, group: group, logger: logger)
        } catch {
            throw ValidationError("cannot start: \(error)")
        }
        let signals = SignalWatcher(signals: [SIGTERM, SIGINT]) { signal in
            logger.info("received signal, draining", metadata: ["signal": "\(signal)"])
            server.shutdown()
        }
        // SIGHUP re-reads the configuration file; a broken file leaves the running configuration alone.
        let reloader = config.map { path in
            SignalWatcher(signals: [SIGHUP]) { _ in
                do {
                    try server.reload(config: try GatewayConfigLoader.load(path: path))
                } catch {
                    logger.error("reload refused, the running configuration stays in force", metadata: ["error": "\(error)"])
                }
            }
        }
        let banner = instructions
        try await server.run { _ in
            if let banner { print(banner) }
        }
        signals.cancel()
        reloader?.cancel()
        await echo?.stop()
    }
}

/// Turns SIGTERM/SIGINT into a graceful drain instead of an abrupt exit.
/// (`@unchecked`: the sources are set once in `init`, and Dispatch sources are thread-safe.)
final class SignalWatcher: @unchecked Sendable {
    private let sources: [any DispatchSourceSignal]

    init(signals: [Int32], handler: @escaping @Sendable (Int32) -> Void) {
        sources = signals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { handler(number) }
            source.resume()
            return source
        }
    }

    func cancel() {
        for source in sources { source.cancel() }
    }
}
