import NIOCore

/// Time limits of an HTTP/1.1 connection, at the byte level (right after TLS):
/// - idle: no request for `idleTimeout` → close;
/// - slow head: a request started but its head incomplete after `headerReadTimeout` → 408 and close
///   (the slowloris defence);
/// - slow body: the gateway is ready to read more of a request body but none arrives for
///   `bodyReadTimeout` → 408 and close (or just close when a response has started). The clock runs
///   only while a read is outstanding: when back-pressure (a slow backend) holds reading back, no
///   read is asked for, and the client is not blamed. A client waiting for `100 Continue` is not
///   timed until it was sent.
/// `HTTP1ConnectionHandler` tells it when a head is complete and when a response has ended.
final class HTTP1RequestDeadlines: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum State { case idle, readingHead, awaitingContinue, readingBody, busy, closed }

    private let headerReadTimeout: TimeAmount
    private let bodyReadTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    /// A final response head went out for the current request (a 408 can no longer be written).
    private var responseStarted = false
    private var state = State.idle
    /// When the current state's limit runs out (nil while busy). One timer is kept scheduled and
    /// re-armed lazily when it fires early: moving the deadline per request costs a clock read,
    /// not a schedule and a cancel.
    private var deadline: NIODeadline?
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline?
    private var context: ChannelHandlerContext?

    init(headerReadTimeout: Double, bodyReadTimeout: Double, idleTimeout: Double) {
        self.headerReadTimeout = .milliseconds(Int64(headerReadTimeout * 1000))
        self.bodyReadTimeout = .milliseconds(Int64(bodyReadTimeout * 1000))
        self.idleTimeout = .milliseconds(Int64(idleTimeout * 1000))
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        arm(idleTimeout)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        state = .closed
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        state = .closed
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch state {
        case .idle:
            state = .readingHead
            arm(headerReadTimeout)
        case .readingBody:
            // Bytes arrived: the body clock stops until the next read is asked for.
            deadline = nil
        default:
            break
        }
        context.fireChannelRead(data)
    }

    func read(context: ChannelHandlerContext) {
        if state == .readingBody && deadline == nil {
            arm(bodyReadTimeout)
        }
        context.read()
    }

    /// A complete request head was parsed: its body (if any) is timed between reads; the backend's
    /// own timeout governs the rest.
    func headReceived(expectsContinue: Bool) {
        guard state != .closed else { return }
        state = expectsContinue ? .awaitingContinue : .readingBody
        responseStarted = false
        deadline = nil
    }

    /// `100 Continue` went out: the client now owes the body.
    func continueSent() {
        guard state == .awaitingContinue else { return }
        state = .readingBody
    }

    /// The request body ended.
    func bodyEnded() {
        guard state == .readingBody || state == .awaitingContinue else { return }
        state = .busy
        deadline = nil
    }

    /// A final response head was written.
    func responseHeadWritten() {
        responseStarted = true
    }

    /// The response was fully written: wait for the next request (unless the request's body is still
    /// being read, as a drain does after an early answer).
    func responseEnded() {
        guard state != .closed else { return }
        responseStarted = false
        if state == .readingBody || state == .awaitingContinue { return }
        state = .idle
        arm(idleTimeout)
    }

    private func arm(_ timeout: TimeAmount) {
        let due = NIODeadline.now() + timeout
        deadline = due
        if let timerDeadline, timerDeadline <= due { return }  // fires in time and re-arms then
        schedule(at: wakeUp(for: due))
    }

    /// The timer never sleeps longer than the head-read limit, so arming that limit (the common
    /// case: a new request on an idle connection) never has to move the timer earlier.
    private func wakeUp(for due: NIODeadline) -> NIODeadline {
        min(due, NIODeadline.now() + headerReadTimeout)
    }

    private func schedule(at due: NIODeadline) {
        timer?.cancel()
        guard let context else { return }
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        timerDeadline = due
        timer = context.eventLoop.scheduleTask(deadline: due) {
            loopBound.value.timerFired()
        }
    }

    private func timerFired() {
        timer = nil
        timerDeadline = nil
        guard let deadline else { return }
        if deadline > NIODeadline.now() {
            schedule(at: wakeUp(for: deadline))
        } else {
            fire()
        }
    }

    private func fire() {
        guard let context else { return }
        switch state {
        case .readingHead,
             .readingBody where !responseStarted:
            let error: GatewayError = state == .readingHead ? .requestTimeout : .bodyTimeout
            state = .closed
            let (head, body) = error.response()
            var text = "HTTP/1.1 408 Request Timeout\r\n"
            for field in head.headerFields { text += "\(field.name): \(field.value)\r\n" }
            text += "connection: close\r\n\r\n"
            var buffer = context.channel.allocator.buffer(string: text)
            var bodyBuffer = body
            buffer.writeBuffer(&bodyBuffer)
            context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in context.close(promise: nil) }
        case .idle, .readingBody:
            state = .closed
            context.close(promise: nil)
        case .busy, .awaitingContinue, .closed:
            break
        }
    }
}
