import NIOCore

/// Time limits of an HTTP/1.1 connection, at the byte level (right after TLS):
/// - idle: no request for `idleTimeout` → close;
/// - slow head: a request started but its head incomplete after `headerReadTimeout` → 408 and close
///   (the slowloris defence).
/// `HTTP1ProtocolErrorResponder` tells it when a head is complete and when a response has ended.
final class HTTP1RequestDeadlines: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum State { case idle, readingHead, busy, closed }

    private let headerReadTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private var state = State.idle
    private var timer: Scheduled<Void>?
    private var context: ChannelHandlerContext?

    init(headerReadTimeout: Double, idleTimeout: Double) {
        self.headerReadTimeout = .milliseconds(Int64(headerReadTimeout * 1000))
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
        if state == .idle {
            state = .readingHead
            arm(headerReadTimeout)
        }
        context.fireChannelRead(data)
    }

    /// A complete request head was parsed: the backend's own timeout governs from here.
    func headReceived() {
        guard state != .closed else { return }
        state = .busy
        timer?.cancel()
        timer = nil
    }

    /// The response was fully written: wait for the next request.
    func responseEnded() {
        guard state != .closed else { return }
        state = .idle
        arm(idleTimeout)
    }

    private func arm(_ timeout: TimeAmount) {
        timer?.cancel()
        guard let context else { return }
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: timeout) {
            loopBound.value.fire()
        }
    }

    private func fire() {
        guard let context else { return }
        switch state {
        case .readingHead:
            state = .closed
            let (head, body) = GatewayError.requestTimeout.response()
            var text = "HTTP/1.1 408 Request Timeout\r\n"
            for field in head.headerFields { text += "\(field.name): \(field.value)\r\n" }
            text += "connection: close\r\n\r\n"
            var buffer = context.channel.allocator.buffer(string: text)
            var bodyBuffer = body
            buffer.writeBuffer(&bodyBuffer)
            context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in context.close(promise: nil) }
        case .idle:
            state = .closed
            context.close(promise: nil)
        case .busy, .closed:
            break
        }
    }
}
