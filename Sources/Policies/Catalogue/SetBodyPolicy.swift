/// `<set-body [template="liquid"]>text or @(expression)</set-body>`; does not change Content-Type.
public struct SetBodyPolicy: Sendable, PolicyDefinition {
    public enum Template: String, Sendable, Hashable {
        case none
        case liquid
    }

    /// How a liquid template renders a null JSON value.
    public enum XsiNil: String, Sendable, Hashable {
        case blank
        case null
    }

    public let template: Template
    public let xsiNil: XsiNil
    public let parseDate: Bool
    /// Nil for `<set-body/>` (an empty body).
    public let body: PolicyParameter<String>?

    static let schema = PolicySchema(
        "set-body",
        attributes: [
            PolicyAttributeSpec("template", .choice(["none", "liquid"]), default: "none", expressions: false),
            PolicyAttributeSpec("xsi-nil", .choice(["blank", "null"]), default: "blank", expressions: false),
            PolicyAttributeSpec("parse-date", .boolean, default: "true", expressions: false),
        ],
        children: .markup, allowsText: true)

    static func make(_ reader: PolicyElementReader) -> SetBodyPolicy? {
        guard let template = reader.literal("template").flatMap(Template.init(rawValue:)),
            let xsiNil = reader.literal("xsi-nil").flatMap(XsiNil.init(rawValue:)),
            let parseDate = reader.literal("parse-date").flatMap(PolicyAttributeType.boolean)
        else { return nil }
        if template == .liquid {
            if reader.text?.expression != nil {
                reader.error("a liquid template in \(reader.tag) must be text, not a policy expression")
                return nil
            }
            guard let compiled = liquid(reader) else { return nil }
            return SetBodyPolicy(template: template, xsiNil: xsiNil, parseDate: parseDate, body: .expression(compiled))
        }
        return SetBodyPolicy(template: template, xsiNil: xsiNil, parseDate: parseDate, body: reader.text)
    }

    /// A liquid template translated into a C# block (`LiquidTemplate`) and compiled now; errors
    /// point into the template (line and column).
    static func liquid(_ reader: PolicyElementReader) -> PolicyExpression? {
        let template = reader.text?.constant ?? ""
        let start = reader.element.textNodes.first?.position ?? reader.element.position
        func position(_ offset: Int) -> SourcePosition {
            let (line, column) = LiquidTemplate.lineAndColumn(template, offset: offset)
            return SourcePosition(file: start.file, line: start.line + line, column: line == 0 ? start.column + column : column + 1)
        }
        let bodySource: LiquidTemplate.BodySource = reader.section == .outbound || reader.section == .onError ? .response : .request
        let translated: LiquidTemplate
        do {
            translated = try LiquidTemplate.translate(template, body: bodySource)
        } catch {
            reader.context.error(at: position(error.templateOffset), error.message)
            return nil
        }
        let source = PolicyExpressionSource(source: translated.code, kind: .block, position: start)
        guard let compiler = reader.context.compiler else { return PolicyExpression(source: source, compiled: nil, resultType: .string) }
        do {
            return PolicyExpression(source: source, compiled: try compiler.compile(source, expecting: .string), resultType: .string)
        } catch let error as PolicyExpressionCompileError {
            let codeOffset = error.sourceOffset ?? 0
            let templateOffset = translated.marks.last(where: { $0.code <= codeOffset })?.template ?? 0
            reader.context.error(at: position(templateOffset), "liquid: \(error.message)")
        } catch {
            reader.context.error(at: start, "liquid: \(error)")
        }
        return nil
    }

    static func parse(_ reader: PolicyElementReader) -> Policy? { make(reader).map(Policy.setBody) }

    /// Where the document's liquid templates are, in the file as written: from each `<set-body …
    /// template="liquid">` to its `</set-body>`. In a liquid template `{{name}}` is Liquid output —
    /// `{{body.customer.id}}`, as every liquid example of Microsoft's policy reference writes it — so a
    /// name that is no named value is left to the template there (APIM loads those examples) instead of
    /// being an unknown named value; a name that is a named value is still substituted, as anywhere.
    struct LiquidTemplateStretches {
        /// Sorted and disjoint (templates do not nest).
        let ranges: [ClosedRange<SourcePosition>]

        /// Linear in the document: one pass over its bytes and one over its elements, then a merge
        /// (a hostile document with many templates costs no more than its size).
        init(root: PolicyXMLElement, source: SourceText) {
            // Each template's start, by the closing tag that ends it: `<set-body template="liquid">`, and the
            // Dapr policies' `template="Liquid"` content (`<publish-to-dapr>`'s, `<invoke-dapr-binding>`'s `<data>`).
            var starts: [String: [SourcePosition]] = [:]
            var pending = [root]  // explicit stack: depth is bounded by the reader, but no recursion either way
            while let element = pending.popLast() {
                let template = element.attribute("template")?.value.literal
                if element.name == "set-body", template == "liquid" {
                    starts["</set-body", default: []].append(element.position)
                } else if element.name == "publish-to-dapr", let template, PublishToDaprPolicy.templates.contains(template) {
                    starts["</publish-to-dapr", default: []].append(element.position)
                } else if element.name == "invoke-dapr-binding", let template, PublishToDaprPolicy.templates.contains(template) {
                    for data in element.childElements where data.name == "data" { starts["</data", default: []].append(data.position) }
                } else {
                    pending.append(contentsOf: element.childElements)
                }
            }
            var found: [ClosedRange<SourcePosition>] = []
            for (tag, tagStarts) in starts.sorted(by: { $0.key < $1.key }) {
                // Every closing tag of the file, in order: each template ends at the first one after it.
                let closing = Array(tag.utf8)
                let bytes = source.original
                var ends: [SourcePosition] = []
                var index = 0
                while index + closing.count <= bytes.count {
                    if bytes[index] == closing[0], bytes[index..<(index + closing.count)].elementsEqual(closing) {
                        ends.append(source.position(originalOffset: index))
                        index += closing.count
                    } else {
                        index += 1
                    }
                }
                var next = 0
                for start in tagStarts.sorted() {
                    while next < ends.count, ends[next] <= start { next += 1 }
                    guard next < ends.count else { break }
                    found.append(start...ends[next])
                }
            }
            ranges = found.sorted { $0.lowerBound < $1.lowerBound }
        }

        func contains(_ position: SourcePosition) -> Bool {
            // The last range starting at or before the position (binary search).
            var low = 0, high = ranges.count
            while low < high {
                let middle = (low + high) / 2
                if ranges[middle].lowerBound <= position { low = middle + 1 } else { high = middle }
            }
            return low > 0 && ranges[low - 1].contains(position)
        }
    }
}

// MARK: Run

extension SetBodyPolicy {
    /// The request body in inbound and backend, the response body in outbound and on-error.
    struct Step: SynchronousPolicyStep {
        let body: RuntimeParameter<String>?

        func run(_ execution: PolicyExecution, _ step: CompiledStep) throws -> Flow {
            let section = execution.state.section
            try execution.applyBody(body, step, response: section == .outbound || section == .onError)
            return .proceed
        }
    }

    func compile(_ compiler: inout StepCompiler, _ statement: PolicyStatement) -> (any SynchronousPolicyStep)? {
        compiler.body(self, at: statement).map { Step(body: $0) }
    }
}
