import NIOCore

/// Closes a refused connection as soon as NIO has registered it (a channel that is not yet registered
/// cannot be closed from its initializer).
final class CloseWhenActive: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    func channelActive(context: ChannelHandlerContext) {
        context.close(promise: nil)
    }
}
