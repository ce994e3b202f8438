import Foundation

/// What `rate-limit-by-key`, `quota-by-key` and `limit-concurrency` share: counter keys, and increments
/// decided on the final response.
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
        let charges = deferredCharges
        deferredCharges = []
        for item in charges where (try? bool(item.condition, item.step)) == true {
            BandwidthQuota.charge(self, key: item.key, period: item.period, anchor: item.anchor)
        }
    }
}
