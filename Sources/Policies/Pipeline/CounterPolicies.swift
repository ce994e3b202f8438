import Foundation

/// What `rate-limit-by-key`, `quota-by-key` and `limit-concurrency` share (counter keys, increments
/// decided on the final response), and `retry`.
extension PolicyExecution {
    /// The counter of one statement for one key value. One `PolicyCounters` serves a whole gateway
    /// and outlives reloads, so the statement is named by its policy, scope, document file and path
    /// in it: the same statement keeps its counts across reloads and across the operations that
    /// share its document; equal statements of different APIs' documents count apart.
    static func counterKey(_ step: CompiledStep, _ key: String) -> String {
        "\(step.name)|\(step.scope)|\(step.position.file)|\(step.path)|" + key
    }

    /// Increments whose condition looks at the final response (`context.Response.StatusCode`).
    func applyDeferredIncrements() {
        let pending = deferredIncrements
        deferredIncrements = []
        for item in pending {
            // A condition that fails to evaluate does not count the call.
            guard (try? bool(item.condition, item.step)) == true else { continue }
            options.counters.add(item.key, amount: item.amount, period: item.period, anchor: item.anchor)
        }
    }

    /// Runs the children, then again while the condition holds, up to `count` retries.
    func retry(_ spec: CompiledStep.Retry, _ step: CompiledStep) async throws -> Flow {
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
