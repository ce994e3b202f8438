import Crypto
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// The demo's built-in backend, on a loopback port: answers every request with a JSON description of
/// what it received (method, path, headers, body size and SHA-256), reading the body as a stream.
///
/// Two request headers make it misbehave on purpose, for demonstrations and tests:
/// `x-echo-delay-ms` (wait before answering) and `x-echo-read-delay-ms` (pause after each body chunk
/// it reads: a slow backend).
public final class EchoBackend: Sendable {
    private let channel: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>
    public let port: Int
    /// CRL files served so far (tests count distribution-point fetches with it).
    public var crlRequestsServed: Int { crlCounter.withLockedValue { $0 } }
    private let crlCounter = NIOLockedValueBox(0)

    private init(channel: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>, port: Int) {
        self.channel = channel
        self.port = port
    }

    /// Binds to 127.0.0.1 (port 0 = any free port) and starts serving in the background. With
    /// `crlDirectory`, `GET /crl/NAME.crl` serves that folder's CRL files (the demo PKI's distribution point).
    public static func start(group: any EventLoopGroup, port: Int = 0, crlDirectory: String? = nil) async throws -> EchoBackend {
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(
                        wrappingChannelSynchronously: channel,
                        configuration: .init(backPressureStrategy: .init(lowWatermark: 2, highWatermark: 4)))
                }
            }
        let backend = EchoBackend(channel: channel, port: channel.channel.localAddress?.port ?? port)
        Task { await backend.serve(crlDirectory: crlDirectory) }
        return backend
    }

    public func stop() async {
        try? await channel.channel.close()
    }

    /// Returns when the listening socket is closed.
    public func waitUntilStopped() async {
        try? await channel.channel.closeFuture.get()
    }

    private func serve(crlDirectory: String?) async {
        try? await withThrowingDiscardingTaskGroup { group in
            try await channel.executeThenClose { inbound in
                for try await connection in inbound {
                    let counter = crlCounter
                    group.addTask { await Self.serveConnection(connection, crlDirectory: crlDirectory, crlCounter: counter) }
                }
            }
        }
    }

    /// The CRL file a `GET /crl/NAME.crl` asks for, if it exists (names are a plain file name: no paths).
    static func crlFile(for uri: String, in directory: String?) -> Data? {
        guard let directory, uri.hasPrefix("/crl/") else { return nil }
        let name = String(uri.dropFirst(5))
        guard name.hasSuffix(".crl"), !name.contains("/"), !name.contains(".."), !name.isEmpty else { return nil }
        return FileManager.default.contents(atPath: (directory as NSString).appendingPathComponent(name))
    }

    private static func serveConnection(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>,
                                        crlDirectory: String?, crlCounter: NIOLockedValueBox<Int>) async {
        try? await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            var hasher = SHA256()
            var bytes = 0
            var readDelay = 0
            for try await part in inbound {
                switch part {
                case .head(let requestHead):
                    head = requestHead
                    hasher = SHA256()
                    bytes = 0
                    readDelay = requestHead.headers.first(name: "x-echo-read-delay-ms").flatMap(Int.init) ?? 0
                case .body(let buffer):
                    bytes += buffer.readableBytes
                    buffer.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
                    if readDelay > 0 { try await Task.sleep(for: .milliseconds(readDelay)) }
                case .end:
                    guard let requestHead = head else { continue }
                    if let delay = requestHead.headers.first(name: "x-echo-delay-ms").flatMap(Int.init), delay > 0 {
                        try await Task.sleep(for: .milliseconds(delay))
                    }
                    if requestHead.method == .GET, let crl = Self.crlFile(for: requestHead.uri, in: crlDirectory) {
                        crlCounter.withLockedValue { $0 += 1 }
                        var crlHeaders = HTTPHeaders()
                        crlHeaders.add(name: "Content-Type", value: "application/pkix-crl")
                        crlHeaders.add(name: "Content-Length", value: String(crl.count))
                        try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: crlHeaders)))
                        try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: crl))))
                        try await outbound.write(.end(nil))
                        head = nil
                        continue
                    }
                    let digest = hasher.finalize().map { String(format: "%02x", $0) }.joined()
                    var headers: [String: String] = [:]
                    for (name, value) in requestHead.headers {
                        let key = name.lowercased()
                        headers[key] = headers[key].map { $0 + ", " + value } ?? value
                    }
                    let description: [String: Any] = [
                        "method": requestHead.method.rawValue,
                        "path": requestHead.uri,
                        "headers": headers,
                        "bodyBytes": bytes,
                        "bodySHA256": digest,
                    ]
                    let json = (try? JSONSerialization.data(withJSONObject: description, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
                    var responseHeaders = HTTPHeaders()
                    responseHeaders.add(name: "Content-Type", value: "application/json")
                    responseHeaders.add(name: "Content-Length", value: String(json.count))
                    responseHeaders.add(name: "X-Echo-Backend", value: "drawbridge-demo")
                    try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: responseHeaders)))
                    try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: json))))
                    try await outbound.write(.end(nil))
                    head = nil
                }
            }
        }
    }
}
