import Foundation
import NIOCore
import Policies

/// The first handler of a backend connection made through an HTTP forward proxy to an https backend
/// (`proxy` policy): once connected to the proxy it asks `CONNECT host:port` (with
/// `Proxy-Authorization` when the policy gave credentials), reads the proxy's answer head and, on a
/// 2xx, removes itself and lets `established` install the TLS client and the connection on the
/// tunnel. Any other answer, a malformed or oversized head, or bytes after it fail `failed` with the
/// reason (the credentials are never part of it).
final class BackendProxyTunnel: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    /// An answer head longer than this is refused.
    static let maximumHeadBytes = 16 * 1024

    private let target: String
    private let authorization: String?
    private let established: (ChannelHandlerContext) throws -> Void
    private let failed: (String) -> Void
    private var received: [UInt8] = []
    private var done = false

    init(host: String, port: Int, authorization: String?, established: @escaping (ChannelHandlerContext) throws -> Void,
         failed: @escaping (String) -> Void) {
        let bracketed = host.contains(":") ? "[\(host)]" : host
        self.target = "\(bracketed):\(port)"
        self.authorization = authorization
        self.established = established
        self.failed = failed
    }

    func channelActive(context: ChannelHandlerContext) {
        var request = "CONNECT \(target) HTTP/1.1\r\nHost: \(target)\r\n"
        if let authorization { request += "Proxy-Authorization: \(authorization)\r\n" }
        request += "\r\n"
        context.writeAndFlush(NIOAny(context.channel.allocator.buffer(string: request)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else { return }
        var buffer = unwrapInboundIn(data)
        if let bytes = buffer.readBytes(length: buffer.readableBytes) { received += bytes }
        guard let end = Self.headEnd(received) else {
            if received.count > Self.maximumHeadBytes { fail(context, "the proxy's answer to CONNECT is longer than \(Self.maximumHeadBytes) bytes") }
            return
        }
        guard end == received.count else {
            fail(context, "the proxy sent bytes after its answer to CONNECT before the TLS handshake")
            return
        }
        let statusLine = String(decoding: received.prefix { $0 != UInt8(ascii: "\r") }, as: UTF8.self)
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            fail(context, "the proxy's answer to CONNECT is not HTTP/1.x: '\(LogText.escape(String(statusLine.prefix(80))))'")
            return
        }
        guard (200...299).contains(status) else {
            let reason = status == 407 ? " (proxy authentication required: check the proxy policy's username and password)" : ""
            fail(context, "the proxy refused CONNECT \(target) with \(status)\(reason)")
            return
        }
        done = true
        do {
            try established(context)
            context.pipeline.syncOperations.removeHandler(self, promise: nil)
        } catch {
            fail(context, "the tunnel through the proxy could not be set up: \(error)")
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !done { fail(context, "the proxy closed the connection before answering CONNECT") }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !done { fail(context, "the connection to the proxy failed: \(error)") }
        context.fireErrorCaught(error)
    }

    private func fail(_ context: ChannelHandlerContext, _ reason: String) {
        guard !done else { return }
        done = true
        failed(reason)
        context.close(promise: nil)
    }

    /// The index just past the first CRLFCRLF, nil before it arrived.
    static func headEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 3..<bytes.count
        where bytes[index] == 0x0A && bytes[index - 1] == 0x0D && bytes[index - 2] == 0x0A && bytes[index - 3] == 0x0D {
            return index + 1
        }
        return nil
    }
}
