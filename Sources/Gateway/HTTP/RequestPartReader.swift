import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Where a request body's parts come from: an HTTP/2 stream's inbound stream, or the HTTP/1.1
/// connection handler feeding a request served by a task. One reader at a time (`RequestBody`
/// enforces it).
protocol RequestPartSource: Sendable {
    func next() async throws -> HTTPRequestPart?
}

/// The one reader of a stream's (HTTP/2) inbound request parts.
///
/// The stream's task reads the head from it and the request body reads body parts from it, never both
/// at once. That discipline is what makes the unchecked `Sendable` safe, and it keeps NIO's
/// back-pressure intact end to end — body bytes are read from the socket only as fast as the backend
/// takes them.
final class RequestPartReader: RequestPartSource, @unchecked Sendable {
    private var iterator: NIOAsyncChannelInboundStream<HTTPRequestPart>.AsyncIterator

    init(_ stream: NIOAsyncChannelInboundStream<HTTPRequestPart>) {
        self.iterator = stream.makeAsyncIterator()
    }

    func next() async throws -> HTTPRequestPart? {
        try await iterator.next()
    }
}
