import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP2
import NIOHTTPTypes
import NIOHTTPTypesHTTP2
import NIOPosix
import NIOSSL

/// HTTP/2 spoken directly with NIO, for what common clients do not do: omit `:authority`, reset a
/// stream, send malformed header blocks, keep a connection open to watch it close.
enum RawHTTP2Client {
    typealias Multiplexer = NIOHTTP2Handler.AsyncStreamMultiplexer<any Channel>

    /// A TLS connection to the gateway (ALPN h2), with the demo client certificate unless
    /// `certificate` is false; `extra` handlers go after NIOHTTP2Handler.
    static func connect(
        _ gateway: TestGateway, certificate: Bool = true, configuration: NIOHTTP2Handler.Configuration = .init(),
        extra: [any ChannelHandler & Sendable] = []
    ) async throws -> (channel: any Channel, multiplexer: Multiplexer) {
        let context = try tlsContext(gateway, certificate: certificate)
        return try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: gateway.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        NIOSSLClientHandler(context: context, serverHostname: "localhost"))
                    let multiplexer = try channel.pipeline.syncOperations.configureAsyncHTTP2Pipeline(
                        mode: .client, configuration: configuration
                    ) { stream in stream.eventLoop.makeCompletedFuture { stream as any Channel } }
                    for handler in extra { try channel.pipeline.syncOperations.addHandler(handler) }
                    return (channel, multiplexer)
                }
            }
    }

    /// TLS to the gateway with ALPN h2, with the demo client certificate unless `certificate` is false.
    static func tlsContext(_ gateway: TestGateway, certificate: Bool = true) throws -> NIOSSLContext {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(gateway.pki.rootCA)
        if certificate {
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(gateway.pki.clientCertificate).map { .certificate($0) }
            tls.privateKey = .file(gateway.pki.clientKey)
        }
        tls.applicationProtocols = ["h2"]
        return try NIOSSLContext(configuration: tls)
    }

    /// One bodiless request on a new stream; the response's status and body.
    static func send(_ request: HTTPRequest, on multiplexer: Multiplexer) async throws -> (status: Int?, body: String) {
        let stream: NIOAsyncChannel<HTTPResponsePart, HTTPRequestPart> = try await multiplexer.openStream { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTPClientCodec())
                return try NIOAsyncChannel(wrappingChannelSynchronously: channel)
            }
        }
        return try await stream.executeThenClose { inbound, outbound in
            try await outbound.write(contentsOf: [.head(request), .end(nil)])
            var status: Int?
            var body = ByteBuffer()
            for try await part in inbound {
                switch part {
                case .head(let response): status = response.status.code
                case .body(var chunk): body.writeBuffer(&chunk)
                case .end: return (status, String(buffer: body))
                }
            }
            return (status, String(buffer: body))
        }
    }

    /// Whether the connection closes within `limit`.
    static func closes(_ channel: any Channel, within limit: Duration) async throws -> Bool {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask { try? await channel.closeFuture.get(); return true }
            group.addTask { try await Task.sleep(for: limit); return false }
            let first = try await group.next() ?? false
            group.cancelAll()
            return first
        }
    }
}
