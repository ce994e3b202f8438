import NIOCore
import NIOHTTP2

/// Serves every stream of an HTTP/2 connection from the connection's own pipeline, right after
/// `NIOHTTP2Handler` (which runs without a stream multiplexer): a stream is an `HTTP2Stream` in a
/// dictionary, not a child channel with a pipeline, promises and activation of its own — that
/// machinery was about a tenth of an HTTP/2 request's instructions.
///
/// Without the multiplexer, inbound flow control is done here: the connection window is topped up
/// as DATA arrives (from `NIOHTTP2WindowUpdatedEvent`, which also counts DATA that NIOHTTP2Handler
/// dropped for a stream already reset), a stream's window only while its body's reader keeps up (a paused body stops
/// WINDOW_UPDATEs for its stream, so the client stops sending: back-pressure per stream). Outbound,
/// `NIOHTTP2Handler` holds DATA beyond the client's windows and completes each write's promise
/// once the frame is out; a task writing a response waits for those promises (`HTTP2StreamSink`).
final class HTTP2ConnectionHandler: ChannelDuplexHandler, @unchecked Sendable {
    // @unchecked: every method runs on the connection's event loop.
    typealias InboundIn = HTTP2Frame
    typealias OutboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    /// What a stream's window is kept at once the client's first `initialStreamWindow` is spent.
    static let streamWindowTarget = 256 * 1024
    /// What the connection's window is kept at.
    static let connectionWindowTarget = 1024 * 1024

    private let environment: HTTP1ConnectionHandler.Environment
    private let initialStreamWindow: Int
    private var streams: [HTTP2StreamID: HTTP2Stream] = [:]
    /// Inside a read (from its first frame to channelReadComplete): flushes wait for the read's end.
    private var reading = false
    /// Something was written during this read: flush it with the read's end.
    private var unflushed = false
    /// A flush asked for outside a read (a backend answered) is done once this loop tick has
    /// handled all its I/O, so that answers of several streams finished in the same tick leave in
    /// one write (HAProxy does the same; one write per answer was one system call per request).
    private var flushScheduled = false
    /// A write of this handler is under way (an error now is about that write; its frames reach
    /// `wroteFrame` too).
    private var writing = false
    /// NIOHTTP2Handler wrote a GOAWAY on its own during this read: the error that follows is a
    /// connection error.
    private var goAwayByNIO = false
    /// The handler below NIOHTTP2Handler: it says when an error comes from TLS or the socket.
    private let socket: HTTP2SocketHandler
    /// Streams the client reset while the gateway still served them, in the current window: the
    /// rapid-reset defence (CVE-2023-44487), a GOAWAY (ENHANCE_YOUR_CALM) past `cancelledStreamLimit`
    /// in `cancelledStreamWindow`. NIOHTTP2Handler's own counter takes every RST_STREAM, those for
    /// streams already answered too — curl 7.88 sends one after each answer that ends in its HEADERS
    /// frame (a 403 without a body), so 200 refused requests within 30 s cost such a client its
    /// connection — and is set far higher (GatewayServer) to bound only a flood of them.
    private var cancelledStreams = 0
    private var cancelledWindowStart = NIODeadline.now()
    static let cancelledStreamLimit = 200
    static let cancelledStreamWindow = TimeAmount.seconds(30)
    private(set) var context: ChannelHandlerContext?

    /// `initialStreamWindow`: the SETTINGS_INITIAL_WINDOW_SIZE this server advertises.
    init(environment: HTTP1ConnectionHandler.Environment, initialStreamWindow: Int, socket: HTTP2SocketHandler) {
        self.environment = environment
        self.initialStreamWindow = initialStreamWindow
        self.socket = socket
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        closeAllStreams()
        self.context = nil
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        reading = true
        let frame = unwrapInboundIn(data)
        switch frame.payload {
        case .headers(let headers):
            // A new stream: NIOHTTP2Handler has admitted it (client-initiated, within the concurrency limit).
            let stream = streams[frame.streamID] ?? openStream(frame.streamID)
            stream.receive(.headers(headers))
        case .data(let payload):
            streams[frame.streamID]?.receive(.data(payload), flowControlledLength: Self.flowControlledLength(payload))
        default:
            // SETTINGS, PING, GOAWAY, WINDOW_UPDATE, PRIORITY: NIOHTTP2Handler's. RST_STREAM arrives
            // as a StreamClosedEvent.
            break
        }
    }

    private func openStream(_ streamID: HTTP2StreamID) -> HTTP2Stream {
        let stream = HTTP2Stream(streamID: streamID, connection: self, environment: environment, initialWindow: initialStreamWindow)
        streams[streamID] = stream
        return stream
    }

    private static func flowControlledLength(_ payload: HTTP2Frame.FramePayload.Data) -> Int {
        let data: Int
        switch payload.data {
        case .byteBuffer(let buffer): data = buffer.readableBytes
        case .fileRegion(let region): data = region.readableBytes
        }
        return data + (payload.paddingBytes.map { $0 + 1 } ?? 0)
    }

