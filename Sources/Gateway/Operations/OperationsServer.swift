import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// The operations listener: plain HTTP/1.1 on its own address (default loopback), never on the data
/// plane. `/healthz` (the process serves), `/readyz` (listeners bound and not draining: else 503),
/// `/metrics` (Prometheus text format).
///
/// Built on SwiftNIO's HTTP/1.1 codec, which the gateway already links: three fixed GET routes did
/// not justify a server framework's build time on the data plane's binary.
public final class OperationsServer: Sendable {
    public enum Readiness: Sendable, Equatable {
        case ready
        /// Not serving yet (listeners not bound) or no longer (draining); the text says which.
        case notReady(String)
    }

    private let channel: any Channel
    public let port: Int

    private init(channel: any Channel) {
        self.channel = channel
        self.port = channel.localAddress?.port ?? 0
    }

    /// Binds and serves until `stop`. `readiness` and `metrics` are asked per probe/scrape.
    public static func start(address: String, port: Int, group: any EventLoopGroup, logger: Logger,
                             readiness: @escaping @Sendable () -> Readiness,
                             metrics: @escaping @Sendable () -> String) async throws -> OperationsServer {
        let routes = OperationsRoutes(readiness: readiness, metrics: metrics)
        let channel: any Channel
        do {
            channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 64)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        try channel.pipeline.syncOperations.addHandler(OperationsHTTPHandler(routes: routes))
                    }
                }
                .childChannelOption(.maxMessagesPerRead, value: 4)
                .bind(host: address, port: port).get()
        } catch {
            throw GatewayStartupError.bind(address: address, port: port, reason: "operations listener: \(error)")
        }
        let server = OperationsServer(channel: channel)
        logger.info("operations listener (healthz, readyz, metrics)", metadata: [
            "address": "\(address)", "port": "\(server.port)",
        ])
        return server
    }

    public func stop() async {
        try? await channel.close()
    }
}

/// What each path answers: status, content type, body.
struct OperationsRoutes: Sendable {
    let readiness: @Sendable () -> OperationsServer.Readiness
    let metrics: @Sendable () -> String

    func answer(method: HTTPMethod, path: String) -> (HTTPResponseStatus, String, String) {
        let pathOnly = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? path
        guard method == .GET || method == .HEAD else {
            return (.methodNotAllowed, "text/plain; charset=utf-8", "method not allowed\n")
        }
        switch pathOnly {
        case "/healthz":
            return (.ok, "text/plain; charset=utf-8", "ok\n")
        case "/readyz":
            switch readiness() {
            case .ready: return (.ok, "text/plain; charset=utf-8", "ready\n")
            case .notReady(let why): return (.serviceUnavailable, "text/plain; charset=utf-8", "not ready: \(why)\n")
            }
        case "/metrics":
            return (.ok, "text/plain; version=0.0.4; charset=utf-8", metrics())
        default:
            return (.notFound, "text/plain; charset=utf-8", "not found (try /healthz, /readyz, /metrics)\n")
        }
    }
}

final class OperationsHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let routes: OperationsRoutes
    private var head: HTTPRequestHead?

    init(routes: OperationsRoutes) { self.routes = routes }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body:
            break
        case .end:
            guard let head else { return }
            self.head = nil
            let (status, contentType, body) = routes.answer(method: head.method, path: head.uri)
            var buffer = context.channel.allocator.buffer(capacity: body.utf8.count)
            buffer.writeString(body)
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: contentType)
            headers.add(name: "Content-Length", value: String(buffer.readableBytes))
            headers.add(name: "Cache-Control", value: "no-store")
            let keepAlive = head.isKeepAlive
            if !keepAlive { headers.add(name: "Connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
            if head.method != .HEAD {
                context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            }
            let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
            if !keepAlive {
                let channel = context.channel
                done.whenComplete { _ in channel.close(promise: nil) }
            }
        }
    }
}
