import ClientCertificates
import CoreMetrics
import Foundation
import NIOConcurrencyHelpers

/// Downloads of CRLs per distribution point: success and failure counts and the age of the last
/// successful download (`drawbridge_crl_age_seconds`, computed at scrape time). The URLs come from
/// the certificates being checked (their CRL distribution points), which chain to the configured
/// trusted CAs, not from request data; still, at most `maximumDistributionPoints` URLs get series of
/// their own, the rest count under `distribution_point="other"`. Owned by the server's
/// `GatewayMetrics` (survives reloads). Called per download, never per request.
final class CRLMetrics: Sendable {
    static let maximumDistributionPoints = 32
    static let other = "other"

    struct Point {
        var success: CoreMetrics.Counter
        var failure: CoreMetrics.Counter
        var lastSuccess: Date?
        /// The downloaded CRL's nextUpdate (nil: none given).
        var nextUpdate: Date?
    }

    private let factory: any MetricsFactory
    private let points = NIOLockedValueBox<[String: Point]>([:])

    init(factory: any MetricsFactory) {
        self.factory = factory
    }

    func fetched(_ url: String, _ result: Result<CertificateRevocationList, CRLFetchError>, now: Date = Date()) {
        let counter: CoreMetrics.Counter = points.withLockedValue { points in
            let label = points[url] != nil || points.count < Self.maximumDistributionPoints ? url : Self.other
            var point = points[label] ?? Point(
                success: CoreMetrics.Counter(label: "drawbridge_crl_fetches_total",
                                             dimensions: [("distribution_point", label), ("result", "success")], factory: factory),
                failure: CoreMetrics.Counter(label: "drawbridge_crl_fetches_total",
                                             dimensions: [("distribution_point", label), ("result", "failure")], factory: factory))
            defer { points[label] = point }
            switch result {
            case .success(let crl):
                if label != Self.other {
                    point.lastSuccess = now
                    point.nextUpdate = crl.nextUpdate
                }
                return point.success
            case .failure:
                return point.failure
            }
        }
        counter.increment()
    }

    /// `drawbridge_crl_age_seconds`: seconds since each distribution point's last successful download;
    /// `drawbridge_crl_next_update_seconds`: seconds until that CRL's nextUpdate (negative: stale).
    func render(into text: inout String, now: Date = Date()) {
        let downloaded = points.withLockedValue { points in
            points.compactMap { url, point in point.lastSuccess.map { (url: url, at: $0, nextUpdate: point.nextUpdate) } }
        }.sorted { $0.url < $1.url }
        text += "# HELP drawbridge_crl_age_seconds Seconds since the CRL of a distribution point was last downloaded.\n"
        text += "# TYPE drawbridge_crl_age_seconds gauge\n"
        for item in downloaded {
            text += "drawbridge_crl_age_seconds{distribution_point=\"\(PrometheusText.escapeLabel(item.url))\"} \(Int64(now.timeIntervalSince(item.at)))\n"
        }
        text += "# HELP drawbridge_crl_next_update_seconds Seconds until the downloaded CRL's nextUpdate (negative: past it).\n"
        text += "# TYPE drawbridge_crl_next_update_seconds gauge\n"
        for item in downloaded {
            guard let next = item.nextUpdate else { continue }
            text += "drawbridge_crl_next_update_seconds{distribution_point=\"\(PrometheusText.escapeLabel(item.url))\"} \(Int64(next.timeIntervalSince(now)))\n"
        }
    }
}

/// Requests refused by a rate-limit or quota policy, by policy: counters resolved when the metrics are
/// made. `GatewayMetrics.limitRefused(_:)` is the call for code that refuses outside a policy pipeline
/// (e.g. per-subscription limits); refusals of the pipeline's own limit policies are counted from the
/// pipeline's result (`PolicyRunner.noteReason`).
public enum LimitPolicyKind: String, CaseIterable, Sendable {
    case rateLimit = "rate-limit"
    case rateLimitByKey = "rate-limit-by-key"
    case quota = "quota"
    case quotaByKey = "quota-by-key"
    case limitConcurrency = "limit-concurrency"
    case azureOpenAITokenLimit = "azure-openai-token-limit"
    case llmTokenLimit = "llm-token-limit"
    case other

    /// From a policy error (`context.LastError`): the failing policy's name when its reason is a limit.
    init?(source: String, reason: String) {
        switch reason {
        case "RateLimitExceeded", "QuotaExceeded", "TokenLimitExceeded", "TokenQuotaExceeded", "ConcurrencyLimitExceeded", "LimitConcurrencyExceeded":
            self = LimitPolicyKind(rawValue: source) ?? .other
        default:
            return nil
        }
    }
}

/// Certificates of `policies.certificates` (`context.Deployment.Certificates`) for the expiry gauge.
extension CertificateInventory {
    static func deploymentExpiries(_ store: DeploymentCertificateStore?) -> [CertificateExpiry] {
        guard let store else { return [] }
        return store.byId.sorted { $0.key < $1.key }.map { id, certificate in
            CertificateExpiry(kind: "deployment", hostname: "", subject: certificate.subject, notAfter: certificate.notAfter, id: id)
        }
    }
}
