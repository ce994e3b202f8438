import Foundation

/// Reads one policy (or configuration) element against its schema. On creation it reports unknown,
/// missing and ill-typed attributes, unexpected children and text, and compiles every expression
/// the element holds; the typed accessors then hand out checked values.
struct PolicyElementReader {
    let element: PolicyXMLElement
    let schema: PolicySchema
    let context: PolicyParsingContext
    let section: PolicySection?
    let path: String
    private let errorsBefore: Int
    private let expressions: [String: PolicyExpression]
    private let textExpression: PolicyExpression?
    /// Each child element's 1-based index among its same-named siblings (computed once: elements
    /// may have very many children).
    private let childIndices: [SourcePosition: Int]

    init(element: PolicyXMLElement, schema: PolicySchema, context: PolicyParsingContext, section: PolicySection?, path: String) {
        self.element = element
        self.schema = schema
        self.context = context
        self.section = section
        self.path = path
        errorsBefore = context.errorCount
        let tag = "'<\(element.name)>'"
        var expressions: [String: PolicyExpression] = [:]
        for attribute in element.attributes {
            if attribute.name == "id" {
                if attribute.value.expression != nil {
                    context.error(at: attribute.valuePosition, "the 'id' attribute of \(tag) must be literal text, not an expression")
                }
                continue
            }
            guard let spec = schema.attribute(attribute.name) else {
                let expected = schema.attributes.map { "'\($0.name)'" }
                context.error(
                    at: attribute.position,
                    "unknown attribute '\(attribute.name)' on \(tag)"
                        + (expected.isEmpty ? " (it takes none)" : " (expected \(expected.joined(separator: ", ")))"))
                continue
            }
            switch attribute.value {
            case .expression(let source):
                guard spec.allowsExpressions else {
                    context.error(at: attribute.valuePosition, "the attribute '\(spec.name)' of \(tag) does not allow policy expressions")
                    continue
                }
                if let compiled = context.compile(source, expecting: spec.expressionType) {
                    expressions[spec.name] = compiled
                }
            case .literal(let literal):
                if let problem = spec.type.problem(with: literal) {
                    let shown = Self.quote(literal, secret: attribute.secretNamedValue)
                    let trimmed = literal.drop { $0.isWhitespace }
                    let hint = trimmed.hasPrefix("@(") || trimmed.hasPrefix("@{")
                        ? " (text follows the expression, so the value is literal text: an expression must be the whole value)" : ""
                    context.error(
                        at: attribute.valuePosition, "invalid value \(shown) for attribute '\(spec.name)' of \(tag): expected \(problem)\(hint)")
                }
            }
        }
        for spec in schema.attributes where spec.isRequired && element.attribute(spec.name) == nil {
            context.error(at: element.position, "\(tag) requires the attribute '\(spec.name)'")
        }
        switch schema.children {
        case .none:
            for child in element.childElements {
                context.error(at: child.position, "unexpected element '<\(child.name)>' inside \(tag) (it takes no child elements)")
            }
        case .elements(let names):
            for child in element.childElements where !names.contains(child.name) {
                context.error(
                    at: child.position,
                    "unexpected element '<\(child.name)>' inside \(tag) (expected \(names.map { "'<\($0)>'" }.joined(separator: ", ")))")
            }
        case .policies, .markup:
            break
        }
        var textExpression: PolicyExpression? = nil
        if schema.allowsText {
            if case .expression(let source) = element.textValue {
                textExpression = context.compile(source, expecting: schema.textType)
            }
        } else if let text = element.textNodes.first {
            context.error(at: text.position, "text is not allowed inside \(tag)")
        }
        self.expressions = expressions
        self.textExpression = textExpression
        var counts: [String: Int] = [:]
        var indices: [SourcePosition: Int] = [:]
        for child in element.childElements {
            counts[child.name, default: 0] += 1
            indices[child.position] = indices[child.position] ?? counts[child.name, default: 1]
        }
        childIndices = indices
    }

    /// True when nothing was reported since this reader was made (nested statements included).
    var isValid: Bool { context.errorCount == errorsBefore }

    var tag: String { "'<\(element.name)>'" }

    // MARK: Attributes

    /// The attribute's value (or its default) converted by `convert`; nil when absent without a
    /// default, or when it was reported as invalid.
    func parameter<Value: Sendable>(_ name: String, _ convert: (String) -> Value?) -> PolicyParameter<Value>? {
        if let expression = expressions[name] { return .expression(expression) }
        guard let spec = schema.attribute(name) else { return nil }
        switch element.attribute(name)?.value {
        case .literal(let literal):
            return convert(literal).map { .constant($0) }
        case .expression:
            return nil  // not allowed or failed to compile: already reported
        case nil:
            return spec.defaultValue.flatMap(convert).map { .constant($0) }
        }
    }

