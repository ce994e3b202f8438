import Foundation
import PolicyExpressions

/// Policies APIM's reference says "can only be used once in a policy section" (checked per document).
let oncePerSectionPolicies = ["validate-parameters", "validate-headers", "validate-odata-request"]

/// What a validation policy does with what it finds (APIM's "actions").
enum ValidationAction: String, Sendable {
    case ignore, prevent, detect

    static let words = ["ignore", "prevent", "detect"]
    static let attributeType = PolicyAttributeType.choice(words)
}

/// One validation error in APIM's format (the errors variable holds these as objects with `Name`,
/// `Type`, `ValidationRule`, `Details`, `Action`); `publicResponse` is what a client is told.
struct ValidationFinding: Sendable {
    var name: String
    var type: String
    var rule: String
    var details: String
    var publicResponse: String
    var action: ValidationAction

    static let internalError = "The request could not be processed due to an internal error. Contact the API owner."
}

extension PolicyExecution {
    /// Whether the running section works on the response (outbound, on-error).
    var validatesResponse: Bool { state.section == .outbound || state.section == .onError }

    /// An action attribute's value (policy expressions allowed where APIM allows them).
    func validationAction(_ parameter: RuntimeParameter<String>, _ step: CompiledStep) throws -> ValidationAction {
        let text = try string(parameter, step)
        guard let action = ValidationAction(rawValue: text) else {
            throw PolicyFailure.expression(step.name, "'\(text)' is not a validation action (expected ignore, prevent or detect).")
        }
        return action
    }

    /// Records the findings (errors variable, trace) and stops with APIM's response when one of them
    /// is to be prevented: 400 for a request, 502 for a response; `context.LastError` gets the details.
    func concludeValidation(_ findings: [ValidationFinding], variable: String?, _ step: CompiledStep) throws -> Flow {
        let reported = findings.filter { $0.action != .ignore }
        guard !reported.isEmpty else { return .proceed }
        if let variable {
            var items: [JToken] = []
            if case .json(let existing)? = state.variables[.string(variable)], case .array(let earlier) = existing.storage { items = earlier }
            for finding in reported.prefix(max(0, 100 - items.count)) {
                items.append(JToken.object([
                    ("Name", JToken(value: .string(finding.name))), ("Type", JToken(value: .string(finding.type))),
                    ("ValidationRule", JToken(value: .string(finding.rule))), ("Details", JToken(value: .string(finding.details))),
                    ("Action", JToken(value: .string(finding.action.rawValue))),
                ]))
            }
            state.variables.set(.string(variable), .json(JToken.array(items)))
        }
        for finding in reported {
            state.record(.info, "\(step.name): \(finding.action.rawValue): \(finding.type) \(finding.rule.isEmpty ? "" : finding.rule + " ")'\(finding.name)': \(finding.details)")
        }
        guard let first = reported.first(where: { $0.action == .prevent }) else { return .proceed }
        let response = validatesResponse
        throw PolicyFailure(
            source: step.name, reason: response ? "Response not allowed" : "Bad request", message: first.details,
            status: response ? 502 : 400, clientMessage: response ? ValidationFinding.internalError : first.publicResponse)
    }

    /// The request's path after the API's path, as the API description's templates see it.
    var descriptionPath: String {
        var rest = state.originalPath
        if !state.apiPath.isEmpty, let after = ASCII.droppingPrefixIgnoringCase(state.apiPath, from: rest) { rest = after }
        if let question = rest.firstIndex(of: "?") { rest = String(rest[..<question]) }
        return rest.hasPrefix("/") ? rest : "/" + rest
    }

    /// The description's operation for this request (nil without a description or a match).
    func describedOperation() -> (description: APIDescription, operation: APIDescription.Operation, path: [(String, String)])? {
        guard let description = options.apiDescription,
              let match = description.match(method: state.method, path: descriptionPath) else { return nil }
        return (description, match.operation, match.parameters)
    }
}

extension APIDescription {
    /// The types a schema node admits, through `$ref`s (nil: any).
    func types(of schema: Int?) -> SchemaTypes? {
        guard var index = schema else { return nil }
        for _ in 0..<32 {
            guard index >= 0, index < graph.nodes.count else { return nil }
            let node = graph.nodes[index]
            if let types = node.types { return node.nullable ? types.union(.null) : types }
            guard let ref = node.ref else { return nil }
            index = ref
        }
        return nil
    }

