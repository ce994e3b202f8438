import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import Policies
import NIOHTTPTypesHTTP1

/// Serves the requests of one HTTP/1.1 connection, on its event loop; the last handler of the
/// connection's pipeline.
///
/// The common request — no body, no policy, no certificate check left to wait for, or one the head
/// alone refuses — is served right here: routed, sent to the backend through the loop's own pool,
/// and the answer written back in one batch, with futures and no Swift task, no async bridge and no
/// conversion of the response head. Everything else (policies, bodies, a certificate verdict not
/// cached yet) is handed to a task running `RequestHandler.handle` on this loop's executor, with the
/// request body fed from here through `HTTP1BodyStream` (back-pressure both ways).
///
/// Requests are parsed here from the connection's bytes (`HTTP1RequestParser`: no decoder handler in
/// front, no NIOHTTP1 head converted per request). One request at a time: the bytes of a pipelined
/// next request stay unparsed until the current response is out, and the socket is not read while a
/// response is pending.
final class HTTP1ConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler, @unchecked Sendable {
    // @unchecked: every method runs on the channel's event loop (futures complete there; the task
    // path hops back with `eventLoop.execute`).
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = HTTPServerResponsePart
    /// Responses leave as bytes: framing is decided here (`HTTP1ResponseEncoder`), not by NIO's encoder.
    typealias OutboundOut = ByteBuffer

    /// What the handler needs from the server, fixed for the connection's life.
    struct Environment: Sendable {
        let requestHandler: RequestHandler
        let info: ConnectionInfo
        let tracked: ConnectionRegistry.Tracked
        let registry: ConnectionRegistry
        let executor: EventLoopTaskExecutor?
        let logger: Logger
    }

    /// A class, not a struct: the handler reads and updates it from many places per request, and
    /// each `current?.x` or `guard var request = current … current = request` on an optional struct
    /// copied every field (retaining each) and destroyed the copy — about 3k instructions per request
    /// under callgrind, more than the one allocation this costs.
    private final class Current {
        /// The client asked to close after this request (or it upgrades, which the gateway refuses).
        let closeAfter: Bool
        /// The request asks to switch protocols (Upgrade, CONNECT): the decoder parses nothing after
        /// it, so its end may never come; the connection closes as soon as the answer is out.
        let upgrades: Bool
        /// A WebSocket handshake (GET, HTTP/1.1, `Upgrade: websocket`, `Connection: upgrade`): relayed,
        /// and tunnelled after the backend's 101.
        let websocket: Bool
        let method: String
        let path: String
        /// HEAD (the answer has no body) and HTTP/1.0 (no chunked answers) shape the response's framing.
        let isHEAD: Bool
        let http10: Bool
        /// Metrics and access log (filled on the loop path; the task path returns its outcome).
        var tracking: RequestTracking
        var parsedMethod: HTTPRequest.Method?
        var requestEnded = false
        var responseEnded = false
        /// The task path's verdict: the connection can take another request.
        var reusable = true
        /// The task path's body feed, while the body streams.
        var body: HTTP1BodyStream.Producer.Source?
        /// The body's reader asked to stop: reads are held until it wants more.
        var bodyPaused = false

        init(closeAfter: Bool, upgrades: Bool, websocket: Bool, method: String, path: String, isHEAD: Bool, http10: Bool,
             tracking: RequestTracking) {
            self.closeAfter = closeAfter
            self.upgrades = upgrades
            self.websocket = websocket
            self.method = method
            self.path = path
            self.isHEAD = isHEAD
            self.http10 = http10
            self.tracking = tracking
        }
    }

    static let protocolName = "HTTP/1.1"
    /// Bytes received and not parsed yet (a pipelining client that does not read its answers, junk
    /// after a request); more and the connection is closed.
    static let maxUnparsedBytes = 256 << 10

    private let environment: Environment
    private var context: ChannelHandlerContext?
    private var current: Current?
    private var parser = HTTP1RequestParser()
    /// `drain` is running (it is re-entered from the parts it hands out).
    private var parsing = false
    private var encoder = HTTP1ResponseEncoder()
    private var pendingRead = false
    private var closed = false
    /// The connection became a tunnel (WebSocket): bytes bypass HTTP from here on.
    private var tunnelled = false
    /// The last response end written, to close only after it went out.
    private var lastEnd: EventLoopFuture<Void>?

