import PolicyExpressions

/// `<rate-limit calls="20" renewal-period="90">` with optional `<api name calls renewal-period>` and
/// `<operation …>` children: at most `calls` per subscription per window (and per API / operation
/// for the children, each counted on its own); over any of them, 429 with `Retry-After`.
public struct RateLimitPolicy: Sendable, PolicyDefinition {
    let limits: [SubscriptionLimit]
    let reporting: RateLimitReporting
    public var retryAfterHeaderName: String? { reporting.retryAfterHeaderName }
    public var retryAfterVariableName: String? { reporting.retryAfterVariableName }
    public var remainingCallsHeaderName: String? { reporting.remainingCallsHeaderName }
    public var remainingCallsVariableName: String? { reporting.remainingCallsVariableName }
    public var totalCallsHeaderName: String? { reporting.totalCallsHeaderName }

    static let schema = PolicySchema(
        "rate-limit", sections: [.inbound],
        attributes: [
            PolicyAttributeSpec("calls", .integer(1...Int.max), required: true, expressions: false),
            PolicyAttributeSpec("renewal-period", .integer(1...300), required: true, expressions: false),
        ] + RateLimitReporting.attributes,
        children: .elements(["api"]))

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        guard let calls = reader.integer("calls")?.constant, let period = reader.integer("renewal-period")?.constant,
              let children = SubscriptionLimit.children(reader, bandwidth: false)
        else { return nil }
        return .rateLimit(RateLimitPolicy(
            limits: [SubscriptionLimit(target: .all, calls: calls, bandwidth: nil, renewalPeriod: period)] + children,
            reporting: RateLimitReporting(reader)))
    }
}

// MARK: Run

extension RateLimitPolicy {
    struct Step: SynchronousPolicyStep {
        let policy: RateLimitPolicy

        func run(_ execution: PolicyExecution, _ step: CompiledStep) throws -> Flow {
            let identity = execution.state.identity
            let counters = execution.options.counters
            // Every limit that applies is checked before any is counted: a refused call counts nowhere.
            var applying: [(key: String, calls: Int, period: Int, count: Int)] = []
            for limit in policy.limits where limit.applies(to: identity) {
                guard let calls = limit.calls else { continue }
                let key = SubscriptionLimit.counterKey(step, state: execution.state, limit: limit)
                let (count, renewsIn) = counters.peek(key, period: limit.renewalPeriod)
                if count >= calls {
                    throw policy.reporting.refusal(renewsIn: renewsIn, execution, step)
                }
                applying.append((key, calls, limit.renewalPeriod, count))
            }
            for item in applying { counters.add(item.key, amount: 1, period: item.period) }
            // The headers and variables report the subscription-wide limit (the element's own).
            if let first = applying.first {
                policy.reporting.admitted(remaining: max(0, first.calls - first.count - 1), total: first.calls, execution)
            }
            return .proceed
        }
    }

    func compile() -> any SynchronousPolicyStep { Step(policy: self) }
}
