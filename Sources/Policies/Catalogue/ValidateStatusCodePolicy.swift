import Foundation

/// `<validate-status-code unspecified-status-code-action [errors-variable-name]>` with
/// `<status-code code action>` overrides (for codes the description does not specify): the response's
/// status against the responses the API's OpenAPI description gives the matched operation (a code is
/// specified by itself, by its `NXX` range, or by `default`). Outbound and on-error.
public struct ValidateStatusCodePolicy: Sendable, PolicyDefinition {
    public let unspecified: PolicyParameter<String>
    public let errorsVariable: String?
    public let overrides: [(code: Int, action: PolicyParameter<String>)]

    static let schema = PolicySchema(
        "validate-status-code", sections: [.outbound, .onError],
        attributes: [
            PolicyAttributeSpec("unspecified-status-code-action", ValidationAction.attributeType, required: true),
            PolicyAttributeSpec("errors-variable-name", .nonEmptyText, expressions: false),
        ],
        children: .elements(["status-code"]))
    static let codeSchema = PolicySchema(
        "status-code",
        attributes: [
            PolicyAttributeSpec("code", .integer(100...599), required: true, expressions: false),
            PolicyAttributeSpec("action", ValidationAction.attributeType, required: true),
        ])

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        var overrides: [(code: Int, action: PolicyParameter<String>)] = []
        for child in reader.children(named: "status-code", codeSchema) {
            guard case .constant(let code)? = child.integer("code"), let action = child.string("action") else { continue }
            if overrides.contains(where: { $0.code == code }) { child.error("'<status-code>' \(code) of '<validate-status-code>' is given twice") }
            overrides.append((code, action))
        }
        guard let unspecified = reader.string("unspecified-status-code-action"), reader.isValid else { return nil }
        return .validateStatusCode(ValidateStatusCodePolicy(unspecified: unspecified, errorsVariable: reader.literal("errors-variable-name"), overrides: overrides))
    }
}

// MARK: Run

extension ValidateStatusCodePolicy {
    struct Step: SynchronousPolicyStep {
        let unspecified: RuntimeParameter<String>
        let errorsVariable: String?
        let overrides: [Int: RuntimeParameter<String>]

        func run(_ execution: PolicyExecution, _ step: CompiledStep) throws -> Flow {
            let status = execution.state.status
            guard execution.options.apiDescription != nil else {
                let finding = ValidationFinding(name: "", type: "ApiSchema", rule: "", details: "API's schema doesn't exist or it couldn't be resolved.",
                                                publicResponse: ValidationFinding.internalError, action: try execution.validationAction(unspecified, step))
                return try execution.concludeValidation([finding], variable: errorsVariable, step)
            }
            if let operation = execution.describedOperation()?.operation, APIDescription.response(operation, status: status) != nil { return .proceed }
            let action = try execution.validationAction(overrides[status] ?? unspecified, step)
            let finding = ValidationFinding(name: String(status), type: "StatusCode", rule: "Unspecified",
                                            details: "Response status code \(status) is not allowed.",
                                            publicResponse: ValidationFinding.internalError, action: action)
            return try execution.concludeValidation([finding], variable: errorsVariable, step)
        }
    }

    func compile(_ compiler: inout StepCompiler) -> (any SynchronousPolicyStep)? {
        guard let unspecified = compiler.parameter(unspecified) else { return nil }
        var compiled: [Int: RuntimeParameter<String>] = [:]
        for (code, action) in overrides {
            guard let made = compiler.parameter(action) else { return nil }
            compiled[code] = made
        }
        return Step(unspecified: unspecified, errorsVariable: errorsVariable, overrides: compiled)
    }
}
