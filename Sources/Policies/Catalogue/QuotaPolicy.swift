import PolicyExpressions

/// `<quota calls="10000" bandwidth="40000" renewal-period="3600">` with optional `<api>` and
/// `<operation>` children: a call budget per subscription per period (and per API / operation);
/// over it, 403 "Out of call volume quota". `bandwidth` (KiB) loads but is not enforced at run
/// time yet: a document that sets it is refused when compiled (as for `quota-by-key`).
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
            for limit in limits where limit.applies(to: identity) {
                guard let calls = limit.calls else { continue }
                let key = SubscriptionLimit.counterKey(step, state: execution.state, limit: limit)
                let (count, renewsIn) = counters.peek(key, period: limit.renewalPeriod)
                if count >= calls {
                    // hh:mm:ss, formatted by hand (no String(format:) on the request path).
                    let time = [renewsIn / 3600, renewsIn / 60 % 60, renewsIn % 60].map { $0 < 10 ? "0\($0)" : "\($0)" }.joined(separator: ":")
                    let message = "Out of call volume quota. Quota will be replenished in \(time)."
                    throw PolicyFailure(source: step.name, reason: "QuotaExceeded", message: message, status: 403, clientMessage: message)
                }
                applying.append((key, limit.renewalPeriod))
            }
            for item in applying { counters.add(item.key, amount: 1, period: item.period) }
            return .proceed
        }
    }

    func compile(_ compiler: inout StepCompiler, _ statement: PolicyStatement) -> (any SynchronousPolicyStep)? {
        guard !limits.contains(where: { $0.bandwidth != nil }) else {
            compiler.unsupported(statement, "'bandwidth' of '<quota>' is not supported at run time yet (only 'calls')")
            return nil
        }
        return Step(limits: limits)
    }
}
