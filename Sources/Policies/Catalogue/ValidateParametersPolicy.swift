import Foundation

/// `<validate-parameters specified-parameter-action unspecified-parameter-action [errors-variable-name]>`
/// with optional `<headers>`, `<query>` (both actions) and `<path>` (specified only) holding
/// `<parameter name action>` overrides: the request's headers, query and path parameters against the
/// operation of the API's OpenAPI description (`PolicyPipelineOptions.apiDescription`) that matches the
/// request's method and path. Inbound only. A specified parameter's value(s) are read as its schema
/// says (numbers, booleans, arrays split by its style) and validated (see `SchemaValidation`); a
/// required one that is missing is reported too. Actions may be expressions (as in APIM);
/// `errors-variable-name` is literal.
public struct ValidateParametersPolicy: Sendable, PolicyDefinition {
    public struct Group: Sendable {
        public let specified: PolicyParameter<String>?
        public let unspecified: PolicyParameter<String>?
        public let overrides: [(name: String, action: PolicyParameter<String>)]
    }

    public let specified: PolicyParameter<String>
    public let unspecified: PolicyParameter<String>
    public let errorsVariable: String?
    public let headers: Group?
    public let query: Group?
    public let path: Group?

    static let schema = PolicySchema(
        "validate-parameters", sections: [.inbound],
        attributes: [
            PolicyAttributeSpec("specified-parameter-action", ValidationAction.attributeType, required: true),
            PolicyAttributeSpec("unspecified-parameter-action", ValidationAction.attributeType, required: true),
            PolicyAttributeSpec("errors-variable-name", .nonEmptyText, expressions: false),
        ],
        children: .elements(["headers", "query", "path"]))
    static func groupSchema(_ name: String) -> PolicySchema {
        var attributes = [PolicyAttributeSpec("specified-parameter-action", ValidationAction.attributeType)]
        if name != "path" { attributes.append(PolicyAttributeSpec("unspecified-parameter-action", ValidationAction.attributeType)) }
        return PolicySchema(name, attributes: attributes, children: .elements(["parameter"]))
    }
    static let parameterSchema = PolicySchema(
        "parameter",
        attributes: [
            PolicyAttributeSpec("name", .nonEmptyText, required: true, expressions: false),
            PolicyAttributeSpec("action", ValidationAction.attributeType, required: true),
        ])

    static func overrides(_ reader: PolicyElementReader) -> [(name: String, action: PolicyParameter<String>)] {
        reader.children(named: "parameter", parameterSchema).compactMap { child in
            guard let name = child.literal("name"), let action = child.string("action") else { return nil }
            return (name, action)
        }
    }

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        var groups: [String: Group] = [:]
        for name in ["headers", "query", "path"] {
            reader.atMostOne(name)
            guard let child = reader.children(named: name, groupSchema(name)).first else { continue }
            groups[name] = Group(specified: child.element.attribute("specified-parameter-action") == nil ? nil : child.string("specified-parameter-action"),
                                 unspecified: child.element.attribute("unspecified-parameter-action") == nil ? nil : child.string("unspecified-parameter-action"),
                                 overrides: overrides(child))
        }
        guard let specified = reader.string("specified-parameter-action"), let unspecified = reader.string("unspecified-parameter-action"),
              reader.isValid else { return nil }
        return .validateParameters(ValidateParametersPolicy(
            specified: specified, unspecified: unspecified, errorsVariable: reader.literal("errors-variable-name"),
            headers: groups["headers"], query: groups["query"], path: groups["path"]))
    }
}

/// Headers that frame the message rather than carry the API's data: never reported as unspecified
/// (`Content-Type` is the body's, checked by `validate-content`).
let framingHeaders: Set<String> = ["content-length", "transfer-encoding", "connection", "keep-alive", "te", "trailer", "upgrade", "proxy-connection", "content-type"]

/// A group's settings ready to run.
struct CompiledValidationGroup: Sendable {
    let specified: RuntimeParameter<String>?
    let unspecified: RuntimeParameter<String>?
    let overrides: [(name: String, action: RuntimeParameter<String>)]

    static func make(_ group: ValidateParametersPolicy.Group?, _ compiler: inout StepCompiler) -> CompiledValidationGroup?? {
        guard let group else { return .some(nil) }
        var specified: RuntimeParameter<String>?
        var unspecified: RuntimeParameter<String>?
        if let given = group.specified { guard let made = compiler.parameter(given) else { return nil }; specified = made }
        if let given = group.unspecified { guard let made = compiler.parameter(given) else { return nil }; unspecified = made }
        var overrides: [(name: String, action: RuntimeParameter<String>)] = []
        for (name, action) in group.overrides {
            guard let made = compiler.parameter(action) else { return nil }
            overrides.append((name, made))
        }
        return .some(CompiledValidationGroup(specified: specified, unspecified: unspecified, overrides: overrides))
    }

    func override(_ name: String, ignoringCase: Bool) -> RuntimeParameter<String>? {
        overrides.first { ignoringCase ? $0.name.caseInsensitiveCompare(name) == .orderedSame : $0.name == name }?.action
    }
}

// MARK: Run

extension ValidateParametersPolicy {
    struct Step: SynchronousPolicyStep {
        let specified: RuntimeParameter<String>
        let unspecified: RuntimeParameter<String>
        let errorsVariable: String?
        let headers: CompiledValidationGroup?
        let query: CompiledValidationGroup?
        let path: CompiledValidationGroup?

