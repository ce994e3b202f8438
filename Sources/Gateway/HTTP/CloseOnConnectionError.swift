import NIOCore

/// HTTP/2 connection errors (a protocol violation answered with GOAWAY) end the connection at once,
/// instead of leaving it open until the client notices.
final class CloseOnConnectionError: ChannelInboundHandler {
    typealias InboundIn = Any

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
