/// `<set-status code="403" reason="Forbidden"/>`
public struct SetStatusPolicy: Sendable, PolicyDefinition {
    public let code: PolicyParameter<Int>
    public let reason: PolicyParameter<String>?

    static let schema = PolicySchema(
        "set-status",
        attributes: [
            PolicyAttributeSpec("code", .integer(100...599), required: true),
            PolicyAttributeSpec("reason"),
        ])

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        guard let code = reader.integer("code") else { return nil }
        return .setStatus(SetStatusPolicy(code: code, reason: reader.string("reason")))
    }
}

// MARK: Run

extension SetStatusPolicy {
    struct Step: SynchronousPolicyStep {
        let status: CompiledStep.Status

        func run(_ execution: PolicyExecution, _ step: CompiledStep) throws -> Flow {
            try execution.applyStatus(status, step)
            return .proceed
        }
    }

    func compile(_ compiler: inout StepCompiler) -> (any SynchronousPolicyStep)? {
        compiler.status(self).map { Step(status: $0) }
    }
}
