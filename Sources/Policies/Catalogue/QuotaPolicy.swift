import PolicyExpressions

/// `<quota calls="10000" bandwidth="40000" renewal-period="3600">` with optional `<api>` and
/// `<operation>` children: a call budget per subscription per period (and per API / operation);
/// over it, 403 "Out of call volume quota". `bandwidth` (KiB): the request and response body bytes
/// the gateway counts, charged after the response; over it, 403 "Out of bandwidth quota".
public struct QuotaPolicy: Sendable, PolicyDefinition {
    let limits: [SubscriptionLimit]

    static let schema = PolicySchema(
        "quota", sections: [.inbound],
        attributes: [
            PolicyAttributeSpec("calls", .integer(1...Int.max), expressions: false),
            PolicyAttributeSpec("bandwidth", .integer(1...Int.max), expressions: false),
            PolicyAttributeSpec("renewal-period", .integer(0...Int.max), required: true, expressions: false),
        ],
        children: .elements(["api"]))

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        if reader.element.attribute("calls") == nil, reader.element.attribute("bandwidth") == nil {
            reader.error("'<quota>' requires 'calls', 'bandwidth' or both")
            return nil
        }
        guard let period = reader.integer("renewal-period")?.constant, let children = SubscriptionLimit.children(reader, bandwidth: true),
              reader.isValid
        else { return nil }
        let own = SubscriptionLimit(target: .all, calls: reader.integer("calls")?.constant,
                                    bandwidth: reader.integer("bandwidth")?.constant, renewalPeriod: period)
        return .quota(QuotaPolicy(limits: [own] + children))
    }
}

// MARK: Run

extension QuotaPolicy {
    struct Step: SynchronousPolicyStep {
        let limits: [SubscriptionLimit]

        func run(_ execution: PolicyExecution, _ step: CompiledStep) throws -> Flow {
            let identity = execution.state.identity
            let counters = execution.options.counters
            var applying: [(key: String, period: Int)] = []
            var charging: [(key: String, period: Int)] = []
            for limit in limits where limit.applies(to: identity) {
                let key = SubscriptionLimit.counterKey(step, state: execution.state, limit: limit)
                if let calls = limit.calls {
                    let (count, renewsIn) = counters.peek(key, period: limit.renewalPeriod)
                    if count >= calls {
                        let message = "Out of call volume quota. Quota will be replenished in \(BandwidthQuota.time(renewsIn))."
                        if renewsIn > 0 { execution.extraResponseHeaders.append(PolicyHeader("Retry-After", String(renewsIn))) }
                        throw PolicyFailure(source: step.name, reason: "QuotaExceeded", message: message, status: 403, clientMessage: message)
                    }
                    applying.append((key, limit.renewalPeriod))
                }
                if let kilobytes = limit.bandwidth {
                    let bandwidthKey = BandwidthQuota.counterKey(key)
                    let (used, renewsIn) = counters.peek(bandwidthKey, period: limit.renewalPeriod)
                    if used >= BandwidthQuota.bytes(kilobytes: kilobytes) { throw BandwidthQuota.refusal(execution, step, renewsIn: renewsIn) }
                    charging.append((bandwidthKey, limit.renewalPeriod))
                }
            }
            for item in applying { counters.add(item.key, amount: 1, period: item.period) }
            for item in charging { BandwidthQuota.charge(execution, key: item.key, period: item.period, anchor: nil) }
            return .proceed
        }
    }

    func compile(_ compiler: inout StepCompiler, _ statement: PolicyStatement) -> (any SynchronousPolicyStep)? {
        compiler.countsBandwidth = compiler.countsBandwidth || limits.contains { $0.bandwidth != nil }
        return Step(limits: limits)
    }
}
