import NIOCore

/// Closes an HTTP/2 connection that saw no traffic either way for the idle timeout.
///
/// NIO's `IdleStateHandler` did this before, but it made a promise for every write to learn when
/// it completed — three per HTTP/2 request, about a thirtieth of the request's instructions. Here a
/// read or write only bumps a counter; a timer looks at it four times per timeout and closes the
/// connection once a whole timeout passed without a change (so after 1 to 1¼ timeouts of silence).
final class IdleConnectionCloser: ChannelDuplexHandler, @unchecked Sendable {
    // @unchecked: every method (and the timer) runs on the connection's event loop.
    typealias InboundIn = NIOAny
    typealias OutboundIn = NIOAny

    private static let ticksPerTimeout = 4

    private let tick: TimeAmount
    private var activity = 0
    private var seenActivity = 0
    private var quietTicks = 0
    private var timer: RepeatedTask?

    init(timeout: TimeAmount) {
        tick = .nanoseconds(max(timeout.nanoseconds / Int64(Self.ticksPerTimeout), 1_000_000))
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let contextBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleRepeatedTask(initialDelay: tick, delay: tick) { _ in
            loopBound.value.check(contextBound.value)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    private func check(_ context: ChannelHandlerContext) {
        if activity != seenActivity {
            seenActivity = activity
            quietTicks = 0
            return
        }
        quietTicks += 1
        if quietTicks >= Self.ticksPerTimeout {
            timer?.cancel()
            timer = nil
            context.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        activity &+= 1
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        activity &+= 1
        context.write(data, promise: promise)
    }
}
