import PolicyExpressions

/// `<return-response>`: ends the pipeline and answers with the given (or a stored) response.
public struct ReturnResponsePolicy: Sendable, PolicyDefinition {
    /// A variable holding a response (from `send-request`) to start from.
    public let responseVariableName: String?
    public let status: SetStatusPolicy?
    public let headers: [SetHeaderPolicy]
    public let body: SetBodyPolicy?

    static let schema = PolicySchema(
        "return-response",
        attributes: [PolicyAttributeSpec("response-variable-name", .nonEmptyText, expressions: false)],
        children: .elements(["set-status", "set-header", "set-body"]))

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        reader.atMostOne("set-status")
        reader.atMostOne("set-body")
        var status: SetStatusPolicy? = nil
        var headers: [SetHeaderPolicy] = []
        var body: SetBodyPolicy? = nil
        for statement in reader.policies(named: ["set-status", "set-header", "set-body"]) {
            switch statement.policy {
            case .setStatus(let policy): status = policy
            case .setHeader(let policy): headers.append(policy)
            case .setBody(let policy): body = policy
            default: break
            }
        }
        return .returnResponse(
            ReturnResponsePolicy(responseVariableName: reader.literal("response-variable-name"), status: status, headers: headers, body: body))
    }
}

// MARK: Run

extension ReturnResponsePolicy {
    /// Ends the pipeline with a new response (200 OK, empty) or the one a variable holds, then
    /// applies its status, headers and body.
    struct Step: SynchronousPolicyStep {
        let variable: String?
        let status: CompiledStep.Status?
        let headers: [CompiledStep.NamedValues]
        let body: RuntimeParameter<String>??

        func run(_ execution: PolicyExecution, _ step: CompiledStep) throws -> Flow {
            let state = execution.state
            if let variable {
                guard case .object(let object)? = state.variables[.string(variable)], let response = object as? ResponseObject else {
                    throw PolicyFailure.generic(
                        step.name, reason: "ExpressionValueEvaluationFailure", "The variable '\(variable)' does not hold a response.")
                }
                let source = response.state
                state.status = source.status
                state.reason = source.reason
                state.responseHeaders = source.responseHeaders
                state.responseBody = source.responseBody
                state.backendBody = source.backendBody
            } else {
                state.status = 200
                state.reason = "OK"
                state.responseHeaders = []
                state.responseBody = MessageBodyObject([])
                state.backendBody = nil
            }
            if let status { try execution.applyStatus(status, step) }
            for header in headers { try execution.applyNamedValues(header, step, query: false, response: true) }
            if case .some(let body) = body { try execution.applyBody(body, step, response: true) }
            state.record(.info, "return-response \(state.status) \(state.reason)")
            return .stop
        }
    }

    func compile(_ compiler: inout StepCompiler, _ statement: PolicyStatement) -> (any SynchronousPolicyStep)? {
        var compiledStatus: CompiledStep.Status? = nil
        if let status {
            guard let made = compiler.status(status) else { return nil }
            compiledStatus = made
        }
        var compiledHeaders: [CompiledStep.NamedValues] = []
        for header in headers {
            guard let made = compiler.namedValues(header.name, header.existsAction, header.values) else { return nil }
            compiledHeaders.append(made)
        }
        var compiledBody: RuntimeParameter<String>?? = .none
        if let body {
            guard let made = compiler.body(body, at: statement) else { return nil }
            compiledBody = .some(made)
        }
        return Step(variable: responseVariableName, status: compiledStatus, headers: compiledHeaders, body: compiledBody)
    }
}
