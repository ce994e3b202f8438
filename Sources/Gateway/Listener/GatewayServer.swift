import GatewayConfiguration
import HTTPTypes
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOHTTPTypesHTTP2
import NIOPosix
import NIOSSL
import NIOTLS

typealias HTTPStreamChannel = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>
typealias HTTP2Connection = (multiplexer: NIOHTTP2Handler.AsyncStreamMultiplexer<HTTPStreamChannel>, info: ConnectionInfo)
typealias NegotiatedConnection = NIONegotiatedHTTPVersion<(HTTPStreamChannel, ConnectionInfo), HTTP2Connection>

/// Why a connection was refused before TLS.
enum ConnectionRefused: Error {
    case unrecognizedName(String?)
    case closedDuringHandshake
}

/// What the accept loop receives per TCP connection.
enum AcceptedConnection: Sendable {
    /// Refused before TLS (connection limit, unknown server name): already being closed.
    case refused
    /// TLS and ALPN under way; the future completes with the negotiated HTTP version.
    /// The handler is the one of the snapshot current at accept time: every request on the
    /// connection is served by the configuration its TLS handshake was made with.
    case negotiating(ConnectionRegistry.Tracked, EventLoopFuture<NegotiatedConnection>, RequestHandler)
}

/// One listening port serving every configured hostname: SNI picks the hostname's TLS context
/// (server certificate and client-certificate mode), ALPN picks HTTP/2 or HTTP/1.1.
public final class GatewayServer: Sendable {
    private let group: any EventLoopGroup
    private let executors: EventLoopTaskExecutor.Table
    let logger: Logger  // (internal: the operations listener logs with it)
    private let registry: ConnectionRegistry
    private let forwarder: BackendForwarder
    /// The configuration in force, swapped whole by `reload`; connections keep the one they began with.
    private let current: NIOLockedValueBox<RequestHandler>

    public var snapshot: GatewaySnapshot { current.withLockedValue { $0.snapshot } }
    // (internal, not private: `readiness` in Operations/GatewayServer+Operations.swift reads them)
    let serverChannel = NIOLockedValueBox<(any Channel)?>(nil)
    let stopped = NIOLockedValueBox(false)
    /// Operations: server-owned metrics (they outlive reloads); `/metrics` renders them.
    public let metrics: GatewayMetrics

    public init(config: GatewayConfig, group: any EventLoopGroup, logger: Logger,
                metrics: GatewayMetrics = GatewayMetrics()) throws {
        let forwarder = try BackendForwarder(config: config.backend, eventLoopGroup: group, logger: logger, metrics: metrics)
        let snapshot: GatewaySnapshot
        do {
            snapshot = try GatewaySnapshot(config: config, crlFetcher: forwarder.crlFetcher)
        } catch {
            try? forwarder.syncShutdown()
            throw error
        }
        self.group = group
        self.executors = EventLoopTaskExecutor.Table(group: group)
        self.logger = logger
        self.registry = ConnectionRegistry(maxConnections: config.limits.maxConnections)
        self.forwarder = forwarder
        self.metrics = metrics
        self.current = NIOLockedValueBox(RequestHandler(snapshot: snapshot, forwarder: forwarder, logger: logger,
                                                        requestMetrics: RequestMetricsTable(snapshot: snapshot, metrics: metrics)))
        metrics.setCertificates(CertificateInventory.expiries(snapshot: snapshot))
    }

    /// Replaces the configuration without dropping connections: the new snapshot (TLS contexts,
    /// routes) is built completely first; if anything is wrong the error is thrown and the running
    /// configuration stays in force. New connections use the new snapshot; connections already open
    /// finish on the one they started with. The listen address, connection limit and backend client
    /// settings need a restart.
    public func reload(config: GatewayConfig) throws {
        do {
            try reloadUncounted(config: config)
            metrics.reloadSucceeded()
        } catch {
            metrics.reloadFailed()
            throw error
        }
    }

