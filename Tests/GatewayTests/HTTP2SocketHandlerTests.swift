@testable import Gateway
import NIOCore
import NIOEmbedded
import Testing

/// `HTTP2SocketHandler` merges small frame writes into one write per flush (one TLS record instead
/// of one per buffer), keeps the order of what it passes on, and completes every promise.
struct HTTP2SocketHandlerTests {
    private func channel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(HTTP2SocketHandler(timeout: .seconds(60)))
        return channel
    }

    private func buffer(_ byte: UInt8, _ count: Int) -> ByteBuffer {
        ByteBuffer(bytes: [UInt8](repeating: byte, count: count))
    }

    @Test func smallWritesLeaveAsOneOnFlush() throws {
        let channel = try channel()
        defer { _ = try? channel.finish() }
        var completed = 0
        for byte in UInt8(1)...3 {
            let promise = channel.eventLoop.makePromise(of: Void.self)
            promise.futureResult.whenSuccess { completed += 1 }
            channel.write(IOData.byteBuffer(buffer(byte, 9)), promise: promise)
        }
        #expect(try channel.readOutbound(as: IOData.self) == nil, "nothing passes on before the flush")
        channel.flush()
        let merged = try #require(try channel.readOutbound(as: IOData.self))
        #expect(merged == .byteBuffer(buffer(1, 9).merged(buffer(2, 9), buffer(3, 9))))
        #expect(try channel.readOutbound(as: IOData.self) == nil)
        #expect(completed == 3)
    }

    @Test func aLargeWriteFollowsWhatWasMergedBeforeIt() throws {
        let channel = try channel()
        defer { _ = try? channel.finish() }
        let large = buffer(7, HTTP2SocketHandler.mergedWriteLimit + 1)
        channel.write(IOData.byteBuffer(buffer(1, 9)), promise: nil)
        channel.write(IOData.byteBuffer(large), promise: nil)
        channel.write(IOData.byteBuffer(buffer(2, 5)), promise: nil)
        channel.flush()
        #expect(try channel.readOutbound(as: IOData.self) == .byteBuffer(buffer(1, 9)))
        #expect(try channel.readOutbound(as: IOData.self) == .byteBuffer(large))
        #expect(try channel.readOutbound(as: IOData.self) == .byteBuffer(buffer(2, 5)))
        #expect(try channel.readOutbound(as: IOData.self) == nil)
    }

    @Test func theMergedBufferPassesOnAtOneRecordsWorth() throws {
        let channel = try channel()
        defer { _ = try? channel.finish() }
        let piece = HTTP2SocketHandler.mergedWriteLimit
        let count = HTTP2SocketHandler.mergedBufferLimit / piece
        for i in 0..<count { channel.write(IOData.byteBuffer(buffer(UInt8(i), piece)), promise: nil) }
        // Full: it went on whole before the flush, and what follows starts a new write (in the
        // reused storage, without touching what was passed on).
        channel.write(IOData.byteBuffer(buffer(9, 3)), promise: nil)
        channel.flush()
        let first = try #require(try channel.readOutbound(as: IOData.self))
        #expect(first.readableBytes == HTTP2SocketHandler.mergedBufferLimit)
        #expect(try channel.readOutbound(as: IOData.self) == .byteBuffer(buffer(9, 3)))
        guard case .byteBuffer(let bytes) = first else { Issue.record("not a byte buffer"); return }
        #expect(bytes.getInteger(at: bytes.readerIndex, as: UInt8.self) == 0)
        #expect(bytes.getInteger(at: bytes.writerIndex - 1, as: UInt8.self) == UInt8(count - 1))
    }

    @Test func unflushedWritesFailWhenTheHandlerGoes() throws {
        let channel = EmbeddedChannel()
        defer { _ = try? channel.finish() }
        let handler = HTTP2SocketHandler(timeout: .seconds(60))
        try channel.pipeline.syncOperations.addHandler(handler)
        let promise = channel.eventLoop.makePromise(of: Void.self)
        var failed = false
        promise.futureResult.whenFailure { _ in failed = true }
        channel.write(IOData.byteBuffer(buffer(1, 9)), promise: promise)
        // The pipeline is torn down (as after a reset connection) before anything flushed.
        handler.handlerRemoved(context: try channel.pipeline.syncOperations.context(handlerType: HTTP2SocketHandler.self))
        #expect(failed)
    }
}

private extension ByteBuffer {
    func merged(_ others: ByteBuffer...) -> ByteBuffer {
        var all = self
        for other in others { all.writeImmutableBuffer(other) }
        return all
    }
}
