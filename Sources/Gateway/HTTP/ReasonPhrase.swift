import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Keeps a response's own reason phrase on HTTP/1.1 (APIM's `<set-status reason="…">`): the
/// swift-http-types → NIOHTTP1 conversion maps known codes to their standard phrase, so the phrase is
/// captured before the conversion and put back after it. Pipelined responses keep their order.
final class ReasonPhrases {
    fileprivate var pending: [String?] = []

    var capture: Capture { Capture(store: self) }
    var apply: Apply { Apply(store: self) }

    final class Capture: ChannelOutboundHandler {
        typealias OutboundIn = HTTPResponsePart
        typealias OutboundOut = HTTPResponsePart
        private let store: ReasonPhrases
        init(store: ReasonPhrases) { self.store = store }

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            if case .head(let head) = unwrapOutboundIn(data), head.status.code >= 200 {
                let phrase = head.status.reasonPhrase
                let standard = HTTPResponseStatus(statusCode: head.status.code).reasonPhrase
                // Control characters would break the status line: such phrases are not kept.
                let safe = !phrase.isEmpty && phrase != standard && !phrase.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }
                store.pending.append(safe ? phrase : nil)
            }
            context.write(data, promise: promise)
        }
    }

    final class Apply: ChannelOutboundHandler {
        typealias OutboundIn = HTTPServerResponsePart
        typealias OutboundOut = HTTPServerResponsePart
        private let store: ReasonPhrases
        init(store: ReasonPhrases) { self.store = store }

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            guard case .head(var head) = unwrapOutboundIn(data), head.status.code >= 200 else {
                context.write(data, promise: promise)
                return
            }
            if !store.pending.isEmpty, let phrase = store.pending.removeFirst() {
                head.status = .custom(code: head.status.code, reasonPhrase: phrase)
            }
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        }
    }
}
