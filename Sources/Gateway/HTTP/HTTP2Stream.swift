import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import NIOHPACK
import NIOHTTP2
import NIOHTTPTypes
import Policies

/// Serves the one request of an HTTP/2 stream, on the connection's event loop, for
/// `HTTP2ConnectionHandler` (no child channel): it reads and writes the stream's frame payloads
/// itself (`HTTP2HeaderConversion`), and a response ends with END_STREAM on its last HEADERS or DATA
/// frame rather than on an empty DATA frame of its own.
///
/// As on HTTP/1.1 (`HTTP1ConnectionHandler`): a bodiless request without a policy or a certificate
/// verdict to wait for is routed, forwarded through the loop's backend pool and answered with futures,
/// no task per stream; anything else runs `RequestHandler.handle` in a task on the loop's executor,
/// the body fed from here through `HTTP1BodyStream` — the stream's flow-control window is opened
/// only while the body's reader keeps up.
///
/// Whether a request without Content-Length has a body shows on its HEADERS frame (END_STREAM) or,
/// when that frame does not end the stream, in the DATA frame that follows.
final class HTTP2Stream: @unchecked Sendable {
    // @unchecked: every method runs on the connection's event loop.

    static let protocolName = "HTTP/2"

    let streamID: HTTP2StreamID
    /// The connection's handler; it drops this stream when the stream closes.
    private let connection: HTTP2ConnectionHandler
    private let environment: HTTP1ConnectionHandler.Environment
    /// What the client may still send on this stream.
    private var window: Int

    private enum Phase {
        /// Waiting for the head.
        case idle
        /// The head arrived without Content-Length: the next part says whether a body follows.
        case awaitingBodyOrEnd(HTTPRequest)
        /// Served (on the loop or by a task).
        case serving
        case done
    }

    private var phase = Phase.idle
    private var method = ""
    private var path = ""
    private var tracking: RequestTracking?
    private var parsedMethod: HTTPRequest.Method?
    private var requestEnded = false
    private var responseEnded = false
    private var reusable = true
    private var body: HTTP1BodyStream.Producer.Source?
    private var bodyPaused = false
    /// No more frames from this side (reset, or the stream closed).
    private var closed = false
    /// The gateway reset this stream (its StreamClosedEvent is not the client cancelling it).
    private(set) var resetByGateway = false
    /// The stream is gone (StreamClosedEvent or the connection ended).
    private var gone = false
    private var finished = false
    /// Outbound parts held back by one step so that END_STREAM rides on the last frame (`write`).
    private var heldHead: (block: HPACKHeaders, promise: EventLoopPromise<Void>?)?
    private var heldData: (buffer: ByteBuffer, promise: EventLoopPromise<Void>?)?

    init(streamID: HTTP2StreamID, connection: HTTP2ConnectionHandler, environment: HTTP1ConnectionHandler.Environment,
         initialWindow: Int) {
        self.streamID = streamID
        self.connection = connection
        self.environment = environment
        self.window = initialWindow
    }

    // MARK: Inbound

    /// A frame of this stream, from the connection's handler (`flowControlledLength`: a DATA
    /// frame's bytes and padding, which the client's window for this stream lost).
    func receive(_ payload: HTTP2Frame.FramePayload, flowControlledLength: Int = 0) {
        window -= flowControlledLength
        guard !closed else { return }
        switch payload {
        case .headers(let headers):
            guard case .idle = phase else {
                // A HEADERS frame after the head carries trailers: they end the request (not forwarded),
                // unless they are malformed, which resets the stream.
                do {
                    try HTTP2HeaderConversion.checkTrailers(headers.headers)
                } catch {
                    environment.logger.debug("HTTP/2 malformed trailers", metadata: ["error": "\(error)"])
                    body?.finish(RequestBodyError.incomplete)
                    body = nil
                    reusable = false
                    close()
                    return
                }
                receive(.end(nil))
                return
            }
            let head: HTTPRequest
            do {
                head = try HTTP2HeaderConversion.request(headers.headers)
            } catch {
                refuseMalformed(error, endStream: headers.endStream)
                return
            }
            receive(.head(head))
            if headers.endStream { receive(.end(nil)) }
        case .data(let frame):
            if case .byteBuffer(let buffer) = frame.data, buffer.readableBytes > 0 { receive(.body(buffer)) }
            if frame.endStream { receive(.end(nil)) }
            openWindowIfReading()
        default:
            break
        }
    }

    /// Tops the stream's window up while the body's reader keeps up (and the client may still send).
    private func openWindowIfReading() {
        let target = HTTP2ConnectionHandler.streamWindowTarget
        guard !bodyPaused, !requestEnded, !closed, window < target / 2 else { return }
        let increment = target - window
        window += increment
        connection.openStreamWindow(streamID, by: increment)
    }

