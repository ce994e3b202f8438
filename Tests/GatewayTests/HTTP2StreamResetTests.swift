import Foundation
import Gateway
import HTTPTypes
import NIOConcurrencyHelpers
import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOHTTPTypes
import NIOHTTPTypesHTTP2
import NIOPosix
import NIOSSL
import Testing

/// A client that resets one stream mid-upload keeps its connection: the next stream on it is
/// served, the reset exchange no longer counts as in flight (a drain closes the connection at once
/// instead of waiting for it), and the connection is told to go away.
@Suite(.serialized)
struct HTTP2StreamResetTests {
    @Test func aResetStreamEndsOnlyItsOwnExchange() async throws {
        let gateway = try await TestGateway.start()
        let goAway = GoAwayRecorder()
        let (channel, multiplexer) = try await RawHTTP2Client.connect(gateway, extra: [goAway])

        // An upload the backend reads slowly, reset by the client after its first 64 KiB.
        let upload: NIOAsyncChannel<HTTP2Frame.FramePayload, HTTP2Frame.FramePayload> = try await multiplexer.openStream { stream in
            stream.eventLoop.makeCompletedFuture { try NIOAsyncChannel(wrappingChannelSynchronously: stream) }
        }
        var head = HPACKHeaders()
        head.add(name: ":method", value: "POST")
        head.add(name: ":scheme", value: "https")
        head.add(name: ":authority", value: "localhost")
        head.add(name: ":path", value: "/echo/upload")
        head.add(name: "x-echo-read-delay-ms", value: "200")
        // (Closing the stream channel before both sides ended sends RST_STREAM CANCEL; the client's
        // own stream reports that as an error, which is the point here.)
        try? await upload.executeThenClose { _, outbound in
            try await outbound.write(.headers(.init(headers: head)))
            try await outbound.write(.data(.init(data: .byteBuffer(ByteBuffer(repeating: 7, count: 65_536)))))
            try await Task.sleep(for: .milliseconds(300))
            try await upload.channel.close()
        }

        // The same connection serves the next stream.
        let next = try await RawHTTP2Client.send(
            HTTPRequest(method: .get, scheme: "https", authority: "localhost", path: "/echo/users/9"), on: multiplexer)
        #expect(next.status == 200)

        // Nothing is in flight on the connection any more: the drain sends GOAWAY and closes it now.
        gateway.server.shutdown()
        #expect(try await RawHTTP2Client.closes(channel, within: .seconds(20)), "the drain waited for the reset stream")
        #expect(goAway.seen.withLockedValue { $0 }, "no GOAWAY before the connection closed")
        try await gateway.stop()
    }
}

extension HTTP2StreamResetTests {
    /// An HTTP/2 connection that goes quiet is closed after the idle timeout (1 s here), one that
    /// keeps talking is not.
    @Test func aQuietConnectionIsClosedAfterTheIdleTimeout() async throws {
        let gateway = try await TestGateway.start { config, _, _ in config.limits.idleTimeout = 1 }
        let (channel, multiplexer) = try await RawHTTP2Client.connect(gateway, certificate: false)
        // Requests every 400 ms for 2.4 s: longer than the timeout, never quiet for one.
        for _ in 0..<6 {
            _ = try await RawHTTP2Client.send(
                HTTPRequest(method: .get, scheme: "https", authority: "localhost", path: "/public/ping"), on: multiplexer)
            try await Task.sleep(for: .milliseconds(400))
        }
        #expect(channel.isActive, "closed while in use")
        // Then silence: closed within 1¼ timeouts (10 s allows for a loaded machine).
        #expect(try await RawHTTP2Client.closes(channel, within: .seconds(10)), "a quiet HTTP/2 connection stayed open")
        try await gateway.stop()
    }
}

/// Notes a GOAWAY frame reaching the client's connection.
final class GoAwayRecorder: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTP2Frame
    let seen = NIOLockedValueBox(false)

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .goAway = unwrapInboundIn(data).payload { seen.withLockedValue { $0 = true } }
        context.fireChannelRead(data)
    }
}
