import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHPACK
import NIOPosix
import NIOSSL
import Testing

/// A frame that breaks one stream's rules is a stream error (RFC 9113 §5.4.2): that stream is reset
/// and the connection's other streams go on. Sent as raw frames over TLS, since an HTTP/2 library
/// will not send them.
@Suite(.serialized)
struct HTTP2StreamErrorTests {
    /// Collects what the gateway sends, as bytes.
    final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let received = NIOLockedValueBox(ByteBuffer())

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var bytes = unwrapInboundIn(data)
            received.withLockedValue { $0.writeBuffer(&bytes) }
        }
    }

    struct Frame: Equatable {
        let type: UInt8
        let flags: UInt8
        let stream: UInt32
    }

    static func frame(type: UInt8, flags: UInt8, stream: UInt32, payload: ByteBuffer) -> ByteBuffer {
        var frame = ByteBuffer()
        let length = UInt32(payload.readableBytes)
        frame.writeInteger(UInt8(truncatingIfNeeded: length >> 16))
        frame.writeInteger(UInt16(truncatingIfNeeded: length))
        frame.writeInteger(type)
        frame.writeInteger(flags)
        frame.writeInteger(stream)
        var payload = payload
        frame.writeBuffer(&payload)
        return frame
    }

    static func headers(stream: UInt32, path: String, encoder: inout HPACKEncoder) throws -> ByteBuffer {
        var block = HPACKHeaders()
        block.add(name: ":method", value: "GET")
        block.add(name: ":scheme", value: "https")
        block.add(name: ":authority", value: "localhost")
        block.add(name: ":path", value: path)
        var payload = ByteBuffer()
        try encoder.encode(headers: block, to: &payload)
        return frame(type: 0x1, flags: 0x1 | 0x4, stream: stream, payload: payload)  // END_STREAM | END_HEADERS
    }

    /// The frames in `bytes` (headers only).
    static func frames(_ bytes: ByteBuffer) -> [Frame] {
        var bytes = bytes
        var frames: [Frame] = []
        while bytes.readableBytes >= 9,
              let high = bytes.getInteger(at: bytes.readerIndex, as: UInt8.self),
              let low = bytes.getInteger(at: bytes.readerIndex + 1, as: UInt16.self) {
            let length = Int(high) << 16 | Int(low)
            guard bytes.readableBytes >= 9 + length,
                  let type = bytes.getInteger(at: bytes.readerIndex + 3, as: UInt8.self),
                  let flags = bytes.getInteger(at: bytes.readerIndex + 4, as: UInt8.self),
                  let stream = bytes.getInteger(at: bytes.readerIndex + 5, as: UInt32.self) else { break }
            frames.append(Frame(type: type, flags: flags, stream: stream & 0x7fff_ffff))
            bytes.moveReaderIndex(forwardBy: 9 + length)
        }
        return frames
    }

    static func connect(_ gateway: TestGateway, collector: Collector) async throws -> any Channel {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(gateway.pki.rootCA)
        tls.certificateChain = try NIOSSLCertificate.fromPEMFile(gateway.pki.clientCertificate).map { .certificate($0) }
        tls.privateKey = .file(gateway.pki.clientKey)
        tls.applicationProtocols = ["h2"]
        let context = try NIOSSLContext(configuration: tls)
        return try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: gateway.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: "localhost"))
                    try channel.pipeline.syncOperations.addHandler(collector)
                    return channel
                }
            }
    }

    /// The preface and an empty SETTINGS frame.
    static func preface() -> ByteBuffer {
        var out = ByteBuffer(string: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        var settings = frame(type: 0x4, flags: 0, stream: 0, payload: ByteBuffer())
        out.writeBuffer(&settings)
        return out
    }

    @Test func dataAfterAStreamsEndResetsOnlyThatStream() async throws {
        let gateway = try await TestGateway.start()
        let collector = Collector()
        let channel = try await Self.connect(gateway, collector: collector)
        var encoder = HPACKEncoder(allocator: ByteBufferAllocator())
        var out = Self.preface()
        // Stream 1 ends with its HEADERS; a DATA frame after that is a stream error (STREAM_CLOSED).
        var first = try Self.headers(stream: 1, path: "/echo/users/1", encoder: &encoder)
        out.writeBuffer(&first)
        var stray = Self.frame(type: 0x0, flags: 0, stream: 1, payload: ByteBuffer(string: "x"))
        out.writeBuffer(&stray)
        var second = try Self.headers(stream: 3, path: "/echo/users/2", encoder: &encoder)
        out.writeBuffer(&second)
        try await channel.writeAndFlush(out)

        // Stream 1 is reset, stream 3 is answered, and no GOAWAY comes.
        var seen: [Frame] = []
        for _ in 0..<100 {
            seen = Self.frames(collector.received.withLockedValue { $0 })
            if seen.contains(where: { $0.type == 0x1 && $0.stream == 3 }) || seen.contains(where: { $0.type == 0x7 }) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(seen.contains(Frame(type: 0x3, flags: 0, stream: 1)), "no RST_STREAM on stream 1: \(seen)")
        #expect(seen.contains(where: { $0.type == 0x1 && $0.stream == 3 }), "stream 3 not answered: \(seen)")
        #expect(!seen.contains(where: { $0.type == 0x7 }), "GOAWAY: the whole connection went down: \(seen)")
        #expect(channel.isActive)
        try await channel.close()
        try await gateway.stop()
    }

    /// A connection error still ends the connection: GOAWAY, then close.
    @Test func dataOnStreamZeroEndsTheConnection() async throws {
        let gateway = try await TestGateway.start()
        let collector = Collector()
        let channel = try await Self.connect(gateway, collector: collector)
        var out = Self.preface()
        var data = Self.frame(type: 0x0, flags: 0, stream: 0, payload: ByteBuffer(string: "x"))  // PROTOCOL_ERROR (§6.1)
        out.writeBuffer(&data)
        try await channel.writeAndFlush(out)
        #expect(try await RawHTTP2Client.closes(channel, within: .seconds(10)), "the connection stayed open")
        let seen = Self.frames(collector.received.withLockedValue { $0 })
        #expect(seen.contains(where: { $0.type == 0x7 }), "no GOAWAY: \(seen)")
        try await gateway.stop()
    }
}