        func run(_ execution: PolicyExecution, _ step: CompiledStep) throws -> Flow {
            var findings: [ValidationFinding] = []
            guard let description = execution.options.apiDescription else {
                let action = try execution.validationAction(specified, step)
                findings.append(ValidationFinding(name: "", type: "ApiSchema", rule: "", details: "API's schema doesn't exist or it couldn't be resolved.",
                                                  publicResponse: ValidationFinding.internalError, action: action))
                return try execution.concludeValidation(findings, variable: errorsVariable, step)
            }
            let described = execution.describedOperation()
            let parameters = described?.operation.parameters ?? []
            let state = execution.state

            func action(_ group: CompiledValidationGroup?, _ name: String, ignoringCase: Bool, isSpecified: Bool) throws -> ValidationAction {
                if let override = group?.override(name, ignoringCase: ignoringCase) { return try execution.validationAction(override, step) }
                if isSpecified { return try execution.validationAction(group?.specified ?? specified, step) }
                return try execution.validationAction(group?.unspecified ?? unspecified, step)
            }
            func check(_ location: APIDescription.Location, _ name: String, _ values: [String], group: CompiledValidationGroup?) throws {
                let ignoringCase = location == .header
                let parameter = parameters.first {
                    $0.location == location && (ignoringCase ? $0.name.caseInsensitiveCompare(name) == .orderedSame : $0.name == name)
                }
                let spoken = location.spoken
                guard let parameter else {
                    if location == .header, framingHeaders.contains(name.lowercased()) { return }
                    // Cookie parameters travel in the Cookie header, which they specify.
                    if location == .header, name.caseInsensitiveCompare("Cookie") == .orderedSame, parameters.contains(where: { $0.location == .cookie }) { return }
                    let chosen = try action(group, name, ignoringCase: ignoringCase, isSpecified: false)
                    let text = "Unspecified \(spoken) \(name) is not allowed."
                    findings.append(ValidationFinding(name: name, type: location.findingType, rule: "Unspecified", details: text, publicResponse: text, action: chosen))
                    return
                }
                let chosen = try action(group, name, ignoringCase: ignoringCase, isSpecified: true)
                guard chosen != .ignore else { return }
                let isArray = description.types(of: parameter.schema)?.contains(.array) ?? false
                if values.count > 1, !isArray {
                    let text = "Request cannot contain multiple values for the \(spoken) \(name)."
                    findings.append(ValidationFinding(name: name, type: location.findingType, rule: "IncorrectMessage", details: text, publicResponse: text, action: chosen))
                    return
                }
                guard let problem = description.violation(of: values, for: parameter) else { return }
                if !problem.parsed {
                    findings.append(ValidationFinding(
                        name: name, type: location.findingType, rule: "IncorrectMessage",
                        details: "Value of the \(spoken) \(name) cannot be parsed according to the definition.",
                        publicResponse: "Value of the \(spoken) \(name) couldn't be parsed according to the definition.", action: chosen))
                } else {
                    findings.append(ValidationFinding(
                        name: name, type: location.findingType, rule: "IncorrectMessage",
                        details: "Value of the \(spoken) \(name) does not conform to the definition. \(problem.message)",
                        publicResponse: "The value of the \(spoken) \(name) does not conform to the definition. \(problem.message)", action: chosen))
                }
            }

            // Headers, by name (each header line is one value).
            let headerValues = groupedValues(state.requestHeaders.lazy.map { ($0.name, $0.value) }, ignoringCase: true)
            for (name, values) in headerValues { try check(.header, name, values, group: headers) }
            let queryValues = groupedValues(state.query.lazy.map { ($0.name, $0.value) }, ignoringCase: false)
            for (name, values) in queryValues { try check(.query, name, values, group: query) }
            for (name, raw) in described?.path ?? [] {
                guard let value = raw.removingPercentEncoding else {
                    let chosen = try action(path, name, ignoringCase: false, isSpecified: true)
                    findings.append(ValidationFinding(
                        name: name, type: "PathParameter", rule: "IncorrectMessage",
                        details: "Value of the path parameter \(name) cannot be parsed according to the definition.",
                        publicResponse: "Value of the path parameter \(name) couldn't be parsed according to the definition.", action: chosen))
                    continue
                }
                try check(.path, name, [value], group: path)
            }
            // Required parameters the request does not have.
            for parameter in parameters where parameter.required && parameter.location != .path && parameter.location != .cookie {
                let present = parameter.location == .header
                    ? headerValues.contains { $0.name.caseInsensitiveCompare(parameter.name) == .orderedSame }
                    : queryValues.contains { $0.name == parameter.name }
                guard !present else { continue }
                let group = parameter.location == .header ? headers : query
                let chosen = try action(group, parameter.name, ignoringCase: parameter.location == .header, isSpecified: true)
                let text = "Request is missing the required \(parameter.location.spoken) \(parameter.name)."
                findings.append(ValidationFinding(name: parameter.name, type: parameter.location.findingType, rule: "IncorrectMessage",
                                                  details: text, publicResponse: text, action: chosen))
            }
            return try execution.concludeValidation(findings, variable: errorsVariable, step)
        }
    }

    func compile(_ compiler: inout StepCompiler) -> (any SynchronousPolicyStep)? {
        guard let specified = compiler.parameter(specified), let unspecified = compiler.parameter(unspecified),
              let headers = CompiledValidationGroup.make(headers, &compiler), let query = CompiledValidationGroup.make(query, &compiler),
              let path = CompiledValidationGroup.make(path, &compiler)
        else { return nil }
        return Step(specified: specified, unspecified: unspecified, errorsVariable: errorsVariable, headers: headers, query: query, path: path)
    }
}
