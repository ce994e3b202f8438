import Foundation

/// The bytes of one request, reported by the gateway once its response has been written:
/// `quota` / `quota-by-key` `bandwidth` admit a request while the period's kilobytes are under the
/// limit and register a charge here; the gateway calls `finished(bytes:)` with the request's body
/// bytes received plus its response body bytes sent (its data-plane counts), which adds them to
/// each charged counter. A request refused or never finished is charged nothing.
///
/// Without a `RequestUsage` on the `PolicyRequest` (the `policy test` runner, a gateway that does
/// not count bytes), bandwidth quotas are checked but nothing is ever charged.
public final class RequestUsage: @unchecked Sendable {
    private let lock = NSLock()
    private var charges: [@Sendable (Int) -> Void] = []
    private var done = false

    public init() {}

    func charge(_ charge: @escaping @Sendable (Int) -> Void) {
        lock.withLock { if !done { charges.append(charge) } }
    }

    /// Called once, after the response: `bytes` received and sent (negative values count as 0).
    public func finished(bytes: Int) {
        let pending: [@Sendable (Int) -> Void] = lock.withLock {
            guard !done else { return [] }
            done = true
            defer { charges = [] }
            return charges
        }
        for charge in pending { charge(max(0, bytes)) }
    }
}

/// What `quota` and `quota-by-key` share for `bandwidth`.
enum BandwidthQuota {
    /// The counter of a bandwidth limit next to the call counter of the same key.
    static func counterKey(_ callsKey: String) -> String { callsKey + "|bandwidth" }

    /// Kilobytes as bytes, saturating (the attribute is at most `Int.max`).
    static func bytes(kilobytes: Int) -> Int {
        let (product, overflow) = kilobytes.multipliedReportingOverflow(by: 1024)
        return overflow ? Int.max : product
    }

    /// `hh:mm:ss`, formatted by hand (no String(format:) on the request path).
    static func time(_ seconds: Int) -> String {
        [seconds / 3600, seconds / 60 % 60, seconds % 60].map { $0 < 10 ? "0\($0)" : "\($0)" }.joined(separator: ":")
    }

    /// APIM's 403 once the period's kilobytes are used up, with `Retry-After`.
    static func refusal(_ execution: PolicyExecution, _ step: CompiledStep, renewsIn: Int) -> PolicyFailure {
        let message = "Out of bandwidth quota. Quota will be replenished in \(time(renewsIn))."
        if renewsIn > 0 { execution.extraResponseHeaders.append(PolicyHeader("Retry-After", String(renewsIn))) }
        return PolicyFailure(source: step.name, reason: "QuotaExceeded", message: message, status: 403, clientMessage: message)
    }

    /// Registers the request's bytes for `key` (charged when the gateway reports them).
    static func charge(_ execution: PolicyExecution, key: String, period: Int, anchor: Date?) {
        guard let usage = execution.state.usage else { return }
        let counters = execution.options.counters
        usage.charge { bytes in counters.add(key, amount: bytes, period: period, anchor: anchor) }
    }
}
