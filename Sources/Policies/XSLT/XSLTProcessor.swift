/// One transformation: the compiled stylesheet applied to one parsed body. Not shared between
/// requests (it holds the run's variables, budget and result); the stylesheet it reads is.
final class XSLTRun {
    let sheet: XSLTStylesheet
    let tree: XSLTSourceTree
    let limits: XSLTLimits
    var steps = 0
    var depth = 0
    var outputBytes = 0
    var builder = XSLTResultBuilder()
    /// Local variables and parameters, innermost last; those below `frame` belong to callers.
    var locals: [(name: XPathName, value: XPathValue)] = []
    var frame = 0
    var globals: [XPathName: XPathValue] = [:]
    var currentNode = XSLTSourceTree.root

    init(sheet: XSLTStylesheet, tree: XSLTSourceTree, limits: XSLTLimits) {
        self.sheet = sheet
        self.tree = tree
        self.limits = limits
    }

    /// Transforms `body` (XML) with `sheet`; `parameters` set top-level `xsl:param`s by local name.
    static func transform(_ sheet: XSLTStylesheet, body: [UInt8], parameters: [String: String], limits: XSLTLimits) throws(XSLTError)
        -> (bytes: [UInt8], method: XSLTOutputSettings.Method)
    {
        let tree = try XSLTSourceTree(body)
        let run = XSLTRun(sheet: sheet, tree: tree, limits: limits)
        do {
            let root = XPathContext(node: XSLTSourceTree.root, position: 1, size: 1)
            for global in sheet.globals {
                if global.isParameter, global.name.namespace.isEmpty, let given = parameters[global.name.local] {
                    run.globals[global.name] = .string(given)
                } else {
                    run.globals[global.name] = try run.value(of: global, root)
                }
            }
            try run.applyTemplates([XSLTSourceTree.root], mode: XSLTStylesheet.noMode, parameters: [])
            return try XSLTSerializer.serialize(run.builder.tree, sheet.output, limit: limits.maximumOutputBytes)
        } catch let error as XSLTError {
            throw error
        } catch {
            throw XSLTError("\(error)")
        }
    }

    func charge(_ units: Int = 1) throws {
        steps += units
        guard steps <= limits.maximumSteps else {
            throw XSLTError("The transformation took more than \(limits.maximumSteps) steps.")
        }
    }

    func grow(_ bytes: Int) throws {
        outputBytes += bytes
        guard outputBytes <= limits.maximumOutputBytes else {
            throw XSLTError("The result grew past \(limits.maximumOutputBytes) bytes.")
        }
    }

    func variable(_ name: XPathName) throws -> XPathValue {
        var at = locals.count - 1
        while at >= frame {
            if locals[at].name == name { return locals[at].value }
            at -= 1
        }
        if let global = globals[name] { return global }
        throw XSLTError("The variable or parameter '\(name)' is not defined.")
    }

    func value(of variable: XSLTVariable, _ context: XPathContext) throws -> XPathValue {
        switch variable.value {
        case .empty: return .string("")
        case .expression(let expression): return try evaluate(expression, context)
        case .content(let content): return .fragment(try capture(content, context))
        }
    }

    /// Runs content into a separate result tree (a variable's fragment, an attribute's value).
    func capture(_ content: [XSLTInstruction], _ context: XPathContext) throws -> XSLTResultTree {
        let saved = builder
        builder = XSLTResultBuilder()
        defer { builder = saved }
        try execute(content, context)
        return builder.tree
    }

    func enter() throws {
        depth += 1
        guard depth <= limits.maximumDepth else {
            throw XSLTError("Templates are nested deeper than \(limits.maximumDepth) levels (runaway recursion?).")
        }
    }

    // MARK: Templates

    func rule(for node: Int, mode: XPathName) throws -> Int? {
        for rule in sheet.rules[mode] ?? [] where try matches(rule.pattern, node) { return rule.template }
        return nil
    }

    func applyTemplates(_ nodes: [Int], mode: XPathName, parameters: [(XPathName, XPathValue)]) throws {
        try enter()
        defer { depth -= 1 }
        for (offset, node) in nodes.enumerated() {
            try charge()
            let context = XPathContext(node: node, position: offset + 1, size: nodes.count)
            if let template = try rule(for: node, mode: mode) {
                try instantiate(sheet.templates[template], context, parameters: parameters)
                continue
            }
            // The built-in rules: recurse into the root and elements, copy text and attribute values.
            switch tree[node].kind {
            case .root, .element: try applyTemplates(tree[node].children, mode: mode, parameters: [])
            case .text, .attribute:
                try grow(tree[node].value.utf8.count)
                builder.text(tree[node].value)
            case .comment, .processingInstruction:
                break
            }
        }
    }

