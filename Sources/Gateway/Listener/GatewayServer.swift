import ClientCertificates
import GatewayConfiguration
import HTTPTypes
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOPosix
import NIOSSL
import NIOTLS

/// Both protocols are served by channel handlers: once negotiated, only what the handshake
/// established is handed over (for the metrics).
typealias NegotiatedConnection = NIONegotiatedHTTPVersion<ConnectionInfo, ConnectionInfo>

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
    /// SETTINGS_INITIAL_WINDOW_SIZE advertised on HTTP/2 connections: what a client may send on a
    /// new stream before the gateway's first WINDOW_UPDATE for it.
    static let initialStreamWindow = 1 << 20

    private let group: any EventLoopGroup
    private let executors: EventLoopTaskExecutor.Table
    let logger: Logger  // (internal: the operations listener logs with it)
    private let registry: ConnectionRegistry
    private let forwarder: BackendForwarder
    /// OCSP verdicts, kept across reloads.
    private let ocspCache: OCSPCache
    /// CRLs fetched from distribution points: the server's, so a reload does not drop them.
    private let crlCaches: ServerCRLCache
    /// The configuration in force, swapped whole by `reload`; connections keep the one they began with.
    private let current: NIOLockedValueBox<RequestHandler>

    public var snapshot: GatewaySnapshot { current.withLockedValue { $0.snapshot } }
    // (internal, not private: `readiness` in Operations/GatewayServer+Operations.swift reads them)
    let serverChannel = NIOLockedValueBox<(any Channel)?>(nil)
    let stopped = NIOLockedValueBox(false)
    /// When the drain began plus `drainGracePeriod` (set when the listener closes).
    private let drainDeadline = NIOLockedValueBox<ContinuousClock.Instant?>(nil)
    /// Operations: server-owned metrics (they outlive reloads); `/metrics` renders them.
    public let metrics: GatewayMetrics
    /// `log-to-eventhub`'s loggers (`policies.loggers`): server-owned queues and senders, kept
    /// across reloads while their configuration does not change.
    let eventLoggers: GatewayEventLoggers

    public init(config: GatewayConfig, group: any EventLoopGroup, logger: Logger,
                metrics: GatewayMetrics = GatewayMetrics()) throws {
        let forwarder = try BackendForwarder(config: config.backend, eventLoopGroup: group, logger: logger, metrics: metrics)
        let snapshot: GatewaySnapshot
        let ocspCache = OCSPCache(fetcher: forwarder.ocspFetcher)
        let crlCaches = ServerCRLCache(fetcher: forwarder.crlFetcher, observer: metrics.crlObserver)
        let eventLoggers = GatewayEventLoggers(transport: ForwarderEventHubTransport(forwarder: forwarder), factory: metrics.factory, logger: logger)
        do {
            snapshot = try GatewaySnapshot(config: config, crlFetcher: forwarder.crlFetcher, crlCaches: crlCaches, ocspCache: ocspCache,
                                           keyDocuments: HTTPKeyDocumentFetcher(forwarder: forwarder, timeout: .seconds(10)),
                                           policyMetrics: metrics.policyMetrics, eventLoggers: eventLoggers)
        } catch {
            try? forwarder.syncShutdown()
            throw error
        }
        self.group = group
        self.executors = EventLoopTaskExecutor.Table(group: group)
        self.logger = logger
        self.registry = ConnectionRegistry(maxConnections: config.limits.maxConnections)
        self.forwarder = forwarder
        self.ocspCache = ocspCache
        self.crlCaches = crlCaches
        self.metrics = metrics
        self.eventLoggers = eventLoggers
        eventLoggers.commit(snapshot.eventLoggers)
        metrics.eventLoggers.withLockedValue { $0 = snapshot.eventLoggers }
        metrics.spanExport.configure(config.tracing, logger: logger)  // Operations: span export (before the request tables)
        self.current = NIOLockedValueBox(RequestHandler(snapshot: snapshot, forwarder: forwarder, logger: logger,
                                                        requestMetrics: RequestMetricsTable(snapshot: snapshot, metrics: metrics)))
        metrics.snapshotLoaded(snapshot, logger: logger)
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
        let next = try GatewaySnapshot(config: config, crlFetcher: forwarder.crlFetcher, crlCaches: crlCaches, ocspCache: ocspCache,
                                       keyDocuments: HTTPKeyDocumentFetcher(forwarder: forwarder, timeout: .seconds(10)),
                                       policyMetrics: metrics.policyMetrics, eventLoggers: eventLoggers)
        metrics.spanExport.configure(config.tracing, logger: logger)
        let requestMetrics = RequestMetricsTable(snapshot: next, metrics: metrics)
        current.withLockedValue { $0 = RequestHandler(snapshot: next, forwarder: forwarder, logger: logger, requestMetrics: requestMetrics) }
        // Loggers removed or changed drain (within the drain grace period) while new ones start.
        eventLoggers.commit(next.eventLoggers, drainFor: .milliseconds(Int64(config.limits.drainGracePeriod * 1000)))
        metrics.eventLoggers.withLockedValue { $0 = next.eventLoggers }
        metrics.snapshotLoaded(next, logger: logger)
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
            await eventLoggers.shutdown(deadline: .now)
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
        let trim = IdleMemoryTrim(requests: registry.requestsStarted)
        trim.start(on: group.next())
        defer { trim.stop() }
        // CRL files given in the configuration are re-read when they change (not only on SIGHUP).
        let crlWatcher = Task { [logger] in
            await CRLFileWatcher.run(current: { self.snapshot.config }, reload: { try self.reload(config: $0) }, logger: logger)
        }
        defer { crlWatcher.cancel() }

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
            drainDeadline.withLockedValue { $0 = ContinuousClock.now + .milliseconds(Int64(config.limits.drainGracePeriod * 1000)) }
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
        // The loggers' queues are sent (through the backend client, so before it shuts down) until
        // the drain deadline: what connections left of the grace period, at least a second.
        let deadline = max(drainDeadline.withLockedValue { $0 } ?? .now, ContinuousClock.now + .seconds(1))
        await eventLoggers.shutdown(deadline: deadline)
        await forwarder.shutdown()
        await metrics.spanExport.shutdown()  // the spans still queued are sent
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
                                                          handler: handler, tracked: tracked, handshakeDone: handshakeDone)
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
        _ channel: any Channel, hostname: TLSHostname, serverName: String?, handler: RequestHandler,
        tracked: ConnectionRegistry.Tracked, handshakeDone: NIOLockedValueBox<Bool>
    ) throws -> EventLoopFuture<NegotiatedConnection> {
        let snapshot = handler.snapshot
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
                chain = PresentedChainInterner.shared.intern([leaf])
            }
            return ConnectionInfo(
                serverName: serverName, hostname: hostname, alpn: nil,
                tlsVersion: ssl.tlsVersion?.displayName ?? "unknown", presentedChainDER: chain,
                remoteAddress: channel.remoteAddress?.ipAddress)
        }

        let registry = self.registry
        let logger = self.logger
        let executor = executors.executor(for: channel.eventLoop)
        let http1Initializer: NIOChannelInitializerWithOutput<ConnectionInfo> = { channel in
            channel.eventLoop.makeCompletedFuture {
                let info = try makeInfo(channel).withALPN("http/1.1")
                let sync = channel.pipeline.syncOperations
                let deadlines = HTTP1RequestDeadlines(headerReadTimeout: limits.headerReadTimeout,
                                                      bodyReadTimeout: limits.bodyReadTimeout, idleTimeout: limits.idleTimeout)
                try sync.addHandler(deadlines)
                // (No decoder or encoder: HTTP1ConnectionHandler parses requests and writes responses
                // as bytes.)
                try sync.addHandler(HTTP1ConnectionHandler(environment: .init(
                    requestHandler: handler, info: info, tracked: tracked, registry: registry, executor: executor,
                    logger: logger), deadlines: deadlines))
                return info
            }
        }
        let http2Initializer: NIOChannelInitializerWithOutput<ConnectionInfo> = { channel in
            channel.eventLoop.makeCompletedFuture {
                let info = try makeInfo(channel).withALPN("h2")
                tracked.isHTTP2.withLockedValue { $0 = true }
                let socket = HTTP2SocketHandler(timeout: .milliseconds(Int64(limits.idleTimeout * 1000)))
                try channel.pipeline.syncOperations.addHandler(socket)
                var settings = NIOHTTP2Handler.Configuration()
                // Request header blocks are checked where they are converted (HTTP2HeaderConversion);
                // NIO's check would also run on every response the gateway builds.
                settings.connection.headerBlockValidation = .disabled
                // Every RST_STREAM counts here, also those for streams already answered (see
                // HTTP2ConnectionHandler.cancelledStreamLimit, which counts the ones that cancel work):
                // this bound only stops a flood of them.
                settings.stream.streamResetFrameRateLimit.maximumCount = 20_000
                settings.connection.initialSettings = [
                    HTTP2Setting(parameter: .maxConcurrentStreams, value: limits.maxConcurrentStreams),
                    HTTP2Setting(parameter: .maxHeaderListSize, value: max(65_536, 2 * limits.maxHeaderBytes + 64 * limits.maxHeaderCount)),
                    HTTP2Setting(parameter: .initialWindowSize, value: Self.initialStreamWindow),
                ]
                let environment = HTTP1ConnectionHandler.Environment(
                    requestHandler: handler, info: info, tracked: tracked, registry: registry, executor: executor, logger: logger)
                // Every stream is served on this loop by the connection's own handler: no child
                // channel and no task per stream (NIOHTTP2Handler runs without a multiplexer).
                // (The connection handler also hears of every frame written: see its `wroteFrame`.)
                let connectionHandler = HTTP2ConnectionHandler(environment: environment, initialStreamWindow: Self.initialStreamWindow,
                                                               socket: socket)
                try channel.pipeline.syncOperations.addHandler(NIOHTTP2Handler(
                    mode: .server, frameDelegate: connectionHandler, connectionConfiguration: settings.connection,
                    streamConfiguration: settings.stream))
                try channel.pipeline.syncOperations.addHandler(connectionHandler)
                try channel.pipeline.syncOperations.addHandler(CloseOnConnectionError(logger: logger))
                // A connection negotiated while draining is told to go away at once.
                if registry.isDraining { registry.beginDraining() }
                return info
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
        // Both protocols are served by their channel handlers from here on.
    }
}

extension ConnectionInfo {
    func withALPN(_ alpn: String) -> ConnectionInfo {
        ConnectionInfo(serverName: serverName, hostname: hostname, alpn: alpn, tlsVersion: tlsVersion,
                       presentedChainDER: presentedChainDER, remoteAddress: remoteAddress)
    }
}
