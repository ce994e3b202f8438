import Atomics
import CoreMetrics
import HTTPTypes

/// The request counters of one (hostname, API, operation), resolved when a snapshot is built.
/// Each (method, status class) counter is registered on its first use only (a lazy atomic reference:
/// an unused combination costs no series in `/metrics`); afterwards counting is an atomic load and
/// an atomic add. The registry behind them belongs to the server, so a reload finds the same series.
final class RouteMetrics: Sendable {
    /// The hostname as configured (matched per request) and as exported (lower-case).
    let hostname: String
    let hostnameLabel: String
    let api: String
    let operation: String
    let duration: AtomicHistogram
    /// Body bytes from and to clients (`drawbridge_request_body_bytes_total{…,direction}`), resolved here.
    private let bytesIn: CoreMetrics.Counter
    private let bytesOut: CoreMetrics.Counter
    private let factory: any MetricsFactory
    private let slots: [ManagedAtomicLazyReference<CoreMetrics.Counter>]

    static let methods = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "other"]
    static let statusClasses = ["1xx", "2xx", "3xx", "4xx", "5xx", "aborted"]

    init(hostname: String, api: String, operation: String, metrics: GatewayMetrics) {
        self.hostname = hostname
        self.hostnameLabel = hostname.lowercased()
        self.api = api
        self.operation = operation
        self.factory = metrics.factory
        self.duration = metrics.requestDuration(hostname: hostnameLabel, api: api)
        let label = hostnameLabel, factory = metrics.factory
        let bytes = { (direction: String) in
            CoreMetrics.Counter(label: "drawbridge_request_body_bytes_total",
                                dimensions: [("hostname", label), ("api", api), ("operation", operation), ("direction", direction)],
                                factory: factory)
        }
        self.bytesIn = bytes("in")
        self.bytesOut = bytes("out")
        self.slots = (0..<(Self.methods.count * Self.statusClasses.count)).map { _ in ManagedAtomicLazyReference() }
    }

    static func methodIndex(_ method: HTTPRequest.Method?) -> Int {
        guard let method else { return 7 }
        switch method {
        case .get: return 0
        case .head: return 1
        case .post: return 2
        case .put: return 3
        case .delete: return 4
        case .patch: return 5
        case .options: return 6
        default: return 7
        }
    }

    static func statusClassIndex(_ status: Int?) -> Int {
        guard let status, (100...599).contains(status) else { return 5 }
        return status / 100 - 1
    }

    func count(method: HTTPRequest.Method?, status: Int?, elapsed: Duration) {
        let methodIndex = Self.methodIndex(method)
        let classIndex = Self.statusClassIndex(status)
        let slot = slots[methodIndex * Self.statusClasses.count + classIndex]
        let counter = slot.load() ?? slot.storeIfNilThenLoad(CoreMetrics.Counter(
            label: "drawbridge_requests_total",
            dimensions: [("hostname", hostnameLabel), ("api", api), ("operation", operation),
                         ("method", Self.methods[methodIndex]), ("status_class", Self.statusClasses[classIndex])],
            factory: factory))
        counter.increment()
        duration.record(elapsed)
    }

    func countBytes(in received: Int, out sent: Int) {
        if received > 0 { bytesIn.increment(by: received) }
        if sent > 0 { bytesOut.increment(by: sent) }
    }
}

/// Per snapshot: the `RouteMetrics` of every (hostname, API, operation) the router can match, and
/// one per hostname for requests answered before or without a route (404, 400, 421, …).
/// What a request's `AccessLogRecord` is needed for; none: no record is made.
struct PerRequestRecord: Sendable {
    var jsonAccessLog: Bool
    /// A pipeline counts `bandwidth` (`RequestUsage`).
    var usage: Bool
}

struct RequestMetricsTable: Sendable {
    let metrics: GatewayMetrics
    /// What each request's `AccessLogRecord` is for (read once per snapshot, not per request; the
    /// protocol handlers pass it to `RequestTracking(jsonAccessLog:)`, named for its first use):
    /// `jsonAccessLog` — `accessLog: json`, or span export, whose spans the record carries;
    /// `usage` — the byte count of bandwidth quotas.
    let jsonAccessLog: PerRequestRecord
    /// `accessLog: json` itself: the JSON line is written.
    let writesJSONLines: Bool
    /// The span exporter's factory when spans are exported (nil: the hooks are one nil check each).
    let spans: (any RequestSpanFactory)?
    /// [api index in the router][operation index] → per hostname.
    private let routes: [[[RouteMetrics]]]
    private let unrouted: [RouteMetrics]

    init(snapshot: GatewaySnapshot, metrics: GatewayMetrics) {
        self.metrics = metrics
        writesJSONLines = snapshot.config.accessLog && snapshot.config.accessLogFormat == .json
        spans = snapshot.config.tracing == nil ? nil : metrics.spanExport.factory
        jsonAccessLog = PerRequestRecord(jsonAccessLog: writesJSONLines || spans != nil, usage: snapshot.policies.countsBandwidth)
        if jsonAccessLog.jsonAccessLog { metrics.jsonAccessLogInUse.store(true, ordering: .relaxed) }
        // Matched per request against `TLSHostname.config.name`, a stored string of the same
        // snapshot (`TLSHostname.name` lower-cases, i.e. builds a string, on every call).
        let hostnames = snapshot.hostnames.all.map(\.config.name)
        routes = snapshot.router.apis.map { api in
            let served = api.config.hostnames.isEmpty ? hostnames
                : hostnames.filter { name in api.config.hostnames.contains(name.lowercased()) }
            return api.operations.map { operation in
                served.map { RouteMetrics(hostname: $0, api: api.config.name, operation: operation.config.name, metrics: metrics) }
            }
        }
        unrouted = hostnames.map { RouteMetrics(hostname: $0, api: "", operation: "", metrics: metrics) }
    }

    /// The counters of a matched route on a hostname (a short scan of the API's hostnames).
    func route(_ match: RouteMatch, hostname: TLSHostname) -> RouteMetrics? {
        guard match.apiIndex < routes.count, match.operationIndex < routes[match.apiIndex].count else { return nil }
        let name = hostname.config.name
        return routes[match.apiIndex][match.operationIndex].first { $0.hostname == name }
    }

    // Operations: the one call per request, where the access log is written (`RequestHandler.requestEnded`).
    func requestFinished(method: HTTPRequest.Method?, connection: ConnectionInfo, outcome: RequestOutcome, status: Int?,
                         elapsed: Duration, bytesIn: Int = 0, bytesOut: Int = 0) {
        let name = connection.hostname.config.name
        let route = outcome.route ?? unrouted.first { $0.hostname == name }
        route?.count(method: method, status: status, elapsed: elapsed)
        route?.countBytes(in: bytesIn, out: bytesOut)
    }
}

/// What the request handler learnt about a request that the metrics and the access log need:
/// filled in along `RequestHandler.handle`, read once the response is written.
struct RequestOutcome: Sendable {
    /// The matched route's counters (nil: answered before or without a route).
    var route: RouteMetrics?
}
