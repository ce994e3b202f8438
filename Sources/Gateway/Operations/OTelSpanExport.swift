#if OTel
import Foundation
import GatewayConfiguration
import HTTPTypes
import Logging
import NIOConcurrencyHelpers
import OTel
import Policies
import ServiceLifecycle
import Tracing

/// Span export with swift-otel (only in builds with the `OTel` trait): its tracer makes every span
/// id and its OTLP/HTTP exporter sends them in batches. The tracer also makes the `traceparent` sent
/// to backends (the backend call span's context), so the exported trace and the propagated one agree.
enum OTelSpanExporter {
    struct Started {
        let factory: any RequestSpanFactory
        let stop: @Sendable () async -> Void
    }

    static func start(_ config: TracingConfig, logger: Logger) throws -> Started {
        var otel = OTel.Configuration.default
        otel.serviceName = config.serviceName
        otel.diagnosticLogger = .custom(logger)
        otel.propagators = [.traceContext]
        otel.metrics.enabled = false
        otel.logs.enabled = false
        otel.traces.enabled = true
        otel.traces.exporter = .otlp
        // The client's sampled flag decides; a request without a traceparent is sampled.
        otel.traces.sampler = .parentBasedAlwaysOn
        otel.traces.otlpExporter.endpoint = config.tracesURL
        otel.traces.otlpExporter.protocol = config.wireFormat == .json ? .httpJSON : .httpProtobuf
        otel.traces.batchSpanProcessor.scheduleDelay = .milliseconds(Int64((config.exportInterval * 1000).rounded()))
        let backend = try OTel.makeTracingBackend(configuration: otel)
        return start(tracer: backend.factory, service: backend.service, logger: logger)
    }

    private static func start<T: Tracer, S: Service>(tracer: T, service: S, logger: Logger) -> Started {
        let group = ServiceGroup(configuration: .init(services: [service], logger: logger))
        let task = Task { try await group.run() }
        return Started(factory: OTelRequestSpanFactory(tracer: tracer)) {
            // A graceful shutdown sends the spans still queued before the exporter stops.
            await group.triggerGracefulShutdown()
            _ = await task.result
        }
    }
}

/// A wall-clock instant for spans that started or ended before they were made.
struct WallInstant: TracerInstant {
    let nanosecondsSinceEpoch: UInt64

    static func < (lhs: WallInstant, rhs: WallInstant) -> Bool { lhs.nanosecondsSinceEpoch < rhs.nanosecondsSinceEpoch }

    static var now: WallInstant { WallInstant(nanosecondsSinceEpoch: DefaultTracerClock.now.nanosecondsSinceEpoch) }

    /// When `instant` of the continuous clock was, on the wall clock.
    static func of(_ instant: ContinuousClock.Instant) -> WallInstant {
        let now = WallInstant.now.nanosecondsSinceEpoch
        let (seconds, attoseconds) = (ContinuousClock.now - instant).components
        let ago = seconds <= 0 ? UInt64(0) : UInt64(clamping: seconds).multipliedReportingOverflow(by: 1_000_000_000).partialValue
            &+ UInt64(clamping: attoseconds / 1_000_000_000)
        return WallInstant(nanosecondsSinceEpoch: now > ago ? now - ago : now)
    }
}

/// `traceparent`/`tracestate` in and out of a small dictionary (the tracer's propagator reads and
/// writes by header name).
struct TraceHeaders: Extractor, Injector {
    func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) { carrier[key] = value }
}

struct OTelRequestSpanFactory<T: Tracer>: RequestSpanFactory {
    let tracer: T

    func requestSpans(_ head: HTTPRequest, hostname: String, started: ContinuousClock.Instant, requestId: UUID) -> any RequestSpans {
        var parent = InstrumentationContext.topLevel
        var carrier: [String: String] = [:]
        for field in head.headerFields where carrier[field.name.canonicalName] == nil {
            let name = field.name.canonicalName
            if name == TraceParent.headerName || name == "tracestate" { carrier[name] = field.value }
        }
        if !carrier.isEmpty { tracer.extract(carrier, into: &parent, using: TraceHeaders()) }
        let method = head.method.rawValue
        let span = tracer.startSpan(method, context: parent, ofKind: .server, at: WallInstant.of(started))
        let path = head.path.map { $0.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? $0 } ?? "/"
        span.updateAttributes { attributes in
            attributes["http.request.method"] = method
            attributes["url.path"] = LogText.escape(path)
            attributes["server.address"] = hostname
            attributes["drawbridge.request_id"] = requestId.uuidString.lowercased()
        }
        return OTelRequestSpans(tracer: tracer, request: span)
    }
}

