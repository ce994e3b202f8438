import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// The body of a request that the HTTP/1.1 connection handler (or HTTP/2 stream handler) hands to a task (policies, a
/// certificate check that must wait, any request with a body): the handler yields the parts it reads,
/// on the event loop; the task reads them through `RequestBody`. Back-pressure both ways: when the
/// reader falls behind, the producer says so and the handler stops reading from the socket; when it
/// asks for more, the handler reads again.
final class HTTP1BodyStream: RequestPartSource, @unchecked Sendable {
    // @unchecked: the iterator is used by one reader at a time (`RequestBody` enforces it).
    typealias Producer = NIOThrowingAsyncSequenceProducer<
        HTTPRequestPart, any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, HTTP1BodyDemand>

    private var iterator: Producer.AsyncIterator

    private init(_ sequence: Producer) {
        iterator = sequence.makeAsyncIterator()
    }

    /// A stream and the source the connection handler feeds.
    static func make(demand: HTTP1BodyDemand) -> (HTTP1BodyStream, Producer.Source) {
        let made = Producer.makeSequence(
            elementType: HTTPRequestPart.self, failureType: (any Error).self,
            backPressureStrategy: .init(lowWatermark: 2, highWatermark: 8), finishOnDeinit: false, delegate: demand)
        return (HTTP1BodyStream(made.sequence), made.source)
    }

    func next() async throws -> HTTPRequestPart? {
        try await iterator.next()
    }
}

/// Tells the connection (or stream) handler, on its event loop, that the body's reader wants more.
struct HTTP1BodyDemand: NIOAsyncSequenceProducerDelegate {
    let eventLoop: any EventLoop
    /// Runs on the event loop.
    let wantsMore: @Sendable () -> Void

    func produceMore() {
        eventLoop.execute(wantsMore)
    }

    func didTerminate() {
        eventLoop.execute(wantsMore)
    }
}
