/// Compiles an `<xsl:stylesheet>` (as the policy reader read it, with positions) into an
/// `XSLTStylesheet`, refusing at load whatever the engine does not run: the first problem is an
/// `XSLTCompileError` naming the instruction, attribute or function and where it is written.
struct XSLTCompiler {
    static let xslNamespace = "http://www.w3.org/1999/XSL/Transform"
    static let msxslNamespace = "urn:schemas-microsoft-com:xslt"

    /// The instructions that may appear in a template (`element-available()` reports these).
    static let instructions: Set<String> = [
        "apply-templates", "call-template", "value-of", "copy-of", "copy", "element", "attribute", "text", "if",
        "choose", "for-each", "variable", "comment", "processing-instruction", "message", "fallback",
    ]

    var templates: [XSLTTemplate] = []
    var rules: [XPathName: [XSLTRule]] = [:]
    var named: [XPathName: Int] = [:]
    var globals: [XSLTVariable] = []
    var output = XSLTOutputSettings()
    /// Named templates called, checked once every template is known.
    var calls: [(XPathName, SourcePosition)] = []
    /// Prefixes whose namespaces literal result elements do not copy (`exclude-result-prefixes`).
    var excluded: Set<String> = []
    /// Every top-level variable and parameter, those declared so far (a top-level one sees only
    /// these), and the local ones in scope where the compiler is.
    var globalNames: Set<XPathName> = []
    var declaredGlobals: Set<XPathName> = []
    var inTemplate = false
    var locals: [XPathName] = []

    typealias Scope = [String: String]

    static func compile(_ stylesheet: PolicyXMLElement) throws(XSLTCompileError) -> XSLTStylesheet {
        var compiler = XSLTCompiler()
        try compiler.stylesheet(stylesheet)
        return XSLTStylesheet(templates: compiler.templates, rules: compiler.rules, named: compiler.named, globals: compiler.globals, output: compiler.output)
    }

    // MARK: Names

    static func split(_ qualified: String) -> (prefix: String, local: String) {
        guard let colon = qualified.firstIndex(of: ":") else { return ("", qualified) }
        return (String(qualified[..<colon]), String(qualified[qualified.index(after: colon)...]))
    }

    /// The scope inside an element: its parent's, plus its `xmlns` declarations.
    static func scope(of element: PolicyXMLElement, in parent: Scope) -> Scope {
        var scope = parent
        for attribute in element.attributes {
            if attribute.name == "xmlns" { scope[""] = attribute.value.description } else if attribute.name.hasPrefix("xmlns:") {
                scope[String(attribute.name.dropFirst(6))] = attribute.value.description
            }
        }
        return scope
    }

    /// The expanded name of an element (unprefixed: the default namespace).
    static func name(of element: PolicyXMLElement, _ scope: Scope) throws(XSLTCompileError) -> (prefix: String, namespace: String, local: String) {
        let (prefix, local) = split(element.name)
        guard let namespace = scope[prefix] ?? (prefix.isEmpty ? "" : nil) else {
            throw XSLTCompileError(position: element.position, message: "the prefix '\(prefix)' of '<\(element.name)>' is not declared")
        }
        return (prefix, namespace, local)
    }

    /// A QName attribute value (`name`, `mode`): unprefixed names have no namespace.
    func qname(_ text: String, _ scope: Scope, at position: SourcePosition) throws(XSLTCompileError) -> XPathName {
        let (prefix, local) = Self.split(text.trimmingCharacters(in: .whitespaces))
        guard !local.isEmpty else { throw XSLTCompileError(position: position, message: "'\(text)' is not a name") }
        if prefix.isEmpty { return XPathName(namespace: "", local: local) }
        guard let uri = scope[prefix] else { throw XSLTCompileError(position: position, message: "the prefix '\(prefix)' is not declared") }
        return XPathName(namespace: uri, local: local)
    }

    // MARK: Attributes

    static func tag(_ element: PolicyXMLElement) -> String { "'<\(element.name)>'" }

    func attribute(_ element: PolicyXMLElement, _ name: String) -> PolicyXMLAttribute? { element.attribute(name) }

    func text(_ element: PolicyXMLElement, _ name: String) -> String? { element.attribute(name)?.value.description }

    func required(_ element: PolicyXMLElement, _ name: String) throws(XSLTCompileError) -> PolicyXMLAttribute {
        guard let found = element.attribute(name) else {
            throw XSLTCompileError(position: element.position, message: "\(Self.tag(element)) requires the attribute '\(name)'")
        }
        return found
    }

