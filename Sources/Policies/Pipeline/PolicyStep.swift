/// A compiled policy that never waits: its settings ready to run, and its runtime. Each policy
/// defines its step type and how it compiles in its own catalogue file (next to how it is read);
/// the pipeline only dispatches (`CompiledStep.Action.synchronous`), on the synchronous path.
///
/// Adding such a policy: its catalogue file (reading, `compile`, `Step.run`), one case in
/// `PolicyStatement` and one line in `StepCompiler.step(_:)`.
protocol SynchronousPolicyStep: Sendable {
    /// Runs the policy for one request. Throws `PolicyFailure` for APIM's errors (the pipeline
    /// attributes them to the statement and goes to `on-error`).
    func run(_ execution: PolicyExecution, _ step: CompiledStep) throws -> Flow
}

/// A compiled policy that may wait (a side call, a chain verification): run on the async path
/// only, dispatched through `CompiledStep.Action.waiting`.
protocol WaitingPolicyStep: Sendable {
    func run(_ execution: PolicyExecution, _ step: CompiledStep) async throws -> Flow
    /// Statements nested in the policy (`retry`, `limit-concurrency`), for load-time decisions.
    var children: [CompiledStep] { get }
}

extension WaitingPolicyStep {
    var children: [CompiledStep] { [] }
}
