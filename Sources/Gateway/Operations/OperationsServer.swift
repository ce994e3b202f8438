import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import X509

/// The operations listener: plain HTTP/1.1 on its own address (default loopback), never on the data
/// plane. `/healthz` (the process serves), `/readyz` (listeners bound and not draining: else 503),
/// `/metrics` (Prometheus text format).
///
/// Built on SwiftNIO's HTTP/1.1 codec, which the gateway already links: three fixed GET routes did
/// not justify a server framework's build time on the data plane's binary. `/admin/...` goes to the
/// admin handler when one is mounted (`serve --store`), else 404.
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
                             metrics: @escaping @Sendable () -> String,
                             admin: (any OperationsAdminHandler)? = nil, tls: OperationsTLS? = nil) async throws -> OperationsServer {
        var routes = OperationsRoutes(readiness: readiness, metrics: metrics, admin: admin)
        routes.verifiesAdminCertificates = tls?.verifiesClients ?? false
        let channel: any Channel
        do {
            channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 64)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls.context)) }
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
    var admin: (any OperationsAdminHandler)? = nil
    /// Whether the TLS handshake verifies client certificates (against the admin client CAs).
    var verifiesAdminCertificates = false

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
    /// The body of an admin request (other routes ignore bodies); nil once over the limit.
    private var body: [UInt8]? = []

    init(routes: OperationsRoutes) { self.routes = routes }

    private func isAdmin(_ uri: String) -> Bool {
        routes.admin != nil && (uri == "/admin" || uri.hasPrefix("/admin/") || uri.hasPrefix("/admin?"))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            self.body = []
            // Clients that wait for a 100 before sending a body (curl does, for large uploads).
            if isAdmin(head.uri), head.headers.first(name: "Expect")?.lowercased() == "100-continue" {
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))), promise: nil)
            }
        case .body(var buffer):
            guard let head, isAdmin(head.uri), body != nil else { break }
            if (body?.count ?? 0) + buffer.readableBytes > OperationsResponse.maxBodyBytes {
                body = nil
            } else if let bytes = buffer.readBytes(length: buffer.readableBytes) {
                body?.append(contentsOf: bytes)
            }
        case .end:
            guard let head else { return }
            self.head = nil
            if let admin = routes.admin, isAdmin(head.uri) {
                serveAdmin(admin, head: head, context: context)
                return
            }
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

    /// Runs the admin handler off the event loop and writes its answer back on it.
    private func serveAdmin(_ admin: any OperationsAdminHandler, head: HTTPRequestHead, context: ChannelHandlerContext) {
        let channel = context.channel
        let keepAlive = head.isKeepAlive
        let version = head.version
        let isHead = head.method == .HEAD
        guard let body = self.body else {
            let tooLarge = OperationsResponse(status: 413, headers: [("Content-Type", "application/json")],
                                              body: Array("{\"error\":{\"code\":\"PayloadTooLarge\",\"message\":\"request body above \(OperationsResponse.maxBodyBytes) bytes\"}}\n".utf8))
            Self.write(tooLarge, version: version, keepAlive: false, isHead: isHead, to: channel)
            return
        }
        self.body = []
        let request = OperationsRequest(method: head.method.rawValue, uri: head.uri,
                                        headers: head.headers.map { ($0.name, $0.value) }, body: body,
                                        verifiedClientCertificate: routes.verifiesAdminCertificates ? Self.peerSubject(context) : nil)
        // One request at a time per connection: reading pauses until the answer is written.
        channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
        Self.respond(admin, request, version: version, keepAlive: keepAlive, isHead: isHead, channel: channel)
    }

    /// The subject of the peer certificate the handshake verified (NIOSSL verified it against the
    /// admin client CAs, or the handshake failed).
    private static func peerSubject(_ context: ChannelHandlerContext) -> String? {
        guard let handler = try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self),
              let peer = handler.peerCertificate, let der = try? peer.toDERBytes(),
              let certificate = try? Certificate(derEncoded: der) else { return nil }
        return certificate.subject.description
    }

    private static func respond(_ admin: any OperationsAdminHandler, _ request: OperationsRequest, version: HTTPVersion,
                                keepAlive: Bool, isHead: Bool, channel: any Channel) {
        Task {
            let response = await admin.handle(request)
            write(response, version: version, keepAlive: keepAlive, isHead: isHead, to: channel)
            channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
        }
    }

    private static func write(_ response: OperationsResponse, version: HTTPVersion, keepAlive: Bool, isHead: Bool, to channel: any Channel) {
        var headers = HTTPHeaders()
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        headers.replaceOrAdd(name: "Content-Length", value: String(response.body.count))
        headers.replaceOrAdd(name: "Cache-Control", value: "no-store")
        if !keepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
        let status = HTTPResponseStatus(statusCode: response.status)
        var buffer = channel.allocator.buffer(capacity: response.body.count)
        buffer.writeBytes(response.body)
        channel.write(HTTPServerResponsePart.head(HTTPResponseHead(version: version, status: status, headers: headers)), promise: nil)
        if !isHead { channel.write(HTTPServerResponsePart.body(.byteBuffer(buffer)), promise: nil) }
        let done = channel.writeAndFlush(HTTPServerResponsePart.end(nil))
        if !keepAlive { done.whenComplete { _ in channel.close(promise: nil) } }
    }
}

/// TLS on the operations listener: the server context, and whether it verifies client
/// certificates (admin client CAs configured: a certificate that does not chain to them fails the
/// handshake; none at all is allowed, and the admin API then asks for a bearer token).
public struct OperationsTLS: Sendable {
    public let context: NIOSSLContext
    public let verifiesClients: Bool

    public init(certificateFile: String, keyFile: String, clientCAFiles: [String]) throws {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(certificateFile).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem)))
        configuration.minimumTLSVersion = .tlsv12
        if !clientCAFiles.isEmpty {
            configuration.trustRoots = .certificates(try clientCAFiles.flatMap { try NIOSSLCertificate.fromPEMFile($0) })
            configuration.certificateVerification = .optionalVerification
        }
        context = try NIOSSLContext(configuration: configuration)
        verifiesClients = !clientCAFiles.isEmpty
    }
}