    func instantiate(_ template: XSLTTemplate, _ context: XPathContext, parameters: [(XPathName, XPathValue)]) throws {
        let savedFrame = frame
        let savedCount = locals.count
        frame = locals.count
        defer {
            locals.removeSubrange(savedCount...)
            frame = savedFrame
        }
        for parameter in template.parameters {
            if let passed = parameters.first(where: { $0.0 == parameter.name }) {
                locals.append((parameter.name, passed.1))
            } else {
                locals.append((parameter.name, try value(of: parameter, context)))
            }
        }
        try execute(template.body, context)
    }

    func parameterValues(_ parameters: [XSLTVariable], _ context: XPathContext) throws -> [(XPathName, XPathValue)] {
        try parameters.map { ($0.name, try value(of: $0, context)) }
    }

    /// Nodes in the order of `xsl:sort` keys (stable: document order breaks ties).
    func sorted(_ nodes: [Int], _ sorts: [XSLTSort]) throws -> [Int] {
        guard !sorts.isEmpty else { return nodes }
        enum Key { case text(String), number(Double) }
        var keys: [[Key]] = []
        for (offset, node) in nodes.enumerated() {
            let context = XPathContext(node: node, position: offset + 1, size: nodes.count)
            keys.append(try sorts.map { sort in
                let value = try evaluate(sort.select, context)
                let text = try string(value)
                return sort.numeric ? .number(XPathValue.number(text)) : .text(text)
            })
        }
        try charge(nodes.count * max(1, sorts.count))
        let order = nodes.indices.sorted { a, b in
            for (i, sort) in sorts.enumerated() {
                let ordered: Bool?
                switch (keys[a][i], keys[b][i]) {
                case (.number(let x), .number(let y)):
                    // NaN sorts first (as .NET does).
                    if x.isNaN && y.isNaN { ordered = nil } else if x.isNaN { ordered = true } else if y.isNaN { ordered = false } else { ordered = x == y ? nil : x < y }
                case (.text(let x), .text(let y)):
                    ordered = x == y ? nil : x < y
                default: ordered = nil
                }
                if let ordered { return sort.descending ? !ordered : ordered }
            }
            return a < b
        }
        return order.map { nodes[$0] }
    }

    // MARK: Instructions

    func execute(_ instructions: [XSLTInstruction], _ context: XPathContext) throws {
        let mark = locals.count
        defer { if locals.count > mark { locals.removeSubrange(mark...) } }
        for instruction in instructions { try execute(instruction, context) }
    }

    func text(_ value: String, raw: Bool = false) throws {
        try grow(value.utf8.count)
        builder.text(value, raw: raw)
    }

    func execute(_ instruction: XSLTInstruction, _ context: XPathContext) throws {
        try charge()
        switch instruction {
        case .text(let value, let raw):
            try text(value, raw: raw)
        case .valueOf(let expression, let raw):
            try text(try string(try evaluate(expression, context)), raw: raw)
        case .literalElement(let prefix, let namespace, let local, let namespaces, let attributes, let content):
            try grow(local.utf8.count * 2 + 5)
            builder.startElement(prefix: prefix, namespace: namespace, local: local, namespaces: namespaces.map { ($0.prefix, $0.uri) })
            for attribute in attributes {
                let value = try valueTemplate(attribute.value, context)
                try grow(attribute.local.utf8.count + value.utf8.count + 4)
                try builder.attribute(.init(prefix: attribute.prefix, namespace: attribute.namespace, local: attribute.local, value: value))
            }
            try execute(content, context)
            builder.endElement()
        case .copyOf(let expression):
            let value = try evaluate(expression, context)
            switch value {
            case .nodes(let nodes): for node in nodes { try copy(node, deep: true, context) }
            case .fragment(let fragment):
                // Each copy costs the fragment again: at least 5 bytes a node (as when it was built) and its text.
                try charge(fragment.nodes.count)
                try grow(fragment.nodes.count * 5 + fragment.text.utf8.count)
                builder.copy(fragment)
            default: try text(try string(value))
            }
        case .copy(let content):
            try copy(context.node, deep: false, context, content: content)
        case .element(let nameTemplate, let namespaceTemplate, let scope, let content):
            let (prefix, namespace, local) = try computedName(nameTemplate, namespaceTemplate, scope, context, element: true)
            try grow(local.utf8.count * 2 + 5)
            builder.startElement(prefix: prefix, namespace: namespace, local: local, namespaces: [])
            try execute(content, context)
            builder.endElement()
        case .attribute(let nameTemplate, let namespaceTemplate, let scope, let content):
            let (prefix, namespace, local) = try computedName(nameTemplate, namespaceTemplate, scope, context, element: false)
            let value = try capture(content, context).text
            try grow(local.utf8.count + value.utf8.count + 4)
            try builder.attribute(.init(prefix: prefix, namespace: namespace, local: local, value: value))
        case .applyTemplates(let select, let mode, let sorts, let parameters):
            let nodes = try select.map { try evaluateNodes($0, context, "'<xsl:apply-templates>'") } ?? tree[context.node].children
            let values = try parameterValues(parameters, context)
            try applyTemplates(try sorted(nodes, sorts), mode: mode, parameters: values)
        case .callTemplate(let name, let parameters):
            guard let index = sheet.named[name] else { throw XSLTError("No template is named '\(name)'.") }
            let values = try parameterValues(parameters, context)
            try enter()
            defer { depth -= 1 }
            try instantiate(sheet.templates[index], context, parameters: values)
        case .ifTrue(let test, let content):
            if try evaluate(test, context).boolean { try execute(content, context) }
        case .choose(let whens, let otherwise):
            for when in whens where try evaluate(when.test, context).boolean {
                try execute(when.content, context)
                return
            }
            try execute(otherwise, context)
        case .forEach(let select, let sorts, let content):
            let nodes = try sorted(try evaluateNodes(select, context, "'<xsl:for-each>'"), sorts)
            for (offset, node) in nodes.enumerated() {
                try execute(content, XPathContext(node: node, position: offset + 1, size: nodes.count))
            }
        case .variable(let variable):
            locals.append((variable.name, try value(of: variable, context)))
        case .comment(let content):
            let value = try capture(content, context).text
            try grow(value.utf8.count + 7)
            _ = builder.append(.init(kind: .comment, value: value.replacingOccurrences(of: "--", with: "- -")))
        case .processingInstruction(let nameTemplate, let content):
            let name = try valueTemplate(nameTemplate, context)
            guard !name.isEmpty, !name.contains(" "), name.lowercased() != "xml" else {
                throw XSLTError("'\(name)' is not a processing instruction name.")
            }
            let value = try capture(content, context).text
            try grow(name.utf8.count + value.utf8.count + 5)
            _ = builder.append(.init(kind: .processingInstruction, local: name, value: value.replacingOccurrences(of: "?>", with: "? >")))
        case .message(let terminate, let content):
            let text = try capture(content, context).text
            if terminate { throw XSLTError("The stylesheet stopped (xsl:message terminate=\"yes\"): \(text.prefix(200))") }
        }
    }

