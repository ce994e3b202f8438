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

    enum State: Sendable {
        case unread
        case reading
        case finished
        case failed
    }

    private let reader: RequestPartReader?
    private let continueSender: (@Sendable () async throws -> Void)?
    private let state: NIOLockedValueBox<State>
    /// A chunk read ahead to learn whether an HTTP/2 request has a body at all.
    private let prefetched: NIOLockedValueBox<ByteBuffer?>
    /// Bytes the client declared (Content-Length), when it did.
    public let declaredLength: Int64?

    init(reader: RequestPartReader?, declaredLength: Int64?, prefetched: ByteBuffer?,
         continueSender: (@Sendable () async throws -> Void)?) {
        self.reader = reader
        self.declaredLength = declaredLength
        self.continueSender = continueSender
        self.prefetched = NIOLockedValueBox(prefetched)
        self.state = NIOLockedValueBox(reader == nil ? .finished : .unread)
    }

    /// A request whose stream already ended (HTTP/2 END_STREAM on the headers).
    static var empty: RequestBody { RequestBody(reader: nil, declaredLength: 0, prefetched: nil, continueSender: nil) }

    /// True once the body was read to its end (or there was none): the connection can take the next
    /// request.
    var isFinished: Bool { state.withLockedValue { $0 == .finished } }
    var wasStarted: Bool { state.withLockedValue { $0 != .unread } }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let body: RequestBody

        public mutating func next() async throws -> ByteBuffer? {
            try await body.nextChunk()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(body: self) }

    private func nextChunk() async throws -> ByteBuffer? {
        let current = state.withLockedValue { state -> State in
            let previous = state
            if state == .unread { state = .reading }
            return previous
        }
        switch current {
        case .finished: return nil
        case .failed: throw RequestBodyError.incomplete
        case .unread:
            if let continueSender { try await continueSender() }
        case .reading: break
        }
        guard let reader else { return nil }
        if let first = prefetched.withLockedValue({ value -> ByteBuffer? in defer { value = nil }; return value }) {
            return first
        }
        while true {
            switch try await reader.next() {
            case .body(let buffer):
                if buffer.readableBytes == 0 { continue }
                return buffer
            case .end:
                state.withLockedValue { $0 = .finished }
                return nil
            case .head, nil:
                state.withLockedValue { $0 = .failed }
                throw RequestBodyError.incomplete
            }
        }
    }

    /// Reads and discards what is left, up to `limit` bytes; false when more remained (the connection
    /// must then be closed rather than reused).
    func drain(limit: Int) async -> Bool {
        let current = state.withLockedValue { state -> State in
            let previous = state
            // A client that waits for 100-continue was never told to send: close instead of waiting.
            if state == .unread && continueSender == nil { state = .reading }
            return previous
        }
        switch current {
        case .finished: return true
        case .failed: return false
        case .unread where continueSender != nil: return false
        case .unread, .reading: break
        }
        var seen = 0
        do {
            while let chunk = try await nextChunk() {
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
}
