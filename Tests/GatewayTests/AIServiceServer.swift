import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A loopback HTTP/1.1 server playing the AI services the AI-gateway policies talk to (an Azure
/// OpenAI chat completions backend, an embeddings endpoint, Azure AI Content Safety): it reads each
/// request whole (head and `Content-Length` body), records it, and answers with what `respond`
/// returns — the raw response in pieces, written one after the other with a pause between them (a
/// streamed answer arrives as several reads), then closes the connection.
final class AIServiceServer: Sendable {
    struct Request: Sendable {
        let method: String
        let target: String
        let head: String
        let body: String

        func header(_ name: String) -> String? {
            for line in head.split(separator: "\r\n").dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                if line[..<colon].lowercased() == name.lowercased() { return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces) }
            }
            return nil
        }
    }

    typealias Responder = @Sendable (Request) -> [String]

    private let channel: any Channel
    private let recorded: NIOLockedValueBox<[Request]>
    let port: Int

    var baseURL: String { "http://127.0.0.1:\(port)" }
    var requests: [Request] { recorded.withLockedValue { $0 } }

    /// A whole HTTP/1.1 answer with `Content-Length`.
    static func response(_ body: String, status: Int = 200, contentType: String = "application/json") -> [String] {
        ["HTTP/1.1 \(status) X\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"]
    }

    /// A chunked `text/event-stream` answer, one chunk per event (each written apart).
    static func eventStream(_ events: [String]) -> [String] {
        var pieces = ["HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"]
        for event in events { pieces.append(String(event.utf8.count, radix: 16) + "\r\n" + event + "\r\n") }
        pieces.append("0\r\n\r\n")
        return pieces
    }

    static func start(_ respond: @escaping Responder) async throws -> AIServiceServer {
        let recorded = NIOLockedValueBox<[Request]>([])
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Handler(respond: respond, recorded: recorded)) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return AIServiceServer(channel: channel, recorded: recorded, port: channel.localAddress?.port ?? 0)
    }

    private init(channel: any Channel, recorded: NIOLockedValueBox<[Request]>, port: Int) {
        self.channel = channel
        self.recorded = recorded
        self.port = port
    }

    func stop() async { try? await channel.close() }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let respond: Responder
        let recorded: NIOLockedValueBox<[Request]>
        var received: [UInt8] = []
        var answered = false

        init(respond: @escaping Responder, recorded: NIOLockedValueBox<[Request]>) {
            self.respond = respond
            self.recorded = recorded
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard !answered else { return }
            received += unwrapInboundIn(data).readableBytesView
            guard let end = received.firstRange(of: Array("\r\n\r\n".utf8)) else { return }
            let head = String(decoding: received[..<end.lowerBound], as: UTF8.self)
            let request = Request(method: "", target: "", head: head, body: "")
            let length = request.header("Content-Length").flatMap(Int.init) ?? 0
            guard received.count - end.upperBound >= length else { return }
            answered = true
            let parts = head.split(separator: " ", maxSplits: 2)
            let complete = Request(method: parts.first.map(String.init) ?? "", target: parts.count > 1 ? String(parts[1]) : "/", head: head,
                                   body: String(decoding: received[end.upperBound..<(end.upperBound + length)], as: UTF8.self))
            recorded.withLockedValue { $0.append(complete) }
            write(respond(complete)[...], context: context)
        }

        private func write(_ pieces: ArraySlice<String>, context: ChannelHandlerContext) {
            guard let first = pieces.first else {
                context.close(promise: nil)
                return
            }
            let rest = pieces.dropFirst()
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: first))).whenComplete { _ in
                context.eventLoop.scheduleTask(in: .milliseconds(rest.isEmpty ? 0 : 30)) {
                    let (handler, context) = loopBound.value
                    handler.write(rest, context: context)
                }
            }
        }
    }
}
