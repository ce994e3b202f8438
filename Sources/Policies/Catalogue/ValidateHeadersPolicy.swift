import Foundation

/// `<validate-headers specified-header-action unspecified-header-action [errors-variable-name]>` with
/// `<header name action>` overrides: the response's headers against the headers the API's OpenAPI
/// description gives the response of the matched operation for its status code (exact, `NXX`, then
/// `default`). Outbound and on-error. Message-framing headers (`Content-Length`, `Transfer-Encoding`,
/// `Connection`, …) and `Content-Type` (described by the response's content) are never unspecified.
public struct ValidateHeadersPolicy: Sendable, PolicyDefinition {
    public let specified: PolicyParameter<String>
    public let unspecified: PolicyParameter<String>
    public let errorsVariable: String?
    public let overrides: [(name: String, action: PolicyParameter<String>)]

    static let schema = PolicySchema(
        "validate-headers", sections: [.outbound, .onError],
        attributes: [
            PolicyAttributeSpec("specified-header-action", ValidationAction.attributeType, required: true),
            PolicyAttributeSpec("unspecified-header-action", ValidationAction.attributeType, required: true),
            PolicyAttributeSpec("errors-variable-name", .nonEmptyText, expressions: false),
        ],
        children: .elements(["header"]))
    static let headerSchema = PolicySchema(
        "header",
        attributes: [
            PolicyAttributeSpec("name", .nonEmptyText, required: true, expressions: false),
            PolicyAttributeSpec("action", ValidationAction.attributeType, required: true),
        ])

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        let overrides: [(name: String, action: PolicyParameter<String>)] = reader.children(named: "header", headerSchema).compactMap { child in
            guard let name = child.literal("name"), let action = child.string("action") else { return nil }
            return (name, action)
        }
        guard let specified = reader.string("specified-header-action"), let unspecified = reader.string("unspecified-header-action"),
              reader.isValid else { return nil }
        return .validateHeaders(ValidateHeadersPolicy(specified: specified, unspecified: unspecified,
                                                      errorsVariable: reader.literal("errors-variable-name"), overrides: overrides))
    }
}

// MARK: Run

extension ValidateHeadersPolicy {
    struct Step: SynchronousPolicyStep {
        let specified: RuntimeParameter<String>
        let unspecified: RuntimeParameter<String>
        let errorsVariable: String?
        let overrides: [(name: String, action: RuntimeParameter<String>)]

        func run(_ execution: PolicyExecution, _ step: CompiledStep) throws -> Flow {
            var findings: [ValidationFinding] = []
            guard let description = execution.options.apiDescription else {
                findings.append(ValidationFinding(name: "", type: "ApiSchema", rule: "", details: "API's schema doesn't exist or it couldn't be resolved.",
                                                  publicResponse: ValidationFinding.internalError, action: try execution.validationAction(specified, step)))
                return try execution.concludeValidation(findings, variable: errorsVariable, step)
            }
            let state = execution.state
            let described = execution.describedOperation().flatMap { APIDescription.response($0.operation, status: state.status) }
            let declared = described?.headers ?? []
            let grouped = groupedValues(state.responseHeaders.lazy.map { ($0.name, $0.value) }, ignoringCase: true)
            for (name, values) in grouped {
                let parameter = declared.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }
                if parameter == nil, framingHeaders.contains(name.lowercased()) { continue }
                let chosen: ValidationAction
                if let override = overrides.first(where: { $0.name.caseInsensitiveCompare(name) == .orderedSame }) {
                    chosen = try execution.validationAction(override.action, step)
                } else {
                    chosen = try execution.validationAction(parameter == nil ? unspecified : specified, step)
                }
                guard chosen != .ignore else { continue }
                guard let parameter else {
                    findings.append(ValidationFinding(name: name, type: "ResponseHeader", rule: "Unspecified", details: "Unspecified header \(name) is not allowed.",
                                                      publicResponse: ValidationFinding.internalError, action: chosen))
                    continue
                }
                let isArray = description.types(of: parameter.schema)?.contains(.array) ?? false
                if values.count > 1, !isArray {
                    findings.append(ValidationFinding(name: name, type: "ResponseHeader", rule: "IncorrectMessage",
                                                      details: "Response cannot contain multiple values for the header \(name).",
                                                      publicResponse: ValidationFinding.internalError, action: chosen))
                    continue
                }
                guard let problem = description.violation(of: values, for: parameter) else { continue }
                findings.append(ValidationFinding(
                    name: name, type: "ResponseHeader", rule: "IncorrectMessage",
                    details: problem.parsed ? "Value of the header \(name) does not conform to the definition. \(problem.message)"
                        : "Value of the header \(name) couldn't be parsed according to the definition.",
                    publicResponse: ValidationFinding.internalError, action: chosen))
            }
            return try execution.concludeValidation(findings, variable: errorsVariable, step)
        }
    }

    func compile(_ compiler: inout StepCompiler) -> (any SynchronousPolicyStep)? {
        guard let specified = compiler.parameter(specified), let unspecified = compiler.parameter(unspecified) else { return nil }
        var compiled: [(name: String, action: RuntimeParameter<String>)] = []
        for (name, action) in overrides {
            guard let made = compiler.parameter(action) else { return nil }
            compiled.append((name, made))
        }
        return Step(specified: specified, unspecified: unspecified, errorsVariable: errorsVariable, overrides: compiled)
    }
}
