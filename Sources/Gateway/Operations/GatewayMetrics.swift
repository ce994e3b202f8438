import Atomics
import ClientCertificates
import CoreMetrics
import Foundation
import Logging
import NIOConcurrencyHelpers
import Prometheus

/// The gateway's metrics, owned by the server (not by a configuration snapshot): counters survive
/// reloads. Instrumented through the swift-metrics API with a swift-prometheus factory on a registry
/// of this instance's own (several gateways in one process, as in the tests, do not mix).
///
/// Hot-path rules: every handle is resolved before a request arrives (fixed tables built here or
/// per snapshot in `RequestMetricsTable`); recording is an atomic add. Label values come from the
/// configuration or from fixed sets, never from what a client sent.
public final class GatewayMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory

    // MARK: Connections and TLS

    /// Open client connections after the handshake, by protocol: [0] HTTP/1.1, [1] HTTP/2.
    let openConnections: [Meter]
    let handshakeTLS12: CoreMetrics.Counter
    let handshakeTLS13: CoreMetrics.Counter
    let handshakeOtherVersion: CoreMetrics.Counter
    let handshakeFailed: CoreMetrics.Counter
    let handshakeUnrecognizedName: CoreMetrics.Counter
    let handshakeClosed: CoreMetrics.Counter
    /// Connections refused before TLS (limit reached or draining).
    let connectionsRefused: CoreMetrics.Counter

    // MARK: Client certificates (the built-in gate, `requireTrustedClientCertificate`)

    let clientCertificateOutcomes: [ClientCertificateOutcome: CoreMetrics.Counter]

    // MARK: Backends

    let backendFailures: [BackendFailureKind: CoreMetrics.Counter]
    /// Time from sending a request to a backend until its response head (every backend exchange,
    /// forwarding, `send-request` and CRL downloads alike).
    let backendDuration: AtomicHistogram

    // MARK: Configuration

    let reloadSuccess: CoreMetrics.Counter
    let reloadFailure: CoreMetrics.Counter
    let lastReloadSuccess: CoreMetrics.Gauge
    /// Certificates whose remaining lifetime is exported (computed at scrape time).
    let certificates = NIOLockedValueBox<[CertificateExpiry]>([])

    // MARK: Requests

    /// Latency histograms by (hostname, api): server-owned so that a reload keeps their counts.
    private let requestDurations = NIOLockedValueBox<[String: AtomicHistogram]>([:])

    /// CRL downloads per distribution point (bounded; see `CRLMetrics`).
    let crl: CRLMetrics
    /// Rate-limit/quota refusals by policy (a fixed set, resolved here).
    let limitRefusals: [LimitPolicyKind: CoreMetrics.Counter]

    /// `emit-metric` series (bounded in number; see `PolicyMetricTable`).
    let policyMetrics = PolicyMetricTable()

    /// The loggers in force (`log-to-eventhub`), for their queue depth at scrape time.
    let eventLoggers = NIOLockedValueBox<[String: RunningEventLogger]>([:])

    /// Policy errors by (api, source), registered on first occurrence (an error path, not the hot path).
    private let policyErrors = NIOLockedValueBox<[String: CoreMetrics.Counter]>([:])

    /// Set once a configuration with `accessLog: json` (or span export) is loaded: the backend path
    /// then looks for the request's task-local `AccessLogRecord` (a lookup it skips otherwise).
    let jsonAccessLogInUse = ManagedAtomic<Bool>(false)

    /// Span export to an OpenTelemetry collector (`tracing:`, builds with the `OTel` trait).
    let spanExport = SpanExport()

    /// `<trace>` / `context.Trace` entries to the log.
    let traceLog = TraceLog()

    /// Rate limit for "TLS handshake refused" info lines.
    let handshakeLogLimiter = LogRateLimiter(perSecond: 10)

    public init() {
        let registry = PrometheusCollectorRegistry()
        let factory = PrometheusMetricsFactory(registry: registry)
        self.registry = registry
        self.factory = factory
        openConnections = ["http1.1", "h2"].map {
            Meter(label: "drawbridge_open_connections", dimensions: [("protocol", $0)], factory: factory)
        }
        func handshake(_ outcome: String, _ version: String) -> CoreMetrics.Counter {
            CoreMetrics.Counter(label: "drawbridge_tls_handshakes_total",
                                dimensions: [("outcome", outcome), ("version", version)], factory: factory)
        }
        handshakeTLS12 = handshake("ok", "TLSv1.2")
        handshakeTLS13 = handshake("ok", "TLSv1.3")
        handshakeOtherVersion = handshake("ok", "other")
        handshakeFailed = handshake("failed", "unknown")
        handshakeUnrecognizedName = handshake("unrecognized_name", "unknown")
        handshakeClosed = handshake("closed", "unknown")
        connectionsRefused = CoreMetrics.Counter(label: "drawbridge_connections_refused_total", factory: factory)
        var outcomes: [ClientCertificateOutcome: CoreMetrics.Counter] = [:]
        for outcome in ClientCertificateOutcome.allCases {
            outcomes[outcome] = CoreMetrics.Counter(label: "drawbridge_client_certificate_checks_total",
                                                    dimensions: [("outcome", outcome.rawValue)], factory: factory)
        }
        clientCertificateOutcomes = outcomes
        var failures: [BackendFailureKind: CoreMetrics.Counter] = [:]
        for kind in BackendFailureKind.allCases {
            failures[kind] = CoreMetrics.Counter(label: "drawbridge_backend_failures_total",
                                                 dimensions: [("kind", kind.rawValue)], factory: factory)
        }
        backendFailures = failures
        crl = CRLMetrics(factory: factory)
        var refusals: [LimitPolicyKind: CoreMetrics.Counter] = [:]
        for kind in LimitPolicyKind.allCases {
            refusals[kind] = CoreMetrics.Counter(label: "drawbridge_limit_refusals_total",
                                                 dimensions: [("policy", kind.rawValue)], factory: factory)
        }
        limitRefusals = refusals
        backendDuration = AtomicHistogram(name: "drawbridge_backend_duration_seconds", labels: [])
        reloadSuccess = CoreMetrics.Counter(label: "drawbridge_config_reloads_total", dimensions: [("result", "success")], factory: factory)
        reloadFailure = CoreMetrics.Counter(label: "drawbridge_config_reloads_total", dimensions: [("result", "failure")], factory: factory)
        lastReloadSuccess = CoreMetrics.Gauge(label: "drawbridge_config_last_reload_success_timestamp_seconds", factory: factory)
        lastReloadSuccess.record(Date().timeIntervalSince1970)
    }

    /// The request-duration histogram of (hostname, api); created on first use at snapshot build.
    func requestDuration(hostname: String, api: String) -> AtomicHistogram {
        let key = hostname + "\u{0}" + api
        return requestDurations.withLockedValue { table in
            if let known = table[key] { return known }
            let histogram = AtomicHistogram(name: "drawbridge_request_duration_seconds",
                                            labels: [("hostname", hostname), ("api", api)])
            table[key] = histogram
            return histogram
        }
    }

    // MARK: Recording (outside the per-request path)

    public func reloadSucceeded() {
        reloadSuccess.increment()
        lastReloadSuccess.record(Date().timeIntervalSince1970)
    }

    public func reloadFailed() {
        reloadFailure.increment()
    }

    func clientCertificate(_ outcome: ClientCertificateOutcome, reason: String, record: AccessLogRecord? = AccessLogRecord.current) {
        clientCertificateOutcomes[outcome]?.increment()
        if outcome != .trusted { record?.noteReason("client certificate: \(reason)") }
    }

    /// A policy pipeline ended in `on-error` (source: the failing policy or `request`/`backend`, set by
    /// the pipeline, never by a client).
    func policyError(api: String, source: String) {
        let key = api + "\u{0}" + source
        let counter = policyErrors.withLockedValue { table in
            if let known = table[key] { return known }
            let counter = CoreMetrics.Counter(label: "drawbridge_policy_errors_total",
                                              dimensions: [("api", api), ("source", source)], factory: factory)
            table[key] = counter
            return counter
        }
        counter.increment()
    }

    /// A request refused by a rate limit or quota (`drawbridge_limit_refusals_total{policy}`).
    public func limitRefused(_ policy: LimitPolicyKind) {
        limitRefusals[policy]?.increment()
    }

    /// For `ServerCRLCache`: every CRL download's outcome.
    var crlObserver: @Sendable (String, Result<CertificateRevocationList, CRLFetchError>) -> Void {
        { [crl] url, result in crl.fetched(url, result) }
    }

    func backendFailed(_ kind: BackendFailureKind) {
        backendFailures[kind]?.increment()
    }

    /// Replaces the exported certificate list (at start and after each reload).
    func setCertificates(_ list: [CertificateExpiry]) {
        certificates.withLockedValue { $0 = list }
    }

    /// A snapshot was loaded (start, reload): its certificates and its trace-log settings.
    func snapshotLoaded(_ snapshot: GatewaySnapshot, logger: Logger) {
        setCertificates(CertificateInventory.expiries(snapshot: snapshot))
        traceLog.configure(snapshot.config.traceLog, logger: logger)
    }

    // MARK: Exposition

    /// Prometheus text format (version 0.0.4): the registry's series, then the histograms and the
    /// certificate lifetimes, which are computed here.
    public func render(now: Date = Date()) -> String {
        var text = registry.emitToString()
        let histograms = requestDurations.withLockedValue { Array($0.values) }
            .sorted { $0.labels < $1.labels }
        text += "# HELP drawbridge_request_duration_seconds Time from the request head to the end of the response.\n"
        text += "# TYPE drawbridge_request_duration_seconds histogram\n"
        for histogram in histograms { histogram.render(into: &text) }
        text += "# HELP drawbridge_backend_duration_seconds Time from sending a request to a backend to its response head.\n"
        text += "# TYPE drawbridge_backend_duration_seconds histogram\n"
        backendDuration.render(into: &text)
        policyMetrics.render(into: &text)
        let loggers = eventLoggers.withLockedValue { $0 }.sorted { $0.key < $1.key }
        if !loggers.isEmpty {
            text += "# HELP drawbridge_logger_queued_events Events waiting in a logger's queue (log-to-eventhub).\n"
            text += "# TYPE drawbridge_logger_queued_events gauge\n"
            for (id, logger) in loggers {
                text += "drawbridge_logger_queued_events{logger=\"\(PrometheusText.escapeLabel(id))\"} \(logger.queue.count)\n"
            }
        }
        crl.render(into: &text, now: now)
        let certificates = certificates.withLockedValue { $0 }
        text += "# HELP drawbridge_certificate_expiry_seconds Seconds until the certificate's notAfter (negative: expired).\n"
        text += "# TYPE drawbridge_certificate_expiry_seconds gauge\n"
        for certificate in certificates {
            var pairs = [("kind", certificate.kind), ("hostname", certificate.hostname), ("subject", certificate.subject)]
            if let id = certificate.id { pairs.append(("id", id)) }
            let labels = pairs.map { "\($0.0)=\"\(PrometheusText.escapeLabel($0.1))\"" }.joined(separator: ",")
            text += "drawbridge_certificate_expiry_seconds{\(labels)} \(Int64(certificate.notAfter.timeIntervalSince(now)))\n"
        }
        return text
    }
}