    func itemsSchema(of schema: Int?) -> Int? {
        guard var index = schema else { return nil }
        for _ in 0..<32 {
            guard index >= 0, index < graph.nodes.count else { return nil }
            let node = graph.nodes[index]
            if let items = node.items { return items }
            guard let ref = node.ref else { return nil }
            index = ref
        }
        return nil
    }

    /// A parameter's text values as the JSON value its schema describes (numbers, booleans, arrays
    /// split on the style's separator); nil when they cannot be read that way.
    func instance(_ values: [String], for parameter: Parameter) -> JSONNode? {
        if parameter.json {
            guard values.count == 1, values[0].utf8.count <= 65_536 else { return nil }
            return try? StrictJSON.parse(Array(values[0].utf8), maximumNodes: 10_000)
        }
        let types = self.types(of: parameter.schema) ?? [.string]
        if types.contains(.array) {
            let texts = values.count == 1 ? values[0].split(separator: parameter.separator, omittingEmptySubsequences: false).map(String.init) : values
            guard texts.count <= 1000 else { return nil }
            let itemTypes = self.types(of: itemsSchema(of: parameter.schema)) ?? [.string]
            var items: [JSONNode] = []
            for text in texts {
                guard let item = Self.scalar(text, itemTypes) else { return nil }
                items.append(item)
            }
            return JSONNode(.array(items), line: 1, column: 1)
        }
        guard values.count == 1 else { return nil }
        return Self.scalar(values[0], types)
    }

    static func scalar(_ text: String, _ types: SchemaTypes) -> JSONNode? {
        if types.contains(.integer) || types.contains(.number) {
            let ascii = text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }
            if ascii, text.utf8.count <= 64, let number = Double(text), number.isFinite { return JSONNode(.number(number), line: 1, column: 1) }
        }
        if types.contains(.boolean) {
            switch text.lowercased() {
            case "true": return JSONNode(.bool(true), line: 1, column: 1)
            case "false": return JSONNode(.bool(false), line: 1, column: 1)
            default: break
            }
        }
        if types.contains(.string) { return JSONNode(.string(text), line: 1, column: 1) }
        if types.contains(.null), text.isEmpty { return JSONNode(.null, line: 1, column: 1) }
        if types.contains(.object), let parsed = try? StrictJSON.parse(Array(text.utf8), maximumNodes: 10_000) { return parsed }
        return nil
    }

    /// Validates a parameter's values; nil when they conform, else the finding's details' tail.
    func violation(of values: [String], for parameter: Parameter) -> (parsed: Bool, message: String)? {
        guard let schema = parameter.schema else { return nil }
        guard let value = instance(values, for: parameter) else {
            return (false, "")
        }
        var validation = SchemaValidation(graph: graph)
        validation.budget = 200_000
        var path: [SchemaValidation.PathPart] = []
        if validation.validate(value, schema, path: &path) { return nil }
        if validation.exhausted { return (true, "The value could not be validated within the validation's work limit.") }
        return (true, validation.violations.first.map { "\($0.message) Line: \($0.line), Position: \($0.column)" } ?? "")
    }
}

/// Values grouped by name in first-seen order (at most `limit` entries read), by a dictionary so that
/// hostile numbers of headers or parameters cost linear time.
func groupedValues(_ items: some Sequence<(String, String)>, ignoringCase: Bool, limit: Int = 1000) -> [(name: String, values: [String])] {
    var groups: [(name: String, values: [String])] = []
    var index: [String: Int] = [:]
    for (name, value) in items.prefix(limit) {
        let key = ignoringCase ? name.lowercased() : name
        if let at = index[key] { groups[at].values.append(value) } else {
            index[key] = groups.count
            groups.append((name, [value]))
        }
    }
    return groups
}

/// The name of a parameter location in APIM's messages.
extension APIDescription.Location {
    var spoken: String {
        switch self {
        case .query: "query parameter"
        case .path: "path parameter"
        case .header: "header"
        case .cookie: "cookie"
        }
    }

    var findingType: String {
        switch self {
        case .query: "QueryParameter"
        case .path: "PathParameter"
        case .header: "RequestHeader"
        case .cookie: "Cookie"
        }
    }
}
