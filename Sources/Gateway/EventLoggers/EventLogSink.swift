import ClientCertificates
import Foundation
import Policies

/// Where a logger's background sender delivers what it took from the queue.
protocol EventLogSink: Sendable {
    /// Delivers `events` (retrying as the sink sees fit; a cancelled task stops retrying) and says
    /// how many arrived and how many were given up.
    func deliver(_ events: [PolicyLogEvent]) async -> (sent: Int, failed: Int)
    /// Releases what the sink holds (a file descriptor); called once, after the last `deliver`.
    func close()
}

extension EventLogSink {
    func close() {}
}

/// One event as a JSON object on one line (the file and stdout sinks): every string escaped, so a
/// message cannot end the line or forge another record.
enum EventLogLine {
    static func line(_ event: PolicyLogEvent, logger: String) -> String {
        var text = "{\"time\":\"\(UTCTimestamp.iso8601(event.time, milliseconds: true))\",\"logger\":\"\(ErrorBody.escape(logger))\""
        text += ",\"requestId\":\"\(ErrorBody.escape(event.requestID))\""
        text += ",\"partitionId\":" + (event.partitionID.map(String.init) ?? "null")
        text += ",\"partitionKey\":" + (event.partitionKey.map { "\"\(ErrorBody.escape($0))\"" } ?? "null")
        text += ",\"truncated\":\(event.truncated),\"message\":\"\(ErrorBody.escape(event.message))\"}\n"
        return text
    }
}
