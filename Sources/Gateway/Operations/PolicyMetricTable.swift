import NIOConcurrencyHelpers
import Policies

/// `emit-metric`'s custom metrics, exported as one Prometheus summary (`_sum` and `_count`) per
/// series, `drawbridge_policy_metric{namespace,name,dim_…}`. Dimension values come from policies and
/// so possibly from clients: the number of series is bounded (`maximumSeries`; emissions for new
/// series past it are dropped and counted in `drawbridge_policy_metric_dropped_total`), and each label
/// value is cut to `maximumLabelBytes`. Owned by the server's `GatewayMetrics` (survives reloads).
final class PolicyMetricTable: PolicyMetricsRecording {
    struct Series {
        let labels: String
        var sum: Double
        var count: Int
    }

    static let maximumSeries = 1000
    static let maximumLabelBytes = 128

    private let state = NIOLockedValueBox<(series: [String: Series], dropped: Int)>(([:], 0))

    func record(_ metric: PolicyMetric) {
        var labels = "namespace=\"\(Self.label(metric.namespace))\",name=\"\(Self.label(metric.name))\""
        for dimension in metric.dimensions {
            labels += ",dim_\(Self.labelName(dimension.name))=\"\(Self.label(dimension.value))\""
        }
        state.withLockedValue { state in
            if var known = state.series[labels] {
                known.sum += metric.value
                known.count += 1
                state.series[labels] = known
            } else if state.series.count < Self.maximumSeries {
                state.series[labels] = Series(labels: labels, sum: metric.value, count: 1)
            } else {
                state.dropped += 1
            }
        }
    }

    /// A dimension name as a Prometheus label name: lower case, anything but letters and digits as `_`.
    static func labelName(_ name: String) -> String {
        var out = ""
        for byte in name.utf8.prefix(64) {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"): out.append(Character(UnicodeScalar(byte)))
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): out.append(Character(UnicodeScalar(byte + 32)))
            default: out.append("_")
            }
        }
        return out
    }

    /// A label value cut to the bound (on a character boundary) and escaped.
    static func label(_ value: String) -> String {
        var cut = Substring(value)
        while cut.utf8.count > maximumLabelBytes { cut = cut.dropLast() }
        return PrometheusText.escapeLabel(String(cut))
    }

    func render(into text: inout String) {
        let (series, dropped) = state.withLockedValue { ($0.series.values.sorted { $0.labels < $1.labels }, $0.dropped) }
        text += "# HELP drawbridge_policy_metric Custom metrics of emit-metric policies (value sum and emission count).\n"
        text += "# TYPE drawbridge_policy_metric summary\n"
        for entry in series {
            text += "drawbridge_policy_metric_sum{\(entry.labels)} \(entry.sum)\n"
            text += "drawbridge_policy_metric_count{\(entry.labels)} \(entry.count)\n"
        }
        text += "# HELP drawbridge_policy_metric_dropped_total emit-metric emissions dropped because the series limit was reached.\n"
        text += "# TYPE drawbridge_policy_metric_dropped_total counter\n"
        text += "drawbridge_policy_metric_dropped_total \(dropped)\n"
    }
}
