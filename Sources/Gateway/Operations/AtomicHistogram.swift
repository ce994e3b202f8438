import Atomics

/// A Prometheus histogram whose `record` is a short scan of the bounds and three relaxed atomic adds:
/// no lock, no allocation, no reference counting, so it can sit on the request path of every event
/// loop at once. (swift-prometheus's own histogram takes a lock per observation.) Rendered by
/// `GatewayMetrics.render()` in the text exposition format.
///
/// `@unchecked Sendable`: the bounds are written once in `init` and only read afterwards; the counts
/// are atomics; both live exactly as long as the instance (freed in `deinit`).
final class AtomicHistogram: @unchecked Sendable {
    let name: String
    /// Pre-rendered `key="value",…` (already escaped), or "" without labels.
    let labels: String
    /// Upper bounds in seconds, ascending; `+Inf` is implied.
    let bounds: [Double]
    private let boundsNanos: UnsafeMutableBufferPointer<Int64>
    /// Per bucket (non-cumulative; the last one is `+Inf`), then the count, then the sum in nanoseconds.
    private let cells: UnsafeMutableBufferPointer<UnsafeAtomic<Int>.Storage>

    static let latencyBounds: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

    init(name: String, labels: [(String, String)], bounds: [Double] = latencyBounds) {
        self.name = name
        self.labels = labels.map { "\($0.0)=\"\(PrometheusText.escapeLabel($0.1))\"" }.joined(separator: ",")
        self.bounds = bounds
        boundsNanos = .allocate(capacity: bounds.count)
        _ = boundsNanos.initialize(from: bounds.map { Int64($0 * 1e9) })
        cells = .allocate(capacity: bounds.count + 3)
        cells.initialize(repeating: UnsafeAtomic<Int>.Storage(0))
    }

    deinit {
        boundsNanos.deallocate()
        cells.deallocate()
    }

    private func cell(_ index: Int) -> UnsafeAtomic<Int> {
        UnsafeAtomic(at: cells.baseAddress.unsafelyUnwrapped + index)
    }

    func record(_ duration: Duration) {
        let (seconds, attos) = duration.components
        record(nanoseconds: seconds &* 1_000_000_000 &+ attos / 1_000_000_000)
    }

    func record(nanoseconds: Int64) {
        let nanos = max(0, nanoseconds)
        var index = 0
        let count = boundsNanos.count
        while index < count && nanos > boundsNanos[index] { index &+= 1 }
        cell(index).wrappingIncrement(ordering: .relaxed)
        cell(count &+ 1).wrappingIncrement(ordering: .relaxed)
        cell(count &+ 2).wrappingIncrement(by: Int(truncatingIfNeeded: nanos), ordering: .relaxed)
    }

    var observations: Int { cell(boundsNanos.count + 1).load(ordering: .relaxed) }

    func render(into text: inout String) {
        let prefix = labels.isEmpty ? "" : labels + ","
        var cumulative = 0
        for (i, bound) in bounds.enumerated() {
            cumulative += cell(i).load(ordering: .relaxed)
            text += "\(name)_bucket{\(prefix)le=\"\(PrometheusText.number(bound))\"} \(cumulative)\n"
        }
        cumulative += cell(bounds.count).load(ordering: .relaxed)
        text += "\(name)_bucket{\(prefix)le=\"+Inf\"} \(cumulative)\n"
        let braces = labels.isEmpty ? "" : "{\(labels)}"
        text += "\(name)_sum\(braces) \(PrometheusText.number(Double(cell(bounds.count + 2).load(ordering: .relaxed)) / 1e9))\n"
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