    /// Tops the connection window up to its target once half of it is spent (`inboundWindowSize`:
    /// what the client may still send, as NIOHTTP2Handler counts it).
    private func creditConnection(inboundWindowSize: Int) {
        guard inboundWindowSize < Self.connectionWindowTarget / 2 else { return }
        openStreamWindow(.rootStream, by: Self.connectionWindowTarget - inboundWindowSize)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        reading = false
        goAwayByNIO = false
        if unflushed {
            unflushed = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let window = event as? NIOHTTP2WindowUpdatedEvent {
            if window.streamID == .rootStream, let inbound = window.inboundWindowSize {
                creditConnection(inboundWindowSize: inbound)
            }
            return
        }
        if let closed = event as? StreamClosedEvent {
            guard let stream = streams.removeValue(forKey: closed.streamID) else { return }
            // Reset by the client (or by NIOHTTP2Handler for a client's stream error) while in flight:
            // a stream the gateway reset itself is marked closed before its event.
            let cancelledByClient = closed.reason != nil && !stream.resetByGateway
            stream.streamClosed(reason: closed.reason)
            if cancelledByClient { countCancelledStream(context: context) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func countCancelledStream(context: ChannelHandlerContext) {
        let now = NIODeadline.now()
        if now - cancelledWindowStart > Self.cancelledStreamWindow {
            cancelledWindowStart = now
            cancelledStreams = 0
        }
        cancelledStreams += 1
        guard cancelledStreams > Self.cancelledStreamLimit else { return }
        environment.logger.debug("HTTP/2 connection closed: the client reset too many streams in flight",
                                 metadata: ["limit": "\(Self.cancelledStreamLimit) per \(Self.cancelledStreamWindow.nanoseconds / 1_000_000_000) s"])
        writing = true
        context.write(wrapOutboundOut(HTTP2Frame(streamID: .rootStream,
                                                 payload: .goAway(lastStreamID: .rootStream, errorCode: .enhanceYourCalm, opaqueData: nil))),
                      promise: nil)
        writing = false
        unflushed = false
        context.flush()
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        closeAllStreams()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A frame a stream wrote was refused (its promise failed too): that stream is reset; the
        // connection goes on. Anything else travels on (CloseOnConnectionError).
        if let streamError = error as? NIOHTTP2Errors.StreamError {
            environment.logger.debug("HTTP/2 stream error", metadata: ["error": "\(streamError.baseError)"])
            streams[streamError.streamID]?.reset()
            return
        }
        // What is left is NIOHTTP2Handler's own verdict on a client's frame, unless the error came
        // from TLS or the socket, from a write of ours, or is about the channel's activation. After
        // a connection error NIOHTTP2Handler has written GOAWAY at once; after a stream error (DATA
        // after a stream's end, a stream window overrun, …: RFC 9113 §5.4.2) it has queued a
        // RST_STREAM for that stream only (whose StreamClosedEvent ends our side) and reads on.
        let connectionError = socket.passingErrorUp || writing || goAwayByNIO || error is NIOHTTP2Errors.ActivationError
        goAwayByNIO = false
        guard connectionError else {
            environment.logger.debug("HTTP/2 stream reset: the client broke a stream's rules",
                                     metadata: ["error": "\(LogText.escape("\(error)"))"])
            return
        }
        context.fireErrorCaught(error)
    }

    /// What streams wrote and is still waiting for its flush goes out before the connection closes
    /// (a drain closes the connection as soon as its last stream is answered).
    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if unflushed || flushScheduled {
            unflushed = false
            context.flush()
        }
        context.close(mode: mode, promise: promise)
    }

    private func closeAllStreams() {
        let open = streams.values
        streams = [:]
        for stream in open { stream.streamClosed(reason: .cancel) }
    }

    // MARK: For streams

    var allocator: ByteBufferAllocator { context?.channel.allocator ?? ByteBufferAllocator() }
    var eventLoop: (any EventLoop)? { context?.eventLoop }

    func write(_ streamID: HTTP2StreamID, _ payload: HTTP2Frame.FramePayload, promise: EventLoopPromise<Void>?) {
        guard let context else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        writing = true
        context.write(wrapOutboundOut(HTTP2Frame(streamID: streamID, payload: payload)), promise: promise)
        writing = false
    }

    /// Flushes what streams wrote: with the end of the current read, or once this loop tick's
    /// other I/O is handled.
    func flush() {
        if reading {
            unflushed = true
            return
        }
        guard !flushScheduled, let context else { return }
        flushScheduled = true
        context.eventLoop.assumeIsolatedUnsafeUnchecked().execute {
            self.flushScheduled = false
            self.context?.flush()
        }
    }

    /// Lets the client send `increment` more bytes on a stream, or on the connection for
    /// `.rootStream` (within a read, the WINDOW_UPDATE goes out with the read's end; after a paused
    /// body's reader caught up, with this loop tick's). Written through `write`, so that an error in
    /// writing it is not taken for a client's stream error.
    func openStreamWindow(_ streamID: HTTP2StreamID, by increment: Int) {
        guard increment > 0 else { return }
        write(streamID, .windowUpdate(windowSizeIncrement: increment), promise: nil)
        flush()
    }
}

extension HTTP2ConnectionHandler: NIOHTTP2FrameDelegate {
    /// Every frame NIOHTTP2Handler writes, ours included: a GOAWAY it writes on its own (it does so
    /// at once, before reporting a connection error) marks the error that follows.
    func wroteFrame(_ frame: HTTP2Frame) {
        if !writing, case .goAway = frame.payload { goAwayByNIO = true }
    }
}
