import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// The one reader of a stream's (HTTP/2) or connection's (HTTP/1.1) inbound request parts.
///
/// The request loop reads heads from it and the request body reads body parts from it, never both at
/// once: the loop waits until a request is finished before reading the next head. That discipline is
/// what makes the unchecked `Sendable` safe, and it keeps NIO's back-pressure intact end to end — body
/// bytes are read from the socket only as fast as the backend takes them.
final class RequestPartReader: @unchecked Sendable {
    private var iterator: NIOAsyncChannelInboundStream<HTTPRequestPart>.AsyncIterator

    init(_ stream: NIOAsyncChannelInboundStream<HTTPRequestPart>) {
        self.iterator = stream.makeAsyncIterator()
    }

    func next() async throws -> HTTPRequestPart? {
        try await iterator.next()
    }
}
