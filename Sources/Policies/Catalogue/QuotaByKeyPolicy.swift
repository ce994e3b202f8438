import Foundation
import PolicyExpressions

/// `<quota-by-key calls="…" bandwidth="…" renewal-period="…" counter-key="…"/>`: a call-count and/or
/// bandwidth (KiB) budget per key per period; over it, 403.
public struct QuotaByKeyPolicy: Sendable, PolicyDefinition {
    public let calls: PolicyParameter<Int>?
    /// Kilobytes.
    public let bandwidth: PolicyParameter<Int>?
    /// Seconds; 0 means the quota never renews.
    public let renewalPeriod: PolicyParameter<Int>
    public let counterKey: PolicyParameter<String>
    public let incrementCondition: PolicyParameter<Bool>?
    /// When the first period starts (periods are aligned to it).
    public let firstPeriodStart: Date?

    static let schema = PolicySchema(
        "quota-by-key", sections: [.inbound],
        attributes: [
            PolicyAttributeSpec("calls", .integer(1...Int.max)),
            PolicyAttributeSpec("bandwidth", .integer(1...Int.max)),
            PolicyAttributeSpec("renewal-period", .integer(0...Int.max), required: true),
            PolicyAttributeSpec("counter-key", .nonEmptyText, required: true),
            PolicyAttributeSpec("increment-condition", .boolean),
            PolicyAttributeSpec("first-period-start", .nonEmptyText, expressions: false),
        ])

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        let calls = reader.integer("calls"), bandwidth = reader.integer("bandwidth")
        if reader.element.attribute("calls") == nil, reader.element.attribute("bandwidth") == nil {
            reader.error("'<quota-by-key>' requires 'calls', 'bandwidth' or both")
            return nil
        }
        var firstPeriodStart: Date? = nil
        if let text = reader.literal("first-period-start") {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime]
            let withZone = text.hasSuffix("Z") || text.dropFirst(10).contains("+") || text.dropFirst(10).contains("-") ? text : text + "Z"
            guard let date = formatter.date(from: withZone) else {
                reader.error(attribute: "first-period-start", "invalid date \(reader.quote(text, attribute: "first-period-start")) for 'first-period-start': expected ISO 8601 such as '2024-01-01T00:00:00Z'")
                return nil
            }
            firstPeriodStart = date
        }
        guard let renewalPeriod = reader.integer("renewal-period"), let counterKey = reader.string("counter-key") else { return nil }
        return .quotaByKey(
            QuotaByKeyPolicy(
                calls: calls, bandwidth: bandwidth, renewalPeriod: renewalPeriod, counterKey: counterKey,
                incrementCondition: reader.boolean("increment-condition"), firstPeriodStart: firstPeriodStart))
    }
}

// MARK: Run

extension QuotaByKeyPolicy {
    struct Step: SynchronousPolicyStep {
        let calls: RuntimeParameter<Int>
        let period: RuntimeParameter<Int>
        let key: RuntimeParameter<String>
        let condition: RuntimeParameter<Bool>?
        let firstPeriodStart: Date?

        func run(_ execution: PolicyExecution, _ step: CompiledStep) throws -> Flow {
            let spec = self
            let calls = try execution.int(spec.calls, step, in: 1...Int.max)
            let period = try execution.int(spec.period, step, in: 0...Int.max)
            let key = PolicyExecution.counterKey(step, try execution.string(spec.key, step))
            let (count, renewsIn) = execution.options.counters.peek(key, period: period, anchor: spec.firstPeriodStart)
            if count >= calls {
                let time = String(format: "%02d:%02d:%02d", renewsIn / 3600, renewsIn / 60 % 60, renewsIn % 60)
                let message = "Out of call volume quota. Quota will be replenished in \(time)."
                throw PolicyFailure(source: step.name, reason: "QuotaExceeded", message: message, status: 403, clientMessage: message)
            }
            if let condition = spec.condition {
                execution.deferredIncrements.append((condition, key, 1, period, spec.firstPeriodStart, step))
            } else {
                execution.options.counters.add(key, amount: 1, period: period, anchor: spec.firstPeriodStart)
            }
            return .proceed
        }
    }

    func compile(_ compiler: inout StepCompiler, _ statement: PolicyStatement) -> (any SynchronousPolicyStep)? {
        guard let givenCalls = calls, bandwidth == nil else {
            compiler.unsupported(statement, "'bandwidth' of '<quota-by-key>' is not supported at run time yet (only 'calls')")
            return nil
        }
        guard let calls = compiler.parameter(givenCalls), let period = compiler.parameter(renewalPeriod), let key = compiler.parameter(counterKey)
        else { return nil }
        var condition: RuntimeParameter<Bool>? = nil
        if let incrementCondition {
            guard let made = compiler.parameter(incrementCondition) else { return nil }
            condition = made
        }
        return Step(calls: calls, period: period, key: key, condition: condition, firstPeriodStart: firstPeriodStart)
    }
}
