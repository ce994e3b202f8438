import NIOCore
import NIOHPACK
import Testing

/// RST_STREAM is counted where it cancels work (the rapid-reset defence, CVE-2023-44487), not where
/// it closes a stream already answered: curl 7.88 sends one after every answer that ends in its
/// HEADERS frame (a 403 without a body), and NIOHTTP2Handler's own count of every RST_STREAM made
/// such a client lose its connection — and one request — after 200 refusals within 30 s.
@Suite(.serialized)
struct HTTP2RapidResetTests {
    typealias Raw = HTTP2StreamErrorTests

    static func rstStream(_ stream: UInt32, errorCode: UInt32) -> ByteBuffer {
        var payload = ByteBuffer()
        payload.writeInteger(errorCode)
        return Raw.frame(type: 0x3, flags: 0, stream: stream, payload: payload)
    }

    /// The error code of the first GOAWAY in `bytes`, if any.
    static func goAwayErrorCode(_ bytes: ByteBuffer) -> UInt32? {
        var bytes = bytes
        while bytes.readableBytes >= 9,
              let high = bytes.getInteger(at: bytes.readerIndex, as: UInt8.self),
              let low = bytes.getInteger(at: bytes.readerIndex + 1, as: UInt16.self),
              let type = bytes.getInteger(at: bytes.readerIndex + 3, as: UInt8.self) {
            let length = Int(high) << 16 | Int(low)
            guard bytes.readableBytes >= 9 + length else { return nil }
            if type == 0x7, length >= 8 { return bytes.getInteger(at: bytes.readerIndex + 9 + 4, as: UInt32.self) }
            bytes.moveReaderIndex(forwardBy: 9 + length)
        }
        return nil
    }

    /// Waits until every stream of `streams` has its answer's HEADERS (or a GOAWAY came).
    static func waitForAnswers(_ streams: [UInt32], collector: Raw.Collector) async throws -> [Raw.Frame] {
        var seen: [Raw.Frame] = []
        for _ in 0..<200 {
            seen = Raw.frames(collector.received.withLockedValue { $0 })
            let answered = Set(seen.filter { $0.type == 0x1 }.map(\.stream))
            if streams.allSatisfy(answered.contains) || seen.contains(where: { $0.type == 0x7 }) { break }
            try await Task.sleep(for: .milliseconds(25))
        }
        return seen
    }

    @Test func resetsOfAnsweredStreamsKeepTheConnection() async throws {
        let gateway = try await TestGateway.start()
        let collector = Raw.Collector()
        let channel = try await Raw.connect(gateway, collector: collector)
        var encoder = HPACKEncoder(allocator: ByteBufferAllocator())
        try await channel.writeAndFlush(Raw.preface())
        var stream: UInt32 = 1
        // 250 requests in batches of 10; each stream is reset (CANCEL, as curl does) once answered.
        for _ in 0..<25 {
            var out = ByteBuffer()
            let batch = (0..<10).map { stream + 2 * UInt32($0) }
            for id in batch {
                var headers = try Raw.headers(stream: id, path: "/echo/users/\(id)", encoder: &encoder)
                out.writeBuffer(&headers)
            }
            try await channel.writeAndFlush(out)
            let seen = try await Self.waitForAnswers(batch, collector: collector)
            #expect(!seen.contains(where: { $0.type == 0x7 }), "GOAWAY before stream \(stream)")
            var resets = ByteBuffer()
            for id in batch {
                var reset = Self.rstStream(id, errorCode: 0x8)
                resets.writeBuffer(&reset)
            }
            try await channel.writeAndFlush(resets)
            stream += 20
        }
        // The connection still serves.
        var last = try Raw.headers(stream: stream, path: "/echo/users/last", encoder: &encoder)
        try await channel.writeAndFlush(last)
        last.clear()
        let seen = try await Self.waitForAnswers([stream], collector: collector)
        #expect(seen.contains(where: { $0.type == 0x1 && $0.stream == stream }), "the request after 250 resets was not answered")
        #expect(Self.goAwayErrorCode(collector.received.withLockedValue { $0 }) == nil)
        #expect(channel.isActive)
        try await channel.close()
        try await gateway.stop()
    }

    @Test func resettingStreamsInFlightEndsTheConnection() async throws {
        let gateway = try await TestGateway.start()
        let collector = Raw.Collector()
        let channel = try await Raw.connect(gateway, collector: collector)
        var encoder = HPACKEncoder(allocator: ByteBufferAllocator())
        var out = Raw.preface()
        // Each request is cancelled in the same write that opens it: 250 of them, past the limit of
        // 200 streams reset in flight within 30 s.
        for index in 0..<250 {
            let id = UInt32(1 + 2 * index)
            var headers = try Raw.headers(stream: id, path: "/echo/users/\(id)", encoder: &encoder)
            out.writeBuffer(&headers)
            var reset = Self.rstStream(id, errorCode: 0x8)
            out.writeBuffer(&reset)
        }
        try await channel.writeAndFlush(out)
        #expect(try await RawHTTP2Client.closes(channel, within: .seconds(20)), "the connection stayed open")
        #expect(Self.goAwayErrorCode(collector.received.withLockedValue { $0 }) == 0xb, "no GOAWAY with ENHANCE_YOUR_CALM")
        try await gateway.stop()
    }
}