    /// A request whose header block HTTPTypes cannot represent: 400 with the reason. Any body the
    /// client still sends is read and dropped; the stream closes when both sides have ended.
    private func refuseMalformed(_ error: any Error, endStream: Bool) {
        environment.tracked.requestStarted()
        tracking = RequestTracking(jsonAccessLog: environment.requestHandler.requestMetrics.jsonAccessLog)
        phase = .serving
        requestEnded = endStream
        answerNow(GatewayError(status: .badRequest, message: "malformed HTTP/2 request: \(error)"))
    }

    private func receive(_ part: HTTPRequestPart) {
        guard !closed else { return }
        switch (part, phase) {
        case (.head(let head), .idle):
            environment.tracked.requestStarted()
            tracking = RequestTracking(jsonAccessLog: environment.requestHandler.requestMetrics.jsonAccessLog)
            parsedMethod = head.method
            method = head.method.rawValue
            path = head.path ?? ""
            let declared = head.headerFields[.contentLength].flatMap { Int64($0) }
            let expectsContinue = head.headerFields[.expect].map { $0.caseInsensitiveEquals("100-continue") } ?? false
            if expectsContinue || (declared ?? 0) != 0 {
                phase = .serving
                startTask(head, hasBody: true, declaredLength: declared, expectsContinue: expectsContinue)
            } else {
                phase = .awaitingBodyOrEnd(head)
            }
        case (.end, .awaitingBodyOrEnd(let head)):
            phase = .serving
            requestEnded = true
            serveBodiless(head)
        case (.body(let buffer), .awaitingBodyOrEnd(let head)):
            phase = .serving
            startTask(head, hasBody: true, declaredLength: nil, expectsContinue: false)
            feed(.body(buffer))
        case (.body(let buffer), .serving):
            feed(.body(buffer))
        case (.end, .serving):
            requestEnded = true
            bodyPaused = false
            if let body {
                _ = body.yield(.end(nil))
                body.finish()
                self.body = nil
            }
            finishIfDone()
        default:
            // A second head, or parts after the end: the stream is broken.
            close()
        }
    }

    private func feed(_ part: HTTPRequestPart) {
        if case .body(let buffer) = part { tracking?.bytesIn &+= buffer.readableBytes }  // Operations: bytes in
        guard let body else { return }
        switch body.yield(part) {
        case .stopProducing: bodyPaused = true
        case .produceMore: break
        case .dropped: self.body = nil
        }
    }

    /// The stream closed (both sides ended, a reset either way, or the connection ended).
    func streamClosed(reason: NIOHTTP2.HTTP2ErrorCode?) {
        guard !gone else { return }
        gone = true
        closed = true
        failHeld()
        body?.finish(RequestBodyError.incomplete)
        body = nil
        if case .idle = phase {} else if !finished {
            // The stream ended (reset, connection gone) before its exchange did: it is no longer in flight.
            finished = true
            _ = environment.tracked.requestFinished(draining: environment.registry.isDraining)
        }
    }

    /// A frame this stream wrote was refused by the HTTP/2 state machine.
    func reset() {
        body?.finish(RequestBodyError.incomplete)
        body = nil
        close()
    }

    private func bodyWantsMore() {
        bodyPaused = false
        openWindowIfReading()
    }

    /// The task path's parts become frames here (Operations: bytes out). The last head or body part
    /// is held until the next part or flush, so that `.end` turns it into the stream's last frame.
    func write(_ part: HTTPResponsePart, promise: EventLoopPromise<Void>?) {
        guard !closed else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        switch part {
        case .head(let head):
            writeHeld()
            let block = HTTP2HeaderConversion.block(head)
            if head.status.kind == .informational {
                connection.write(streamID, .headers(.init(headers: block)), promise: promise)
            } else {
                heldHead = (block, promise)
            }
        case .body(let buffer):
            tracking?.bytesOut &+= buffer.readableBytes
            writeHeld()
            heldData = (buffer, promise)
        case .end(let trailers):
            if let trailers, !trailers.isEmpty {
                writeHeld()
                let block = HTTP2HeaderConversion.block(trailers)
                connection.write(streamID, .headers(.init(headers: block, endStream: true)), promise: promise)
            } else if let (buffer, heldPromise) = heldData {
                // (A held body was written after any held head: `heldHead` is nil here.)
                heldData = nil
                connection.write(streamID, .data(.init(data: .byteBuffer(buffer), endStream: true)),
                              promise: Self.combine(heldPromise, promise))
            } else if let (block, heldPromise) = heldHead {
                heldHead = nil
                connection.write(streamID, .headers(.init(headers: block, endStream: true)),
                              promise: Self.combine(heldPromise, promise))
            } else {
                let empty = connection.allocator.buffer(capacity: 0)
                connection.write(streamID, .data(.init(data: .byteBuffer(empty), endStream: true)), promise: promise)
            }
        }
    }

