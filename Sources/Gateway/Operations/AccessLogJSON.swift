import Atomics
import ClientCertificates
import Foundation
import GatewayConfiguration
import HTTPTypes
import NIOConcurrencyHelpers
import Policies

/// What a request's JSON access-log line needs beyond the request and its status: the backend time
/// and why the gateway (not the backend) answered. Exists only when `accessLog: json` (or, without a
/// line, when a bandwidth quota needs the request's bytes); set as a task
/// local around `RequestHandler.handle`, so the places that know (backend exchange, certificate gate,
/// gateway error answers, policy errors) note it without new parameters.
final class AccessLogRecord: Sendable {
    @TaskLocal static var current: AccessLogRecord?

    let requestId = UUID()
    /// When the request head arrived (`RequestTracking.started`).
    let started: ContinuousClock.Instant
    private let backendNanos = ManagedAtomic<Int64>(0)
    private let backendCalls = ManagedAtomic<Int>(0)
    private let reasonBox = NIOLockedValueBox<String?>(nil)
    /// Operations: the request's spans, when spans are exported (set once, by `startSpans`).
    private let spansBox = ManagedAtomicLazyReference<SpansBox>()

    /// The request's byte count for bandwidth quotas (nil: no pipeline counts bandwidth).
    let usage: RequestUsage?

    private init(started: ContinuousClock.Instant, usage: RequestUsage?) {
        self.started = started
        self.usage = usage
    }

    /// A record when the snapshot needs one: for `accessLog: json`, span export (`jsonAccessLog`),
    /// or a bandwidth quota's byte count (`usage`).
    static func make(_ needs: PerRequestRecord, started: ContinuousClock.Instant = .now) -> AccessLogRecord? {
        guard needs.jsonAccessLog || needs.usage else { return nil }
        return AccessLogRecord(started: started, usage: needs.usage ? RequestUsage() : nil)
    }

    /// The request's spans (nil: not exported). One atomic load.
    var spans: (any RequestSpans)? { spansBox.load()?.spans }

    /// The request reached the pipeline: its spans start, once (the event-loop path and then the task
    /// path may both call this for one request).
    func startSpans(_ factory: any RequestSpanFactory, head: HTTPRequest, hostname: String) {
        guard spansBox.load() == nil else { return }
        _ = spansBox.storeIfNilThenLoad(SpansBox(factory.requestSpans(head, hostname: hostname, started: started, requestId: requestId)))
    }

    func backendAnswered(nanoseconds: Int64) {
        backendNanos.wrappingIncrement(by: nanoseconds, ordering: .relaxed)
        backendCalls.wrappingIncrement(ordering: .relaxed)
    }

    /// The first reason noted wins (the cause, not its consequences).
    func noteReason(_ reason: String) {
        reasonBox.withLockedValue { if $0 == nil { $0 = reason } }
    }

    var reason: String? { reasonBox.withLockedValue { $0 } }
    var backendMilliseconds: Double? {
        backendCalls.load(ordering: .relaxed) == 0 ? nil : Double(backendNanos.load(ordering: .relaxed)) / 1e6
    }
}

/// Holds a request's spans for `ManagedAtomicLazyReference` (which needs a class).
final class SpansBox: Sendable {
    let spans: any RequestSpans
    init(_ spans: any RequestSpans) { self.spans = spans }
}

/// One JSON object per line on stdout (a single write per line, so lines never interleave).
enum AccessLogJSON {
    static func line(method: String, path: String, connection: ConnectionInfo, protocolName: String, outcome: RequestOutcome,
                     status: Int?, elapsed: Duration, record: AccessLogRecord, bytesIn: Int = 0, bytesOut: Int = 0,
                     now: Date = Date()) -> String {
        let (seconds, attos) = elapsed.components
        let millis = Double(seconds) * 1000 + Double(attos) / 1e15
        var fields: [(String, String)] = [
            ("time", quoted(timestamp(now))),
            ("request_id", quoted(record.requestId.uuidString.lowercased())),
            ("client_address", optional(connection.remoteAddress)),
            ("protocol", quoted(protocolName)),
            ("sni", optional(connection.serverName)),
            ("hostname", quoted(outcome.route?.hostnameLabel ?? connection.hostname.name)),
            ("api", optional(outcome.route?.api)),
            ("operation", optional(outcome.route?.operation)),
            ("method", quoted(method)),
            ("path", quoted(path)),
            ("status", status.map(String.init) ?? "null"),
            ("bytes_in", String(bytesIn)),
            ("bytes_out", String(bytesOut)),
            ("duration_ms", number(millis)),
            ("backend_ms", record.backendMilliseconds.map(number) ?? "null"),
            ("client_cert_thumbprint", optional(connection.clientThumbprint)),
            // Parsed once per connection (kept by `ConnectionInfo`); escaped like every client value.
            ("client_cert_subject", optional(connection.parsedChain?.leaf?.subject)),
        ]
        fields.append(("reason", optional(record.reason ?? (status == nil ? "client went away before the response was complete" : nil))))
        return "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}\n"
    }

    static func write(_ line: String) {
        FileHandle.standardOutput.write(Data(line.utf8))
    }

    private static func optional(_ value: String?) -> String { value.map(quoted) ?? "null" }

    private static func number(_ value: Double) -> String { String(Double(Int(value * 1000)) / 1000) }

    private static func timestamp(_ date: Date) -> String {
        UTCTimestamp.iso8601(date, milliseconds: true)
    }

    /// A JSON string: quotes, backslashes and every control character escaped, so no client-supplied
    /// byte can end the line or the object.
    static func quoted(_ text: String) -> String {
        "\"" + ErrorBody.escape(text) + "\""
    }
}
