import Foundation
import PolicyExpressions

/// `<validate-content unspecified-content-type-action max-size size-exceeded-action [errors-variable-name]>`
/// with an optional `<content-type-map [any-content-type-value] [missing-content-type-value]>` of
/// `<type from|when to>` and `<content type validate-as schema-id schema-ref action
/// allow-additional-properties case-insensitive-property-names>` elements: the size and the content of
/// the request body (inbound) or response body (outbound, on-error) against the API's OpenAPI
/// description (the matched operation's request body, or its response for the status code) or a schema
/// of the gateway (`schema-id`, `PolicyPipelineOptions.schemas`, checked at load; `schema-ref` is a
/// pointer into it, compiled at load).
///
/// `validate-as="json"` parses the body strictly and validates it (`SchemaValidation`);
/// `xml` and `soap` check that the body is well-formed XML (and, for SOAP, an `Envelope` of SOAP 1.1 or
/// 1.2 with a `Body`) and, with an XML `schema-id`, validate the root element (for SOAP, each part of
/// the Body) against that XSD (`XMLSchemaSet`). Without an XML schema (the API's OpenAPI description
/// holds JSON schemas only) XML is checked for well-formedness only. An empty body is not validated
/// (only its size is checked).
public struct ValidateContentPolicy: Sendable, PolicyDefinition {
    public enum Engine: String, Sendable { case json, xml, soap }

    public struct Mapping: Sendable {
        /// `from` (a content type, compared ignoring case) or `when` (a condition).
        public let from: String?
        public let when: PolicyParameter<Bool>?
        public let to: String
    }

    public struct Content: Sendable {
        /// Lower-cased; nil: every content type the API's description specifies.
        public let type: String?
        public let engine: Engine
        public let schemaID: String?
        public let schemaRef: String?
        public let action: PolicyParameter<String>
        public let allowAdditionalProperties: Bool?
        public let caseInsensitivePropertyNames: Bool
        let position: SourcePosition
    }

    public let unspecifiedAction: PolicyParameter<String>
    public let maxSize: Int
    public let sizeExceededAction: PolicyParameter<String>
    public let errorsVariable: String?
    public let anyContentType: String?
    public let missingContentType: String?
    public let mappings: [Mapping]
    public let contents: [Content]

    /// APIM's limit for `max-size`.
    public static let maximumSize = 102_400

