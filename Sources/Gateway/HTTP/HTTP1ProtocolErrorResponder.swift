import HTTPTypes
import NIOCore
import NIOHTTP1

/// Turns HTTP/1.1 parse errors into a precise answer before closing: an oversized head is 431, an
/// overlong request line 414, anything else malformed 400 — each with APIM's JSON body. Also tells
/// `HTTP1RequestDeadlines` when a head has arrived and when a response has ended.
final class HTTP1ProtocolErrorResponder: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let deadlines: HTTP1RequestDeadlines
    private var responsesInFlight = 0
    private var failed = false

    init(deadlines: HTTP1RequestDeadlines) {
        self.deadlines = deadlines
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            responsesInFlight += 1
            deadlines.headReceived(expectsContinue: head.headers[canonicalForm: "expect"].contains { $0.lowercased() == "100-continue" })
        case .end:
            deadlines.bodyEnded()
        case .body:
            break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .head(let head) = unwrapOutboundIn(data) {
            if head.status == .continue {
                deadlines.continueSent()
            } else if head.status.code >= 200 {
                deadlines.responseHeadWritten()
            }
        }
        if case .end = unwrapOutboundIn(data) {
            responsesInFlight -= 1
            let deadlines = self.deadlines
            if let promise {
                promise.futureResult.whenSuccess { deadlines.responseEnded() }
                context.write(data, promise: promise)
            } else {
                context.write(data).whenSuccess { deadlines.responseEnded() }
            }
            return
        }
        context.write(data, promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError, !failed else {
            context.fireErrorCaught(error)
            return
        }
        failed = true
        // Only answer if no response is under way; otherwise just close.
        guard responsesInFlight == 0 else {
            context.close(promise: nil)
            return
        }
        let answer: GatewayError
        switch parserError {
        case .headerOverflow: answer = .requestHeaderFieldsTooLarge
        case .invalidURL: answer = .badRequest
        default: answer = .badRequest
        }
        let (head, body) = answer.response(allocator: context.channel.allocator)
        var headers = HTTPHeaders()
        for field in head.headerFields { headers.add(name: field.name.rawName, value: field.value) }
        headers.add(name: "Connection", value: "close")
        let responseHead = HTTPResponseHead(version: .http1_1, status: .init(statusCode: answer.status.code), headers: headers)
        context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in context.close(promise: nil) }
    }
}
