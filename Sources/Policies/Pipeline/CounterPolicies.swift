import Foundation

/// `rate-limit-by-key`, `quota-by-key` (calls) and `retry`.
extension PolicyExecution {
    /// The counter of one statement for one key value. One `PolicyCounters` serves a whole gateway
    /// and outlives reloads, so the statement is named by its policy, scope, document file and path
    /// in it: the same statement keeps its counts across reloads and across the operations that
    /// share its document; equal statements of different APIs' documents count apart.
    static func counterKey(_ step: CompiledStep, _ key: String) -> String {
        "\(step.name)|\(step.scope)|\(step.position.file)|\(step.path)|" + key
    }

    func rateLimit(_ spec: CompiledStep.RateLimit, _ step: CompiledStep) throws {
        let calls = try int(spec.calls, step, in: 1...Int.max)
        let period = try int(spec.period, step, in: 1...300)
        let key = Self.counterKey(step, try string(spec.key, step))
        let amount = try int(spec.increment, step, in: 0...Int.max)
        let (count, renewsIn) = options.counters.peek(key, period: period)
        let policy = spec.policy
        if count >= calls {
            extraResponseHeaders.append(PolicyHeader(policy.retryAfterHeaderName ?? "Retry-After", String(renewsIn)))
            if let name = policy.retryAfterVariableName { state.variables.set(.string(name), .int(Int32(clamping: renewsIn))) }
            let message = "Rate limit is exceeded. Try again in \(renewsIn) seconds."
            throw PolicyFailure(source: step.name, reason: "RateLimitExceeded", message: message, status: 429, clientMessage: message)
        }
        var remaining = calls - count
        if let condition = spec.condition {
            deferredIncrements.append((condition, key, amount, period, nil, step))
        } else {
            options.counters.add(key, amount: amount, period: period)
            remaining = max(0, remaining - amount)
        }
        if let name = policy.remainingCallsHeaderName { extraResponseHeaders.append(PolicyHeader(name, String(remaining))) }
        if let name = policy.remainingCallsVariableName { state.variables.set(.string(name), .int(Int32(clamping: remaining))) }
        if let name = policy.totalCallsHeaderName { extraResponseHeaders.append(PolicyHeader(name, String(calls))) }
    }

    func quota(_ spec: CompiledStep.Quota, _ step: CompiledStep) throws {
        let calls = try int(spec.calls, step, in: 1...Int.max)
        let period = try int(spec.period, step, in: 0...Int.max)
        let key = Self.counterKey(step, try string(spec.key, step))
        let (count, renewsIn) = options.counters.peek(key, period: period, anchor: spec.firstPeriodStart)
        if count >= calls {
            let time = String(format: "%02d:%02d:%02d", renewsIn / 3600, renewsIn / 60 % 60, renewsIn % 60)
            let message = "Out of call volume quota. Quota will be replenished in \(time)."
            throw PolicyFailure(source: step.name, reason: "QuotaExceeded", message: message, status: 403, clientMessage: message)
        }
        if let condition = spec.condition {
            deferredIncrements.append((condition, key, 1, period, spec.firstPeriodStart, step))
        } else {
            options.counters.add(key, amount: 1, period: period, anchor: spec.firstPeriodStart)
        }
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