    static let schema = PolicySchema(
        "validate-content", sections: [.inbound, .outbound, .onError],
        attributes: [
            PolicyAttributeSpec("unspecified-content-type-action", ValidationAction.attributeType, required: true),
            PolicyAttributeSpec("max-size", .integer(0...maximumSize), required: true, expressions: false),
            PolicyAttributeSpec("size-exceeded-action", ValidationAction.attributeType, required: true),
            PolicyAttributeSpec("errors-variable-name", .nonEmptyText, expressions: false),
        ],
        children: .elements(["content-type-map", "content"]))
    static let mapSchema = PolicySchema(
        "content-type-map",
        attributes: [
            PolicyAttributeSpec("any-content-type-value", .nonEmptyText, expressions: false),
            PolicyAttributeSpec("missing-content-type-value", .nonEmptyText, expressions: false),
        ],
        children: .elements(["type"]))
    static let typeSchema = PolicySchema(
        "type",
        attributes: [
            PolicyAttributeSpec("from", .nonEmptyText, expressions: false),
            PolicyAttributeSpec("when", .boolean),
            PolicyAttributeSpec("to", .nonEmptyText, required: true, expressions: false),
        ])
    static let contentSchema = PolicySchema(
        "content",
        attributes: [
            PolicyAttributeSpec("type", .text, expressions: false),
            PolicyAttributeSpec("validate-as", .choice(["json", "xml", "soap"]), required: true, expressions: false),
            PolicyAttributeSpec("schema-id", .nonEmptyText, expressions: false),
            PolicyAttributeSpec("schema-ref", .nonEmptyText, expressions: false),
            PolicyAttributeSpec("action", ValidationAction.attributeType, required: true),
            PolicyAttributeSpec("allow-additional-properties", .boolean, expressions: false),
            PolicyAttributeSpec("case-insensitive-property-names", .boolean, expressions: false),
        ])

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        reader.atMostOne("content-type-map")
        var anyType: String?, missingType: String?
        var mappings: [Mapping] = []
        if let map = reader.children(named: "content-type-map", mapSchema).first {
            anyType = map.literal("any-content-type-value")
            missingType = map.literal("missing-content-type-value")
            for type in map.children(named: "type", typeSchema) {
                let hasFrom = type.element.attribute("from") != nil, hasWhen = type.element.attribute("when") != nil
                guard hasFrom != hasWhen else {
                    type.error("'<type>' of '<content-type-map>' takes 'from' or 'when' (one of them)")
                    continue
                }
                guard let to = type.literal("to") else { continue }
                if hasFrom {
                    guard let from = type.literal("from") else { continue }
                    mappings.append(Mapping(from: from.lowercased(), when: nil, to: to))
                } else if let when = type.boolean("when") {
                    mappings.append(Mapping(from: nil, when: when, to: to))
                }
            }
        }
        var contents: [Content] = []
        for content in reader.children(named: "content", contentSchema) {
            guard let engineText = content.literal("validate-as"), let engine = Engine(rawValue: engineText), let action = content.string("action") else { continue }
            let schemaID = content.literal("schema-id"), schemaRef = content.literal("schema-ref")
            if schemaRef != nil, schemaID == nil {
                content.error(attribute: "schema-ref", "'schema-ref' of '<content>' needs 'schema-id' (it points into that schema)")
            }
            if schemaRef != nil, engine != .json {
                content.error(attribute: "schema-ref", "'schema-ref' of '<content>' is for JSON schemas only (validate-as=\"json\")")
            }
            let type = content.literal("type").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            if let type, contents.contains(where: { $0.type == (type.isEmpty ? nil : type) }) {
                content.error("'<content>' for \(type.isEmpty ? "every content type" : "'\(type)'") is given twice")
            }
            contents.append(Content(
                type: type?.isEmpty == false ? type : nil, engine: engine, schemaID: schemaID, schemaRef: schemaRef, action: action,
                allowAdditionalProperties: content.literal("allow-additional-properties").flatMap(PolicyAttributeType.boolean),
                caseInsensitivePropertyNames: content.literal("case-insensitive-property-names").flatMap(PolicyAttributeType.boolean) ?? false,
                position: content.element.position))
        }
        guard let unspecified = reader.string("unspecified-content-type-action"), case .constant(let maxSize)? = reader.integer("max-size"),
              let sizeAction = reader.string("size-exceeded-action"), reader.isValid else { return nil }
        return .validateContent(ValidateContentPolicy(
            unspecifiedAction: unspecified, maxSize: maxSize, sizeExceededAction: sizeAction, errorsVariable: reader.literal("errors-variable-name"),
            anyContentType: anyType?.lowercased(), missingContentType: missingType?.lowercased(), mappings: mappings, contents: contents))
    }
}

// MARK: Run

extension ValidateContentPolicy {
    struct CompiledContent: Sendable {
        let type: String?
        let engine: Engine
        let action: RuntimeParameter<String>
        /// A gateway schema (`schema-id`): its graph and root; nil: the API description's.
        let schema: (graph: SchemaGraph, root: Int, name: String)?
        let schemaID: String?
        /// A gateway XML schema (`schema-id` of an XSD).
        let xmlSchema: XMLSchemaSet?
        let allowAdditionalProperties: Bool?
        let caseInsensitivePropertyNames: Bool
    }

    struct Step: SynchronousPolicyStep {
        let unspecified: RuntimeParameter<String>
        let maxSize: Int
        let sizeExceeded: RuntimeParameter<String>
        let errorsVariable: String?
        let anyContentType: String?
        let missingContentType: String?
        let mappings: [(from: String?, when: RuntimeParameter<Bool>?, to: String)]
        let contents: [CompiledContent]

