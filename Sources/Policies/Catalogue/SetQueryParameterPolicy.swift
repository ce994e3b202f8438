/// `<set-query-parameter name="x" exists-action="…"><value>…</value></set-query-parameter>`
public struct SetQueryParameterPolicy: Sendable, PolicyDefinition {
    public let name: PolicyParameter<String>
    public let existsAction: PolicyParameter<ExistsAction>
    public let values: [PolicyParameter<String>]

    static let schema = PolicySchema(
        "set-query-parameter", sections: [.inbound, .backend], attributes: NamedValuesSetting.attributes(),
        children: .elements(["value"]))

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        guard let setting = NamedValuesSetting(reader, checkTokenName: false) else { return nil }
        return .setQueryParameter(SetQueryParameterPolicy(name: setting.name, existsAction: setting.existsAction, values: setting.values))
    }
}

// MARK: Run

extension SetQueryParameterPolicy {
    struct Step: SynchronousPolicyStep {
        let parameter: CompiledStep.NamedValues

        func run(_ execution: PolicyExecution, _ step: CompiledStep) throws -> Flow {
            try execution.applyNamedValues(parameter, step, query: true, response: false)
            return .proceed
        }
    }

    func compile(_ compiler: inout StepCompiler) -> (any SynchronousPolicyStep)? {
        compiler.namedValues(name, existsAction, values).map { Step(parameter: $0) }
    }
}