    func flush() {
        writeHeld()
        connection.flush()
    }

    private func writeHeld() {
        if let (block, promise) = heldHead {
            heldHead = nil
            connection.write(streamID, .headers(.init(headers: block)), promise: promise)
        }
        if let (buffer, promise) = heldData {
            heldData = nil
            connection.write(streamID, .data(.init(data: .byteBuffer(buffer))), promise: promise)
        }
    }

    private static func combine(_ first: EventLoopPromise<Void>?, _ second: EventLoopPromise<Void>?) -> EventLoopPromise<Void>? {
        guard let first else { return second }
        if let second { first.futureResult.cascade(to: second) }
        return first
    }

    /// Held parts of a stream that closed before they could be written.
    private func failHeld() {
        heldHead?.promise?.fail(ChannelError.ioOnClosedChannel)
        heldData?.promise?.fail(ChannelError.ioOnClosedChannel)
        heldHead = nil
        heldData = nil
    }

    // MARK: Serving

    private func serveBodiless(_ head: HTTPRequest) {
        guard var tracking else { return }
        let decision = environment.requestHandler.serveOnLoop(head, connection: environment.info,
                                                              protocolName: Self.protocolName, tracking: &tracking)
        self.tracking = tracking
        switch decision {
        case .now(let outcome):
            deliver(outcome)
        case .later(let answer, let completion):
            answer.whenComplete { result in self.deliver(completion.outcome(result)) }
        case .waits:
            startTask(head, hasBody: false, declaredLength: 0, expectsContinue: false)
        }
    }

    private func answerNow(_ error: GatewayError) {
        tracking?.record?.noteReason(error.message)
        let (head, body) = error.response(allocator: connection.allocator, activityId: tracking?.record?.requestId)
        writeWhole(head, body: body)
        responseDone(status: error.status.code)
    }

    /// A whole answer: HEADERS, and DATA when there is a body, the last of them with END_STREAM.
    private func writeWhole(_ head: HTTPResponse, body: ByteBuffer?) {
        guard !closed else { return }
        let block = HTTP2HeaderConversion.block(head)
        if let body, body.readableBytes > 0 {
            tracking?.bytesOut &+= body.readableBytes  // Operations: bytes out
            connection.write(streamID, .headers(.init(headers: block)), promise: nil)
            connection.write(streamID, .data(.init(data: .byteBuffer(body), endStream: true)), promise: nil)
        } else {
            connection.write(streamID, .headers(.init(headers: block, endStream: true)), promise: nil)
        }
        connection.flush()
    }

    private func deliver(_ outcome: LoopOutcome) {
        switch outcome {
        case .error(let error):
            answerNow(error)
        case .backend(let answer):
            relay(answer)
        case .apimStatus:
            var fields = HTTPFields()
            fields[.contentLength] = "0"
            fields[.cacheControl] = "no-store"
            writeWhole(HTTPResponse(status: .ok, headerFields: fields), body: nil)
            responseDone(status: 200)
        case .policy(let result):
            PolicyRunner.noteReason(result, api: tracking?.outcome.route?.api ?? "", metrics: environment.requestHandler.forwarder.metrics,
                                    record: tracking?.record)
            guard let (head, body) = PolicyRunner.wholeResponse(result) else {
                finishInTask { result }
                return
            }
            writeWhole(head, body: body)
            responseDone(status: result.status)
        case .finishInTask(let operation):
            finishInTask(operation)
        }
    }

    /// Outbound / on-error (or a streamed policy body) in a task; its result is written from there.
    private func finishInTask(_ operation: @escaping @Sendable () async -> PolicyResult) {
        guard !closed, let eventLoop = connection.eventLoop else { return }
        let writer = ResponseWriter(http2: HTTP2StreamSink(stream: self, eventLoop: eventLoop))
        let record = tracking?.record
        let api = tracking?.outcome.route?.api ?? ""
        let metrics = environment.requestHandler.forwarder.metrics
        ServedInTask.start(on: environment.executor) {
            let status = await ServedInTask.finishPolicy(operation, writer: writer, api: api, metrics: metrics, record: record)
            eventLoop.execute { self.taskFinished(status: status, reusable: status != nil) }
        }
    }

