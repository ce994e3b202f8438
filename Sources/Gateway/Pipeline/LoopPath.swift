import HTTPTypes
import Logging
import NIOCore
import Policies

/// How a request served on the event loop ends.
enum LoopOutcome: Sendable {
    /// The gateway's own answer (refusal, 404, 502/504…).
    case error(GatewayError)
    /// The backend's answer, relayed as it is.
    case backend(BackendAnswer)
    /// What the policies produced without the backend (`return-response`, an error body).
    case policy(PolicyResult)
    /// APIM's health probe path: 200, no body.
    case apimStatus
    /// Outbound or on-error must run before the client gets an answer: the handler runs this in a
    /// task and writes its result.
    case finishInTask(@Sendable () async -> PolicyResult)
}

/// What the event-loop path does with a bodiless request.
enum LoopDecision {
    /// The answer is known now.
    case now(LoopOutcome)
    /// The backend was called; `LoopCompletion.outcome` turns its result into the answer.
    case later(EventLoopFuture<BackendAnswer>, LoopCompletion)
    /// Something must wait (a policy step, a certificate verdict not cached): `handle` in a task.
    case waits
}

/// How a backend result becomes the client's answer on the loop path. A class: it travels through
/// the decision and the future's callback, and copying its fields (retaining each) cost more than
/// one allocation.
final class LoopCompletion: Sendable {
    let route: RouteMatch
    /// The policy run the backend call belongs to (nil: no policy).
    let exchange: PolicyExchange?
    let logger: Logger
    let metrics: GatewayMetrics
    /// When the backend call started, and the request's JSON access-log record (for backend time
    /// and failure reasons).
    let started: NIODeadline
    let record: AccessLogRecord?

    init(route: RouteMatch, exchange: PolicyExchange?, logger: Logger, metrics: GatewayMetrics, started: NIODeadline,
         record: AccessLogRecord?) {
        self.route = route
        self.exchange = exchange
        self.logger = logger
        self.metrics = metrics
        self.started = started
        self.record = record
    }

    func outcome(_ result: Result<BackendAnswer, any Error>) -> LoopOutcome {
        switch result {
        case .success(let answer):
            metrics.backendAnswered(status: answer.head.status.code, since: started, record: record)
        case .failure(let error):
            metrics.backendFailed(error, record: record)
        }
        switch (result, exchange) {
        case (.success(let answer), nil):
            return .backend(answer)
        case (.success(let answer), let exchange?):
            // A 101 starts a tunnel: policies ran on the handshake (APIM's onHandshake); no outbound.
            if exchange.outboundIsEmpty || answer.upgraded != nil { return .backend(answer) }
            return .finishInTask { await exchange.finish(GatewayPolicyBackend.response(answer)) }
        case (.failure(let error), nil):
            logger.warning("backend request failed", metadata: [
                "api": "\(route.api.config.name)",
                "backend": "\(route.api.backend.host):\(route.api.backend.port)", "error": "\(error)",
            ])
            return .error(BackendForwarder.classify(error))
        case (.failure(let error), let exchange?):
            return .finishInTask { await exchange.backendFailed(GatewayPolicyBackend.policyError(error)) }
        }
    }
}