    /// The connection's time limits, told when a head arrives, a body ends and a response goes out.
    private let deadlines: HTTP1RequestDeadlines

    init(environment: Environment, deadlines: HTTP1RequestDeadlines) {
        self.environment = environment
        self.deadlines = deadlines
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if closed { return }
        parser.feed(unwrapInboundIn(data))
        guard parser.unparsedBytes <= Self.maxUnparsedBytes else {
            close()
            return
        }
        drain()
    }

    /// Hands out parsed parts while the current request can take them: a head when no request is in
    /// flight, body parts while its reader wants them.
    private func drain() {
        guard !parsing else { return }
        parsing = true
        defer { parsing = false }
        while !closed {
            if current?.requestEnded == true || current?.bodyPaused == true { return }
            let part: HTTP1RequestParser.Part?
            do {
                part = try parser.next()
            } catch {
                parseFailed(error)
                return
            }
            guard let part else { return }
            handle(part)
        }
    }

    /// A malformed request gets a precise answer before the connection closes — an oversized head
    /// 431, a transfer coding it does not know 501, anything else 400, with APIM's JSON body naming
    /// what was wrong — unless a response is under way (then the connection just closes).
    private func parseFailed(_ error: any Error) {
        environment.logger.debug("HTTP/1.1 request refused by the parser", metadata: ["error": "\(error)"])
        current?.body?.finish(error)
        current?.body = nil
        guard current == nil, !closed, let context else {
            close()
            return
        }
        let answer: GatewayError
        switch (error as? HTTP1RequestParser.Failure)?.kind {
        case .headTooLarge?: answer = .requestHeaderFieldsTooLarge
        case .notImplemented?: answer = GatewayError(status: .notImplemented, message: "Not implemented: \(error)")
        default: answer = GatewayError(status: .badRequest, message: "Bad request: \(error)")
        }
        environment.tracked.requestStarted()
        let tracking = RequestTracking(jsonAccessLog: environment.requestHandler.requestMetrics.jsonAccessLog)
        tracking.record?.noteReason(answer.message)
        current = Current(closeAfter: true, upgrades: false, websocket: false, method: "-", path: "-", isHEAD: false,
                          http10: false, tracking: tracking)
        current?.requestEnded = true
        current?.reusable = false
        let (head, body) = answer.response(allocator: context.channel.allocator)
        writeWhole(ChannelResponseSink.http1Head(head), body: body, closing: true)
        // Not reusable: ending the response closes the connection once the answer is out.
        responseEnded(status: answer.status.code)
    }

    private func handle(_ part: HTTP1RequestParser.Part) {
        switch part {
        case .head(let head):
            guard current == nil else {
                close()
                return
            }
            start(head)
        case .body(let buffer):
            guard let request = current, !request.requestEnded else {
                // A body part without a head: the framing is lost.
                close()
                return
            }
            if let source = request.body {
                switch source.yield(.body(buffer)) {
                case .stopProducing: request.bodyPaused = true
                case .produceMore: break
                case .dropped: request.body = nil  // the reader is gone; the rest is discarded
                }
            }
            current?.tracking.bytesIn &+= buffer.readableBytes  // Operations: bytes in
        case .end:
            guard let request = current, !request.requestEnded else {
                close()
                return
            }
            request.requestEnded = true
            request.bodyPaused = false
            deadlines.bodyEnded()
            if let source = request.body {
                _ = source.yield(.end(nil))
                source.finish()
                request.body = nil
            }
            finishIfDone()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        current?.body?.finish(RequestBodyError.incomplete)
        current?.body = nil
        parser.discardUnparsed()
        context.fireChannelInactive()
    }

    /// Errors from the connection (TLS, the socket) close it.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        environment.logger.debug("HTTP/1.1 connection error", metadata: ["error": "\(error)"])
        current?.body?.finish(error)
        current?.body = nil
        close()
    }

    // MARK: Reading (back-pressure and pipelining)

