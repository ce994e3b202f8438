import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A tiny loopback HTTP forward proxy for tests: `CONNECT host:port` opens a tunnel; an
/// absolute-form request (`GET http://host:port/path`) is relayed, head and all, to that origin.
/// It records each connection's first request line and `Proxy-Authorization`, and answers 407 when
/// the credentials are not the expected ones.
final class TestForwardProxy: Sendable {
    struct Seen: Sendable {
        let method: String
        let target: String
        let authorization: String?
    }

    private let channel: any Channel
    private let seenBox: NIOLockedValueBox<[Seen]>
    let port: Int
    var seen: [Seen] { seenBox.withLockedValue { $0 } }

    static func start(expecting authorization: String?) async throws -> TestForwardProxy {
        let seen = NIOLockedValueBox<[Seen]>([])
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Front(expected: authorization, seen: seen))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return TestForwardProxy(channel: channel, seen: seen, port: channel.localAddress?.port ?? 0)
    }

    private init(channel: any Channel, seen: NIOLockedValueBox<[Seen]>, port: Int) {
        self.channel = channel
        self.seenBox = seen
        self.port = port
    }

    func stop() async { try? await channel.close() }

    /// The client side: reads the first head, then relays bytes to the origin.
    private final class Front: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        let expected: String?
        let seen: NIOLockedValueBox<[Seen]>
        var buffered: [UInt8] = []
        var origin: (any Channel)?
        var connecting = false

        init(expected: String?, seen: NIOLockedValueBox<[Seen]>) {
            self.expected = expected
            self.seen = seen
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            if let origin {
                origin.writeAndFlush(buffer, promise: nil)
                return
            }
            buffered += buffer.readBytes(length: buffer.readableBytes) ?? []
            guard !connecting, let end = Self.headEnd(buffered) else { return }
            let head = String(decoding: buffered[..<end], as: UTF8.self)
            let lines = head.components(separatedBy: "\r\n")
            let parts = lines[0].split(separator: " ")
            guard parts.count == 3 else { context.close(promise: nil); return }
            let method = String(parts[0]), target = String(parts[1])
            let authorization = lines.dropFirst().first { $0.lowercased().hasPrefix("proxy-authorization:") }
                .map { String($0.dropFirst("proxy-authorization:".count)).trimmingCharacters(in: .whitespaces) }
            seen.withLockedValue { $0.append(Seen(method: method, target: target, authorization: authorization)) }
            let front = context.channel
            guard authorization == expected else {
                let answer = "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                front.writeAndFlush(front.allocator.buffer(string: answer)).whenComplete { _ in front.close(promise: nil) }
                return
            }
            let host: String, port: Int
            if method == "CONNECT" {
                let pieces = target.split(separator: ":")
                host = String(pieces.first ?? ""); port = Int(pieces.last ?? "") ?? 443
            } else {
                guard let url = URLComponents(string: target), let urlHost = url.host else { context.close(promise: nil); return }
                host = urlHost; port = url.port ?? 80
            }
            connecting = true
            let pending = method == "CONNECT" ? Array(buffered[end...]) : buffered
            buffered = []
            ClientBootstrap(group: context.eventLoop)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Back(front: front)) }
                }
                .connect(host: host, port: port)
                .whenComplete { result in
                    switch result {
                    case .failure:
                        front.writeAndFlush(front.allocator.buffer(string: "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n"))
                            .whenComplete { _ in front.close(promise: nil) }
                    case .success(let channel):
                        self.origin = channel
                        if method == "CONNECT" {
                            front.writeAndFlush(front.allocator.buffer(string: "HTTP/1.1 200 Connection established\r\n\r\n"), promise: nil)
                        }
                        let later = self.buffered
                        self.buffered = []
                        if !(pending + later).isEmpty { channel.writeAndFlush(channel.allocator.buffer(bytes: pending + later), promise: nil) }
                    }
                }
        }

        func channelInactive(context: ChannelHandlerContext) {
            origin?.close(promise: nil)
        }

        static func headEnd(_ bytes: [UInt8]) -> Int? {
            guard bytes.count >= 4 else { return nil }
            for index in 3..<bytes.count
            where bytes[index] == 0x0A && bytes[index - 1] == 0x0D && bytes[index - 2] == 0x0A && bytes[index - 3] == 0x0D {
                return index + 1
            }
            return nil
        }
    }

    /// The origin side: relays what the origin sends back to the client.
    private final class Back: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        let front: any Channel
        init(front: any Channel) { self.front = front }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            front.writeAndFlush(unwrapInboundIn(data), promise: nil)
        }
        func channelInactive(context: ChannelHandlerContext) { front.close(promise: nil) }
    }
}
