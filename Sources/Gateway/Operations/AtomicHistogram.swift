import Atomics

/// A Prometheus histogram whose `record` is a few relaxed atomic adds: no lock, no allocation, so it
/// can sit on the request path of every event loop at once. (swift-prometheus's own histogram takes
/// a lock per observation.) Rendered by `GatewayMetrics.render()` in the text exposition format.
final class AtomicHistogram: Sendable {
    let name: String
    /// Pre-rendered `key="value",…` (already escaped), or "" without labels.
    let labels: String
    /// Upper bounds in seconds, ascending; `+Inf` is implied.
    let bounds: [Double]
    private let boundsNanos: [Int64]
    /// Per bucket (non-cumulative; the last one is `+Inf`).
    private let buckets: [ManagedAtomic<Int>]
    private let count = ManagedAtomic<Int>(0)
    private let sumNanos = ManagedAtomic<Int64>(0)

    static let latencyBounds: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

    init(name: String, labels: [(String, String)], bounds: [Double] = latencyBounds) {
        self.name = name
        self.labels = labels.map { "\($0.0)=\"\(PrometheusText.escapeLabel($0.1))\"" }.joined(separator: ",")
        self.bounds = bounds
        self.boundsNanos = bounds.map { Int64($0 * 1e9) }
        self.buckets = (0...bounds.count).map { _ in ManagedAtomic<Int>(0) }
    }

    func record(_ duration: Duration) {
        let (seconds, attos) = duration.components
        let nanos = max(0, seconds &* 1_000_000_000 &+ attos / 1_000_000_000)
        var index = boundsNanos.count
        for (i, bound) in boundsNanos.enumerated() where nanos <= bound {
            index = i
            break
        }
        buckets[index].wrappingIncrement(ordering: .relaxed)
        sumNanos.wrappingIncrement(by: nanos, ordering: .relaxed)
        count.wrappingIncrement(ordering: .relaxed)
    }

    var observations: Int { count.load(ordering: .relaxed) }

    func render(into text: inout String) {
        let prefix = labels.isEmpty ? "" : labels + ","
        var cumulative = 0
        for (i, bound) in bounds.enumerated() {
            cumulative += buckets[i].load(ordering: .relaxed)
            text += "\(name)_bucket{\(prefix)le=\"\(PrometheusText.number(bound))\"} \(cumulative)\n"
        }
        cumulative += buckets[bounds.count].load(ordering: .relaxed)
        text += "\(name)_bucket{\(prefix)le=\"+Inf\"} \(cumulative)\n"
        let braces = labels.isEmpty ? "" : "{\(labels)}"
        text += "\(name)_sum\(braces) \(PrometheusText.number(Double(sumNanos.load(ordering: .relaxed)) / 1e9))\n"
        text += "\(name)_count\(braces) \(cumulative)\n"
    }
}

enum PrometheusText {
    /// A label value as the text format wants it: backslash, double quote and newline escaped.
    static func escapeLabel(_ value: String) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for character in value.unicodeScalars {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}
