import Foundation

/// `<xml-to-json kind="direct|javascript-friendly" apply="always|content-type-xml"
/// consider-accept-header="true" always-array-child-elements="false"/>`: the section's body (the
/// request's in inbound, the response's in outbound/on-error), when it is XML, becomes JSON with
/// `Content-Type: application/json`.
/// - `direct` writes the document as Json.NET's `SerializeXmlNode` does: `{"root": …}`; an element
///   with only text is a string, an empty one null; attributes are `"@name"` properties and the
///   text beside them or beside child elements is `"#text"`; child elements of the same name
///   become an array (always, with `always-array-child-elements="true"`);
/// - `javascript-friendly` is the same shape with attribute names without the `@` (so they read as
///   plain JavaScript properties).
/// `apply="content-type-xml"` converts only a body whose `Content-Type` is XML;
/// `consider-accept-header="true"` (the default) only when the request's `Accept` asks for JSON.
/// The body is read by Drawbridge's own XML reader (the policy reader: no DTDs, bounded depth and
/// size); a body that is not XML is left as it is (recorded in the trace). The XML declaration,
/// comments and processing instructions are dropped; names keep their prefixes.
public struct XMLToJSONPolicy: Sendable, PolicyDefinition {
    public let kind: PolicyParameter<String>
    public let apply: PolicyParameter<String>
    public let considerAcceptHeader: PolicyParameter<Bool>
    public let alwaysArrayChildElements: PolicyParameter<Bool>

    static let schema = PolicySchema(
        "xml-to-json", sections: [.inbound, .outbound, .onError],
        attributes: [
            PolicyAttributeSpec("kind", .choice(["javascript-friendly", "direct"]), required: true),
            PolicyAttributeSpec("apply", .choice(["always", "content-type-xml"]), required: true),
            PolicyAttributeSpec("consider-accept-header", .boolean, default: "true"),
            PolicyAttributeSpec("always-array-child-elements", .boolean, default: "false"),
        ])

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        guard let kind = reader.string("kind"), let apply = reader.string("apply"), let consider = reader.boolean("consider-accept-header"),
              let always = reader.boolean("always-array-child-elements")
        else { return nil }
        return .xmlToJSON(XMLToJSONPolicy(kind: kind, apply: apply, considerAcceptHeader: consider, alwaysArrayChildElements: always))
    }
}

// MARK: Run

extension XMLToJSONPolicy {
    struct Step: SynchronousPolicyStep {
        let kind: RuntimeParameter<String>
        let apply: RuntimeParameter<String>
        let considerAcceptHeader: RuntimeParameter<Bool>
        let alwaysArray: RuntimeParameter<Bool>

        func run(_ execution: PolicyExecution, _ step: CompiledStep) throws -> Flow {
            let kindText = try execution.string(kind, step)
            let mode = try execution.string(apply, step)
            guard kindText == "direct" || kindText == "javascript-friendly" else {
                throw PolicyFailure.expression(step.name, "'\(kindText)' is not 'direct' or 'javascript-friendly'.")
            }
            guard mode == "always" || mode == "content-type-xml" else {
                throw PolicyFailure.expression(step.name, "'\(mode)' is not 'always' or 'content-type-xml'.")
            }
            let arrays = try execution.bool(alwaysArray, step)
            if try execution.bool(considerAcceptHeader, step) {
                let accepts = HeaderList.values(execution.state.requestHeaders, "Accept").flatMap { $0.split(separator: ",").map(String.init) }
                guard accepts.contains(where: { JSONToXMLPolicy.mediaType($0, is: "json") }) else { return .proceed }
            }
            if mode == "content-type-xml" {
                let headers = execution.worksOnResponse ? execution.state.responseHeaders : execution.state.requestHeaders
                guard let type = HeaderList.values(headers, "Content-Type").first, JSONToXMLPolicy.mediaType(type, is: "xml") else { return .proceed }
            }
            guard let bytes = execution.sectionBody(), !bytes.isEmpty else { return .proceed }
            let root: PolicyXMLElement
            do {
                root = try PolicyXMLReader.read(SourceText(file: "body", text: String(decoding: bytes, as: UTF8.self)),
                                                limits: PolicyReaderLimits(maximumBytes: execution.options.maximumBodyBytes))
            } catch {
                execution.state.record(.info, "xml-to-json: the body is not XML (\(error.message)); left as it is")
                return .proceed
            }
            let writer = Writer(attributePrefix: kindText == "direct" ? "@" : "", alwaysArray: arrays)
            var out = "{" + Writer.quoted(root.name) + ":"
            writer.element(root, into: &out)
            out += "}"
            try execution.replaceSectionBody(Array(out.utf8), step)
            execution.setSectionHeader("Content-Type", "application/json")
            return .proceed
        }
    }

    /// JSON text of an element tree (its depth is bounded by the reader).
    struct Writer {
        let attributePrefix: String
        let alwaysArray: Bool

        static func quoted(_ text: String) -> String { "\"" + ErrorBody.escape(text) + "\"" }

        static func text(_ value: PolicyValue) -> String {
            switch value {
            case .literal(let text): text
            case .expression(let source): source.description  // `@(…)` in a body is just text
            }
        }

        func element(_ element: PolicyXMLElement, into out: inout String) {
            let children = element.childElements
            let texts = element.textNodes.map { Self.text($0.value) }
            let text = texts.joined()
            let hasText = !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
            if element.attributes.isEmpty, children.isEmpty {
                out += hasText ? Self.quoted(text) : (texts.isEmpty ? "null" : Self.quoted(text))
                return
            }
            var members: [String] = []
            for attribute in element.attributes {
                members.append(Self.quoted(attributePrefix + attribute.name) + ":" + Self.quoted(Self.text(attribute.value)))
            }
            if hasText { members.append(Self.quoted("#text") + ":" + Self.quoted(text)) }
            // Children grouped by name, in the order each name first appears.
            var order: [String] = []
            var groups: [String: [PolicyXMLElement]] = [:]
            for child in children {
                if groups[child.name] == nil { order.append(child.name) }
                groups[child.name, default: []].append(child)
            }
            for name in order {
                let group = groups[name] ?? []
                var value = ""
                if group.count > 1 || alwaysArray {
                    value = "["
                    for (index, child) in group.enumerated() {
                        if index > 0 { value += "," }
                        self.element(child, into: &value)
                    }
                    value += "]"
                } else if let only = group.first {
                    self.element(only, into: &value)
                }
                members.append(Self.quoted(name) + ":" + value)
            }
            out += "{" + members.joined(separator: ",") + "}"
        }
    }

    func compile(_ compiler: inout StepCompiler) -> (any SynchronousPolicyStep)? {
        compiler.readsMessageBody()
        guard let kind = compiler.parameter(kind), let apply = compiler.parameter(apply), let consider = compiler.parameter(considerAcceptHeader),
              let always = compiler.parameter(alwaysArrayChildElements)
        else { return nil }
        return Step(kind: kind, apply: apply, considerAcceptHeader: consider, alwaysArray: always)
    }
}