    /// Refuses attributes an instruction does not take (namespace declarations aside).
    func allow(_ element: PolicyXMLElement, _ names: Set<String>) throws(XSLTCompileError) {
        for attribute in element.attributes where !names.contains(attribute.name) && attribute.name != "xmlns" && !attribute.name.hasPrefix("xmlns:") {
            throw XSLTCompileError(position: attribute.position, message: "the attribute '\(attribute.name)' of \(Self.tag(element)) is not supported")
        }
    }

    func expression(_ attribute: PolicyXMLAttribute, _ scope: Scope, in element: PolicyXMLElement) throws(XSLTCompileError) -> XPathExpression {
        let parsed: XPathExpression
        do {
            parsed = try XPathParser.parse(attribute.value.description, namespaces: scope)
        } catch {
            throw XSLTCompileError(position: attribute.valuePosition, message: "the '\(attribute.name)' of \(Self.tag(element)): \(error.message)")
        }
        try checkVariables(parsed, attribute, in: element)
        return parsed
    }

    /// Refuses a reference to a variable or parameter not in scope where the expression is written.
    func checkVariables(_ expression: XPathExpression, _ attribute: PolicyXMLAttribute, in element: PolicyXMLElement) throws(XSLTCompileError) {
        var names: [XPathName] = []
        Self.variables(in: expression, into: &names)
        for name in names where !locals.contains(name) && !(inTemplate ? globalNames : declaredGlobals).contains(name) {
            throw XSLTCompileError(
                position: attribute.valuePosition,
                message: "the '\(attribute.name)' of \(Self.tag(element)) refers to '$\(name)', which is not declared \(globalNames.contains(name) ? "before it" : "in scope")")
        }
    }

    /// The variables an expression refers to (the parser bounds its depth).
    static func variables(in expression: XPathExpression, into names: inout [XPathName]) {
        switch expression {
        case .variable(let name): names.append(name)
        case .literal, .number: break
        case .or(let a, let b), .and(let a, let b), .compare(_, let a, let b), .arithmetic(_, let a, let b), .union(let a, let b):
            variables(in: a, into: &names)
            variables(in: b, into: &names)
        case .negate(let a): variables(in: a, into: &names)
        case .filter(let a, let predicates):
            variables(in: a, into: &names)
            for predicate in predicates { variables(in: predicate, into: &names) }
        case .function(_, let arguments):
            for argument in arguments { variables(in: argument, into: &names) }
        case .path(let start, _, let steps):
            if let start { variables(in: start, into: &names) }
            for step in steps { for predicate in step.predicates { variables(in: predicate, into: &names) } }
        }
    }

    func pattern(_ attribute: PolicyXMLAttribute, _ scope: Scope, in element: PolicyXMLElement) throws(XSLTCompileError) -> [XSLTPathPattern] {
        do {
            return try XSLTPathPattern.alternatives(try XPathParser.parse(attribute.value.description, namespaces: scope))
        } catch {
            throw XSLTCompileError(position: attribute.valuePosition, message: "the 'match' of \(Self.tag(element)): \(error.message)")
        }
    }

    func valueTemplate(_ attribute: PolicyXMLAttribute, _ scope: Scope, in element: PolicyXMLElement) throws(XSLTCompileError) -> XSLTAttributeValue {
        let text = Array(attribute.value.description)
        var parts: [XSLTAttributeValue.Part] = []
        var literal = ""
        var i = 0
        func fail(_ message: String) -> XSLTCompileError {
            XSLTCompileError(position: attribute.valuePosition, message: "the '\(attribute.name)' of \(Self.tag(element)): \(message)")
        }
        while i < text.count {
            let c = text[i]
            if c == "{", i + 1 < text.count, text[i + 1] == "{" { literal.append("{"); i += 2; continue }
            if c == "}", i + 1 < text.count, text[i + 1] == "}" { literal.append("}"); i += 2; continue }
            if c == "}" { throw fail("a '}' outside an expression must be written '}}'") }
            if c == "{" {
                var j = i + 1
                var quote: Character? = nil
                while j < text.count {
                    if let q = quote { if text[j] == q { quote = nil } } else if text[j] == "\"" || text[j] == "'" { quote = text[j] } else if text[j] == "}" { break }
                    j += 1
                }
                guard j < text.count else { throw fail("'{' is not closed by '}'") }
                if !literal.isEmpty { parts.append(.text(literal)); literal = "" }
                let parsed: XPathExpression
                do {
                    parsed = try XPathParser.parse(String(text[(i + 1)..<j]), namespaces: scope)
                } catch {
                    throw fail(error.message)
                }
                try checkVariables(parsed, attribute, in: element)
                parts.append(.expression(parsed))
                i = j + 1
                continue
            }
            literal.append(c)
            i += 1
        }
        if !literal.isEmpty { parts.append(.text(literal)) }
        return XSLTAttributeValue(parts: parts)
    }

