import Foundation
import Gateway
import HTTPTypes
import NIOCore
import NIOHTTP2
import NIOHTTPTypes
import NIOHTTPTypesHTTP2
import NIOPosix
import NIOSSL
import Testing

/// RFC 9113 lets an HTTP/2 request omit `:authority`; common clients always send it, so this test
/// speaks HTTP/2 directly: several streams on one connection, each carrying the client certificate.
@Suite(.serialized)
struct HTTP2WithoutAuthorityTests {
    typealias Stream = NIOAsyncChannel<HTTPResponsePart, HTTPRequestPart>

    @Test func requestsWithoutAuthorityAreServedAndShareTheConnectionCertificate() async throws {
        let gateway = try await TestGateway.start()
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(gateway.pki.rootCA)
        tls.certificateChain = try NIOSSLCertificate.fromPEMFile(gateway.pki.clientCertificate).map { .certificate($0) }
        tls.privateKey = .file(gateway.pki.clientKey)
        tls.applicationProtocols = ["h2"]
        let context = try NIOSSLContext(configuration: tls)

        let multiplexer = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: gateway.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        NIOSSLClientHandler(context: context, serverHostname: "localhost"))
                    return try channel.pipeline.syncOperations.configureAsyncHTTP2Pipeline(mode: .client) { stream in
                        stream.eventLoop.makeCompletedFuture { stream }
                    }
                }
            }

        for index in 0..<3 {
            let stream: Stream = try await multiplexer.openStream { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTPClientCodec())
                    return try Stream(wrappingChannelSynchronously: channel)
                }
            }
            let (status, body) = try await stream.executeThenClose { inbound, outbound in
                let request = HTTPRequest(method: .get, scheme: "https", authority: nil, path: "/echo/users/\(index)")
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
            #expect(status == 200, "stream \(index): \(body)")
            #expect(body.contains("\"path\":\"/users/\(index)\""))
        }
        try await gateway.stop()
    }
}
