/// `<set-variable name="x" value="…"/>`: stores a value in `context.Variables`. A literal is a
/// string; an expression keeps the type it produces.
public struct SetVariablePolicy: Sendable, PolicyDefinition {
    public let name: String
    public let value: PolicyParameter<String>

    static let schema = PolicySchema(
        "set-variable",
        attributes: [
            PolicyAttributeSpec("name", .nonEmptyText, required: true, expressions: false),
            PolicyAttributeSpec("value", required: true, expressionType: .any),
        ])

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        guard let name = reader.literal("name") else { return nil }
        // An expression keeps whatever type it produces (typed variables), hence `.any` above.
        guard let value = reader.string("value") else { return nil }
        return .setVariable(SetVariablePolicy(name: name, value: value))
    }
}

// MARK: Run

extension SetVariablePolicy {
    struct Step: SynchronousPolicyStep {
        let name: String
        let value: RuntimeParameter<String>

        func run(_ execution: PolicyExecution, _ step: CompiledStep) throws -> Flow {
            execution.state.variables.set(.string(name), try execution.value(value, step))
            return .proceed
        }
    }

    func compile(_ compiler: inout StepCompiler) -> (any SynchronousPolicyStep)? {
        compiler.parameter(value).map { Step(name: name, value: $0) }
    }
}