    private func reloadUncounted(config: GatewayConfig) throws {
        let running = snapshot.config
        guard config.listen == running.listen else {
            throw GatewayStartupError.bind(address: config.listen.address, port: config.listen.port,
                                           reason: "the listen address cannot change on reload; restart the gateway")
        }
        let next = try GatewaySnapshot(config: config, crlFetcher: forwarder.crlFetcher)
        let requestMetrics = RequestMetricsTable(snapshot: next, metrics: metrics)
        current.withLockedValue { $0 = RequestHandler(snapshot: next, forwarder: forwarder, logger: logger, requestMetrics: requestMetrics) }
        metrics.setCertificates(CertificateInventory.expiries(snapshot: next))
        if config.backend != running.backend || config.limits.maxConnections != running.limits.maxConnections {
            logger.warning("reloaded; backend settings and maxConnections keep their old values until a restart")
        }
        logger.info("configuration reloaded", metadata: [
            "hostnames": "\(next.hostnames.all.count)", "apis": "\(config.apis.count)",
        ])
    }

    /// Binds the port and serves until `shutdown` is called; then drains and returns. `onListening`
    /// receives the bound port (useful with port 0).
    public func run(onListening: @Sendable (Int) -> Void = { _ in }) async throws {
        let config = snapshot.config
        let channel: NIOAsyncChannel<AcceptedConnection, Never>
        do {
            // (serverChannel is set once bound; shutdown() before that is remembered in `stopped`.)
            channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 1024)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelOption(.autoRead, value: true)
                .bind(host: config.listen.address, port: config.listen.port) { channel in
                    self.initializeConnection(channel)
                }
        } catch {
            await forwarder.shutdown()
            throw GatewayStartupError.bind(address: config.listen.address, port: config.listen.port, reason: "\(error)")
        }
        let port = channel.channel.localAddress?.port ?? config.listen.port
        serverChannel.withLockedValue { $0 = channel.channel }
        if stopped.withLockedValue({ $0 }) { try? await channel.channel.close() }
        logger.info("listening", metadata: [
            "address": "\(config.listen.address)", "port": "\(port)",
            "hostnames": "\(snapshot.hostnames.all.map { "\($0.name) (client certificate: \($0.clientCertificateMode.rawValue))" }.joined(separator: ", "))",
        ])
        onListening(port)

