import ArgumentParser
import Gateway
import Foundation
import NIOPosix

/// `drawbridge echo-backend`: the demo's echo service on its own, as a backend for scripts and
/// benchmarks. It answers with what it received (method, path, headers, body size and SHA-256).
struct EchoBackendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "echo-backend",
        abstract: "Run the built-in echo backend on 127.0.0.1 (plain HTTP/1.1).")

    @Option(name: .long, help: "Port to listen on.")
    var port: Int = 18080

    func run() async throws {
        Stdout.lineBuffered()  // the "listening" line reaches a pipe at once
        let backend = try await EchoBackend.start(group: MultiThreadedEventLoopGroup.singleton, port: port)
        print("echo backend listening on 127.0.0.1:\(backend.port)")
        let signals = SignalWatcher(signals: [SIGTERM, SIGINT]) { _ in
            Task { await backend.stop() }
        }
        await backend.waitUntilStopped()
        signals.cancel()
    }
}
