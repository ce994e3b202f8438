import NIOCore

/// What sits between TLS and `NIOHTTP2Handler` on an HTTP/2 connection: the idle timeout, and
/// the merging of small frame writes into one TLS record per flush.
///
/// **Merging.** `NIOHTTP2Handler` writes every frame as its own buffer — a DATA frame as two, its
/// 9-byte header and its payload — and `NIOSSLHandler` turns every buffer into a TLS record of its
/// own: a small answer cost three records (each with its 5-byte header, 16-byte tag and AEAD set-up),
/// and ten answers flushed together thirty, which the client also has to open one by one. Here
/// buffers up to `mergedWriteLimit` are copied into one buffer until the flush (or until it holds
/// `mergedBufferLimit`); a larger one goes on as it is, after what was merged before it, so order is
/// kept. The promises of merged writes complete with the merged write.
///
/// **Idle timeout.** NIO's `IdleStateHandler` did this before, but it made a promise for every
/// write to learn when it completed — three per HTTP/2 request, about a thirtieth of the request's
/// instructions. Here a read or write only bumps a counter; a timer looks at it four times per
/// timeout and closes the connection once a whole timeout passed without a change (so after 1 to
/// 1¼ timeouts of silence).
final class HTTP2SocketHandler: ChannelDuplexHandler, @unchecked Sendable {
    // @unchecked: every method (and the timer) runs on the connection's event loop.
    typealias InboundIn = NIOAny
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    /// Buffers up to this size are copied into the merged buffer (frame headers, HEADERS and
    /// SETTINGS frames, small bodies); larger ones are passed on without a copy.
    static let mergedWriteLimit = 4096
    /// The merged buffer is passed on once it holds this much: one full-size TLS record.
    static let mergedBufferLimit = 16 * 1024
    private static let ticksPerTimeout = 4

    private let tick: TimeAmount
    private var activity = 0
    private var seenActivity = 0
    private var quietTicks = 0
    private var timer: RepeatedTask?

    /// Small writes since the last flush, merged; `merged.readableBytes == 0` when there are none.
    /// Its storage is reused from flush to flush once TLS has taken the bytes.
    private var merged: ByteBuffer
    private var mergedPromise: EventLoopPromise<Void>?

    init(timeout: TimeAmount) {
        tick = .nanoseconds(max(timeout.nanoseconds / Int64(Self.ticksPerTimeout), 1_000_000))
        merged = ByteBuffer()
    }

    func handlerAdded(context: ChannelHandlerContext) {
        merged = context.channel.allocator.buffer(capacity: 0)
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let contextBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleRepeatedTask(initialDelay: tick, delay: tick) { _ in
            loopBound.value.check(contextBound.value)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        // Writes that were never flushed fail, as they would have further down the pipeline.
        merged = ByteBuffer()
        mergedPromise?.fail(ChannelError.ioOnClosedChannel)
        mergedPromise = nil
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

    /// An error from TLS or the socket is on its way up: `HTTP2ConnectionHandler` tells these from
    /// HTTP/2's own verdicts on the client's frames.
    private(set) var passingErrorUp = false

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        passingErrorUp = true
        context.fireErrorCaught(error)
        passingErrorUp = false
    }

    // MARK: Outbound

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        activity &+= 1
        guard case .byteBuffer(let buffer) = unwrapOutboundIn(data), buffer.readableBytes <= Self.mergedWriteLimit else {
            passMerged(context: context)
            context.write(data, promise: promise)
            return
        }
        if merged.readableBytes == 0 {
            // Storage TLS still holds (not written yet) is left to it: start a fresh buffer.
            merged.clear()
        }
        merged.writeImmutableBuffer(buffer)
        if let promise {
            if let mergedPromise {
                mergedPromise.futureResult.cascade(to: promise)
            } else {
                mergedPromise = promise
            }
        }
        if merged.readableBytes >= Self.mergedBufferLimit {
            passMerged(context: context)
        }
    }

    func flush(context: ChannelHandlerContext) {
        passMerged(context: context)
        context.flush()
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        passMerged(context: context)
        context.close(mode: mode, promise: promise)
    }

    /// Passes the merged bytes on as one write.
    private func passMerged(context: ChannelHandlerContext) {
        guard merged.readableBytes > 0 else { return }
        let promise = mergedPromise
        mergedPromise = nil
        context.write(wrapOutboundOut(.byteBuffer(merged)), promise: promise)
        // The next write starts over in the same storage if TLS has let go of it by then
        // (`clear()` copies on write otherwise).
        merged.moveReaderIndex(to: merged.writerIndex)
    }
}
