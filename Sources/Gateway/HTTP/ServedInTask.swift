import HTTPTypes
import Logging
import NIOCore
import Policies

/// What the HTTP/1.1 connection handler and the HTTP/2 stream handler hand to a task, shared: each
/// returns what the handler needs when it takes the request back on its event loop.
enum ServedInTask {
    /// Runs `operation` on the connection's event-loop executor (or the global pool without one).
    static func start(on executor: EventLoopTaskExecutor?, _ operation: @escaping @Sendable () async -> Void) {
        if let executor {
            Task(executorPreference: executor, operation: operation)
        } else {
            Task(operation: operation)
        }
    }

    /// The whole request through `RequestHandler.handle`, then what is left of its body drained (up
    /// to 1 MiB). `reusable` is false when the answer was cut short or the body could not be drained.
    static func serve(_ request: GatewayRequest, handler: RequestHandler, writer: ResponseWriter,
                      record: AccessLogRecord?) async -> (status: Int?, reusable: Bool, route: RouteMetrics?) {
        var outcome = RequestOutcome()
        let status: Int?
        if let record {
            // The JSON access log's record, for the places that note a reason or backend time.
            status = await AccessLogRecord.$current.withValue(record) {
                await handler.handle(request, writer: writer, outcome: &outcome)
            }
        } else {
            status = await handler.handle(request, writer: writer, outcome: &outcome)
        }
        let reusable = status != nil ? await request.body.drain(limit: 1 << 20) : false
        return (status, reusable, outcome.route)
    }

    /// A backend answer whose body is still arriving, relayed with back-pressure; a body that fails
    /// before anything was written becomes a 502.
    static func relay(_ head: HTTPResponse, body: BackendBodyStream, declaredLength: Int?, writer: ResponseWriter,
                      logger: Logger) async -> Int? {
        do {
            try await writer.relay(head, body: body, declaredLength: declaredLength)
            return head.status.code
        } catch let failure as ResponseWriter.RelayNotStarted {
            logger.warning("backend response body failed", metadata: ["error": "\(failure.cause)"])
            return await writer.answer(.badGateway)
        } catch {
            logger.debug("response streaming stopped", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// Outbound / on-error (or a streamed policy body): the policies' result, counted and written.
    static func finishPolicy(_ operation: @Sendable () async -> PolicyResult, writer: ResponseWriter, api: String,
                             metrics: GatewayMetrics, record: AccessLogRecord?) async -> Int? {
        let result = await operation()
        PolicyRunner.noteReason(result, api: api, metrics: metrics, record: record)
        return await PolicyRunner.write(result, to: writer)
    }
}
