import Foundation
import GatewayConfiguration
import HTTPTypes
import Logging
import NIOConcurrencyHelpers
import Policies

/// The spans of one request, when spans are exported (`tracing:` in a build with the `OTel` trait;
/// `OTelSpanExport.swift` is the only implementation). The request's `AccessLogRecord` carries it,
/// so the places that already report to the access log report here too: the request's start
/// (`RequestHandler`), each policy section (`PolicySectionObserver`), each backend call
/// (`TraceParent.propagate`, `AccessLogRecord.backendAnswered`/`backendFailed`) and its end
/// (`requestEnded`). Without span export none of this exists and each hook is one nil check.
protocol RequestSpans: PolicySectionObserver {
    /// A backend call starts: its span is opened and its context is the `traceparent` to send (the
    /// same trace, the call span's id as parent-id). nil: no context to send (the sampler dropped
    /// the trace before any span existed); `TraceParent` then makes one as without export.
    func backendCallStarted(incoming: String?) -> String?
    /// The oldest open backend call answered (`status`) or failed (`failure`).
    func backendCallEnded(status: UInt?, failure: String?)
    /// The response is written (`status` nil: the client went away): every span ends.
    func requestEnded(status: Int?, api: String?, operation: String?, reason: String?)
}

/// Makes the spans of a request (the exporter of the configured collector).
protocol RequestSpanFactory: Sendable {
    func requestSpans(_ head: HTTPRequest, hostname: String, started: ContinuousClock.Instant, requestId: UUID) -> any RequestSpans
}

/// The server's span exporter, kept across reloads (like the metrics). Started by the first
/// configuration with `tracing:`; a reload that changes `tracing:` applies at the next start.
final class SpanExport: Sendable {
    /// Whether this build can export spans (`swift build --traits OTel`).
    static let isBuiltIn: Bool = {
        #if OTel
        return true
        #else
        return false
        #endif
    }()

    static let notBuiltInMessage = "tracing: span export is not in this build of drawbridge (build it with `swift build --traits OTel`)"

    private struct State {
        var factory: (any RequestSpanFactory)?
        var config: TracingConfig?
        var stop: (@Sendable () async -> Void)?
    }

    private let state = NIOLockedValueBox(State())

    /// The exporter's factory, nil when spans are not exported.
    var factory: (any RequestSpanFactory)? { state.withLockedValue { $0.factory } }

    /// A configuration was loaded (start, reload).
    func configure(_ config: TracingConfig?, logger: Logger) {
        guard let config else {
            if state.withLockedValue({ $0.config != nil }) {
                logger.warning("tracing: removing span export applies at the next start; spans are still exported")
            }
            return
        }
        #if OTel
        let started: Bool = state.withLockedValue { state in
            if let running = state.config {
                if running != config { logger.warning("tracing: a changed span export applies at the next start") }
                return false
            }
            do {
                let exporter = try OTelSpanExporter.start(config, logger: logger)
                state.factory = exporter.factory
                state.stop = exporter.stop
                state.config = config
                return true
            } catch {
                logger.error("tracing: span export could not start", metadata: ["error": "\(error)"])
                return false
            }
        }
        if started { logger.info("tracing: exporting spans", metadata: ["endpoint": "\(config.tracesURL)", "protocol": "\(config.wireFormat.rawValue)"]) }
        #else
        // `ConfigurationCheck` refuses such a configuration; this is for a caller that skipped it.
        logger.error("\(Self.notBuiltInMessage)")
        #endif
    }

    /// Sends the spans still queued and stops the exporter (the server's end).
    func shutdown() async {
        let stop = state.withLockedValue { state -> (@Sendable () async -> Void)? in
            defer { state.stop = nil; state.factory = nil }
            return state.stop
        }
        await stop?()
    }
}
