import HTTPTypes
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTPTypes

/// A request body streamed from the client, consumed at most once.
///
/// Reading it is what answers `Expect: 100-continue`: a request refused before its body is read never
/// makes the client send the body.
public final class RequestBody: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer

    enum Phase: Sendable {
        case unread
        case reading
        case finished
        case failed
    }

    /// Who may read, guarded by one lock. The inbound stream of a connection admits one reader at a
    /// time (a second concurrent `next()` traps in NIO), and two parties can want the body: the
    /// consumer (the backend client streaming it, or a policy buffering it) and the request loop,
    /// which drains what is left once the response is finished. A response can finish while the
    /// consumer is still suspended in a read (the backend answered before reading the whole upload,
    /// or timed out): then the loop must not read; it closes the connection instead.
    struct State: Sendable {
        var phase = Phase.unread
        /// A read of the underlying stream is under way.
        var busy = false
        /// The response is finished: the consumer's further reads fail; only `drain` reads.
        var abandoned = false
    }

    private let reader: (any RequestPartSource)?
    private let continueSender: (@Sendable () async throws -> Void)?
    private let state: NIOLockedValueBox<State>
    /// Bytes the client declared (Content-Length), when it did.
    public let declaredLength: Int64?

    init(reader: (any RequestPartSource)?, declaredLength: Int64?,
         continueSender: (@Sendable () async throws -> Void)?) {
        self.reader = reader
        self.declaredLength = declaredLength
        self.continueSender = continueSender
        self.state = NIOLockedValueBox(State(phase: reader == nil ? .finished : .unread))
    }

    /// A request whose stream already ended (HTTP/2 END_STREAM on the headers).
    static var empty: RequestBody { RequestBody(reader: nil, declaredLength: 0, continueSender: nil) }

    /// True once the body was read to its end (or there was none): the connection can take the next
    /// request.
    var isFinished: Bool { state.withLockedValue { $0.phase == .finished } }
    var wasStarted: Bool { state.withLockedValue { $0.phase != .unread } }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let body: RequestBody

        public mutating func next() async throws -> ByteBuffer? {
            try await body.nextChunk()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(body: self) }

    private func nextChunk() async throws -> ByteBuffer? {
        try await readChunk(drainer: false)
    }

    /// One chunk of the body. The consumer's reads fail once the body was abandoned (the response is
    /// finished) and while another read is under way: never two readers of one stream.
    private func readChunk(drainer: Bool) async throws -> ByteBuffer? {
        let previous = try state.withLockedValue { state -> Phase in
            if state.abandoned && !drainer { throw RequestBodyError.abandoned }
            if state.busy { throw RequestBodyError.concurrentRead }
            let previous = state.phase
            if previous == .unread { state.phase = .reading }
            if previous == .unread || previous == .reading { state.busy = true }
            return previous
        }
        switch previous {
        case .finished: return nil
        case .failed: throw RequestBodyError.incomplete
        case .unread, .reading: break
        }
        defer { state.withLockedValue { $0.busy = false } }
        if previous == .unread, let continueSender { try await continueSender() }
        guard let reader else { return nil }
        while true {
            switch try await reader.next() {
            case .body(let buffer):
                if buffer.readableBytes == 0 { continue }
                return buffer
            case .end:
                state.withLockedValue { $0.phase = .finished }
                return nil
            case .head, nil:
                state.withLockedValue { $0.phase = .failed }
                throw RequestBodyError.incomplete
            }
        }
    }

    /// Called once the response is finished: reads and discards what is left, up to `limit` bytes;
    /// false when the connection must be closed rather than reused — more remained, the client
    /// waits for `100 Continue` it was never sent, or the consumer is still suspended in a read (the
    /// backend answered before taking the whole body).
    func drain(limit: Int) async -> Bool {
        let start = state.withLockedValue { state -> Phase? in
            state.abandoned = true
            if state.busy { return nil }
            // A client that waits for 100-continue was never told to send: close instead of waiting.
            if state.phase == .unread && continueSender != nil { return nil }
            return state.phase
        }
        switch start {
        case nil, .failed?: return false
        case .finished?: return true
        case .unread?, .reading?: break
        }
        var seen = 0
        do {
            while let chunk = try await readChunk(drainer: true) {
                seen += chunk.readableBytes
                if seen > limit { return false }
            }
            return true
        } catch {
            return false
        }
    }
}

public enum RequestBodyError: Error, Sendable {
    /// The client closed the stream before the body ended.
    case incomplete
    /// The response was finished before the body was read: the request loop owns the stream now.
    case abandoned
    /// A second reader while a read is under way (never allowed: the stream has one reader).
    case concurrentRead
}
