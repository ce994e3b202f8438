import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// A loopback HTTP server for tests that plays a service (a Dapr sidecar, an OAuth token endpoint,
/// Event Hubs over TLS with `tls`): it records each request (method, target, headers, body) and
/// answers with what `answer` returns for it (after `delay`, when set).
final class LoopbackHTTPServer: Sendable {
    struct Received: Sendable {
        let method: String
        let uri: String
        let headers: [(name: String, value: String)]
        let body: String

        func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name.lowercased() }?.value }
    }

    struct Answer: Sendable {
        var status: Int
        var body: String = ""
        var contentType: String = "application/json"
        var delay: TimeAmount = .zero
    }

    let port: Int
    private let channel: any Channel
    private let state: NIOLockedValueBox<[Received]>

    var baseURL: String { "http://127.0.0.1:\(port)" }
    var received: [Received] { state.withLockedValue { $0 } }

    private init(port: Int, channel: any Channel, state: NIOLockedValueBox<[Received]>) {
        self.port = port
        self.channel = channel
        self.state = state
    }

    static func start(tls: NIOSSLContext? = nil, _ answer: @escaping @Sendable (Received) -> Answer) async throws -> LoopbackHTTPServer {
        let state = NIOLockedValueBox<[Received]>([])
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(answer: answer, state: state))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return LoopbackHTTPServer(port: channel.localAddress?.port ?? 0, channel: channel, state: state)
    }

    func stop() async { try? await channel.close() }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let answer: @Sendable (Received) -> Answer
        let state: NIOLockedValueBox<[Received]>
        var head: HTTPRequestHead?
        var body: [UInt8] = []

        init(answer: @escaping @Sendable (Received) -> Answer, state: NIOLockedValueBox<[Received]>) {
            self.answer = answer
            self.state = state
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body = []
            case .body(var buffer):
                body += buffer.readBytes(length: buffer.readableBytes) ?? []
            case .end:
                guard let head else { return }
                let received = Received(
                    method: head.method.rawValue, uri: head.uri, headers: head.headers.map { ($0.name, $0.value) },
                    body: String(decoding: body, as: UTF8.self))
                state.withLockedValue { $0.append(received) }
                let reply = answer(received)
                let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
                let write = {
                    let context = loopBound.value
                    let bytes = Array(reply.body.utf8)
                    var headers = HTTPHeaders()
                    headers.add(name: "Content-Length", value: String(bytes.count))
                    if !bytes.isEmpty { headers.add(name: "Content-Type", value: reply.contentType) }
                    context.write(
                        NIOAny(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: reply.status), headers: headers))),
                        promise: nil)
                    if !bytes.isEmpty { context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(bytes: bytes)))), promise: nil) }
                    context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)), promise: nil)
                }
                if reply.delay == .zero { write() } else { context.eventLoop.assumeIsolated().scheduleTask(in: reply.delay) { write() } }
            }
        }
    }
}