        func run(_ execution: PolicyExecution, _ step: CompiledStep) throws -> Flow {
            let state = execution.state
            let response = execution.validatesResponse
            let message = response ? "response" : "request"
            let type = response ? "ResponseBody" : "RequestBody"
            let headers = response ? state.responseHeaders : state.requestHeaders
            let body = execution.sectionBody() ?? []
            var findings: [ValidationFinding] = []
            func publicText(_ text: String) -> String { response ? ValidationFinding.internalError : text }

            // Size: the Content-Length the message declares, else the body's length.
            let declared = HeaderList.values(headers, "Content-Length").first.flatMap { Int(ASCII.trimmingWhitespace($0)) }
            let size = max(declared ?? 0, body.count)
            if size > maxSize {
                let action = try execution.validationAction(sizeExceeded, step)
                let subject = response ? "Response's" : "Request's"
                findings.append(ValidationFinding(
                    name: "", type: type, rule: "SizeLimit",
                    details: "\(subject) body is \(size) bytes long and it exceeds the configured limit of \(maxSize) bytes.",
                    publicResponse: publicText("\(subject) body is \(size) bytes long and it exceeds the limit of \(maxSize) bytes."), action: action))
                if action == .prevent { return try execution.concludeValidation(findings, variable: errorsVariable, step) }
            }
            let header = HeaderList.values(headers, "Content-Type").first
            guard !body.isEmpty else { return try execution.concludeValidation(findings, variable: errorsVariable, step) }

            // The content type validation uses: the message's (without parameters), then the map.
            var contentType = header.map { text in
                String(text.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
                    .trimmingCharacters(in: .whitespaces).lowercased()
            } ?? ""
            var mapped = false
            for mapping in mappings {
                let applies: Bool
                if let from = mapping.from { applies = from == contentType } else if let when = mapping.when { applies = try execution.bool(when, step) } else { applies = false }
                if applies { contentType = mapping.to.lowercased(); mapped = true; break }
            }
            if !mapped {
                if let anyContentType { contentType = anyContentType } else if contentType.isEmpty, let missingContentType { contentType = missingContentType }
            }

            let described = execution.describedOperation()
            let describedContents: [APIDescription.Media]? = described.map { match in
                response ? APIDescription.response(match.operation, status: state.status)?.contents ?? [] : match.operation.requestContents
            }
            let media = describedContents.flatMap { APIDescription.media($0, for: contentType) }
            let element = contents.first { $0.type == contentType } ?? contents.first { $0.type == nil && media != nil }
            let shownType = contentType.isEmpty ? "(none)" : contentType

            let graph: SchemaGraph
            let root: Int?
            let definition: String
            if let element, let schema = element.schema {
                (graph, root, definition) = (schema.graph, schema.root, schema.name)
            } else if let id = element?.schemaID {
                // An XML schema of the gateway (applied below).
                (graph, root, definition) = (SchemaGraph.empty, nil, id)
            } else if execution.options.apiDescription == nil {
                let action = try execution.validationAction(element?.action ?? unspecified, step)
                findings.append(ValidationFinding(name: "", type: "ApiSchema", rule: "", details: "API's schema does not exist or it could not be resolved.",
                                                  publicResponse: ValidationFinding.internalError, action: action))
                return try execution.concludeValidation(findings, variable: errorsVariable, step)
            } else if let media, let description = execution.options.apiDescription {
                (graph, root, definition) = (description.graph, media.schema, media.definition)
            } else {
                let action = try execution.validationAction(unspecified, step)
                let text = "Unspecified content type \(shownType) is not allowed."
                findings.append(ValidationFinding(name: shownType, type: type, rule: "Unspecified", details: text, publicResponse: publicText(text), action: action))
                return try execution.concludeValidation(findings, variable: errorsVariable, step)
            }
            guard let element else { return try execution.concludeValidation(findings, variable: errorsVariable, step) }
            let action = try execution.validationAction(element.action, step)
            guard action != .ignore else { return try execution.concludeValidation(findings, variable: errorsVariable, step) }

            let lead = "Body of the \(message) does not conform to the definition \(definition), which is associated with the content type \(shownType)."
            func incorrect(_ detail: String) {
                findings.append(ValidationFinding(name: shownType, type: type, rule: "IncorrectMessage", details: "\(lead) \(detail)",
                                                  publicResponse: publicText("\(lead) \(detail)"), action: action))
            }
            switch element.engine {
            case .json:
                let instance: JSONNode
                do {
                    instance = try StrictJSON.parse(body)
                } catch {
                    incorrect("\(error.message) Line: \(error.line), Position: \(error.column)")
                    return try execution.concludeValidation(findings, variable: errorsVariable, step)
                }
                guard let root else { break }  // the description gives this content type no schema
                var validation = SchemaValidation(graph: graph)
                validation.allowAdditionalProperties = element.allowAdditionalProperties
                validation.caseInsensitivePropertyNames = element.caseInsensitivePropertyNames
                var path: [SchemaValidation.PathPart] = []
                if !validation.validate(instance, root, path: &path) {
                    if validation.exhausted {
                        findings.append(ValidationFinding(
                            name: "", type: type, rule: "ValidationException",
                            details: "Body of the \(message) cannot be validated for the content type \(shownType). The schema validation exceeded its work or depth limit.",
                            publicResponse: ValidationFinding.internalError, action: action))
                    }
                    for violation in validation.violations {
                        incorrect("\(violation.message) Path '\(violation.path)'. Line: \(violation.line), Position: \(violation.column)")
                    }
                }
            case .xml, .soap:
                let elements: [StrictXML.Element]
                do {
                    elements = try StrictXML.parse(body)
                } catch {
                    incorrect(error.message)
                    return try execution.concludeValidation(findings, variable: errorsVariable, step)
                }
                var roots = [0]
                if element.engine == .soap {
                    let namespaces = ["http://schemas.xmlsoap.org/soap/envelope/", "http://www.w3.org/2003/05/soap-envelope"]
                    guard let envelope = elements.first, envelope.local == "Envelope", namespaces.contains(envelope.namespace) else {
                        incorrect("The root element is not a SOAP 1.1 or 1.2 Envelope.")
                        break
                    }
                    func childElements(_ parent: StrictXML.Element) -> [Int] {
                        parent.children.compactMap { if case .element(let index) = $0, index < elements.count { index } else { nil } }
                    }
                    guard let body = childElements(envelope).first(where: { elements[$0].local == "Body" && elements[$0].namespace == envelope.namespace }) else {
                        incorrect("The SOAP Envelope has no Body.")
                        break
                    }
                    // The payload: the Body's parts, each an element of the schema.
                    roots = childElements(elements[body])
                }
                guard let schema = element.xmlSchema else {
                    if element.engine == .xml || element.engine == .soap {
                        state.record(.info, "validate-content: no XML schema (schema-id) for \(shownType); well-formedness only")
                    }
                    break
                }
                var validation = XMLSchemaSet.Validation(set: schema, nodes: elements)
                for root in roots {
                    validation.validateGlobal(root)
                    if validation.exhausted { break }
                }
                if validation.exhausted {
                    findings.append(ValidationFinding(
                        name: "", type: type, rule: "ValidationException",
                        details: "Body of the \(message) cannot be validated for the content type \(shownType). The schema validation exceeded its work or depth limit.",
                        publicResponse: ValidationFinding.internalError, action: action))
                }
                for problem in validation.errors { incorrect(problem) }
            }
            return try execution.concludeValidation(findings, variable: errorsVariable, step)
        }
    }