/// What the built-in client-certificate gate decided, as a bounded label.
enum ClientCertificateOutcome: String, CaseIterable, Sendable {
    case trusted
    case none
    case untrusted
    case expired
    case notYetValid = "not_yet_valid"
    case revoked
    case revocationUnknown = "revocation_unknown"
    /// `validate-client-certificate` with `<identities>`: no identity matched.
    case identityNotMatched = "identity_not_matched"
    /// A policy answered 401/403 itself (`return-response`, e.g. the seed policy's certificate check).
    case policyRefused = "policy_refused"

    /// From the gate's verdict text (`ClientCertificateGate.Verdict.reason`) or a
    /// `validate-client-certificate` failure's reason.
    init(verdictReason reason: String, trusted: Bool) {
        if trusted { self = .trusted; return }
        if reason.hasPrefix("ClientCertificateNotFound") { self = .none }
        else if reason.hasPrefix("ClientCertificateIdentityNotMatched") { self = .identityNotMatched }
        else if reason.hasPrefix("ClientCertificateExpired") { self = .expired }
        else if reason.hasPrefix("ClientCertificateNotYetValid") { self = .notYetValid }
        else if reason.hasPrefix("ClientCertificateRevocationUnknown") { self = .revocationUnknown }
        else if reason.hasPrefix("ClientCertificateRevoked") { self = .revoked }
        else { self = .untrusted }
    }
}

