/// `<set-header name="X" exists-action="override|skip|append|delete"><value>…</value>…</set-header>`
public struct SetHeaderPolicy: Sendable, PolicyDefinition {
    public let name: PolicyParameter<String>
    public let existsAction: PolicyParameter<ExistsAction>
    /// Each `<value>` is one header value (several make a multi-valued header).
    public let values: [PolicyParameter<String>]

    static let schema = PolicySchema("set-header", attributes: NamedValuesSetting.attributes(), children: .elements(["value"]))

    static func make(_ reader: PolicyElementReader) -> SetHeaderPolicy? {
        guard let setting = NamedValuesSetting(reader, checkTokenName: true) else { return nil }
        return SetHeaderPolicy(name: setting.name, existsAction: setting.existsAction, values: setting.values)
    }

    static func parse(_ reader: PolicyElementReader) -> Policy? { make(reader).map(Policy.setHeader) }
}

// MARK: Run

extension SetHeaderPolicy {
    /// Request headers in inbound and backend, response headers in outbound and on-error.
    struct Step: SynchronousPolicyStep {
        let header: CompiledStep.NamedValues

        func run(_ execution: PolicyExecution, _ step: CompiledStep) throws -> Flow {
            let section = execution.state.section
            try execution.applyNamedValues(header, step, query: false, response: section == .outbound || section == .onError)
            return .proceed
        }
    }

    func compile(_ compiler: inout StepCompiler) -> (any SynchronousPolicyStep)? {
        compiler.namedValues(name, existsAction, values).map { Step(header: $0) }
    }
}