/// One request's spans: the request span (server), a span per policy section (inbound, backend,
/// outbound, on-error: children of the request span) and a span per backend call (client: a child
/// of the backend section's span, or of the request span without policies or outside that section).
/// Section spans other than backend are made when the request ends, from the times the sections
/// started; the backend section's span is made when its first call starts, since the call's
/// `traceparent` names it.
final class OTelRequestSpans<T: Tracer>: RequestSpans {
    private struct State {
        var sections: [(section: PolicySection, at: WallInstant)] = []
        var backendSection: T.Span?
        var openCalls: [T.Span] = []
        var ended = false
    }

    private let tracer: T
    private let request: T.Span
    private let state = NIOLockedValueBox(State())

    init(tracer: T, request: T.Span) {
        self.tracer = tracer
        self.request = request
    }

    func policySectionEntered(_ section: PolicySection) {
        let now = WallInstant.now
        state.withLockedValue { $0.sections.append((section, now)) }
    }

    func backendCallStarted(incoming: String?) -> String? {
        let now = WallInstant.now
        let call: T.Span = state.withLockedValue { state in
            var parent = request.context
            if let last = state.sections.last, last.section == .backend {
                if state.backendSection == nil {
                    state.backendSection = tracer.startSpan("backend", context: request.context, ofKind: .internal, at: last.at)
                }
                if let section = state.backendSection { parent = section.context }
            }
            let span = tracer.startSpan("backend call", context: parent, ofKind: .client, at: now)
            state.openCalls.append(span)
            return span
        }
        var carrier: [String: String] = [:]
        tracer.inject(call.context, into: &carrier, using: TraceHeaders())
        return carrier[TraceParent.headerName]
    }

    func backendCallEnded(status: UInt?, failure: String?) {
        let now = WallInstant.now
        guard let call = state.withLockedValue({ $0.openCalls.isEmpty ? nil : $0.openCalls.removeFirst() }) else { return }
        if let status {
            call.attributes["http.response.status_code"] = Int(status)
            if status >= 500 { call.setStatus(SpanStatus(code: .error)) }
        }
        if let failure { call.setStatus(SpanStatus(code: .error, message: failure)) }
        call.end(at: now)
    }

    func requestEnded(status: Int?, api: String?, operation: String?, reason: String?) {
        let now = WallInstant.now
        let (sections, backendSection, openCalls): ([(section: PolicySection, at: WallInstant)], T.Span?, [T.Span]) =
            state.withLockedValue { state in
                if state.ended { return ([], nil, []) }
                state.ended = true
                defer { state.openCalls = [] }
                return (state.sections, state.backendSection, state.openCalls)
            }
        for call in openCalls {
            call.setStatus(SpanStatus(code: .error, message: "no answer before the request ended"))
            call.end(at: now)
        }
        for (index, entry) in sections.enumerated() {
            let end = index + 1 < sections.count ? sections[index + 1].at : now
            if entry.section == .backend, let backendSection {
                backendSection.end(at: end)
                continue
            }
            let span = tracer.startSpan(entry.section.rawValue, context: request.context, ofKind: .internal, at: entry.at)
            span.end(at: end)
        }
        if let api, !api.isEmpty {
            request.operationName = "\(request.operationName) \(api)"
            request.attributes["drawbridge.api"] = api
            if let operation, !operation.isEmpty { request.attributes["drawbridge.operation"] = operation }
        }
        if let status {
            request.attributes["http.response.status_code"] = status
            if status >= 500 { request.setStatus(SpanStatus(code: .error, message: reason)) }
        } else {
            request.setStatus(SpanStatus(code: .error, message: "the client went away"))
        }
        if let reason { request.attributes["drawbridge.reason"] = LogText.escape(reason) }
        request.end(at: now)
    }
}
#endif
