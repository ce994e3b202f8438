import GatewayConfiguration
import HTTPTypes
import Logging

/// The access log line of one request (`accessLog: true`), the same for HTTP/1.1 and HTTP/2.
/// Client-supplied text is escaped.
enum AccessLog {
    static func write(_ logger: Logger, method: String, path: String, status: Int?, elapsed: Duration,
                      protocolName: String, connection: ConnectionInfo) {
        let millis = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        var metadata: Logger.Metadata = [
            "method": "\(LogText.escape(method))",
            "path": "\(LogText.escape(path))",
            "status": "\(status.map(String.init) ?? "aborted")",
            "duration_ms": "\(Double(Int(millis * 1000)) / 1000)",
            "protocol": "\(protocolName)",
            "host": "\(connection.hostname.name)",
        ]
        if let thumbprint = connection.clientThumbprint {
            metadata["client_cert"] = "\(thumbprint)"
        }
        logger.info("request", metadata: metadata)
    }
}

/// What a request carries from its start to its end for the metrics and the access log. The
/// event-loop path has no task, so no task-local: the handler owns this and passes the record along.
struct RequestTracking: Sendable {
    let started: ContinuousClock.Instant
    var outcome = RequestOutcome()
    /// Only with `accessLog: json`.
    let record: AccessLogRecord?

    init(jsonAccessLog: Bool) {
        started = .now
        record = AccessLogRecord.make(enabled: jsonAccessLog)
    }
}

extension RequestHandler {
    /// The one call per finished request: metrics (pre-resolved counters), then the access log.
    func requestEnded(method: HTTPRequest.Method?, methodText: String, path: String, connection: ConnectionInfo,
                      protocolName: String, tracking: RequestTracking, status: Int?) {
        let elapsed = ContinuousClock.now - tracking.started
        let path = snapshot.subscriptions.redacted(path)  // subscription keys are never logged
        requestMetrics.requestFinished(method: method, connection: connection, outcome: tracking.outcome, status: status,
                                       elapsed: elapsed)
        if let record = tracking.record {
            AccessLogJSON.write(AccessLogJSON.line(method: methodText, path: path, connection: connection, protocolName: protocolName,
                                                   outcome: tracking.outcome, status: status, elapsed: elapsed, record: record))
        } else if snapshot.config.accessLog {
            AccessLog.write(logger, method: methodText, path: path, status: status, elapsed: elapsed, protocolName: protocolName,
                            connection: connection)
        }
    }
}
