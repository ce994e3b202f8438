/// `<wait for="all|any">` around `send-request`, `cache-lookup-value` and `choose` statements.
/// When every child is a `send-request`, their requests are prepared in document order and sent
/// at once: `all` waits for every answer (stored in order; the first failure, in document order,
/// is the policy's), `any` stores the first answer and cancels the rest (without waiting for them). With other children they
/// run one after the other — `all` runs each, `any` ends after the first — which is one of the
/// outcomes APIM's concurrent run can have (the first child finishing first), only slower.
public struct WaitPolicy: Sendable, PolicyDefinition {
    public let waitsForAll: Bool
    public let statements: [PolicyStatement]

    static let allowedChildren: Set<String> = ["send-request", "cache-lookup-value", "choose"]

    static let schema = PolicySchema(
        "wait", sections: [.inbound, .backend, .outbound],
        attributes: [PolicyAttributeSpec("for", .choice(["all", "any"]), default: "all", expressions: false)], children: .policies)

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        for child in reader.element.childElements where !allowedChildren.contains(child.name) {
            reader.context.error(
                at: child.position, "'<\(child.name)>' is not allowed in '<wait>' (it waits for '<send-request>', '<cache-lookup-value>' or '<choose>')")
        }
        let statements = reader.statements()
        guard let mode = reader.literal("for") else { return nil }
        if statements.isEmpty, reader.isValid { reader.error("'<wait>' needs at least one statement to wait for") }
        return .wait(WaitPolicy(waitsForAll: mode == "all", statements: statements))
    }
}

// MARK: Run

extension WaitPolicy {
    struct Step: WaitingPolicyStep {
        let waitsForAll: Bool
        let children: [CompiledStep]

        func run(_ execution: PolicyExecution, _ step: CompiledStep) async throws -> Flow {
            let requests = children.compactMap { child -> (CompiledStep, SendRequestPolicy.Step)? in
                if case .waiting(let policy) = child.action, let request = policy as? SendRequestPolicy.Step { return (child, request) }
                return nil
            }
            if requests.count == children.count { return try await concurrently(requests, execution) }
            for child in children {
                if try await execution.run(child) == .stop { return .stop }
                if !waitsForAll { break }
            }
            return .proceed
        }

        /// Every child a `send-request`: prepared in order, sent together.
        func concurrently(_ requests: [(CompiledStep, SendRequestPolicy.Step)], _ execution: PolicyExecution) async throws -> Flow {
            var calls: [PolicyExecution.SideCall] = []
            var ignoreErrors: [Bool] = []
            for (child, request) in requests {
                execution.enter(child)
                do {
                    calls.append(try await execution.prepareSideCall(
                        mode: request.mode, url: request.url, method: request.method, headers: request.headers, body: request.body,
                        certificate: request.certificate, managedIdentity: request.managedIdentity, proxy: request.proxy, timeout: request.timeout, child))
                    ignoreErrors.append(try execution.bool(request.ignoreError, child))
                } catch let failure as PolicyFailure {
                    throw PolicyExecution.attributed(failure, to: child)
                }
            }
            let preparedCalls = calls
            var outcomes: [Int: Result<(BackendResponse, [UInt8]), any Error>] = [:]
            if waitsForAll {
                await withTaskGroup(of: (Int, Result<(BackendResponse, [UInt8]), any Error>).self) { group in
                    for (index, call) in preparedCalls.enumerated() {
                        group.addTask { (index, await execution.performSideCall(call)) }
                    }
                    for await (index, outcome) in group { outcomes[index] = outcome }
                }
            } else {
                // Not a task group: leaving one waits for every child, and a backend call need not
                // stop when cancelled. The first answer is taken; the others are cancelled and left
                // to end on their own (within their timeouts).
                let (answers, continuation) = AsyncStream.makeStream(of: (Int, Result<(BackendResponse, [UInt8]), any Error>).self)
                let tasks = preparedCalls.enumerated().map { index, call in
                    Task { continuation.yield((index, await execution.performSideCall(call))) }
                }
                for await (index, outcome) in answers {
                    outcomes[index] = outcome
                    break
                }
                continuation.finish()
                for task in tasks { task.cancel() }
            }
            for (index, (child, request)) in requests.enumerated() {
                guard let outcome = outcomes[index] else { continue }
                do {
                    try execution.applySideCall(outcome, calls[index], variable: request.variable, ignoreError: ignoreErrors[index], child)
                } catch let failure as PolicyFailure {
                    throw PolicyExecution.attributed(failure, to: child)
                }
            }
            return .proceed
        }
    }

    func compile(_ compiler: inout StepCompiler) -> (any WaitingPolicyStep)? {
        Step(waitsForAll: waitsForAll, children: compiler.steps(statements))
    }
}