extension RequestHandler {
    /// Serves a bodiless request without a task when nothing in it waits: route, certificate gate
    /// (a cached verdict), the policies' synchronous start, and the backend call through the loop's
    /// pool. Must be called on the event loop of the client connection.
    ///
    /// `upgrade`: a WebSocket handshake; the backend is asked to switch protocols too.
    func serveOnLoop(_ head: HTTPRequest, connection: ConnectionInfo, protocolName: String,
                     tracking: inout RequestTracking, upgrade: Bool = false) -> LoopDecision {
        if let spans = requestMetrics.spans, let record = tracking.record {  // Operations: span export
            record.startSpans(spans, head: head, hostname: connection.hostname.config.name)
        }
        let route: RouteMatch
        switch resolve(head, connection: connection, protocolName: protocolName) {
        case .answer(let error): return .now(.error(error))
        case .apimStatus: return .now(.apimStatus)
        case .route(let match, let routedHost):
            route = match
            tracking.outcome.route = requestMetrics.route(route, hostname: routedHost)  // Operations
        }
        if route.api.config.requireTrustedClientCertificate {
            guard let verdict = ClientCertificateGate.cachedVerdict(connection) else { return .waits }
            requestMetrics.metrics.clientCertificate(ClientCertificateOutcome(verdictReason: verdict.reason, trusted: verdict.isTrusted),
                                                     reason: verdict.reason, record: tracking.record)
            guard verdict.isTrusted else {
                logger.debug("client certificate refused", metadata: ["reason": "\(LogText.escape(verdict.reason))"])
                return .now(.error(.invalidClientCertificate))
            }
        }
        // Products and subscriptions: the key is checked, and removed before the backend.
        var head = head
        let access: SubscriptionAccess
        switch admit(&head, route: route) {
        case .refused(let refusal): return .now(.error(refusal))
        case .admitted(let admitted): access = admitted
        }
        guard let pipeline = snapshot.policies.pipeline(api: route.api.config.name, operation: route.operation.name,
                                                        product: access.product?.id) else {
            return .later(forwarder.forwardOnLoop(head, route: route, connection: connection, upgrade: upgrade, spans: tracking.record?.spans),
                          LoopCompletion(route: route, exchange: nil, logger: logger, metrics: forwarder.metrics, started: .now(),
                                         record: tracking.record))
        }
        guard pipeline.inboundRunsSynchronously else { return .waits }
        var request = PolicyRunner.policyRequest(head, connection: connection, route: route, listenPort: snapshot.config.listen.port)
        request.requestId = tracking.record?.requestId  // Operations: one id in logs and context.RequestId
        request.sectionObserver = tracking.record?.spans  // Operations: span per policy section
        request.usage = tracking.record?.usage  // Policies: bandwidth quotas' byte count
        request.subscription = access.subscription
        request.product = access.product
        switch pipeline.startSynchronously(request) {
        case .runAsync:
            return .waits
        case .respond(let result):
            return .now(.policy(result))
        case .forward(let exchange):
            let prepared: GatewayPolicyBackend.Prepared
            do {
                prepared = try GatewayPolicyBackend.prepare(exchange.request, forwarder: forwarder, body: nil,
                                                            connection: connection, authority: head.authority,
                                                            apiBackend: route.api.backend, spans: tracking.record?.spans)
            } catch {
                return .now(.finishInTask { await exchange.backendFailed(GatewayPolicyBackend.policyError(error)) })
            }
            let bytes: ByteBuffer?
            switch prepared.body {
            case .bytes(let buffer): bytes = buffer
            case .none, .stream: bytes = nil
            }
            var backendHead = prepared.head
            if upgrade { BackendForwarder.askToUpgrade(&backendHead.headers) }
            let answer = forwarder.client.executeOnLoop(key: prepared.key, sslContext: prepared.sslContext, head: backendHead,
                                                        bytes: bytes, deadline: .now() + prepared.timeout)
            return .later(answer, LoopCompletion(route: route, exchange: exchange, logger: logger, metrics: forwarder.metrics,
                                                 started: .now(), record: tracking.record))
        }
    }
}

extension RequestHandler {
    /// Before a WebSocket handshake is served on the loop: the waits a synchronous start can be
    /// spared — the certificate gate's verdict for this connection and the `Verify()` verdicts the
    /// policies need — are done here (and cached), so that `serveOnLoop` can then serve it.
    func prepareUpgrade(_ head: HTTPRequest, connection: ConnectionInfo, protocolName: String) async {
        guard case .route(let route, _) = resolve(head, connection: connection, protocolName: protocolName) else { return }
        if route.api.config.requireTrustedClientCertificate {
            _ = await snapshot.certificateGate.evaluate(connection, context: snapshot.clientVerification[connection.hostname.name])
        }
        var head = head
        guard case .admitted(let access) = admit(&head, route: route),
              let pipeline = snapshot.policies.pipeline(api: route.api.config.name, operation: route.operation.name,
                                                        product: access.product?.id) else { return }
        var request = PolicyRunner.policyRequest(head, connection: connection, route: route, listenPort: snapshot.config.listen.port)
        request.subscription = access.subscription
        request.product = access.product
        await pipeline.prepareSynchronousStart(request)
    }
}