    func valueTemplate(_ template: XSLTAttributeValue, _ context: XPathContext) throws -> String {
        var out = ""
        for part in template.parts {
            switch part {
            case .text(let text): out += text
            case .expression(let expression): out += try string(try evaluate(expression, context))
            }
        }
        return out
    }

    /// The name of `xsl:element` / `xsl:attribute`: a QName whose prefix resolves in the stylesheet
    /// (or the `namespace` given).
    func computedName(_ nameTemplate: XSLTAttributeValue, _ namespaceTemplate: XSLTAttributeValue?, _ scope: [String: String],
                      _ context: XPathContext, element: Bool) throws -> (String, String, String)
    {
        let name = try valueTemplate(nameTemplate, context)
        let (prefix, local) = XSLTCompiler.split(name)
        guard !local.isEmpty, !local.contains(":"), !local.contains(where: { $0.isWhitespace || "<>&\"'=/".contains($0) }),
              !prefix.contains(where: { $0.isWhitespace || "<>&\"'=/".contains($0) }), local != "xmlns" || element
        else { throw XSLTError("'\(name)' is not a valid \(element ? "element" : "attribute") name.") }
        if let namespaceTemplate { return (prefix, try valueTemplate(namespaceTemplate, context), local) }
        if prefix.isEmpty { return ("", element ? scope[""] ?? "" : "", local) }
        guard let uri = scope[prefix] else { throw XSLTError("The prefix '\(prefix)' of '\(name)' is not declared.") }
        return (prefix, uri, local)
    }

    /// `xsl:copy` (shallow, then `content`) and `xsl:copy-of` (deep) of a source node.
    func copy(_ node: Int, deep: Bool, _ context: XPathContext, content: [XSLTInstruction] = []) throws {
        let source = tree[node]
        switch source.kind {
        case .root:
            if deep { for child in source.children { try copy(child, deep: true, context) } } else { try execute(content, context) }
        case .text:
            try text(source.value)
        case .comment:
            try grow(source.value.utf8.count + 7)
            _ = builder.append(.init(kind: .comment, value: source.value))
        case .processingInstruction:
            try grow(source.local.utf8.count + source.value.utf8.count + 5)
            _ = builder.append(.init(kind: .processingInstruction, local: source.local, value: source.value))
        case .attribute:
            try grow(source.local.utf8.count + source.value.utf8.count + 4)
            try builder.attribute(.init(prefix: source.prefix, namespace: source.namespace, local: source.local, value: source.value))
        case .element:
            try grow(source.local.utf8.count * 2 + 5)
            try charge()
            builder.startElement(prefix: source.prefix, namespace: source.namespace, local: source.local,
                                 namespaces: tree.namespacesInScope(node))
            // Deep copies recurse as deep as the body, which the parser bounds (256).
            if deep {
                for attribute in source.attributes { try copy(attribute, deep: true, context) }
                for child in source.children { try copy(child, deep: true, context) }
            } else {
                try execute(content, context)
            }
            builder.endElement()
        }
    }
}