    // MARK: Top level

    mutating func stylesheet(_ element: PolicyXMLElement) throws(XSLTCompileError) {
        let scope = Self.scope(of: element, in: ["xml": "http://www.w3.org/XML/1998/namespace"])
        let (_, namespace, local) = try Self.name(of: element, scope)
        guard namespace == Self.xslNamespace, local == "stylesheet" || local == "transform" else {
            throw XSLTCompileError(position: element.position, message: "expected '<xsl:stylesheet>' or '<xsl:transform>' in the XSLT namespace, found \(Self.tag(element))")
        }
        try allow(element, ["version", "exclude-result-prefixes", "extension-element-prefixes", "id"])
        let version = try required(element, "version")
        guard version.value.description.trimmingCharacters(in: .whitespaces) == "1.0" else {
            throw XSLTCompileError(position: version.valuePosition, message: "only XSLT version 1.0 is supported, not '\(version.value.description)'")
        }
        if let prefixes = element.attribute("extension-element-prefixes"), !prefixes.value.description.trimmingCharacters(in: .whitespaces).isEmpty {
            throw XSLTCompileError(position: prefixes.valuePosition, message: "extension elements are not supported")
        }
        excluded = try excludedPrefixes(element.attribute("exclude-result-prefixes"), scope)
        for text in element.textNodes {
            throw XSLTCompileError(position: text.position, message: "text is not allowed at the top level of a stylesheet")
        }
        for child in element.childElements {
            let childScope = Self.scope(of: child, in: scope)
            guard case (_, Self.xslNamespace, let kind) = try Self.name(of: child, childScope), kind == "param" || kind == "variable",
                  let nameAttribute = child.attribute("name") else { continue }
            let name = try qname(nameAttribute.value.description, childScope, at: nameAttribute.valuePosition)
            guard globalNames.insert(name).inserted else {
                throw XSLTCompileError(position: child.position, message: "a top-level variable or parameter named '\(name)' is already declared")
            }
        }
        for child in element.childElements {
            let childScope = Self.scope(of: child, in: scope)
            let (_, ns, name) = try Self.name(of: child, childScope)
            if ns == Self.msxslNamespace {
                throw XSLTCompileError(position: child.position, message: "\(Self.tag(child)) is not supported: no scripts or extensions run in a stylesheet")
            }
            guard ns == Self.xslNamespace else { continue }  // top-level data elements are ignored (XSLT 1.0 section 2.2)
            switch name {
            case "template":
                try template(child, childScope)
            case "param", "variable":
                let global = try variable(child, childScope, isParameter: name == "param")
                globals.append(global)
                declaredGlobals.insert(global.name)
            case "output":
                try outputSettings(child)
            case "strip-space":
                // Whitespace-only text between elements of the body is never kept: stripping is what happens anyway.
                try allow(child, ["elements"])
            case "import", "include":
                throw XSLTCompileError(position: child.position, message: "\(Self.tag(child)) is not supported: a stylesheet never reads files or the network")
            case "preserve-space":
                throw XSLTCompileError(position: child.position, message: "\(Self.tag(child)) is not supported: whitespace-only text between elements of the body is not kept")
            case "key", "decimal-format", "namespace-alias", "attribute-set":
                throw XSLTCompileError(position: child.position, message: "\(Self.tag(child)) is not supported by Drawbridge's XSLT subset")
            default:
                throw XSLTCompileError(position: child.position, message: "\(Self.tag(child)) is not an XSLT 1.0 top-level element")
            }
        }
        for (name, position) in calls where named[name] == nil {
            throw XSLTCompileError(position: position, message: "no template is named '\(name)'")
        }
        for mode in rules.keys {
            rules[mode]?.sort { $0.priority != $1.priority ? $0.priority > $1.priority : $0.template > $1.template }
        }
    }

