import Logging
import NIOCore

/// HTTP/2 connection errors (a protocol violation answered with GOAWAY) end the connection at once,
/// instead of leaving it open until the client notices. The error is logged at debug level (escaped:
/// NIO's errors can quote what the client sent).
final class CloseOnConnectionError: ChannelInboundHandler {
    typealias InboundIn = Any

    private let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("HTTP/2 connection closed on an error", metadata: ["error": "\(LogText.escape("\(error)"))"])
        context.close(promise: nil)
    }
}
