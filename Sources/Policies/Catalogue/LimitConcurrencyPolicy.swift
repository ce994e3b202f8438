/// `<limit-concurrency key="@(…)" max-count="3">…</limit-concurrency>`: at most `max-count`
/// executions of the children at once per key; others fail with 429.
public struct LimitConcurrencyPolicy: Sendable, PolicyDefinition {
    public let key: PolicyParameter<String>
    public let maxCount: Int
    public let statements: [PolicyStatement]

    static let schema = PolicySchema(
        "limit-concurrency",
        attributes: [
            PolicyAttributeSpec("key", .nonEmptyText, required: true),
            PolicyAttributeSpec("max-count", .integer(1...Int.max), required: true, expressions: false),
        ],
        children: .policies)

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        let statements = reader.statements()
        guard let key = reader.string("key"), let maxCount = reader.integer("max-count")?.constant else { return nil }
        return .limitConcurrency(LimitConcurrencyPolicy(key: key, maxCount: maxCount, statements: statements))
    }
}

// MARK: Run

extension LimitConcurrencyPolicy {
    struct Step: WaitingPolicyStep {
        let key: RuntimeParameter<String>
        let maxCount: Int
        let steps: [CompiledStep]

        var children: [CompiledStep] { steps }

        func run(_ execution: PolicyExecution, _ step: CompiledStep) async throws -> Flow {
            try await execution.limitConcurrency(key, maxCount: maxCount, steps, step)
        }
    }

    func compile(_ compiler: inout StepCompiler) -> (any WaitingPolicyStep)? {
        guard let key = compiler.parameter(key) else { return nil }
        return Step(key: key, maxCount: maxCount, steps: compiler.steps(statements))
    }
}

extension PolicyExecution {
    /// `limit-concurrency`: runs `steps` while holding one of `maxCount` places for the key.
    @inline(never)
    func limitConcurrency(_ key: RuntimeParameter<String>, maxCount: Int, _ steps: [CompiledStep], _ step: CompiledStep) async throws -> Flow {
        let name = Self.counterKey(step, try string(key, step))
        guard options.counters.enter(name, limit: maxCount) else {
            throw PolicyFailure(
                source: step.name, reason: "ConcurrencyLimitExceeded", message: "More than \(maxCount) concurrent requests for this key.",
                status: 429, clientMessage: "Too many requests")
        }
        defer { options.counters.leave(name) }
        return try await run(steps)
    }
}
