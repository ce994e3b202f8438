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
        let calls: RuntimeParameter<Int>?
        /// Kilobytes (`bandwidth`): the request and response body bytes the gateway counts, charged
        /// after the response (`RequestUsage`).
        let bandwidth: RuntimeParameter<Int>?
        let period: RuntimeParameter<Int>
        let key: RuntimeParameter<String>
        let condition: RuntimeParameter<Bool>?
        let firstPeriodStart: Date?

        func run(_ execution: PolicyExecution, _ step: CompiledStep) throws -> Flow {
            let spec = self
            let calls = try spec.calls.map { try execution.int($0, step, in: 1...Int.max) }
            let kilobytes = try spec.bandwidth.map { try execution.int($0, step, in: 1...Int.max) }
            let period = try execution.int(spec.period, step, in: 0...Int.max)
            let key = PolicyExecution.counterKey(step, try execution.string(spec.key, step))
            let counters = execution.options.counters
            if let calls {
                let (count, renewsIn) = counters.peek(key, period: period, anchor: spec.firstPeriodStart)
                if count >= calls {
                    let message = "Out of call volume quota. Quota will be replenished in \(BandwidthQuota.time(renewsIn))."
                    if renewsIn > 0 { execution.extraResponseHeaders.append(PolicyHeader("Retry-After", String(renewsIn))) }
                    throw PolicyFailure(source: step.name, reason: "QuotaExceeded", message: message, status: 403, clientMessage: message)
                }
            }
            let bandwidthKey = BandwidthQuota.counterKey(key)
            if let kilobytes {
                let (used, renewsIn) = counters.peek(bandwidthKey, period: period, anchor: spec.firstPeriodStart)
                if used >= BandwidthQuota.bytes(kilobytes: kilobytes) { throw BandwidthQuota.refusal(execution, step, renewsIn: renewsIn) }
            }
            if let condition = spec.condition {
                if calls != nil { execution.deferredIncrements.append((condition, key, 1, period, spec.firstPeriodStart, step)) }
                if kilobytes != nil { execution.deferredCharges.append((condition, bandwidthKey, period, spec.firstPeriodStart, step)) }
            } else {
                if calls != nil { counters.add(key, amount: 1, period: period, anchor: spec.firstPeriodStart) }
                if kilobytes != nil { BandwidthQuota.charge(execution, key: bandwidthKey, period: period, anchor: spec.firstPeriodStart) }
            }
            return .proceed
        }
    }

    func compile(_ compiler: inout StepCompiler, _ statement: PolicyStatement) -> (any SynchronousPolicyStep)? {
        var callsParameter: RuntimeParameter<Int>? = nil, bandwidthParameter: RuntimeParameter<Int>? = nil
        if let calls {
            guard let made = compiler.parameter(calls) else { return nil }
            callsParameter = made
        }
        if let bandwidth {
            guard let made = compiler.parameter(bandwidth) else { return nil }
            bandwidthParameter = made
        }
        if bandwidth != nil { compiler.countsBandwidth = true }
        guard let period = compiler.parameter(renewalPeriod), let key = compiler.parameter(counterKey) else { return nil }
        var condition: RuntimeParameter<Bool>? = nil
        if let incrementCondition {
            guard let made = compiler.parameter(incrementCondition) else { return nil }
            condition = made
        }
        return Step(calls: callsParameter, bandwidth: bandwidthParameter, period: period, key: key, condition: condition,
                    firstPeriodStart: firstPeriodStart)
    }
}