    func compile(_ compiler: inout StepCompiler, _ statement: PolicyStatement) -> (any SynchronousPolicyStep)? {
        compiler.readsMessageBody()
        guard let unspecified = compiler.parameter(unspecifiedAction), let sizeExceeded = compiler.parameter(sizeExceededAction) else { return nil }
        var compiledMappings: [(from: String?, when: RuntimeParameter<Bool>?, to: String)] = []
        for mapping in mappings {
            var when: RuntimeParameter<Bool>?
            if let given = mapping.when { guard let made = compiler.parameter(given) else { return nil }; when = made }
            compiledMappings.append((mapping.from, when, mapping.to))
        }
        var compiledContents: [CompiledContent] = []
        for content in contents {
            guard let action = compiler.parameter(content.action) else { return nil }
            var schema: (graph: SchemaGraph, root: Int, name: String)?
            var xmlSchema: XMLSchemaSet?
            if let id = content.schemaID {
                guard let named = compiler.schemas[id] else {
                    let known = compiler.schemas.keys.sorted()
                    compiler.diagnostics.append(PolicyDiagnostic(
                        at: content.position,
                        "schema '\(id)' of '<validate-content>' does not exist"
                            + (known.isEmpty ? " (no schemas are configured: policies.schemas)" : "; configured: \(known.joined(separator: ", "))")))
                    return nil
                }
                switch (named.kind, content.engine) {
                case (.json, .json):
                    do {
                        guard let made = try named.compiled(reference: content.schemaRef) else { return nil }
                        schema = (made.0, made.1, id + (content.schemaRef.map { " (\($0))" } ?? ""))
                    } catch {
                        compiler.diagnostics.append(PolicyDiagnostic(at: content.position, "schema-ref of '<validate-content>' in schema '\(id)': \(error)"))
                        return nil
                    }
                case (.xml, .xml), (.xml, .soap):
                    xmlSchema = named.xmlSchema
                default:
                    compiler.diagnostics.append(PolicyDiagnostic(
                        at: content.position,
                        "schema '\(id)' of '<validate-content>' is a\(named.kind == .json ? " JSON" : "n XML") schema; it cannot validate as '\(content.engine.rawValue)'"))
                    return nil
                }
            }
            compiledContents.append(CompiledContent(
                type: content.type, engine: content.engine, action: action, schema: schema, schemaID: content.schemaID, xmlSchema: xmlSchema,
                allowAdditionalProperties: content.allowAdditionalProperties, caseInsensitivePropertyNames: content.caseInsensitivePropertyNames))
        }
        return Step(unspecified: unspecified, maxSize: maxSize, sizeExceeded: sizeExceeded, errorsVariable: errorsVariable,
                    anyContentType: anyContentType, missingContentType: missingContentType, mappings: compiledMappings, contents: compiledContents)
    }
}
