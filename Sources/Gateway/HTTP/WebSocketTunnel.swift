import NIOCore

/// The two ends of an upgraded (WebSocket) connection after the backend's `101`: bytes relayed as
/// they are, both ways, with back-pressure (a side is read only while the other can take more) and
/// an idle timeout (no byte either way for `idleTimeout` closes both). When either side closes, so
/// does the other. Both channels live on the same event loop (the backend connection comes from
/// the pool of the client connection's loop), so the ends call each other directly.
final class TunnelEnd: ChannelDuplexHandler, RemovableChannelHandler, @unchecked Sendable {
    // @unchecked: used only on the shared event loop.
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let relay: TunnelRelay
    fileprivate weak var peer: TunnelEnd?
    private var context: ChannelHandlerContext?
    private var pendingRead = false
    private var closed = false

    init(relay: TunnelRelay) {
        self.relay = relay
    }

    /// Joins two ends.
    static func join(_ first: TunnelEnd, _ second: TunnelEnd) {
        first.peer = second
        second.peer = first
        first.relay.ends = [first, second]
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if !context.channel.isActive { closeBoth() }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    var isWritable: Bool { context?.channel.isWritable ?? false }

    /// Bytes from the other side.
    fileprivate func send(_ buffer: ByteBuffer) {
        guard let context, !closed else { return }
        context.write(wrapOutboundOut(buffer), promise: nil)
    }

    fileprivate func flush() {
        context?.flush()
    }

    /// Writes bytes that arrived before the tunnel was in place (after the 101 head).
    func sendFirst(_ buffer: ByteBuffer) {
        guard buffer.readableBytes > 0 else { return }
        send(buffer)
        flush()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        relay.touch()
        peer?.send(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        peer?.flush()
        context.fireChannelReadComplete()
    }

    func read(context: ChannelHandlerContext) {
        if let peer, !peer.isWritable {
            pendingRead = true
            return
        }
        context.read()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { peer?.resumeReading() }
        context.fireChannelWritabilityChanged()
    }

    fileprivate func resumeReading() {
        guard pendingRead, let context else { return }
        pendingRead = false
        context.read()
    }

    func channelInactive(context: ChannelHandlerContext) {
        closeBoth()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        closeBoth()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // A half-close from either side ends the tunnel (WebSocket closes end-to-end with its own frames).
        if let event = event as? ChannelEvent, event == .inputClosed {
            closeBoth()
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    fileprivate func close() {
        guard !closed else { return }
        closed = true
        guard let context else { return }
        // What was queued goes out first.
        context.writeAndFlush(wrapOutboundOut(ByteBuffer())).whenComplete { _ in context.close(promise: nil) }
    }

    func closeBoth() {
        relay.closeAll()
    }
}

/// What the two ends share: activity for the idle timeout, and closing both.
final class TunnelRelay: @unchecked Sendable {
    // @unchecked: used only on the shared event loop.
    fileprivate var ends: [TunnelEnd] = []
    private let eventLoop: any EventLoop
    private let idleTimeout: TimeAmount
    private var lastActivity = NIODeadline.now()
    private var timer: Scheduled<Void>?
    private var closed = false

    init(eventLoop: any EventLoop, idleTimeout: TimeAmount) {
        self.eventLoop = eventLoop
        self.idleTimeout = idleTimeout
        schedule(after: idleTimeout)
    }

    func touch() {
        lastActivity = .now()
    }

    private func schedule(after delay: TimeAmount) {
        timer = eventLoop.scheduleTask(in: delay) { [weak self] in self?.check() }
    }

    private func check() {
        guard !closed else { return }
        let idleUntil = lastActivity + idleTimeout
        if idleUntil <= .now() {
            closeAll()
        } else {
            schedule(after: idleUntil - .now())
        }
    }

    func closeAll() {
        guard !closed else { return }
        closed = true
        timer?.cancel()
        timer = nil
        let ends = self.ends
        self.ends = []
        for end in ends { end.close() }
    }
}
