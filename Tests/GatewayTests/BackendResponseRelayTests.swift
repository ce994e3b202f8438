import Foundation
import Gateway
import GatewayConfiguration
import NIOCore
import NIOPosix
import Testing

/// Backend answers of every shape reach the client intact, with and without a policy pipeline: small
/// bodies (read whole, written with their head at once), large ones and chunked ones (streamed), and
/// a body cut short before its declared length (502, since nothing was written yet).
@Suite(.serialized, .enabled(if: Curl.isAvailable, "needs /usr/bin/curl (.ci/run installs it)"))
struct BackendResponseRelayTests {
    static let small = String(repeating: "s", count: 100)
    static let big = String(repeating: "0123456789", count: 20_480)  // 200 KiB: over the whole-body limit
    static let chunks = (0..<3).map { String(repeating: Character(String($0)), count: 50_000) }

    @Test(arguments: [false, true])
    func everyShapeArrivesIntact(throughPolicies: Bool) async throws {
        let backend = try await CannedBackend.start()
        let policyFile = FileManager.default.temporaryDirectory.appendingPathComponent("relay-\(UUID().uuidString).xml").path
        try "<policies><inbound /><backend><forward-request /></backend><outbound /><on-error /></policies>"
            .write(toFile: policyFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: policyFile) }
        let gateway = try await TestGateway.start(tweaking: { config, _, _ in
            config.apis.append(APIConfig(name: "raw", pathPrefix: "/raw", backendURL: "http://127.0.0.1:\(backend.port)"))
            if throughPolicies { config.policies.globalFile = policyFile }
        })
        let common = ["--cacert", gateway.pki.rootCA, "--resolve", "localhost:\(gateway.port):127.0.0.1"]
        for protocolFlag in ["--http1.1", "--http2"] {
            let small = try await Curl.run(common + [protocolFlag, "\(gateway.baseURL)/raw/small"])
            #expect(small.httpCode == 200, "\(protocolFlag): \(small.stderr)")
            #expect(small.body == Self.small)
            let big = try await Curl.run(common + [protocolFlag, "\(gateway.baseURL)/raw/big"])
            #expect(big.httpCode == 200, "\(protocolFlag): \(big.stderr)")
            #expect(big.body == Self.big)
            let chunked = try await Curl.run(common + [protocolFlag, "\(gateway.baseURL)/raw/chunked"])
            #expect(chunked.httpCode == 200, "\(protocolFlag): \(chunked.stderr)")
            #expect(chunked.body == Self.chunks.joined())
            let short = try await Curl.run(common + [protocolFlag, "\(gateway.baseURL)/raw/short"])
            #expect(short.httpCode == 502, "\(protocolFlag): \(short.stderr)")
            #expect(short.body.hasPrefix(#"{"statusCode":502,"#))
        }
        // The connection stays usable after a 502 for a cut body: three requests on one HTTP/1.1 connection.
        let sequence = try await Curl.run(common + ["--http1.1", "\(gateway.baseURL)/raw/small", "\(gateway.baseURL)/raw/short",
                                                    "\(gateway.baseURL)/raw/small"])
        #expect(sequence.stdout.hasPrefix(Self.small + "200"))
        #expect(sequence.stdout.hasSuffix("502" + Self.small + "200"))
        try await gateway.stop()
        try await backend.stop()
    }
}

/// A plain-HTTP backend answering fixed responses by path, written byte for byte (no HTTP library),
/// so the gateway sees exactly the framing under test.
final class CannedBackend: Sendable {
    let channel: any Channel
    let port: Int

    private init(channel: any Channel) {
        self.channel = channel
        self.port = channel.localAddress?.port ?? 0
    }

    static func start() async throws -> CannedBackend {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(CannedResponder()) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return CannedBackend(channel: channel)
    }

    func stop() async throws {
        try await channel.close()
    }
}

private final class CannedResponder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private var received = ""
    /// After an early answer the rest of the upload is read and dropped.
    private var discarding = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if discarding { return }
        var buffer = unwrapInboundIn(data)
        received += buffer.readString(length: buffer.readableBytes) ?? ""
        while let end = received.range(of: "\r\n\r\n") {
            let requestLine = received[..<end.lowerBound].split(separator: "\r\n").first ?? ""
            received = String(received[end.upperBound...])
            let path = requestLine.split(separator: " ").dropFirst().first.map(String.init) ?? "/"
            respond(to: path, context: context)
        }
    }

    private func respond(to path: String, context: ChannelHandlerContext) {
        func send(_ text: String) {
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: text)), promise: nil)
        }
        switch path {
        case "/early401":  // answers before reading the request body (as an auth check would)
            send("HTTP/1.1 401 Unauthorized\r\nContent-Length: 12\r\n\r\nunauthorized")
            discarding = true
        case "/small":
            send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + BackendResponseRelayTests.small)
        case "/big":
            send("HTTP/1.1 200 OK\r\nContent-Length: \(BackendResponseRelayTests.big.utf8.count)\r\n\r\n" + BackendResponseRelayTests.big)
        case "/chunked":
            var text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            for chunk in BackendResponseRelayTests.chunks { text += String(chunk.utf8.count, radix: 16) + "\r\n" + chunk + "\r\n" }
            send(text + "0\r\n\r\n")
        default:  // "/short": 10 of the 1,000 bytes it declares, then the connection ends
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string:
                "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789")), promise: nil)
            context.close(promise: nil)
        }
    }
}
