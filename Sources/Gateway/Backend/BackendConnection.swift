import NIOCore
import NIOHTTP1

/// What the backend answered: its head, and the body as it streams in.
struct BackendAnswer: Sendable {
    let head: HTTPResponseHead
    let body: BackendBodyStream
    /// After a `101 Switching Protocols`: the connection, to be taken over as one end of a tunnel.
    var upgraded: BackendConnection? = nil
}

/// One keep-alive HTTP/1.1 connection to a backend, carrying one exchange at a time; the last handler
/// of its channel. Everything here runs on the channel's event loop (the unchecked `Sendable` is
/// for handing the object to the pool and to the body stream's delegate, which hop to the loop).
///
/// Reads are driven by demand: while waiting for a response head it reads; while a body streams it
/// reads only as long as the consumer asks for more (NIO's autoRead `read()` is held back otherwise).
///
/// HTTP/1.1 is spoken here directly, on bytes: requests are written by `BackendRequestEncoding`,
/// responses parsed by `BackendResponseParser` (no codec handlers in the channel).
final class BackendConnection: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let key: BackendPoolKey
    let eventLoop: any EventLoop
    private(set) var channel: (any Channel)?
    private var context: ChannelHandlerContext?
    /// Called once when the channel closes, or when an exchange ends and the connection can be reused.
    var onIdle: ((BackendConnection) -> Void)?
    var onClosed: ((BackendConnection) -> Void)?
    /// When the connection last became idle (for the pool's idle eviction).
    var idleSince = NIODeadline.now()
    /// The pool still counts this connection as open.
    var counted = true

    private enum State {
        case idle
        case awaitingHead(EventLoopPromise<BackendAnswer>)
        /// The head arrived; body bytes of the same read are collected, so that an answer complete
        /// in one read is handed over whole (no producer, no suspension).
        case collecting(EventLoopPromise<BackendAnswer>, HTTPResponseHead, ByteBuffer?)
        case streamingBody(BackendBodyStream.Producer.Source)
        /// A 101 was handed over: bytes are kept (and reads held) until a tunnel takes the connection.
        case upgraded(ByteBuffer?)
        /// A tunnel's end relays the bytes now; this handler stays in the channel, inert.
        case tunnelled
        case closed
    }

    /// Collected body bytes beyond this stream instead.
    static let wholeBodyLimit = 64 << 10

    private var state = State.idle
    private var parser = BackendResponseParser()
    /// The request body is sent in chunks (streamed, length unknown).
    private var requestChunked = false
    /// The request's end was written.
    private var requestComplete = false
    /// The response allows the connection to be reused.
    private var responseKeepAlive = true
    /// The consumer of the body wants more (or no body is streaming).
    private var demand = true
    /// A `read()` was held back for want of demand.
    private var pendingRead = false
    /// The time-to-response-head timer. It outlives the exchange that armed it: a later exchange
    /// with a later deadline keeps it, and it re-arms itself for that deadline when it fires —
    /// one timer per timeout period on a busy keep-alive connection, not one per request.
    private var deadlineTask: Scheduled<Void>?
    private var deadlineTaskFires = NIODeadline.distantFuture
    /// The current exchange's deadline for the response head (nil once it arrived).
    private var headDeadline: NIODeadline?
    /// At least one exchange completed on this connection: a failure before any response byte may be
    /// the backend having closed an idle keep-alive connection (safe to retry elsewhere).
    private(set) var wasReused = false
    private var sawResponseBytes = false
    /// An exchange started and was not yet handed back.
    private var exchangeOpen = false

    init(key: BackendPoolKey, eventLoop: any EventLoop) {
        self.key = key
        self.eventLoop = eventLoop
    }

    var isUsable: Bool {
        if case .idle = state, let channel, channel.isActive { return true }
        return false
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.channel = context.channel
    }

    // MARK: Exchanges

    /// Starts an exchange: writes the head (and a body in hand) and returns the response head's future.
    /// A streamed body is written afterwards with `writeBody`/`writeEnd`.
    func start(head: HTTPRequestHead, body: ByteBuffer?, streamsBody: Bool, deadline: NIODeadline) -> EventLoopFuture<BackendAnswer> {
        eventLoop.preconditionInEventLoop()
        let promise = eventLoop.makePromise(of: BackendAnswer.self)
        guard case .idle = state, let context else {
            promise.fail(BackendClientError.closedBeforeResponse)
            return promise.futureResult
        }
        let headBytes: ByteBuffer
        do {
            headBytes = try BackendRequestEncoding.head(head, allocator: context.channel.allocator)
        } catch {
            promise.fail(BackendClientError.writeFailed("\(error)"))
            return promise.futureResult
        }
        state = .awaitingHead(promise)
        exchangeOpen = true
        requestComplete = false
        responseKeepAlive = true
        sawResponseBytes = false
        demand = true
        requestChunked = streamsBody && BackendRequestEncoding.isChunked(head)
        parser.expectResponse(toHEAD: head.method == .HEAD, upgrade: head.headers.contains(name: "upgrade"))
        headDeadline = deadline
        if deadlineTask == nil || deadline < deadlineTaskFires { armDeadline(deadline) }
        if streamsBody {
            context.writeAndFlush(wrapOutboundOut(headBytes), promise: nil)
        } else {
            if let body, body.readableBytes > 0 {
                context.write(wrapOutboundOut(headBytes), promise: nil)
                context.writeAndFlush(wrapOutboundOut(body), promise: nil)
            } else {
                context.writeAndFlush(wrapOutboundOut(headBytes), promise: nil)
            }
            requestComplete = true
        }
        if pendingRead {
            pendingRead = false
            context.read()
        }
        return promise.futureResult
    }

    /// Writes one chunk of a streamed request body; completes when it is on its way to the socket.
    func writeBody(_ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        onLoop { connection, context in
            guard buffer.readableBytes > 0 else { return context.eventLoop.makeSucceededVoidFuture() }
            if connection.requestChunked {
                context.write(connection.wrapOutboundOut(BackendRequestEncoding.chunkPrefix(size: buffer.readableBytes,
                                                                                           allocator: context.channel.allocator)),
                              promise: nil)
                context.write(connection.wrapOutboundOut(buffer), promise: nil)
                return context.writeAndFlush(connection.wrapOutboundOut(ByteBuffer(staticString: "\r\n")))
            }
            return context.writeAndFlush(connection.wrapOutboundOut(buffer))
        }
    }

    func writeEnd() -> EventLoopFuture<Void> {
        onLoop { connection, context in
            connection.requestComplete = true
            let written: EventLoopFuture<Void>
            if connection.requestChunked {
                written = context.writeAndFlush(connection.wrapOutboundOut(ByteBuffer(staticString: "0\r\n\r\n")))
            } else {
                context.flush()
                written = context.eventLoop.makeSucceededVoidFuture()
            }
            written.whenComplete { _ in connection.requestEnded() }
            return written
        }
    }

    private func onLoop(_ write: @escaping @Sendable (BackendConnection, ChannelHandlerContext) -> EventLoopFuture<Void>) -> EventLoopFuture<Void> {
        let connection = self
        let body: @Sendable () -> EventLoopFuture<Void> = {
            guard let context = connection.context, connection.isExchanging else {
                return connection.eventLoop.makeFailedFuture(BackendClientError.writeFailed("connection closed"))
            }
            return write(connection, context)
        }
        return eventLoop.inEventLoop ? body() : eventLoop.flatSubmit(body)
    }

    /// The streamed request body failed (the client went away): the exchange cannot finish.
    func abandonRequest() {
        eventLoop.execute {
            if !self.requestComplete { self.close(BackendClientError.writeFailed("the request body ended early")) }
        }
    }

    private var isExchanging: Bool {
        switch state {
        case .awaitingHead, .collecting, .streamingBody: return true
        case .upgraded, .tunnelled: return false
        case .idle: return !requestComplete  // response finished first; the body may still be sent
        case .closed: return false
        }
    }

    // MARK: Channel events

    func read(context: ChannelHandlerContext) {
        switch state {
        case .streamingBody where !demand, .upgraded:
            pendingRead = true
            return
        default:
            context.read()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        sawResponseBytes = true
        parser.feed(unwrapInboundIn(data))
        do {
            while let event = try parser.next() {
                handle(event)
                if case .closed = state { return }
            }
        } catch {
            close(BackendClientError.badResponse("\(error)"))
            return
        }
        if parser.hasUnexpectedBytes {
            // Bytes while idle, or after the response's end: this connection cannot be trusted any more.
            close(BackendClientError.badResponse("unexpected response data"))
        }
    }

    /// Switches on the event, then on the state: a `switch (event, state)` built a tuple of both
    /// and destroyed it through the runtime's generic tuple witnesses, ~2.5k instructions per answer.
    private func handle(_ event: BackendResponseParser.Event) {
        switch event {
        case .head(let head, let keepAlive):
            guard case .awaitingHead(let promise) = state else { return unexpectedResponseData() }
            headDeadline = nil
            if head.status.code == 101 {
                // The backend switched protocols (the parser allows it only when the request asked).
                responseKeepAlive = false
                state = .upgraded(nil)
                promise.succeed(BackendAnswer(head: head, body: .whole(nil), upgraded: self))
                return
            }
            responseKeepAlive = keepAlive
            state = .collecting(promise, head, nil)
        case .body(let buffer):
            switch state {
            case .upgraded(var kept):
                state = .closed  // not the kept bytes' owner while they grow (no copy on write)
                if kept == nil { kept = buffer } else { kept?.writeImmutableBuffer(buffer) }
                state = .upgraded(kept)
            case .collecting(let promise, let head, var collected):
                state = .closed  // as above
                if collected == nil {
                    collected = buffer
                } else {
                    collected?.writeImmutableBuffer(buffer)
                }
                state = .collecting(promise, head, collected)
                if (collected?.readableBytes ?? 0) > Self.wholeBodyLimit { startStreaming() }
            case .streamingBody(let source):
                switch source.yield(buffer) {
                case .produceMore: demand = true
                case .stopProducing: demand = false
                case .dropped: demand = true  // the consumer is gone: keep reading to the end and drop
                }
            default:
                unexpectedResponseData()
            }
        case .end:
            switch state {
            case .collecting(let promise, let head, let collected):
                state = .idle
                demand = true
                promise.succeed(BackendAnswer(head: head, body: .whole(collected)))
                exchangeEnded()
            case .streamingBody(let source):
                source.finish()
                state = .idle
                demand = true
                exchangeEnded()
            default:
                unexpectedResponseData()
            }
        }
    }

    private func unexpectedResponseData() {
        close(BackendClientError.badResponse("unexpected response data"))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // The answer did not end within this read: it streams from here on.
        if case .collecting = state { startStreaming() }
        context.fireChannelReadComplete()
    }

    private func startStreaming() {
        guard case .collecting(let promise, let head, let collected) = state else { return }
        let (body, source) = BackendBodyStream.make(demand: BackendBodyDemand(connection: self, eventLoop: eventLoop))
        state = .streamingBody(source)
        demand = true
        if let collected {
            switch source.yield(collected) {
            case .stopProducing: demand = false
            case .produceMore, .dropped: break
            }
        }
        promise.succeed(BackendAnswer(head: head, body: body))
    }

    func channelInactive(context: ChannelHandlerContext) {
        if parser.endsAtClose {
            // The body ran until the close: that is its end.
            parser.reset()
            responseKeepAlive = false
            switch state {
            case .collecting(let promise, let head, let collected):
                state = .idle
                promise.succeed(BackendAnswer(head: head, body: .whole(collected)))
            case .streamingBody(let source):
                state = .idle
                source.finish()
            default:
                break
            }
        }
        fail(with: sawResponseBytes ? BackendClientError.badResponse("the backend closed the connection mid-response")
             : BackendClientError.closedBeforeResponse)
        state = .closed
        onClosed?(self)
        onClosed = nil
        onIdle = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        close(BackendClientError.badResponse("\(error)"))
    }

    // MARK: Demand from the body's consumer

    /// Hands the connection to a tunnel: `end` is put in front of this handler (which stays, inert),
    /// the pool stops counting the connection, and the bytes that came after the 101 are returned.
    func takeOverForTunnel(end: TunnelEnd) throws -> ByteBuffer? {
        guard case .upgraded(var kept) = state, let context else { throw BackendClientError.closedBeforeResponse }
        if let rest = parser.takeRemaining() {
            if kept == nil { kept = rest } else { kept?.writeImmutableBuffer(rest) }
        }
        state = .tunnelled
        exchangeOpen = false
        onIdle = nil
        let closed = onClosed
        onClosed = nil
        closed?(self)
        try context.pipeline.syncOperations.addHandler(end, position: .before(self))
        if pendingRead {
            pendingRead = false
            context.read()
        }
        return kept
    }

    func consumerWantsMore() {
        demand = true
        if pendingRead, let context {
            pendingRead = false
            context.read()
        }
    }

    func consumerTerminated() {
        // The consumer stopped before the end: the rest of this body cannot be skipped cheaply.
        if case .streamingBody = state { close(BackendClientError.badResponse("response abandoned")) }
    }

    // MARK: Ends

    private func armDeadline(_ deadline: NIODeadline) {
        deadlineTask?.cancel()
        let connection = self
        deadlineTaskFires = deadline
        deadlineTask = eventLoop.scheduleTask(deadline: deadline) { connection.deadlinePassed() }
    }

    private func deadlinePassed() {
        deadlineTask = nil
        guard let headDeadline, case .awaitingHead = state else { return }
        if headDeadline <= .now() {
            close(BackendClientError.timeout)
        } else {
            armDeadline(headDeadline)
        }
    }

    private func requestEnded() {
        if case .idle = state { exchangeEnded() }
    }

    /// Both directions finished: hand the connection back if it may be reused.
    private func exchangeEnded() {
        guard case .idle = state, requestComplete, exchangeOpen else { return }
        exchangeOpen = false
        wasReused = true
        guard responseKeepAlive, let channel, channel.isActive else {
            close(nil)
            return
        }
        idleSince = .now()
        onIdle?(self)
    }

    private func fail(with error: BackendClientError) {
        deadlineTask?.cancel()
        deadlineTask = nil
        headDeadline = nil
        switch state {
        case .awaitingHead(let promise), .collecting(let promise, _, _): promise.fail(error)
        case .streamingBody(let source): source.finish(error)
        case .idle, .closed, .upgraded, .tunnelled: break
        }
    }

    func close(_ error: BackendClientError?) {
        if let error { fail(with: error) } else { fail(with: .closedBeforeResponse) }
        if case .closed = state { return }
        state = .closed
        channel?.close(promise: nil)
    }
}
