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
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(gateway.pki.rootCA)
        tls.certificateChain = try NIOSSLCertificate.fromPEMFile(gateway.pki.clientCertificate).map { .certificate($0) }
        tls.privateKey = .file(gateway.pki.clientKey)
        tls.applicationProtocols = ["h2"]
        let context = try NIOSSLContext(configuration: tls)
        let goAway = GoAwayRecorder()
        let connection = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: gateway.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        NIOSSLClientHandler(context: context, serverHostname: "localhost"))
                    let multiplexer = try channel.pipeline.syncOperations.configureAsyncHTTP2Pipeline(mode: .client) { stream in
                        stream.eventLoop.makeCompletedFuture { stream }
                    }
                    try channel.pipeline.syncOperations.addHandler(goAway)
                    return (channel, multiplexer)
                }
            }
        let (channel, multiplexer) = connection

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
        let next: NIOAsyncChannel<HTTPResponsePart, HTTPRequestPart> = try await multiplexer.openStream { stream in
            stream.eventLoop.makeCompletedFuture {
                try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTPClientCodec())
                return try NIOAsyncChannel(wrappingChannelSynchronously: stream)
            }
        }
        let status = try await next.executeThenClose { inbound, outbound in
            try await outbound.write(contentsOf: [
                .head(HTTPRequest(method: .get, scheme: "https", authority: "localhost", path: "/echo/users/9")), .end(nil),
            ])
            var status: Int?
            for try await part in inbound {
                if case .head(let response) = part { status = response.status.code }
            }
            return status
        }
        #expect(status == 200)

        // Nothing is in flight on the connection any more: the drain sends GOAWAY and closes it now.
        gateway.server.shutdown()
        let closed = try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask { try? await channel.closeFuture.get(); return true }
            group.addTask { try await Task.sleep(for: .seconds(20)); return false }
            let first = try await group.next() ?? false
            group.cancelAll()
            return first
        }
        #expect(closed, "the drain waited for the reset stream")
        #expect(goAway.seen.withLockedValue { $0 }, "no GOAWAY before the connection closed")
        try await gateway.stop()
    }
}

extension HTTP2StreamResetTests {
    /// An HTTP/2 connection that goes quiet is closed after the idle timeout (1 s here), one that
    /// keeps talking is not.
    @Test func aQuietConnectionIsClosedAfterTheIdleTimeout() async throws {
        let gateway = try await TestGateway.start { config, _, _ in config.limits.idleTimeout = 1 }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(gateway.pki.rootCA)
        tls.applicationProtocols = ["h2"]
        let context = try NIOSSLContext(configuration: tls)
        let (channel, multiplexer) = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: gateway.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        NIOSSLClientHandler(context: context, serverHostname: "localhost"))
                    let multiplexer = try channel.pipeline.syncOperations.configureAsyncHTTP2Pipeline(mode: .client) { stream in
                        stream.eventLoop.makeCompletedFuture { stream }
                    }
                    return (channel, multiplexer)
                }
            }
        // Requests every 400 ms for 2.4 s: longer than the timeout, never quiet for one.
        for _ in 0..<6 {
            let stream: NIOAsyncChannel<HTTPResponsePart, HTTPRequestPart> = try await multiplexer.openStream { stream in
                stream.eventLoop.makeCompletedFuture {
                    try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTPClientCodec())
                    return try NIOAsyncChannel(wrappingChannelSynchronously: stream)
                }
            }
            try await stream.executeThenClose { inbound, outbound in
                try await outbound.write(contentsOf: [
                    .head(HTTPRequest(method: .get, scheme: "https", authority: "localhost", path: "/public/ping")), .end(nil),
                ])
                for try await _ in inbound {}
            }
            try await Task.sleep(for: .milliseconds(400))
        }
        #expect(channel.isActive, "closed while in use")
        // Then silence: closed within 1¼ timeouts (allowing for a loaded machine).
        let closed = try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask { try? await channel.closeFuture.get(); return true }
            group.addTask { try await Task.sleep(for: .seconds(10)); return false }
            let first = try await group.next() ?? false
            group.cancelAll()
            return first
        }
        #expect(closed, "a quiet HTTP/2 connection stayed open")
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
