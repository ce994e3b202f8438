import NIOCore

/// A backend response body as an async sequence of buffers. A body that arrived complete with its
/// head (the common small answer) is handed over whole, without a producer or any suspension;
/// otherwise it streams with back-pressure: the connection reads from the socket only while the
/// consumer (the client-side writer) keeps up.
struct BackendBodyStream: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    typealias Producer = NIOThrowingAsyncSequenceProducer<
        ByteBuffer, any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, BackendBodyDemand>

    private enum Storage: Sendable {
        case whole(ByteBuffer?)
        case streaming(Producer)
    }

    private let storage: Storage

    /// A body already complete (nil: empty).
    static func whole(_ buffer: ByteBuffer?) -> BackendBodyStream {
        BackendBodyStream(storage: .whole(buffer.flatMap { $0.readableBytes > 0 ? $0 : nil }))
    }

    /// The whole body when it arrived with the head (`.some(nil)`: empty); nil when it streams.
    var completeBody: ByteBuffer?? {
        if case .whole(let buffer) = storage { return .some(buffer) }
        return nil
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        fileprivate enum State {
            case whole(ByteBuffer?)
            case streaming(Producer.AsyncIterator)
        }

        fileprivate var state: State

        mutating func next() async throws -> ByteBuffer? {
            switch state {
            case .whole(let buffer):
                state = .whole(nil)
                return buffer
            case .streaming(var base):
                let next = try await base.next()
                state = .streaming(base)
                return next
            }
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        switch storage {
        case .whole(let buffer): return AsyncIterator(state: .whole(buffer))
        case .streaming(let producer): return AsyncIterator(state: .streaming(producer.makeAsyncIterator()))
        }
    }

    /// A streaming body and the source the connection feeds.
    static func make(demand: BackendBodyDemand) -> (BackendBodyStream, Producer.Source) {
        let made = Producer.makeSequence(
            elementType: ByteBuffer.self, failureType: (any Error).self,
            backPressureStrategy: .init(lowWatermark: 2, highWatermark: 8), finishOnDeinit: false, delegate: demand)
        return (BackendBodyStream(storage: .streaming(made.sequence)), made.source)
    }
}

/// Tells the connection (on its event loop) when the consumer wants more, or has gone away.
struct BackendBodyDemand: NIOAsyncSequenceProducerDelegate {
    let connection: BackendConnection
    let eventLoop: any EventLoop

    func produceMore() {
        let connection = self.connection
        eventLoop.execute { connection.consumerWantsMore() }
    }

    func didTerminate() {
        let connection = self.connection
        eventLoop.execute { connection.consumerTerminated() }
    }
}

extension BackendBodyStream {
    /// The whole body, for the gateway's own fetches (CRLs, OCSP, key documents, the CLI's client):
    /// `tooLarge()` is thrown as soon as more than `limit` bytes arrived.
    func collect(upTo limit: Int, tooLarge: () -> any Error) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        for try await chunk in self {
            guard bytes.count + chunk.readableBytes <= limit else { throw tooLarge() }
            bytes.append(contentsOf: chunk.readableBytesView)
        }
        return bytes
    }
}
