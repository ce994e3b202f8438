import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A loopback HTTP server for tests that answers from a table of raw responses (status line,
/// headers and body exactly as given), one request per connection, then closes — unless the
/// response is marked to stall (the connection stays open after what was written). Raw, so tests
/// can send what a well-behaved framework would not: an HTTP/1.1 body with no length that never ends.
final class DocumentServer: Sendable {
    struct Response: Sendable {
        let raw: [UInt8]
        let stalls: Bool

        /// HTTP/1.1 with Content-Length (what a correct server sends).
        static func json(_ body: String) -> Response {
            let bytes = Array(body.utf8)
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(bytes.count)\r\nConnection: close\r\n\r\n"
            return Response(raw: Array(head.utf8) + bytes, stalls: false)
        }

        /// HTTP/1.0 without Content-Length: the body ends when the connection closes (Python's
        /// `http.server` by default).
        static func http10(_ body: String) -> Response {
            Response(raw: Array("HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n\(body)".utf8), stalls: false)
        }

        /// HTTP/1.1, no Content-Length, no chunking, and the connection is kept open: the body never ends.
        static func neverEnding(_ start: String) -> Response {
            Response(raw: Array("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n\(start)".utf8), stalls: true)
        }

        static func status(_ code: Int) -> Response {
            Response(raw: Array("HTTP/1.1 \(code) Nope\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8), stalls: false)
        }
    }

    private let channel: any Channel
    private let routes: NIOLockedValueBox<[String: Response]>
    private let served: NIOLockedValueBox<[String]>
    private let heads: NIOLockedValueBox<[String]>
    let port: Int

    var baseURL: String { "http://127.0.0.1:\(port)" }
    /// The paths requested so far, in order.
    var requests: [String] { served.withLockedValue { $0 } }
    /// The request heads (request line and header lines) received so far, in order.
    var requestHeads: [String] { heads.withLockedValue { $0 } }

    static func recordHead(_ text: String, into heads: NIOLockedValueBox<[String]>) {
        let head = text.components(separatedBy: "\r\n\r\n").first ?? text
        heads.withLockedValue { $0.append(head) }
    }

    func set(_ path: String, _ response: Response) { routes.withLockedValue { $0[path] = response } }

    static func start(_ routes: [String: Response] = [:]) async throws -> DocumentServer {
        let table = NIOLockedValueBox(routes)
        let served = NIOLockedValueBox<[String]>([])
        let heads = NIOLockedValueBox<[String]>([])
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Handler(routes: table, served: served, heads: heads)) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return DocumentServer(channel: channel, routes: table, served: served, heads: heads, port: channel.localAddress?.port ?? 0)
    }

    private init(channel: any Channel, routes: NIOLockedValueBox<[String: Response]>, served: NIOLockedValueBox<[String]>,
                 heads: NIOLockedValueBox<[String]>, port: Int) {
        self.channel = channel
        self.routes = routes
        self.served = served
        self.heads = heads
        self.port = port
    }

    func stop() async {
        try? await channel.close()
    }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let routes: NIOLockedValueBox<[String: Response]>
        let served: NIOLockedValueBox<[String]>
        let heads: NIOLockedValueBox<[String]>
        var received: [UInt8] = []
        var answered = false

        init(routes: NIOLockedValueBox<[String: Response]>, served: NIOLockedValueBox<[String]>, heads: NIOLockedValueBox<[String]>) {
            self.routes = routes
            self.served = served
            self.heads = heads
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard !answered else { return }
            received += unwrapInboundIn(data).readableBytesView
            let text = String(decoding: received, as: UTF8.self)
            guard text.contains("\r\n\r\n") else { return }
            answered = true
            let target = text.split(separator: " ").dropFirst().first.map(String.init) ?? "/"
            served.withLockedValue { $0.append(target) }
            DocumentServer.recordHead(text, into: heads)
            let response = routes.withLockedValue { $0[target] } ?? .status(404)
            let written = context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: response.raw)))
            if !response.stalls {
                written.whenComplete { _ in context.close(promise: nil) }
            }
        }
    }
}
