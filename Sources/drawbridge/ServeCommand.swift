import ArgumentParser
import Dispatch
import Foundation
import Gateway
import ConfigurationStore
import GatewayAdmin
import GatewayConfiguration
import Logging
import NIOPosix

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the gateway. Without --config, runs the embedded demo (its own PKI, an echo API).")

    @Option(name: .long, help: "YAML configuration file.")
    var config: String?

    @Option(name: .long, help: "Data directory of a configuration store (SQLite, created if missing), managed through the admin API under /admin on the operations listener.")
    var store: String?

    @Option(name: .long, help: StoreOpening.databaseHelp)
    var database: String?

    @Option(name: .long, help: "Demo only: folder for the demo PKI.")
    var demoDirectory: String = ".drawbridge"

    @Option(name: .long, help: "Port to listen on (demo: default 8443; --store: overrides settings' listen.port).")
    var port: Int?

    @Option(name: .long, help: "Demo only: port of the echo backend (it also serves the demo CRLs).")
    var echoPort: Int = 8480

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    @Option(name: .long, help: "Port of the operations listener (/healthz, /readyz, /metrics); overrides operations.port. Default 9464.")
    var operationsPort: Int?

    func run() async throws {
        // Line-buffered stdout: the banner and log lines reach a pipe (systemd, docker logs) at once.
        Stdout.lineBuffered()
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
        var adminService: ConfigurationService?
        var demoSeed: GatewayConfig?
        if config != nil && store != nil {
            CLIErrors.report("use either --config (a YAML file) or --store (a configuration store), not both")
            throw ExitCode(2)
        }
        if let directory = store {
            let opened: StoreServing
            do {
                opened = try await StoreServing.open(directory: directory, database: database, port: port, operationsPort: operationsPort,
                                                     logger: logger)
            } catch {
                CLIErrors.report("cannot start: \(CLIErrors.plain(error))")
                throw ExitCode(1)
            }
            gatewayConfig = opened.config
            adminService = opened.service
        } else if let path = config {
            // The checks of `drawbridge check`: every error at once; warnings (certificates about to
            // expire) are logged. A configuration error is no usage error: no usage text, exit 1.
            let (checked, findings) = ConfigurationCheck.run(path: path)
            for finding in findings where finding.severity == .warning {
                logger.warning("configuration warning", metadata: ["warning": "\(finding.message)"])
            }
            guard let checked else {
                for finding in findings where finding.severity == .error {
                    CLIErrors.report("configuration error: \(finding.message)")
                }
                throw ExitCode(1)
            }
            gatewayConfig = checked
        } else {
            let pki = DemoPKI(directory: (demoDirectory as NSString).appendingPathComponent("pki"))
            if try pki.createIfMissing(crlBaseURL: "http://127.0.0.1:\(echoPort)/crl") {
                logger.info("created demo PKI", metadata: ["directory": "\(pki.directory)"])
            }
            let backend = try await EchoBackend.start(group: group, port: echoPort, crlDirectory: pki.crlDirectory)
            logger.info("demo echo backend listening (and serving the demo CRLs)", metadata: ["address": "127.0.0.1:\(backend.port)"])
            echo = backend
            let demo = DemoGateway.configuration(pki: pki, echoPort: backend.port, port: port ?? 8443,
                                                 policyFile: try DemoGateway.writePolicy(pki: pki))
            // The demo runs on an embedded store (`DEMO/store`), seeded with the demo configuration at
            // every start and on SIGHUP (which re-reads the policy file), managed through the admin API.
            let storeDirectory = (demoDirectory as NSString).appendingPathComponent("store")
            let opened: StoreServing
            do {
                opened = try await StoreServing.open(directory: storeDirectory, port: port ?? 8443, operationsPort: operationsPort,
                                                     logger: logger, seed: demo)
            } catch {
                CLIErrors.report("cannot start: \(CLIErrors.plain(error))")
                await backend.stop()
                throw ExitCode(1)
            }
            gatewayConfig = opened.config
            adminService = opened.service
            demoSeed = demo
            instructions = DemoGateway.instructions(pki: pki, port: port ?? 8443)
                + "Admin API: operations listener /admin, token in \((storeDirectory as NSString).appendingPathComponent("admin-token")) (see the README).\n"
        }

        let server: GatewayServer
        do {
            server = try GatewayServer(config: gatewayConfig, group: group, logger: logger)
        } catch {
            CLIErrors.report("cannot start: \(CLIErrors.plain(error))")
            try? await adminService?.store.close()
            await echo?.stop()
            throw ExitCode(1)
        }
        // The operations listener (/healthz, /readyz, /metrics) lives as long as the gateway: it
        // answers 503 on /readyz while the gateway drains.
        var operations: OperationsServer?
        if let adminService {
            await adminService.attach(listening: gatewayConfig.listen) { next in try server.reload(config: next) }
        }
        if adminService != nil, gatewayConfig.operations.tlsCertificateFile == nil,
           !["127.0.0.1", "::1", "localhost"].contains(gatewayConfig.operations.address) {
            logger.warning("the admin API is served in plain HTTP on a non-loopback address: keep it behind a network boundary or a TLS proxy",
                           metadata: ["address": "\(gatewayConfig.operations.address)"])
        }
        if adminService != nil && !gatewayConfig.operations.enabled {
            CLIErrors.report("cannot start: --store serves the admin API on the operations listener; do not disable it (operations.enabled)")
            try? await adminService?.store.close()
            throw ExitCode(1)
        }
        if gatewayConfig.operations.enabled {
            do {
                operations = try await server.startOperations(port: operationsPort, group: group,
                                                              admin: adminService.map { AdminAPI(service: $0) })
            } catch where config == nil && store == nil {
                // The demo must start on any machine (quick start): without its operations port it
                // still serves, and says so.
                logger.warning("demo: no operations listener", metadata: ["error": "\(CLIErrors.plain(error))"])
            } catch {
                CLIErrors.report("cannot start: \(CLIErrors.plain(error))")
                try? await adminService?.store.close()
                await echo?.stop()
                throw ExitCode(1)
            }
        }
        let signals = SignalWatcher(signals: [SIGTERM, SIGINT]) { signal in
            logger.info("received signal, draining", metadata: ["signal": "\(signal)"])
            server.shutdown()
        }
        // SIGHUP re-reads the configuration file; a broken file leaves the running configuration alone.
        // In demo mode it re-reads the demo's policy files (.drawbridge/policies/echo.xml).
        let configPath = config
        let storeService = adminService
        let seed = demoSeed
        let reloader = SignalWatcher(signals: [SIGHUP]) { _ in
            if let adminService = storeService {
                // (The store may have been written by `drawbridge config import` meanwhile; the demo
                // re-imports its configuration, re-reading its policy file.)
                Task {
                    do {
                        if let seed { try await StoreServing.seed(seed, into: adminService) }
                        let (next, _, _) = try await adminService.currentConfiguration()
                        try server.reload(config: next)
                    } catch {
                        // (server.reload counts its own failures.)
                        if error is AdminError || error is StoreError { server.metrics.reloadFailed() }
                        logger.error("reload refused, the running configuration stays in force",
                                     metadata: ["error": "\(LogText.escape(CLIErrors.plain(error)))"])
                    }
                }
                return
            }
            do {
                if let configPath {
                    let next: GatewayConfig
                    do {
                        next = try GatewayConfigLoader.load(path: configPath)
                    } catch {
                        server.metrics.reloadFailed()
                        throw error
                    }
                    try server.reload(config: next)
                } else {
                    try server.reload(config: gatewayConfig)
                }
            } catch {
                logger.error("reload refused, the running configuration stays in force",
                             metadata: ["error": "\(LogText.escape(CLIErrors.plain(error)))"])
            }
        }
        // A shared (PostgreSQL) store: the other nodes' commits are applied as they are announced.
        var follower: Task<Void, Never>?
        if let adminService, let shared = adminService.store as? any SharedConfigurationStore {
            follower = Task {
                do {
                    for try await revision in try await shared.committedRevisions() {
                        do {
                            try await adminService.catchUp(to: revision)
                        } catch {
                            server.metrics.reloadFailed()
                            logger.error("a change from the shared store was refused, the running configuration stays in force",
                                         metadata: ["revision": "\(revision)", "error": "\(LogText.escape(CLIErrors.plain(error)))"])
                        }
                    }
                } catch {
                    if !Task.isCancelled {
                        logger.error("no longer told of the shared store's changes (SIGHUP re-reads it)",
                                     metadata: ["error": "\(LogText.escape(CLIErrors.plain(error)))"])
                    }
                }
            }
        }
        let banner = instructions
        try await server.run { _ in
            if let banner { print(banner) }
        }
        signals.cancel()
        reloader.cancel()
        follower?.cancel()
        await operations?.stop()
        // (The store's connection is closed before the process ends: SQLite checkpoints the WAL.)
        try? await adminService?.store.close()
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