/// Why a backend exchange failed, as a bounded label.
enum BackendFailureKind: String, CaseIterable, Sendable {
    case connect
    case timeout
    case reset
    case badResponse = "bad_response"
    case serverError = "5xx"
    case other
}

/// One certificate whose remaining lifetime is exported.
struct CertificateExpiry: Sendable, Equatable {
    /// `server`, `ca` or `deployment` (`policies.certificates`, i.e. `context.Deployment.Certificates`).
    let kind: String
    let hostname: String
    let subject: String
    let notAfter: Date
    /// The certificate id of a deployment certificate.
    var id: String? = nil
}

/// At most `perSecond` events per wall-clock second pass; the rest are counted and reported with
/// the next event that passes.
final class LogRateLimiter: Sendable {
    private struct State { var second: Int = 0; var passed = 0; var suppressed = 0 }
    private let state = NIOLockedValueBox(State())
    let perSecond: Int

    init(perSecond: Int) { self.perSecond = perSecond }

    /// nil: suppress; otherwise how many were suppressed since the last one that passed.
    func admit(now: Date = Date()) -> Int? {
        let second = Int(now.timeIntervalSince1970)
        return state.withLockedValue { state in
            if state.second != second { state.second = second; state.passed = 0 }
            guard state.passed < perSecond else { state.suppressed += 1; return nil }
            state.passed += 1
            let suppressed = state.suppressed
            state.suppressed = 0
            return suppressed
        }
    }
}
