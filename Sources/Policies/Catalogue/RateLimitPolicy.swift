import PolicyExpressions

/// `<rate-limit calls="20" renewal-period="90">` with optional `<api name calls renewal-period>` and
/// `<operation …>` children: at most `calls` per subscription per window (and per API / operation
/// for the children, each counted on its own); over any of them, 429 with `Retry-After`.
public struct RateLimitPolicy: Sendable, PolicyDefinition {
    let limits: [SubscriptionLimit]
    public let retryAfterHeaderName: String?
    public let retryAfterVariableName: String?
    public let remainingCallsHeaderName: String?
    public let remainingCallsVariableName: String?
    public let totalCallsHeaderName: String?

    static let schema = PolicySchema(
        "rate-limit", sections: [.inbound],
        attributes: [
            PolicyAttributeSpec("calls", .integer(1...Int.max), required: true, expressions: false),
            PolicyAttributeSpec("renewal-period", .integer(1...300), required: true, expressions: false),
            PolicyAttributeSpec("retry-after-header-name", .nonEmptyText, expressions: false),
            PolicyAttributeSpec("retry-after-variable-name", .nonEmptyText, expressions: false),
            PolicyAttributeSpec("remaining-calls-header-name", .nonEmptyText, expressions: false),
            PolicyAttributeSpec("remaining-calls-variable-name", .nonEmptyText, expressions: false),
            PolicyAttributeSpec("total-calls-header-name", .nonEmptyText, expressions: false),
        ],
        children: .elements(["api"]))

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        guard let calls = reader.integer("calls")?.constant, let period = reader.integer("renewal-period")?.constant,
              let children = SubscriptionLimit.children(reader, bandwidth: false)
        else { return nil }
        return .rateLimit(RateLimitPolicy(
            limits: [SubscriptionLimit(target: .all, calls: calls, bandwidth: nil, renewalPeriod: period)] + children,
            retryAfterHeaderName: reader.literal("retry-after-header-name"),
            retryAfterVariableName: reader.literal("retry-after-variable-name"),
            remainingCallsHeaderName: reader.literal("remaining-calls-header-name"),
            remainingCallsVariableName: reader.literal("remaining-calls-variable-name"),
            totalCallsHeaderName: reader.literal("total-calls-header-name")))
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
                    execution.extraResponseHeaders.append(PolicyHeader(policy.retryAfterHeaderName ?? "Retry-After", String(renewsIn)))
                    if let name = policy.retryAfterVariableName { execution.state.variables.set(.string(name), .int(Int32(clamping: renewsIn))) }
                    let message = "Rate limit is exceeded. Try again in \(renewsIn) seconds."
                    throw PolicyFailure(source: step.name, reason: "RateLimitExceeded", message: message, status: 429, clientMessage: message)
                }
                applying.append((key, calls, limit.renewalPeriod, count))
            }
            for item in applying { counters.add(item.key, amount: 1, period: item.period) }
            // The headers and variables report the subscription-wide limit (the element's own).
            if let first = applying.first {
                let remaining = max(0, first.calls - first.count - 1)
                if let name = policy.remainingCallsHeaderName { execution.extraResponseHeaders.append(PolicyHeader(name, String(remaining))) }
                if let name = policy.remainingCallsVariableName { execution.state.variables.set(.string(name), .int(Int32(clamping: remaining))) }
                if let name = policy.totalCallsHeaderName { execution.extraResponseHeaders.append(PolicyHeader(name, String(first.calls))) }
            }
            return .proceed
        }
    }

    func compile() -> any SynchronousPolicyStep { Step(policy: self) }
}