    /// The compiled expression of an attribute, if it holds one.
    func expression(_ name: String) -> PolicyExpression? { expressions[name] }

    func string(_ name: String) -> PolicyParameter<String>? { parameter(name) { $0 } }

    func integer(_ name: String) -> PolicyParameter<Int>? {
        parameter(name) { literal in
            guard let value = Int(literal.trimmingCharacters(in: .whitespaces)) else { return nil }
            if case .integer(let range)? = schema.attribute(name)?.type, !range.contains(value) { return nil }
            return value
        }
    }

    func boolean(_ name: String) -> PolicyParameter<Bool>? { parameter(name, PolicyAttributeType.boolean) }

    func choice<Choice: RawRepresentable & Sendable>(_ name: String, as type: Choice.Type) -> PolicyParameter<Choice>?
    where Choice.RawValue == String {
        parameter(name) { Choice(rawValue: $0) }
    }

    func url(_ name: String) -> PolicyParameter<URL>? { parameter(name, PolicyAttributeType.absoluteURL) }

    /// A literal-only attribute's text (or default).
    func literal(_ name: String) -> String? {
        switch element.attribute(name)?.value {
        case .literal(let literal): literal
        case .expression: nil
        case nil: schema.attribute(name)?.defaultValue
        }
    }

    // MARK: Quoting values in messages

    /// How a value is shown in a message: quoted and shortened (a megabyte-long attribute must not
    /// make a megabyte-long message), or, when a secret named value went into it, only that
    /// secret's name — a trimmed or shortened secret would slip past redaction by value.
    static func quote(_ value: String, secret: String?) -> String {
        if let secret { return "(a value containing the secret named value {{\(secret)}})" }
        return "'" + (value.count <= 80 ? value : value.prefix(77) + "…") + "'"
    }

    /// `value` as read from the attribute `name` of this element.
    func quote(_ value: String, attribute name: String) -> String {
        Self.quote(value, secret: element.attribute(name)?.secretNamedValue)
    }

    /// `value` as read from the text of this element.
    func quoteText(_ value: String) -> String {
        Self.quote(value, secret: element.textSecretNamedValue)
    }

    /// Reports a problem with an attribute's value at that value.
    func error(attribute name: String, _ message: String) {
        context.error(at: element.attribute(name)?.valuePosition ?? element.position, message)
    }

    func error(_ message: String) {
        context.error(at: element.position, message)
    }

    // MARK: Content

    /// The element's text as a string parameter (nil when there is none).
    var text: PolicyParameter<String>? {
        if case .markup = schema.children, !element.childElements.isEmpty {
            return .constant(PolicyXMLPrinter.inline(element.children))
        }
        if let textExpression { return .expression(textExpression) }
        switch element.textValue {
        case .literal(let literal): return .constant(literal)
        case .expression, nil: return nil
        }
    }

    /// A reader for a configuration child (like `<value>`), checked against its own schema.
    func child(_ child: PolicyXMLElement, _ childSchema: PolicySchema) -> PolicyElementReader {
        PolicyElementReader(element: child, schema: childSchema, context: context, section: section, path: childPath(child))
    }

    /// Readers for every child with the given name.
    func children(named name: String, _ childSchema: PolicySchema) -> [PolicyElementReader] {
        element.childElements.filter { $0.name == name }.map { child($0, childSchema) }
    }

    /// The nested policy statements of this element (or of one of its children).
    func statements(of container: PolicyXMLElement? = nil) -> [PolicyStatement] {
        let base = container.map(childPath) ?? path
        return context.statements((container ?? element).childElements, section: section, parentPath: base, allowsBase: false)
    }

    /// Policy-shaped configuration children (like `<set-header>` inside `<return-response>`),
    /// validated as statements; other children are left to the schema check.
    func policies(named names: Set<String>) -> [PolicyStatement] {
        let chosen = element.childElements.filter { names.contains($0.name) }
        return context.statements(chosen, section: section, parentPath: path, allowsBase: false)
    }

    /// `parent/name[n]` with n counted among same-named siblings, as `context.LastError.Path` shows it.
    func childPath(_ child: PolicyXMLElement) -> String {
        "\(path)/\(child.name)[\(childIndices[child.position] ?? 1)]"
    }

    /// Reports duplicates of a child that may appear at most once.
    func atMostOne(_ name: String) {
        let matches = element.childElements.filter { $0.name == name }
        for extra in matches.dropFirst() {
            context.error(at: extra.position, "\(tag) may contain at most one '<\(name)>'")
        }
    }
}
