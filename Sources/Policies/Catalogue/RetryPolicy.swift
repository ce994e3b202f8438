import Foundation

/// `<retry condition="@(…)" count="3" interval="1" [max-interval delta first-fast-retry]>`: runs its
/// children, then again while the condition holds. Interval alone: fixed back-off; with delta:
/// linear; with max-interval too: exponential.
public struct RetryPolicy: Sendable, PolicyDefinition {
    public let condition: PolicyParameter<Bool>
    public let count: PolicyParameter<Int>
    /// Seconds.
    public let interval: PolicyParameter<Int>
    public let maxInterval: PolicyParameter<Int>?
    public let delta: PolicyParameter<Int>?
    public let firstFastRetry: PolicyParameter<Bool>
    public let statements: [PolicyStatement]

    static let schema = PolicySchema(
        "retry",
        attributes: [
            PolicyAttributeSpec("condition", .boolean, required: true),
            PolicyAttributeSpec("count", .integer(1...50), required: true),
            PolicyAttributeSpec("interval", .integer(0...300), required: true),
            PolicyAttributeSpec("max-interval", .integer(0...300)),
            PolicyAttributeSpec("delta", .integer(0...300)),
            PolicyAttributeSpec("first-fast-retry", .boolean, default: "false"),
        ],
        children: .policies)

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        let statements = reader.statements()
        guard let condition = reader.boolean("condition"), let count = reader.integer("count"),
            let interval = reader.integer("interval"), let firstFastRetry = reader.boolean("first-fast-retry")
        else { return nil }
        let maxInterval = reader.integer("max-interval"), delta = reader.integer("delta")
        if maxInterval != nil, delta == nil {
            reader.error(attribute: "max-interval", "'max-interval' of '<retry>' requires 'delta' (exponential back-off)")
            return nil
        }
        if let low = interval.constant, let high = maxInterval?.constant, high < low {
            reader.error(attribute: "max-interval", "'max-interval' (\(high)) of '<retry>' is less than 'interval' (\(low))")
            return nil
        }
        return .retry(
            RetryPolicy(
                condition: condition, count: count, interval: interval, maxInterval: maxInterval, delta: delta,
                firstFastRetry: firstFastRetry, statements: statements))
    }
}

// MARK: Run

extension RetryPolicy {
    struct Step: WaitingPolicyStep {
        let condition: RuntimeParameter<Bool>
        let count: RuntimeParameter<Int>
        let interval: RuntimeParameter<Int>
        let maxInterval: RuntimeParameter<Int>?
        let delta: RuntimeParameter<Int>?
        let firstFastRetry: RuntimeParameter<Bool>
        let steps: [CompiledStep]

        var children: [CompiledStep] { steps }

        func run(_ execution: PolicyExecution, _ step: CompiledStep) async throws -> Flow {
            try await execution.retry(self, step)
        }
    }

    func compile(_ compiler: inout StepCompiler) -> (any WaitingPolicyStep)? {
        compiler.hasRetry = true
        guard let condition = compiler.parameter(condition), let count = compiler.parameter(count),
            let interval = compiler.parameter(interval), let fast = compiler.parameter(firstFastRetry)
        else { return nil }
        var compiledMaxInterval: RuntimeParameter<Int>? = nil
        if let maxInterval {
            guard let made = compiler.parameter(maxInterval) else { return nil }
            compiledMaxInterval = made
        }
        var compiledDelta: RuntimeParameter<Int>? = nil
        if let delta {
            guard let made = compiler.parameter(delta) else { return nil }
            compiledDelta = made
        }
        let children = compiler.steps(statements)
        return Step(
            condition: condition, count: count, interval: interval, maxInterval: compiledMaxInterval, delta: compiledDelta,
            firstFastRetry: fast, steps: children)
    }
}

extension PolicyExecution {
    /// Runs the children, then again while the condition holds, up to `count` retries.
    func retry(_ spec: RetryPolicy.Step, _ step: CompiledStep) async throws -> Flow {
        let count = try int(spec.count, step, in: 1...50)
        let interval = try int(spec.interval, step, in: 0...300)
        let maxInterval = try spec.maxInterval.map { try int($0, step, in: 0...300) }
        let delta = try spec.delta.map { try int($0, step, in: 0...300) }
        let firstFast = try bool(spec.firstFastRetry, step)
        var attempt = 0
        while true {
            var failure: PolicyFailure? = nil
            var flow = Flow.proceed
            do {
                flow = try await run(spec.steps)
            } catch let caught as PolicyFailure {
                failure = caught
            }
            state.currentPath = step.path
            if flow == .stop { return .stop }
            let again = failure == nil ? try bool(spec.condition, step) : true
            guard again, attempt < count else {
                if let failure { throw failure }
                return .proceed
            }
            attempt += 1
            let seconds: Int
            if attempt == 1 && firstFast {
                seconds = 0
            } else if let delta, let maxInterval {
                seconds = min(maxInterval, interval + ((1 << min(attempt - 1, 20)) - 1) * delta)
            } else if let delta {
                seconds = interval + (attempt - 1) * delta
            } else {
                seconds = interval
            }
            state.record(.info, "retry \(attempt) of \(count) after \(seconds) s\(failure.map { " (\($0.reason))" } ?? "")")
            if seconds > 0 { try? await Task.sleep(for: .seconds(seconds)) }
        }
    }
}