    private func relay(_ answer: BackendAnswer) {
        guard !closed, let eventLoop = connection.eventLoop else { return }
        let status = Int(answer.head.status.code)
        let fields = BackendForwarder.responseFields(answer.head.headers.lazy.map { ($0.name, $0.value) })
        let head = HTTPResponse(status: .init(code: status, reasonPhrase: answer.head.status.reasonPhrase), headerFields: fields)
        if let complete = answer.body.completeBody {
            writeWhole(head, body: complete)
            responseDone(status: status)
            return
        }
        let writer = ResponseWriter(http2: HTTP2StreamSink(stream: self, eventLoop: eventLoop))
        let length = answer.head.headers.first(name: "content-length").flatMap { Int($0) }
        let logger = environment.logger
        ServedInTask.start(on: environment.executor) {
            let written = await ServedInTask.relay(head, body: answer.body, declaredLength: length, writer: writer, logger: logger)
            eventLoop.execute { self.taskFinished(status: written, reusable: written != nil) }
        }
    }

    private func startTask(_ request: HTTPRequest, hasBody: Bool, declaredLength: Int64?, expectsContinue: Bool) {
        guard let eventLoop = connection.eventLoop else { return }
        let writer = ResponseWriter(http2: HTTP2StreamSink(stream: self, eventLoop: eventLoop))
        let requestBody: RequestBody
        if hasBody {
            let (stream, source) = HTTP1BodyStream.make(
                demand: HTTP1BodyDemand(eventLoop: eventLoop, wantsMore: { self.bodyWantsMore() }))
            body = source
            var continueSender: (@Sendable () async throws -> Void)?
            if expectsContinue { continueSender = { try await writer.writeContinue() } }
            requestBody = RequestBody(reader: stream, declaredLength: declaredLength, continueSender: continueSender)
        } else {
            requestBody = RequestBody.empty
        }
        let gatewayRequest = GatewayRequest(head: request, body: requestBody, connection: environment.info,
                                            protocolName: Self.protocolName)
        let requestHandler = environment.requestHandler
        let record = tracking?.record
        ServedInTask.start(on: environment.executor) {
            // An answer cut short leaves the client unable to find the next response: not reusable.
            let (status, reusable, route) = await ServedInTask.serve(gatewayRequest, handler: requestHandler, writer: writer,
                                                                     record: record)
            eventLoop.execute { self.taskFinished(status: status, reusable: reusable, route: route) }
        }
    }

    private func taskFinished(status: Int?, reusable: Bool, route: RouteMetrics? = nil) {
        if let route { tracking?.outcome.route = route }
        self.reusable = self.reusable && reusable
        responseDone(status: status)
        if !self.reusable { close() }
    }

    private func responseDone(status: Int?) {
        responseEnded = true
        if let tracking {
            environment.requestHandler.requestEnded(
                method: parsedMethod, methodText: method, path: path, connection: environment.info,
                protocolName: Self.protocolName, tracking: tracking, status: status)
        }
        finishIfDone()
    }

    /// The exchange is over: the stream closes by itself (both sides ended); when draining, the
    /// connection's last stream closes the connection.
    private func finishIfDone() {
        guard requestEnded || !reusable, responseEnded, !finished else { return }
        finished = true
        phase = .done
        if environment.tracked.requestFinished(draining: environment.registry.isDraining) {
            environment.tracked.channel.close(promise: nil)
        }
    }

    /// Resets the stream (RST_STREAM CANCEL); its StreamClosedEvent ends it.
    private func close() {
        guard !closed else { return }
        closed = true
        resetByGateway = true
        failHeld()
        connection.write(streamID, .rstStream(.cancel), promise: nil)
        connection.flush()
    }
}

/// The response side of an HTTP/2 stream served by a task: parts are written on the loop, and
/// each call waits until its last part has left for the socket — `NIOHTTP2Handler` completes a
/// write once the client's flow-control windows let the frame out, so a slow reader slows the
/// writer (back-pressure from client to backend).
struct HTTP2StreamSink: Sendable {
    let stream: HTTP2Stream
    let eventLoop: any EventLoop

    func write(_ parts: [HTTPResponsePart]) async throws {
        guard !parts.isEmpty else { return }
        let promise = eventLoop.makePromise(of: Void.self)
        let stream = self.stream
        let body: @Sendable () -> Void = {
            for (index, part) in parts.enumerated() {
                stream.write(part, promise: index == parts.count - 1 ? promise : nil)
            }
            stream.flush()
        }
        if eventLoop.inEventLoop { body() } else { eventLoop.execute(body) }
        try await promise.futureResult.get()
    }
}
