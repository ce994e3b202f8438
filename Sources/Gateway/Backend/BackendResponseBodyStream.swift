import NIOCore

/// A backend response body as an async sequence of buffers, with back-pressure: the connection reads
/// from the socket only while the consumer (the client-side writer) keeps up.
struct BackendBodyStream: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    typealias Producer = NIOThrowingAsyncSequenceProducer<
        ByteBuffer, any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, BackendBodyDemand>

    let sequence: Producer

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: Producer.AsyncIterator

        mutating func next() async throws -> ByteBuffer? {
            try await base.next()
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: sequence.makeAsyncIterator()) }

    /// An empty body (HEAD, 204, 304 answers) without a producer.
    static func make(demand: BackendBodyDemand) -> (BackendBodyStream, Producer.Source) {
        let made = Producer.makeSequence(
            elementType: ByteBuffer.self, failureType: (any Error).self,
            backPressureStrategy: .init(lowWatermark: 2, highWatermark: 8), finishOnDeinit: false, delegate: demand)
        return (BackendBodyStream(sequence: made.sequence), made.source)
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
