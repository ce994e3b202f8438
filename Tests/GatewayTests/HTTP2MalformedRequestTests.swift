import Foundation
import Gateway
import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix
import NIOSSL
import Testing

/// Request header blocks RFC 9113 (§8.2–8.3) calls malformed, sent by a client whose own checks are
/// off: each gets the gateway's own 400 naming the rule (the echo backend would have answered 200),
/// and the connection goes on serving. (The gateway checks blocks where it converts them, `HTTP2HeaderConversion`.)
@Suite(.serialized)
struct HTTP2MalformedRequestTests {
    typealias Stream = NIOAsyncChannel<HTTP2Frame.FramePayload, HTTP2Frame.FramePayload>

    static func block(_ fields: [(String, String)], path: String? = "/echo/users/1", method: String = "GET") -> HPACKHeaders {
        var block = HPACKHeaders()
        block.add(name: ":method", value: method)
        block.add(name: ":scheme", value: "https")
        block.add(name: ":authority", value: "localhost")
        if let path { block.add(name: ":path", value: path) }
        for (name, value) in fields { block.add(name: name, value: value) }
        return block
    }

    @Test func malformedHeaderBlocksGet400WithTheRule() async throws {
        let gateway = try await TestGateway.start()
        var configuration = NIOHTTP2Handler.Configuration()
        configuration.connection.headerBlockValidation = .disabled  // this client sends what it is told to
        let (_, multiplexer) = try await RawHTTP2Client.connect(gateway, configuration: configuration)

        var pseudoAfterRegular = HPACKHeaders()
        pseudoAfterRegular.add(name: ":method", value: "GET")
        pseudoAfterRegular.add(name: ":scheme", value: "https")
        pseudoAfterRegular.add(name: "x-first", value: "1")
        pseudoAfterRegular.add(name: ":path", value: "/echo/users/1")
        var repeatedMethod = Self.block([])
        repeatedMethod.add(name: ":method", value: "POST")
        var extendedConnect = Self.block([], method: "CONNECT")
        extendedConnect.add(name: ":protocol", value: "websocket")

        let cases: [(String, HPACKHeaders, String)] = [
            ("upper-case name", Self.block([("X-Upper", "1")]), "malformed header field name"),
            ("connection", Self.block([("connection", "keep-alive")]), "connection-specific header field"),
            ("transfer-encoding", Self.block([("transfer-encoding", "chunked")]), "connection-specific header field"),
            ("te other than trailers", Self.block([("te", "gzip")]), "connection-specific header field"),
            ("leading space", Self.block([("x-a", " padded")]), "malformed header field value"),
            ("NUL in a value", Self.block([("x-a", "a\u{0}b")]), "malformed header field value"),
            ("no :path", Self.block([], path: nil), "no :path pseudo-header field"),
            ("empty :path", Self.block([], path: ""), "no :path pseudo-header field"),
            ("space in :path", Self.block([], path: "/echo/a b"), "malformed :path"),
            ("pseudo after regular", pseudoAfterRegular, "pseudo-header field after a regular field"),
            ("repeated :method", repeatedMethod, "repeated :method pseudo-header field"),
            (":protocol", extendedConnect, "unknown pseudo-header field"),
        ]
        for (label, block, reason) in cases {
            let (status, body) = try await Self.exchange(block, on: multiplexer)
            #expect(status == "400", "\(label): \(status ?? "no status") \(body)")
            #expect(body == #"{"statusCode":400,"message":"malformed HTTP/2 request: \#(reason)"}"#, "\(label)")
        }
        // `te: trailers` is allowed, and the connection still serves.
        let (status, body) = try await Self.exchange(Self.block([("te", "trailers")]), on: multiplexer)
        #expect(status == "200", "\(body)")
        try await gateway.stop()
    }

    /// Sends one header block with END_STREAM; returns `:status` and the body.
    static func exchange(_ block: HPACKHeaders, on multiplexer: RawHTTP2Client.Multiplexer) async throws
        -> (String?, String) {
        let stream: Stream = try await multiplexer.openStream { channel in
            channel.eventLoop.makeCompletedFuture { try Stream(wrappingChannelSynchronously: channel) }
        }
        return try await stream.executeThenClose { inbound, outbound in
            try await outbound.write(.headers(.init(headers: block, endStream: true)))
            var status: String?
            var body = ByteBuffer()
            for try await payload in inbound {
                switch payload {
                case .headers(let headers):
                    if status == nil { status = headers.headers.first(name: ":status") }
                    if headers.endStream { return (status, String(buffer: body)) }
                case .data(let data):
                    if case .byteBuffer(var chunk) = data.data { body.writeBuffer(&chunk) }
                    if data.endStream { return (status, String(buffer: body)) }
                default:
                    continue
                }
            }
            return (status, String(buffer: body))
        }
    }
}