    func read(context: ChannelHandlerContext) {
        if tunnelled {
            context.read()  // the tunnel's end, in front of this handler, holds reads back itself
            return
        }
        // Closing: nothing more is read (junk after a refused upgrade must not keep flowing in while
        // TLS waits for the client's close_notify).
        if closed { return }
        if let request = current, request.bodyPaused || request.requestEnded {
            pendingRead = true
            return
        }
        context.read()
    }

    private func resumeReading() {
        guard pendingRead, let context, !closed else { return }
        if let request = current, request.bodyPaused || request.requestEnded { return }
        pendingRead = false
        context.read()
    }

    /// The task's body reader wants more (or stopped reading).
    func bodyWantsMore() {
        guard current != nil else { return }
        current?.bodyPaused = false
        drain()
        resumeReading()
    }

    // MARK: Outbound

    /// Writes of the task path, encoded here (the loop path encodes whole answers in `writeWhole`).
    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head):
            if head.status == .continue {
                deadlines.continueSent()
            } else if head.status.code >= 200 {
                deadlines.responseHeadWritten()
            }
            var buffer = context.channel.allocator.buffer(capacity: 512)
            let closes = encoder.head(head, into: &buffer, requestIsHEAD: current?.isHEAD ?? false, http10: current?.http10 ?? false,
                                      closing: current?.closeAfter ?? true, bodyLength: nil)
            if closes && head.status.code >= 200 { current?.reusable = false }
            context.write(wrapOutboundOut(buffer), promise: promise)
        case .body(let data):
            guard case .byteBuffer(let buffer) = data else {
                promise?.fail(ChannelError.operationUnsupported)  // file regions are never written here
                return
            }
            if encoder.framing != .bodiless { current?.tracking.bytesOut &+= buffer.readableBytes }  // Operations: bytes out
            let parts = encoder.body(buffer, allocator: context.channel.allocator)
            guard let last = parts.last else {
                promise?.succeed(())
                return
            }
            for part in parts.dropLast() { context.write(wrapOutboundOut(part), promise: nil) }
            context.write(wrapOutboundOut(last), promise: promise)
        case .end:
            let promise = promise ?? context.eventLoop.makePromise(of: Void.self)
            lastEnd = promise.futureResult
            context.write(wrapOutboundOut(encoder.end()), promise: promise)
            deadlines.responseEnded()
        }
    }

    // MARK: Requests

    private func start(_ head: HTTP1RequestHead) {
        environment.tracked.requestStarted()
        let tracking = RequestTracking(jsonAccessLog: environment.requestHandler.requestMetrics.jsonAccessLog)
        deadlines.headReceived(expectsContinue: head.expectsContinue)
        let hasBody = head.hasBody
        let websocket = head.upgradeToWebSocket && head.connectionUpgrade && head.method == .get && !head.http10 && !hasBody
        // After a request that upgrades the parser reads nothing more: the connection ends with it
        // (or becomes a tunnel).
        current = Current(closeAfter: !head.keepAlive || head.upgrades, upgrades: head.upgrades, websocket: websocket,
                          method: head.method.rawValue, path: head.target,
                          isHEAD: head.method == .head, http10: head.http10,
                          tracking: tracking)
        let request = HTTPRequest(method: head.method, scheme: "https", authority: head.authority, path: head.path,
                                  headerFields: head.fields)
        let contentLength = head.contentLength
        let chunked = head.chunked
        let expectsContinue = head.expectsContinue
        current?.parsedMethod = request.method
        if !hasBody {
            if serveOnLoop(request, websocket: websocket) { return }
            if websocket {
                prepareUpgrade(request)
                return
            }
        }
        startTask(request, hasBody: hasBody, declaredLength: contentLength ?? (chunked ? nil : 0),
                  expectsContinue: expectsContinue)
    }

    // MARK: The event-loop path

    /// Serves the current request on the loop when nothing in it waits; false: it must wait.
    private func serveOnLoop(_ request: HTTPRequest, websocket: Bool) -> Bool {
        guard let current else { return true }
        var tracking = current.tracking
        let decision = environment.requestHandler.serveOnLoop(request, connection: environment.info, protocolName: Self.protocolName,
                                                              tracking: &tracking, upgrade: websocket)
        current.tracking = tracking
        switch decision {
        case .now(let outcome):
            deliver(outcome)
            return true
        case .later(let answer, let completion):
            answer.whenComplete { result in self.deliver(completion.outcome(result)) }
            return true
        case .waits:
            return false
        }
    }

    /// A WebSocket handshake is served on the loop (it becomes a tunnel there): what it waits for
    /// that can be done ahead — certificate verdicts — is done in a task, then it is served; one
    /// whose policies still wait is refused (501).
    private func prepareUpgrade(_ request: HTTPRequest) {
        guard let context else { return }
        let handler = environment.requestHandler
        let info = environment.info
        let eventLoop = context.eventLoop
        ServedInTask.start(on: environment.executor) {
            await handler.prepareUpgrade(request, connection: info, protocolName: Self.protocolName)
            eventLoop.execute {
                guard self.current != nil, !self.closed else { return }
                if !self.serveOnLoop(request, websocket: true) { self.answerNow(.upgradeNeedsWaitingPolicies) }
            }
        }
    }

    private func answerNow(_ error: GatewayError) {
        guard let context else { return }
        current?.tracking.record?.noteReason(error.message)
        let (head, body) = error.response(allocator: context.channel.allocator, activityId: current?.tracking.record?.requestId)
        writeWhole(ChannelResponseSink.http1Head(head), body: body)
        responseEnded(status: error.status.code)
    }

    /// A whole response in one buffer (one TLS record) and one flush; a large body follows in a second
    /// write. The end's completion is kept (to close only after it went out) when the connection is
    /// about to close.
    private func writeWhole(_ head: HTTPResponseHead, body: ByteBuffer?, closing: Bool = false) {
        guard let context, !closed else { return }
        deadlines.responseHeadWritten()
        let closingNow = closing || (current?.closeAfter ?? true) || environment.registry.isDraining
        let bodyLength = body?.readableBytes ?? 0
        let coalesce = bodyLength <= HTTP1ResponseEncoder.coalesceLimit
        var buffer = context.channel.allocator.buffer(capacity: 256 + head.headers.count * 48 + (coalesce ? bodyLength : 0))
        _ = encoder.head(head, into: &buffer, requestIsHEAD: current?.isHEAD ?? false, http10: current?.http10 ?? false,
                         closing: closingNow, bodyLength: bodyLength)
        var tail: ByteBuffer?
        if encoder.framing != .bodiless, let body, bodyLength > 0 {
            current?.tracking.bytesOut &+= bodyLength  // Operations: bytes out
            if coalesce {
                buffer.writeImmutableBuffer(body)
            } else {
                tail = body
            }
        }
        _ = encoder.end()
        if let tail { context.write(wrapOutboundOut(buffer), promise: nil) }
        let last = tail ?? buffer
        if closingNow {
            let end = context.eventLoop.makePromise(of: Void.self)
            lastEnd = end.futureResult
            context.writeAndFlush(wrapOutboundOut(last), promise: end)
        } else {
            lastEnd = nil
            context.writeAndFlush(wrapOutboundOut(last), promise: nil)
        }
        deadlines.responseEnded()
    }

    private func deliver(_ outcome: LoopOutcome) {
        switch outcome {
        case .error(let error):
            answerNow(error)
        case .backend(let answer):
            relay(answer)
        case .apimStatus:
            var headers = HTTPHeaders()
            headers.add(name: "Content-Length", value: "0")
            headers.add(name: "Cache-Control", value: "no-store")
            writeWhole(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers), body: nil)
            responseEnded(status: 200)
        case .policy(let result):
            PolicyRunner.noteReason(result, api: current?.tracking.outcome.route?.api ?? "", metrics: environment.requestHandler.forwarder.metrics,
                                    record: current?.tracking.record)
            guard let (head, body) = PolicyRunner.wholeResponse(result) else {
                finishInTask { result }
                return
            }
            writeWhole(ChannelResponseSink.http1Head(head), body: body)
            responseEnded(status: result.status)
        case .finishInTask(let operation):
            finishInTask(operation)
        }
    }

    /// Outbound / on-error (or a streamed policy body) in a task; its result is written from there.
    private func finishInTask(_ operation: @escaping @Sendable () async -> PolicyResult) {
        guard let context, !closed else { return }
        let writer = ResponseWriter(channel: ChannelResponseSink(channel: context.channel))
        let eventLoop = context.eventLoop
        let record = current?.tracking.record
        let api = current?.tracking.outcome.route?.api ?? ""
        let metrics = environment.requestHandler.forwarder.metrics
        ServedInTask.start(on: environment.executor) {
            let status = await ServedInTask.finishPolicy(operation, writer: writer, api: api, metrics: metrics, record: record)
            eventLoop.execute { self.taskFinished(status: status, reusable: status != nil) }
        }
    }

    private func relay(_ answer: BackendAnswer) {
        if let backend = answer.upgraded {
            guard current?.websocket == true, !closed else {
                backend.close(nil)
                answerNow(.badGateway)
                return
            }
            startTunnel(answer.head, backend: backend)
            return
        }
        guard !closed, let context else { return }
        let status = Int(answer.head.status.code)
        if let complete = answer.body.completeBody {
            // (Hop-by-hop headers were dropped by the backend parser; framing is the encoder's.)
            writeWhole(answer.head, body: complete)
            responseEnded(status: status)
            return
        }
        // A body still arriving streams through a task, with back-pressure both ways.
        let fields = BackendForwarder.responseFields(answer.head.headers.lazy.map { ($0.name, $0.value) })
        let head = HTTPResponse(status: .init(code: status, reasonPhrase: answer.head.status.reasonPhrase), headerFields: fields)
        let length = answer.head.headers.first(name: "content-length").flatMap { Int($0) }
        let writer = ResponseWriter(channel: ChannelResponseSink(channel: context.channel))
        let logger = environment.logger
        let eventLoop = context.eventLoop
        ServedInTask.start(on: environment.executor) {
            let written = await ServedInTask.relay(head, body: answer.body, declaredLength: length, writer: writer, logger: logger)
            eventLoop.execute { self.taskFinished(status: written, reusable: written != nil) }
        }
    }

    /// The backend switched protocols: the 101 goes to the client, and both connections become the
    /// ends of a tunnel (no HTTP parsing, no request deadlines from here on; the tunnel's own idle
    /// timeout applies).
    private func startTunnel(_ head: HTTPResponseHead, backend: BackendConnection) {
        guard let context else {
            backend.close(nil)
            return
        }
        var buffer = context.channel.allocator.buffer(capacity: 256)
        _ = encoder.head(head, into: &buffer, requestIsHEAD: false, http10: false, closing: false, bodyLength: nil)
        let idle = environment.requestHandler.snapshot.config.limits.tunnelIdleTimeout
        let relay = TunnelRelay(eventLoop: context.eventLoop, idleTimeout: .milliseconds(Int64(idle * 1000)))
        let clientEnd = TunnelEnd(relay: relay)
        let backendEnd = TunnelEnd(relay: relay)
        TunnelEnd.join(clientEnd, backendEnd)
        do {
            guard backend.eventLoop === context.eventLoop else { throw BackendClientError.badResponse("backend connection on another event loop") }
            let leftover = try backend.takeOverForTunnel(end: backendEnd)
            let sync = context.pipeline.syncOperations
            // Whatever arrived after the handshake is dropped: a client may not send before the 101.
            parser.discardUnparsed()
            sync.removeHandler(deadlines, promise: nil)
            try sync.addHandler(clientEnd, position: .before(self))
            tunnelled = true
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
            if let leftover { clientEnd.sendFirst(leftover) }
            // A read held back while the handshake was answered is issued now.
            pendingRead = false
            context.read()
        } catch {
            environment.logger.debug("WebSocket tunnel not established", metadata: ["error": "\(error)"])
            relay.closeAll()
            backend.close(nil)
            answerNow(.badGateway)
            return
        }
        guard let request = current else { return }
        current = nil
        logAccess(request, status: 101)
        if environment.tracked.requestFinished(draining: environment.registry.isDraining) { relay.closeAll() }
    }

    /// The response of the current request is written (or could not be: `status` nil).
    private func responseEnded(status: Int?) {
        guard let request = current else { return }
        request.responseEnded = true
        if status == nil { request.reusable = false }
        logAccess(request, status: status)
        if request.upgrades {
            close()
            return
        }
        finishIfDone()
    }

    // MARK: The task path

    private func startTask(_ request: HTTPRequest, hasBody: Bool, declaredLength: Int64?, expectsContinue: Bool) {
        guard let context else { return }
        let writer = ResponseWriter(channel: ChannelResponseSink(channel: context.channel))
        let body: RequestBody
        if hasBody {
            let (stream, source) = HTTP1BodyStream.make(
                demand: HTTP1BodyDemand(eventLoop: context.eventLoop, wantsMore: { self.bodyWantsMore() }))
            current?.body = source
            var continueSender: (@Sendable () async throws -> Void)?
            if expectsContinue { continueSender = { try await writer.writeContinue() } }
            body = RequestBody(reader: stream, declaredLength: declaredLength, continueSender: continueSender)
        } else {
            body = RequestBody.empty
        }
        let gatewayRequest = GatewayRequest(head: request, body: body, connection: environment.info, protocolName: Self.protocolName)
        let requestHandler = environment.requestHandler
        let eventLoop = context.eventLoop
        let record = current?.tracking.record
        ServedInTask.start(on: environment.executor) {
            // An answer cut short leaves the client unable to find the next response: not reusable.
            let (status, reusable, route) = await ServedInTask.serve(gatewayRequest, handler: requestHandler, writer: writer,
                                                                     record: record)
            eventLoop.execute { self.taskFinished(status: status, reusable: reusable, route: route) }
        }
    }

    private func taskFinished(status: Int?, reusable: Bool, route: RouteMetrics? = nil) {
        guard let request = current else { return }
        if let route { request.tracking.outcome.route = route }
        request.responseEnded = true
        request.reusable = request.reusable && reusable
        logAccess(request, status: status)
        if !request.reusable || request.upgrades {
            close()
            return
        }
        finishIfDone()
    }

    // MARK: Ends

    /// Both the request and its response are complete: the next request, or the end.
    private func finishIfDone() {
        guard let request = current, request.requestEnded, request.responseEnded else { return }
        current = nil
        let closeNow = environment.tracked.requestFinished(draining: environment.registry.isDraining)
        if !request.reusable || closeNow || request.closeAfter {
            close()
            return
        }
        drain()
        resumeReading()
    }

    /// Closes once what was written went out.
    private func close() {
        guard !closed, let context else { return }
        closed = true
        let channel = context.channel
        if let lastEnd {
            lastEnd.whenComplete { _ in channel.close(promise: nil) }
        } else {
            context.close(promise: nil)
        }
    }

    private func logAccess(_ request: Current, status: Int?) {
        environment.requestHandler.requestEnded(
            method: request.parsedMethod, methodText: request.method, path: request.path, connection: environment.info,
            protocolName: Self.protocolName, tracking: request.tracking, status: status)
    }
}

extension HTTP1ConnectionHandler {
    /// A comma-separated header value lists `token` (ASCII case-insensitive), compared on bytes.
    static func listContains(_ value: String, _ token: StaticString) -> Bool {
        var value = value
        return value.withUTF8 { bytes in
            BackendResponseParser.tokens(UnsafeRawBufferPointer(bytes)).contains { BackendResponseParser.equalsLowercased($0, token) }
        }
    }
}

extension String {
    /// ASCII case-insensitive equality, without allocating.
    func caseInsensitiveEquals(_ other: StaticString) -> Bool {
        let lhs = self.utf8
        guard lhs.count == other.utf8CodeUnitCount else { return false }
        return other.withUTF8Buffer { rhs in
            var index = 0
            for byte in lhs {
                let a = byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
                let b = rhs[index]
                let c = b >= 0x41 && b <= 0x5A ? b | 0x20 : b
                if a != c { return false }
                index += 1
            }
            return true
        }
    }
}