        try await withThrowingDiscardingTaskGroup { group in
            try await channel.executeThenClose { inbound in
                for try await accepted in inbound {
                    if case .negotiating(let tracked, _, _) = accepted,
                       let executor = self.executors.executor(for: tracked.channel.eventLoop) {
                        group.addTask(executorPreference: executor) { await self.serveConnection(accepted) }
                    } else {
                        group.addTask { await self.serveConnection(accepted) }
                    }
                }
            }
            // The listener is closed (shutdown): connections drain, bounded by the grace period.
            registry.beginDraining()
            let grace = config.limits.drainGracePeriod
            let registry = self.registry
            group.addTask {
                try? await Task.sleep(for: .milliseconds(Int(grace * 1000)))
                registry.closeAll()
            }
            while registry.count > 0 {
                try await Task.sleep(for: .milliseconds(20))
            }
            group.cancelAll()
        }
        await forwarder.shutdown()
        logger.info("stopped")
    }

    /// Stops accepting connections and starts draining those in flight.
    public func shutdown() {
        stopped.withLockedValue { $0 = true }
        serverChannel.withLockedValue { $0 }?.close(promise: nil)
    }

    // MARK: - Connection set-up (on the event loop)

    private func initializeConnection(_ channel: any Channel) -> EventLoopFuture<AcceptedConnection> {
        let handler = current.withLockedValue { $0 }
        let snapshot = handler.snapshot
        guard let tracked = registry.admit(channel) else {
            metrics.connectionsRefused.increment()  // Operations
            logger.warning("connection refused: limit reached or draining", metadata: ["limit": "\(registry.maxConnections)"])
            return channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(CloseWhenActive())
                return .refused
            }
        }
        channel.closeFuture.whenComplete { _ in self.registry.remove(channel) }

        let limits = snapshot.config.limits
        let handshakeDone = NIOLockedValueBox(false)
        channel.eventLoop.scheduleTask(in: .milliseconds(Int64(limits.handshakeTimeout * 1000))) {
            if !handshakeDone.withLockedValue({ $0 }) { channel.close(promise: nil) }
        }

        // The child initializer must complete at once: NIO registers the channel (and so starts
        // reading) only after it. The SNI callback, which needs those reads, completes `negotiated`.
        let negotiated = channel.eventLoop.makePromise(of: NegotiatedConnection.self)
        // A client that leaves before TLS and ALPN finish must not leave its task waiting forever
        // (a completed promise ignores this).
        channel.closeFuture.whenComplete { _ in negotiated.fail(ConnectionRefused.closedDuringHandshake) }
        logger.trace("connection accepted", metadata: ["remote": "\(channel.remoteAddress?.description ?? "?")"])
        let sniHandler = ByteToMessageHandler(SNIHandler { result in
            let serverName: String?
            switch result {
            case .hostname(let name): serverName = name.lowercased()
            case .fallback: serverName = nil
            }
            let hostname = serverName.map { snapshot.hostnames.lookup($0) } ?? snapshot.hostnames.defaultHostname
            guard let hostname else {
                self.logger.info("TLS refused: unrecognized server name", metadata: ["sni": "\(serverName.map { LogText.escape($0) } ?? "<none>")"])
                let alert = TLSAlert.unrecognizedName(allocator: channel.allocator)
                channel.writeAndFlush(alert).whenComplete { _ in channel.close(promise: nil) }
                negotiated.fail(ConnectionRefused.unrecognizedName(serverName))
                return channel.eventLoop.makeSucceededVoidFuture()
            }
            do {
                let future = try self.configureTLSAndHTTP(channel, hostname: hostname, serverName: serverName,
                                                          snapshot: snapshot, handshakeDone: handshakeDone)
                future.cascade(to: negotiated)
            } catch {
                negotiated.fail(error)
                channel.close(promise: nil)
            }
            return channel.eventLoop.makeSucceededVoidFuture()
        })
        do {
            try channel.pipeline.syncOperations.addHandler(sniHandler)
        } catch {
            negotiated.fail(error)
            return channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(CloseWhenActive())
                return .refused
            }
        }
        return channel.eventLoop.makeSucceededFuture(.negotiating(tracked, negotiated.futureResult, handler))
    }

    private func configureTLSAndHTTP(
        _ channel: any Channel, hostname: TLSHostname, serverName: String?, snapshot: GatewaySnapshot,
        handshakeDone: NIOLockedValueBox<Bool>
    ) throws -> EventLoopFuture<NegotiatedConnection> {
        let limits = snapshot.config.limits
        let recorder = PresentedChainRecorder()
        let tlsHandler: NIOSSLServerHandler
        switch hostname.clientCertificateMode {
        case .negotiate:
            tlsHandler = NIOSSLServerHandler(context: hostname.sslContext, customVerificationCallback: recorder.acceptAndRecord(logger: logger))
        case .required:
            // BoringSSL only collects the chain; `ChainVerifier` decides, as for `Verify()`.
            tlsHandler = NIOSSLServerHandler(
                context: hostname.sslContext,
                customVerificationCallback: recorder.verifyAndRecord(context: snapshot.clientVerification[hostname.name], logger: logger))
        case .off:
            tlsHandler = NIOSSLServerHandler(context: hostname.sslContext)
        }
        try channel.pipeline.syncOperations.addHandler(tlsHandler)
        // Operations: TLS handshake refusals, counted and logged (rate-limited) with their reason.
        try channel.pipeline.syncOperations.addHandler(TLSHandshakeObserver(metrics: metrics, logger: logger))

        let makeInfo: @Sendable (any Channel) throws -> ConnectionInfo = { channel in
            handshakeDone.withLockedValue { $0 = true }
            let ssl = try channel.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self)
            var chain = recorder.presentedChain
            if chain.isEmpty, let leaf = try ssl.peerCertificate?.toDERBytes() {
                // Resumed session: no verification callback ran, but the session remembers the leaf.
                chain = [leaf]
            }
            return ConnectionInfo(
                serverName: serverName, hostname: hostname, alpn: nil,
                tlsVersion: ssl.tlsVersion?.displayName ?? "unknown", presentedChainDER: chain,
                remoteAddress: channel.remoteAddress?.ipAddress)
        }

        let http1Initializer: NIOChannelInitializerWithOutput<(HTTPStreamChannel, ConnectionInfo)> = { channel in
            channel.eventLoop.makeCompletedFuture {
                let info = try makeInfo(channel).withALPN("http/1.1")
                let sync = channel.pipeline.syncOperations
                let deadlines = HTTP1RequestDeadlines(headerReadTimeout: limits.headerReadTimeout,
                                                      bodyReadTimeout: limits.bodyReadTimeout, idleTimeout: limits.idleTimeout)
                try sync.addHandler(deadlines)
                try sync.addHandler(HTTPResponseEncoder())
                // After a request that upgrades (Upgrade, CONNECT) the decoder stops parsing and keeps
                // what follows; the cap bounds that (and any other unparsed backlog) per connection.
                try sync.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes),
                                                         maximumBufferSize: Self.maxUnparsedBytes))
                try sync.addHandler(HTTP1ProtocolErrorResponder(deadlines: deadlines))
                try sync.addHandler(HTTPServerPipelineHandler())
                let reasons = ReasonPhrases()
                try sync.addHandler(reasons.apply)
                try sync.addHandler(HTTP1ToHTTPServerCodec(secure: true))
                try sync.addHandler(reasons.capture)
                let asyncChannel = try HTTPStreamChannel(
                    wrappingChannelSynchronously: channel,
                    configuration: .init(backPressureStrategy: .init(lowWatermark: 2, highWatermark: 8)))
                return (asyncChannel, info)
            }
        }
        let http2Initializer: NIOChannelInitializerWithOutput<HTTP2Connection> = { channel in
            channel.eventLoop.makeCompletedFuture {
                let info = try makeInfo(channel).withALPN("h2")
                try channel.pipeline.syncOperations.addHandler(
                    IdleStateHandler(allTimeout: .milliseconds(Int64(limits.idleTimeout * 1000))))
                try channel.pipeline.syncOperations.addHandler(IdleConnectionCloser())
                var settings = NIOHTTP2Handler.Configuration()
                settings.connection.initialSettings = [
                    HTTP2Setting(parameter: .maxConcurrentStreams, value: limits.maxConcurrentStreams),
                    HTTP2Setting(parameter: .maxHeaderListSize, value: max(65_536, 2 * limits.maxHeaderBytes + 64 * limits.maxHeaderCount)),
                    HTTP2Setting(parameter: .initialWindowSize, value: 1 << 20),
                ]
                let multiplexer = try channel.pipeline.syncOperations.configureAsyncHTTP2Pipeline(
                    mode: .server, configuration: settings
                ) { stream in
                    stream.eventLoop.makeCompletedFuture {
                        try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTPServerCodec())
                        return try HTTPStreamChannel(
                            wrappingChannelSynchronously: stream,
                            configuration: .init(backPressureStrategy: .init(lowWatermark: 2, highWatermark: 8)))
                    }
                }
                try channel.pipeline.syncOperations.addHandler(CloseOnConnectionError())
                return (multiplexer, info)
            }
        }

        // A hostname without HTTP/2 offers only http/1.1 in ALPN, so negotiation never picks h2 there.
        return channel.configureHTTP2AsyncSecureUpgrade(
            http1ConnectionInitializer: http1Initializer,
            http2ConnectionInitializer: http2Initializer
        ).flatMap { $0 }
    }

    // MARK: - Serving

    private func serveConnection(_ accepted: AcceptedConnection) async {
        guard case .negotiating(let tracked, let future, let handler) = accepted else { return }
        let negotiated: NegotiatedConnection
        do {
            negotiated = try await future.get()
        } catch {
            logger.debug("TLS handshake failed", metadata: ["error": "\(error)"])
            // Operations: connections that ended before TLS/ALPN completed (TLS errors: TLSHandshakeObserver).
            metrics.handshakeFailed(error, remoteAddress: tracked.channel.remoteAddress?.ipAddress, logger: logger)
            try? await tracked.channel.close()
            return
        }
        // Operations: handshakes by TLS version, open connections by protocol.
        metrics.connectionNegotiated(negotiated, channel: tracked.channel)
        switch negotiated {
        case .http1_1(let (channel, info)):
            await serveHTTP1(channel, info: info, tracked: tracked, handler: handler)
        case .http2(let connection):
            tracked.isHTTP2.withLockedValue { $0 = true }
            if registry.isDraining {
                registry.beginDraining()
            }
            await serveHTTP2(connection, tracked: tracked, handler: handler)
        }
    }

    private func serveHTTP1(_ channel: HTTPStreamChannel, info: ConnectionInfo, tracked: ConnectionRegistry.Tracked,
                            handler: RequestHandler) async {
        do {
            try await channel.executeThenClose { inbound, outbound in
                let reader = RequestPartReader(inbound)
                let writer = ResponseWriter(outbound: outbound)
                while let part = try await reader.next() {
                    guard case .head(let head) = part else {
                        // A body part without a head: the previous request's body was not drained.
                        break
                    }
                    tracked.requestStarted()
                    let body = Self.makeHTTP1Body(head: head, reader: reader, writer: writer)
                    let status = await self.serveRequest(GatewayRequest(head: head, body: body, connection: info, protocolName: "HTTP/1.1"), writer: writer, handler: handler)
                    // An answer cut short leaves the client unable to find the next response: close.
                    guard status != nil else { break }
                    let reusable = await body.drain(limit: 1 << 20)
                    let closeNow = tracked.requestFinished(draining: self.registry.isDraining)
                    // The decoder parses nothing after an upgrade request: the connection ends here.
                    if !reusable || closeNow || Self.wantsClose(head) || Self.upgrades(head) { break }
                }
            }
        } catch {
            logger.debug("HTTP/1.1 connection ended", metadata: ["error": "\(error)"])
        }
    }

    private func serveHTTP2(_ connection: HTTP2Connection, tracked: ConnectionRegistry.Tracked, handler: RequestHandler) async {
        do {
            try await withThrowingDiscardingTaskGroup { group in
                for try await stream in connection.multiplexer.inbound {
                    tracked.requestStarted()
                    group.addTask {
                        do {
                            try await stream.executeThenClose { inbound, outbound in
                                let reader = RequestPartReader(inbound)
                                let writer = ResponseWriter(outbound: outbound)
                                guard case .head(let head)? = try await reader.next() else { return }
                                let body = try await Self.makeHTTP2Body(head: head, reader: reader, writer: writer)
                                await self.serveRequest(GatewayRequest(head: head, body: body, connection: connection.info, protocolName: "HTTP/2"), writer: writer, handler: handler)
                            }
                        } catch {
                            self.logger.debug("HTTP/2 stream ended", metadata: ["error": "\(error)"])
                        }
                        if tracked.requestFinished(draining: self.registry.isDraining) {
                            tracked.channel.close(promise: nil)
                        }
                    }
                }
            }
        } catch {
            logger.debug("HTTP/2 connection ended", metadata: ["error": "\(error)"])
        }
        try? await tracked.channel.close()
    }

    @discardableResult
    private func serveRequest(_ request: GatewayRequest, writer: ResponseWriter, handler: RequestHandler) async -> Int? {
        let started = ContinuousClock.now
        var outcome = RequestOutcome()
        // Operations: with `accessLog: json`, a task-local record collects backend time and the reason.
        let record = AccessLogRecord.make(enabled: handler.requestMetrics.jsonAccessLog)
        let status: Int?
        if let record {
            status = await AccessLogRecord.$current.withValue(record) { await handler.handle(request, writer: writer, outcome: &outcome) }
        } else {
            status = await handler.handle(request, writer: writer, outcome: &outcome)
        }
        let elapsed = ContinuousClock.now - started
        // Operations: the one metrics call per request (pre-resolved counters; see Operations/RequestMetrics.swift).
        handler.requestMetrics.requestFinished(request, outcome: outcome, status: status, elapsed: elapsed)
        if let record {
            AccessLogJSON.write(AccessLogJSON.line(request, outcome: outcome, status: status, elapsed: elapsed, record: record))
        } else if handler.snapshot.config.accessLog {
            let millis = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
            var metadata: Logger.Metadata = [
                "method": "\(LogText.escape(request.head.method.rawValue))",
                "path": "\(LogText.escape(request.head.path ?? ""))",
                "status": "\(status.map(String.init) ?? "aborted")",
                "duration_ms": "\(Double(Int(millis * 1000)) / 1000)",
                "protocol": "\(request.protocolName)",
                "host": "\(request.connection.hostname.name)",
            ]
            if let thumbprint = request.connection.clientThumbprint {
                metadata["client_cert"] = "\(thumbprint)"
            }
            logger.info("request", metadata: metadata)
        }
        return status
    }

    /// Sends `100 Continue` when the body is first read, if the client asked for it.
    private static func continueSender(_ head: HTTPRequest, _ writer: ResponseWriter) -> (@Sendable () async throws -> Void)? {
        guard head.headerFields[.expect]?.lowercased() == "100-continue" else { return nil }
        return { try await writer.writeContinue() }
    }

    /// HTTP/1.1 framing says whether a body follows: Content-Length, or chunked Transfer-Encoding.
    private static func makeHTTP1Body(head: HTTPRequest, reader: RequestPartReader, writer: ResponseWriter) -> RequestBody {
        let declared = head.headerFields[.contentLength].flatMap { Int64($0) }
        let chunked = head.headerFields[.transferEncoding] != nil
        return RequestBody(
            reader: reader, declaredLength: declared ?? (chunked ? nil : 0), prefetched: nil,
            continueSender: continueSender(head, writer))
    }

    /// HTTP/2 may send a body without Content-Length: look at the next part (END_STREAM right after
    /// HEADERS arrives with the head, so this does not wait on bodiless requests).
    private static func makeHTTP2Body(head: HTTPRequest, reader: RequestPartReader, writer: ResponseWriter) async throws -> RequestBody {
        let declared = head.headerFields[.contentLength].flatMap { Int64($0) }
        let sender = continueSender(head, writer)
        if declared != nil || sender != nil {
            return RequestBody(reader: reader, declaredLength: declared, prefetched: nil, continueSender: sender)
        }
        switch try await reader.next() {
        case .end, nil:
            return RequestBody.empty
        case .body(let first):
            return RequestBody(reader: reader, declaredLength: nil, prefetched: first, continueSender: nil)
        case .head:
            throw RequestBodyError.incomplete
        }
    }

    /// Bytes the HTTP/1.1 decoder may hold unparsed (its own head limit is 80 KiB).
    static let maxUnparsedBytes = 256 << 10

    /// A request after which HTTP/1.1 parsing stops (llhttp treats it as a protocol switch). The
    /// gateway does not switch protocols: it answers the request itself (the backend never sees
    /// `Upgrade`, a hop-by-hop header) and closes.
    private static func upgrades(_ head: HTTPRequest) -> Bool {
        head.method == .connect || head.headerFields[.upgrade] != nil
    }

    private static func wantsClose(_ head: HTTPRequest) -> Bool {
        head.headerFields[values: .connection].contains { $0.lowercased().contains("close") }
    }
}

extension ConnectionInfo {
    func withALPN(_ alpn: String) -> ConnectionInfo {
        ConnectionInfo(serverName: serverName, hostname: hostname, alpn: alpn, tlsVersion: tlsVersion,
                       presentedChainDER: presentedChainDER, remoteAddress: remoteAddress)
    }
}
