/// `<find-and-replace from="…" to="…"/>`: replaces every occurrence of `from` in the body (the
/// request's in inbound and backend, the response's in outbound and on-error), ordinal and case
/// sensitive, as .NET `string.Replace`. An empty `from` fails at run time as .NET does
/// (`ArgumentException`); a result over the pipeline's body limit fails with `BodyTooLarge`.
public struct FindAndReplacePolicy: Sendable, PolicyDefinition {
    public let from: PolicyParameter<String>
    public let to: PolicyParameter<String>

    static let schema = PolicySchema(
        "find-and-replace", attributes: [PolicyAttributeSpec("from", .nonEmptyText, required: true), PolicyAttributeSpec("to", .text, required: true)])

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        guard let from = reader.string("from"), let to = reader.string("to") else { return nil }
        return .findAndReplace(FindAndReplacePolicy(from: from, to: to))
    }
}

// MARK: Run

extension FindAndReplacePolicy {
    struct Step: SynchronousPolicyStep {
        let from: RuntimeParameter<String>
        let to: RuntimeParameter<String>

        func run(_ execution: PolicyExecution, _ step: CompiledStep) throws -> Flow {
            let pattern = try execution.string(from, step)
            let replacement = try execution.string(to, step)
            guard !pattern.isEmpty else {
                throw PolicyFailure.expression(step.name, "ArgumentException: String cannot be of zero length. (Parameter 'oldValue')")
            }
            guard let body = execution.sectionBody(), !body.isEmpty else { return .proceed }
            guard let replaced = ByteReplacement.replacingAll(
                in: body, Array(pattern.utf8), with: Array(replacement.utf8), limit: execution.options.maximumBodyBytes)
            else {
                throw PolicyFailure.generic(
                    step.name, reason: "BodyTooLarge", "The body after replacement would be larger than \(execution.options.maximumBodyBytes) bytes.")
            }
            try execution.replaceSectionBody(replaced, step)
            return .proceed
        }
    }

    func compile(_ compiler: inout StepCompiler) -> (any SynchronousPolicyStep)? {
        compiler.readsMessageBody()
        guard let from = compiler.parameter(from), let to = compiler.parameter(to) else { return nil }
        return Step(from: from, to: to)
    }
}
