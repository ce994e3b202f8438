import GatewayConfiguration
import HTTPTypes
import Logging
import Policies

/// The access log line of one request (`accessLog: true`), the same for HTTP/1.1 and HTTP/2.
/// Client-supplied text is escaped.
enum AccessLog {
    static func write(_ logger: Logger, method: String, path: String, status: Int?, elapsed: Duration,
                      protocolName: String, connection: ConnectionInfo, bytesIn: Int = 0, bytesOut: Int = 0) {
        let millis = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        var metadata: Logger.Metadata = [
            "method": "\(LogText.escape(method))",
            "path": "\(LogText.escape(path))",
            "status": "\(status.map(String.init) ?? "aborted")",
            "duration_ms": "\(Double(Int(millis * 1000)) / 1000)",
            "protocol": "\(protocolName)",
            "host": "\(connection.hostname.name)",
            "bytes_in": "\(bytesIn)",
            "bytes_out": "\(bytesOut)",
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
    /// Body bytes received from and sent to the client (request body as read, response body as
    /// written, before chunked framing; a HEAD answer sends none). Set by the protocol handlers — one
    /// line where each reads or writes a body part — and reported by `requestEnded`.
    var bytesIn = 0
    var bytesOut = 0

    init(jsonAccessLog needs: PerRequestRecord) {
        started = .now
        record = AccessLogRecord.make(needs, started: started)
    }
}

extension RequestHandler {
    /// The one call per finished request: metrics (pre-resolved counters), then the access log.
    func requestEnded(method: HTTPRequest.Method?, methodText: String, path: String, connection: ConnectionInfo,
                      protocolName: String, tracking: RequestTracking, status: Int?) {
        let elapsed = ContinuousClock.now - tracking.started
        let path = snapshot.subscriptions.redacted(path)  // subscription keys are never logged
        requestMetrics.requestFinished(method: method, connection: connection, outcome: tracking.outcome, status: status,
                                       elapsed: elapsed, bytesIn: tracking.bytesIn, bytesOut: tracking.bytesOut)
        if let spans = tracking.record?.spans {  // Operations: span export
            spans.requestEnded(status: status, api: tracking.outcome.route?.api, operation: tracking.outcome.route?.operation,
                               reason: tracking.record?.reason)
        }
        // Policies: bandwidth quotas are charged the body bytes received and sent.
        if let usage = tracking.record?.usage {
            let (bytes, overflow) = tracking.bytesIn.addingReportingOverflow(tracking.bytesOut)
            usage.finished(bytes: overflow ? Int.max : bytes)
        }
        if let record = tracking.record, requestMetrics.writesJSONLines {
            AccessLogJSON.write(AccessLogJSON.line(method: methodText, path: path, connection: connection, protocolName: protocolName,
                                                   outcome: tracking.outcome, status: status, elapsed: elapsed, record: record,
                                                   bytesIn: tracking.bytesIn, bytesOut: tracking.bytesOut))
        } else if snapshot.config.accessLog {
            AccessLog.write(logger, method: methodText, path: path, status: status, elapsed: elapsed, protocolName: protocolName,
                            connection: connection, bytesIn: tracking.bytesIn, bytesOut: tracking.bytesOut)
        }
    }
}