    func excludedPrefixes(_ attribute: PolicyXMLAttribute?, _ scope: Scope) throws(XSLTCompileError) -> Set<String> {
        guard let attribute else { return [] }
        var out = Set<String>()
        for token in attribute.value.description.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }) {
            let prefix = token == "#default" ? "" : String(token)
            guard scope[prefix] != nil else {
                throw XSLTCompileError(position: attribute.valuePosition, message: "the excluded prefix '\(token)' is not declared")
            }
            out.insert(prefix)
        }
        return out
    }

    mutating func outputSettings(_ element: PolicyXMLElement) throws(XSLTCompileError) {
        try allow(element, ["method", "indent", "omit-xml-declaration", "encoding", "standalone", "media-type", "version"])
        func yesNo(_ name: String) throws(XSLTCompileError) -> Bool? {
            guard let attribute = element.attribute(name) else { return nil }
            switch attribute.value.description.trimmingCharacters(in: .whitespaces) {
            case "yes": return true
            case "no": return false
            default: throw XSLTCompileError(position: attribute.valuePosition, message: "the '\(name)' of \(Self.tag(element)) must be 'yes' or 'no'")
            }
        }
        if let method = element.attribute("method") {
            guard let value = XSLTOutputSettings.Method(rawValue: method.value.description.trimmingCharacters(in: .whitespaces)) else {
                throw XSLTCompileError(position: method.valuePosition, message: "the output method '\(method.value.description)' is not supported (expected 'xml', 'html' or 'text')")
            }
            output.method = value
        }
        if let indent = try yesNo("indent") { output.indent = indent }
        if let omit = try yesNo("omit-xml-declaration") { output.omitXMLDeclaration = omit }
        if let standalone = try yesNo("standalone") { output.standalone = standalone ? "yes" : "no" }
        if let encoding = element.attribute("encoding"), encoding.value.description.lowercased() != "utf-8" {
            throw XSLTCompileError(position: encoding.valuePosition, message: "the output encoding '\(encoding.value.description)' is not supported: results are UTF-8")
        }
        if let mediaType = text(element, "media-type") { output.mediaType = mediaType }
    }

    mutating func template(_ element: PolicyXMLElement, _ scope: Scope) throws(XSLTCompileError) {
        try allow(element, ["match", "name", "mode", "priority"])
        let match = element.attribute("match")
        let name = try element.attribute("name").map { (a) throws(XSLTCompileError) in try qname(a.value.description, scope, at: a.valuePosition) }
        guard match != nil || name != nil else {
            throw XSLTCompileError(position: element.position, message: "\(Self.tag(element)) needs a 'match' or a 'name'")
        }
        var priority: Double? = nil
        if let written = element.attribute("priority") {
            guard let value = Double(written.value.description.trimmingCharacters(in: .whitespaces)), value.isFinite else {
                throw XSLTCompileError(position: written.valuePosition, message: "the priority '\(written.value.description)' is not a number")
            }
            priority = value
        }
        let mode = try element.attribute("mode").map { (a) throws(XSLTCompileError) in try qname(a.value.description, scope, at: a.valuePosition) }
        if mode != nil, match == nil {
            throw XSLTCompileError(position: element.position, message: "\(Self.tag(element)) has a 'mode' but no 'match'")
        }
        let index = templates.count
        inTemplate = true
        locals = []
        defer { inTemplate = false; locals = [] }
        var parameters: [XSLTVariable] = []
        var rest: [PolicyXMLNode] = []
        var leading = true
        for node in element.children {
            if leading, case .element(let child) = node {
                let childScope = Self.scope(of: child, in: scope)
                if case (_, Self.xslNamespace, "param") = try Self.name(of: child, childScope) {
                    let parameter = try variable(child, childScope, isParameter: true)
                    parameters.append(parameter)
                    locals.append(parameter.name)
                    continue
                }
            }
            if case .text(let text) = node, case .literal(let literal) = text.value, literal.allSatisfy(\.isWhitespace) { continue }
            leading = false
            rest.append(node)
        }
        let body = try content(rest, scope)
        templates.append(XSLTTemplate(parameters: parameters, body: body))
        if let name {
            guard named[name] == nil else {
                throw XSLTCompileError(position: element.position, message: "a template named '\(name)' is already defined")
            }
            named[name] = index
        }
        if let match {
            for alternative in try pattern(match, scope, in: element) {
                rules[mode ?? XSLTStylesheet.noMode, default: []].append(
                    XSLTRule(pattern: alternative, priority: priority ?? alternative.defaultPriority, template: index))
            }
        }
    }

    mutating func variable(_ element: PolicyXMLElement, _ scope: Scope, isParameter: Bool) throws(XSLTCompileError) -> XSLTVariable {
        try allow(element, ["name", "select"])
        let nameAttribute = try required(element, "name")
        let name = try qname(nameAttribute.value.description, scope, at: nameAttribute.valuePosition)
        if let select = element.attribute("select") {
            if let extra = element.children.first {
                let position: SourcePosition
                switch extra { case .element(let e): position = e.position; case .text(let t): position = t.position }
                throw XSLTCompileError(position: position, message: "\(Self.tag(element)) has both a 'select' and content")
            }
            return XSLTVariable(name: name, value: .expression(try expression(select, scope, in: element)), isParameter: isParameter)
        }
        if element.children.isEmpty { return XSLTVariable(name: name, value: .empty, isParameter: isParameter) }
        return XSLTVariable(name: name, value: .content(try content(element.children, scope)), isParameter: isParameter)
    }

    // MARK: Templates' content

    mutating func content(_ nodes: [PolicyXMLNode], _ scope: Scope) throws(XSLTCompileError) -> [XSLTInstruction] {
        // A local variable is visible to its following siblings and their descendants.
        let mark = locals.count
        defer { if locals.count > mark { locals.removeSubrange(mark...) } }
        var out: [XSLTInstruction] = []
        for node in nodes {
            switch node {
            case .text(let text):
                // Whitespace-only text is stripped from a stylesheet except in xsl:text (XSLT 1.0 section 3.4).
                if case .literal(let literal) = text.value, literal.allSatisfy(\.isWhitespace) { continue }
                out.append(.text(text.value.description, raw: false))
            case .element(let element):
                let elementScope = Self.scope(of: element, in: scope)
                if let instruction = try instruction(element, elementScope) {
                    out.append(instruction)
                    if case .variable(let variable) = instruction { locals.append(variable.name) }
                }
            }
        }
        return out
    }

    mutating func sortsAndParameters(_ element: PolicyXMLElement, _ scope: Scope, sorts allowSorts: Bool, parameters allowParameters: Bool)
        throws(XSLTCompileError) -> (sorts: [XSLTSort], parameters: [XSLTVariable], rest: [PolicyXMLNode])
    {
        var sorts: [XSLTSort] = []
        var parameters: [XSLTVariable] = []
        var rest: [PolicyXMLNode] = []
        for node in element.children {
            if case .element(let child) = node {
                let childScope = Self.scope(of: child, in: scope)
                let (_, ns, local) = try Self.name(of: child, childScope)
                if ns == Self.xslNamespace, local == "sort", allowSorts, rest.isEmpty {
                    sorts.append(try sort(child, childScope))
                    continue
                }
                if ns == Self.xslNamespace, local == "with-param", allowParameters {
                    parameters.append(try variable(child, childScope, isParameter: true))
                    continue
                }
            }
            rest.append(node)
        }
        return (sorts, parameters, rest)
    }

    func sort(_ element: PolicyXMLElement, _ scope: Scope) throws(XSLTCompileError) -> XSLTSort {
        try allow(element, ["select", "order", "data-type", "lang", "case-order"])
        let select = try element.attribute("select").map { (a) throws(XSLTCompileError) in try expression(a, scope, in: element) }
            ?? .path(start: nil, absolute: false, steps: [XPathStep(axis: .self, test: .node, predicates: [])])
        var descending = false
        if let order = element.attribute("order") {
            switch order.value.description {
            case "ascending": descending = false
            case "descending": descending = true
            default: throw XSLTCompileError(position: order.valuePosition, message: "the 'order' of \(Self.tag(element)) must be 'ascending' or 'descending' (computed values are not supported)")
            }
        }
        var numeric = false
        if let type = element.attribute("data-type") {
            switch type.value.description {
            case "text": numeric = false
            case "number": numeric = true
            default: throw XSLTCompileError(position: type.valuePosition, message: "the 'data-type' of \(Self.tag(element)) must be 'text' or 'number'")
            }
        }
        return XSLTSort(select: select, descending: descending, numeric: numeric)
    }

    func noContent(_ element: PolicyXMLElement) throws(XSLTCompileError) {
        if let first = element.children.first {
            let position: SourcePosition
            switch first { case .element(let e): position = e.position; case .text(let t): position = t.position }
            throw XSLTCompileError(position: position, message: "\(Self.tag(element)) must be empty")
        }
    }

    func raw(_ element: PolicyXMLElement) throws(XSLTCompileError) -> Bool {
        guard let attribute = element.attribute("disable-output-escaping") else { return false }
        switch attribute.value.description {
        case "yes": return true
        case "no": return false
        default: throw XSLTCompileError(position: attribute.valuePosition, message: "'disable-output-escaping' must be 'yes' or 'no'")
        }
    }

    /// One element of a template's content: an XSLT instruction or a literal result element.
    mutating func instruction(_ element: PolicyXMLElement, _ scope: Scope) throws(XSLTCompileError) -> XSLTInstruction? {
        let (prefix, namespace, local) = try Self.name(of: element, scope)
        if namespace == Self.msxslNamespace {
            throw XSLTCompileError(position: element.position, message: "\(Self.tag(element)) is not supported: no scripts or extensions run in a stylesheet")
        }
        guard namespace == Self.xslNamespace else { return try literalElement(element, scope, prefix: prefix, namespace: namespace, local: local) }
        switch local {
        case "apply-templates":
            try allow(element, ["select", "mode"])
            let select = try element.attribute("select").map { (a) throws(XSLTCompileError) in try expression(a, scope, in: element) }
            let mode = try element.attribute("mode").map { (a) throws(XSLTCompileError) in try qname(a.value.description, scope, at: a.valuePosition) }
            let (sorts, parameters, rest) = try sortsAndParameters(element, scope, sorts: true, parameters: true)
            try only(rest, in: element)
            return .applyTemplates(select: select, mode: mode ?? XSLTStylesheet.noMode, sorts: sorts, parameters: parameters)
        case "call-template":
            try allow(element, ["name"])
            let nameAttribute = try required(element, "name")
            let name = try qname(nameAttribute.value.description, scope, at: nameAttribute.valuePosition)
            let (_, parameters, rest) = try sortsAndParameters(element, scope, sorts: false, parameters: true)
            try only(rest, in: element)
            calls.append((name, nameAttribute.valuePosition))
            return .callTemplate(name, parameters: parameters)
        case "value-of":
            try allow(element, ["select", "disable-output-escaping"])
            try noContent(element)
            return .valueOf(try expression(try required(element, "select"), scope, in: element), raw: try raw(element))
        case "copy-of":
            try allow(element, ["select"])
            try noContent(element)
            return .copyOf(try expression(try required(element, "select"), scope, in: element))
        case "copy":
            try allow(element, [])
            return .copy(try content(element.children, scope))
        case "element", "attribute":
            try allow(element, ["name", "namespace"])
            let name = try valueTemplate(try required(element, "name"), scope, in: element)
            let ns = try element.attribute("namespace").map { (a) throws(XSLTCompileError) in try valueTemplate(a, scope, in: element) }
            let body = try content(element.children, scope)
            return local == "element"
                ? .element(name: name, namespace: ns, scope: scope, content: body)
                : .attribute(name: name, namespace: ns, scope: scope, content: body)
        case "text":
            try allow(element, ["disable-output-escaping"])
            if let child = element.childElements.first {
                throw XSLTCompileError(position: child.position, message: "\(Self.tag(element)) may hold only text")
            }
            return .text(element.children.map { if case .text(let t) = $0 { t.value.description } else { "" } }.joined(), raw: try raw(element))
        case "if":
            try allow(element, ["test"])
            return .ifTrue(try expression(try required(element, "test"), scope, in: element), try content(element.children, scope))
        case "choose":
            try allow(element, [])
            var whens: [XSLTWhen] = []
            var otherwise: [XSLTInstruction]? = nil
            for text in element.textNodes { throw XSLTCompileError(position: text.position, message: "text is not allowed directly inside \(Self.tag(element))") }
            for child in element.childElements {
                let childScope = Self.scope(of: child, in: scope)
                let (_, ns, name) = try Self.name(of: child, childScope)
                guard ns == Self.xslNamespace, otherwise == nil, name == "when" || name == "otherwise" else {
                    throw XSLTCompileError(position: child.position, message: "\(Self.tag(element)) holds '<xsl:when>' elements and at most one final '<xsl:otherwise>', not \(Self.tag(child))")
                }
                if name == "when" {
                    try allow(child, ["test"])
                    whens.append(XSLTWhen(test: try expression(try required(child, "test"), childScope, in: child), content: try content(child.children, childScope)))
                } else {
                    try allow(child, [])
                    otherwise = try content(child.children, childScope)
                }
            }
            guard !whens.isEmpty else { throw XSLTCompileError(position: element.position, message: "\(Self.tag(element)) needs at least one '<xsl:when>'") }
            return .choose(whens, otherwise: otherwise ?? [])
        case "for-each":
            try allow(element, ["select"])
            let select = try expression(try required(element, "select"), scope, in: element)
            let (sorts, _, rest) = try sortsAndParameters(element, scope, sorts: true, parameters: false)
            return .forEach(select, sorts: sorts, content: try content(rest, scope))
        case "variable":
            return .variable(try variable(element, scope, isParameter: false))
        case "comment":
            try allow(element, [])
            return .comment(try content(element.children, scope))
        case "processing-instruction":
            try allow(element, ["name"])
            return .processingInstruction(name: try valueTemplate(try required(element, "name"), scope, in: element), content: try content(element.children, scope))
        case "message":
            try allow(element, ["terminate"])
            let terminate = element.attribute("terminate")?.value.description == "yes"
            return .message(terminate: terminate, content: try content(element.children, scope))
        case "fallback":
            return nil
        case "param":
            throw XSLTCompileError(position: element.position, message: "\(Self.tag(element)) must come first in a template or at the top level")
        case "sort", "with-param", "when", "otherwise":
            throw XSLTCompileError(position: element.position, message: "\(Self.tag(element)) is not allowed here")
        case "number", "apply-imports":
            throw XSLTCompileError(position: element.position, message: "the instruction \(Self.tag(element)) is not supported by Drawbridge's XSLT subset")
        default:
            throw XSLTCompileError(position: element.position, message: "\(Self.tag(element)) is not an XSLT 1.0 instruction")
        }
    }

    /// Nothing but the already-taken children (and whitespace) inside an element.
    func only(_ rest: [PolicyXMLNode], in element: PolicyXMLElement) throws(XSLTCompileError) {
        for node in rest {
            switch node {
            case .element(let child):
                throw XSLTCompileError(position: child.position, message: "\(Self.tag(child)) is not allowed inside \(Self.tag(element))")
            case .text(let text):
                throw XSLTCompileError(position: text.position, message: "text is not allowed inside \(Self.tag(element))")
            }
        }
    }

    mutating func literalElement(_ element: PolicyXMLElement, _ scope: Scope, prefix: String, namespace: String, local: String) throws(XSLTCompileError) -> XSLTInstruction {
        var excludedHere = excluded
        var attributes: [XSLTLiteralAttribute] = []
        for attribute in element.attributes {
            if attribute.name == "xmlns" || attribute.name.hasPrefix("xmlns:") { continue }
            let (p, l) = Self.split(attribute.name)
            let uri: String
            if p.isEmpty { uri = "" } else {
                guard let found = scope[p] else { throw XSLTCompileError(position: attribute.position, message: "the prefix '\(p)' of the attribute '\(attribute.name)' is not declared") }
                uri = found
            }
            if uri == Self.xslNamespace {
                switch l {
                case "exclude-result-prefixes": excludedHere.formUnion(try excludedPrefixes(attribute, scope))
                case "version": break
                default: throw XSLTCompileError(position: attribute.position, message: "the attribute '\(attribute.name)' is not supported on a literal result element")
                }
                continue
            }
            attributes.append(XSLTLiteralAttribute(prefix: p, namespace: uri, local: l, value: try valueTemplate(attribute, scope, in: element)))
        }
        let saved = excluded
        excluded = excludedHere
        defer { excluded = saved }
        let namespaces = scope.filter { $0.key != "xml" && $0.value != Self.xslNamespace && $0.value != Self.msxslNamespace && !excludedHere.contains($0.key) && !($0.key.isEmpty && $0.value.isEmpty) }
            .sorted { $0.key < $1.key }
            .map { XSLTNamespace(prefix: $0.key, uri: $0.value) }
        let body = try content(element.children, scope)
        return .literalElement(prefix: prefix, namespace: namespace, local: local, namespaces: namespaces, attributes: attributes, content: body)
    }
}
