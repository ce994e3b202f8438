import PolicyExpressions

/// `<rate-limit-by-key calls="10" renewal-period="60" counter-key="@(…)"/>`: at most `calls` per
/// key per window; over the limit, 429 with `Retry-After`.
public struct RateLimitByKeyPolicy: Sendable, PolicyDefinition {
    public let calls: PolicyParameter<Int>
    /// Window length in seconds (APIM allows at most 300).
    public let renewalPeriod: PolicyParameter<Int>
    public let counterKey: PolicyParameter<String>
    /// When false for a request, that request is not counted.
    public let incrementCondition: PolicyParameter<Bool>?
    public let incrementCount: PolicyParameter<Int>
    let reporting: RateLimitReporting
    public var retryAfterHeaderName: String? { reporting.retryAfterHeaderName }
    public var retryAfterVariableName: String? { reporting.retryAfterVariableName }
    public var remainingCallsHeaderName: String? { reporting.remainingCallsHeaderName }
    public var remainingCallsVariableName: String? { reporting.remainingCallsVariableName }
    public var totalCallsHeaderName: String? { reporting.totalCallsHeaderName }

    static let schema = PolicySchema(
        "rate-limit-by-key", sections: [.inbound],
        attributes: [
            PolicyAttributeSpec("calls", .integer(1...Int.max), required: true),
            PolicyAttributeSpec("renewal-period", .integer(1...300), required: true),
            PolicyAttributeSpec("counter-key", .nonEmptyText, required: true),
            PolicyAttributeSpec("increment-condition", .boolean),
            PolicyAttributeSpec("increment-count", .integer(0...Int.max), default: "1"),
        ] + RateLimitReporting.attributes)

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        guard let calls = reader.integer("calls"), let renewalPeriod = reader.integer("renewal-period"),
            let counterKey = reader.string("counter-key"), let incrementCount = reader.integer("increment-count")
        else { return nil }
        return .rateLimitByKey(
            RateLimitByKeyPolicy(
                calls: calls, renewalPeriod: renewalPeriod, counterKey: counterKey,
                incrementCondition: reader.boolean("increment-condition"), incrementCount: incrementCount,
                reporting: RateLimitReporting(reader)))
    }
}

// MARK: Run

extension RateLimitByKeyPolicy {
    struct Step: SynchronousPolicyStep {
        let calls: RuntimeParameter<Int>
        let period: RuntimeParameter<Int>
        let key: RuntimeParameter<String>
        let condition: RuntimeParameter<Bool>?
        let increment: RuntimeParameter<Int>
        let policy: RateLimitByKeyPolicy

        func run(_ execution: PolicyExecution, _ step: CompiledStep) throws -> Flow {
            let spec = self
            let calls = try execution.int(spec.calls, step, in: 1...Int.max)
            let period = try execution.int(spec.period, step, in: 1...300)
            let key = PolicyExecution.counterKey(step, try execution.string(spec.key, step))
            let amount = try execution.int(spec.increment, step, in: 0...Int.max)
            let (count, renewsIn) = execution.options.counters.peek(key, period: period)
            let policy = spec.policy
            if count >= calls {
                throw policy.reporting.refusal(renewsIn: renewsIn, execution, step)
            }
            var remaining = calls - count
            if let condition = spec.condition {
                execution.deferredIncrements.append((condition, key, amount, period, nil, step))
            } else {
                execution.options.counters.add(key, amount: amount, period: period)
                remaining = max(0, remaining - amount)
            }
            policy.reporting.admitted(remaining: remaining, total: calls, execution)
            return .proceed
        }
    }

    func compile(_ compiler: inout StepCompiler) -> (any SynchronousPolicyStep)? {
        guard let calls = compiler.parameter(calls), let period = compiler.parameter(renewalPeriod), let key = compiler.parameter(counterKey),
            let increment = compiler.parameter(incrementCount)
        else { return nil }
        var condition: RuntimeParameter<Bool>? = nil
        if let incrementCondition {
            guard let made = compiler.parameter(incrementCondition) else { return nil }
            condition = made
        }
        return Step(calls: calls, period: period, key: key, condition: condition, increment: increment, policy: self)
    }
}
