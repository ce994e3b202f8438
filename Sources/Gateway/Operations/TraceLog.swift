import Foundation
import GatewayConfiguration
import Logging
import NIOConcurrencyHelpers
import Policies

/// `<trace>` output and `context.Trace(…)` in the log (`traceLog:` in the configuration): one line per
/// entry whose severity reaches its source's threshold, at most `perSecond` lines a second. Messages
/// are built by policies from request data, so they (and sources) are escaped (`LogText`). Owned by
/// the server's `GatewayMetrics`; each loaded snapshot sets its settings.
final class TraceLog: Sendable {
    private struct Settings: Sendable {
        let config: TraceLogConfig
        let limiter: LogRateLimiter
        let logger: Logger
    }
    private let settings = NIOLockedValueBox<Settings?>(nil)

    /// The source `context.Trace(…)` entries are logged under (the expression method has none).
    static let expressionSource = "context.Trace"

    func configure(_ config: TraceLogConfig, logger: Logger) {
        settings.withLockedValue { current in
            // A reload with the same rate keeps the limiter (its second and its suppressed count).
            let limiter = current.flatMap { $0.config.perSecond == config.perSecond ? $0.limiter : nil }
                ?? LogRateLimiter(perSecond: config.perSecond)
            current = Settings(config: config, limiter: limiter, logger: logger)
        }
    }

    /// Called with a policy run's entries (only when there are some).
    func write(_ entries: [PolicyTraceEntry], api: String, requestId: UUID?) {
        guard let settings = settings.withLockedValue({ $0 }) else { return }
        for entry in entries where entry.kind == .trace {
            let source = entry.source ?? Self.expressionSource
            // `context.Trace` has no severity of its own: information.
            let severity = entry.severity.flatMap { TraceLogConfig.Severity(rawValue: $0) } ?? .information
            guard settings.config.admits(source: source, severity: severity) else { continue }
            guard let suppressed = settings.limiter.admit() else { continue }
            var metadata: Logger.Metadata = [
                "api": "\(LogText.escape(api))",
                "source": "\(LogText.escape(source))",
                "severity": "\(severity.rawValue)",
                "section": "\(entry.section)",
                "message": "\(LogText.escape(entry.text ?? entry.message, limit: 2048))",
            ]
            if !entry.path.isEmpty { metadata["policy_path"] = "\(LogText.escape(entry.path))" }
            if let requestId { metadata["request_id"] = "\(requestId.uuidString.lowercased())" }
            if suppressed > 0 { metadata["suppressed"] = "\(suppressed)" }
            settings.logger.log(level: severity == .error ? .error : .info, "trace", metadata: metadata)
        }
    }
}
