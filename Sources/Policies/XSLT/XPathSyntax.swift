/// XPath 1.0 expressions, compiled once at load: the syntax tree, and a parser that resolves
/// prefixes against the stylesheet's namespace declarations and refuses what the engine does not run.

/// An expanded name: namespace URI and local name (`*` as local name: any).
struct XPathName: Sendable, Hashable, CustomStringConvertible {
    let namespace: String
    let local: String
    var description: String { namespace.isEmpty ? local : "{\(namespace)}\(local)" }
}

enum XPathAxis: String, Sendable, CaseIterable {
    case child, attribute, descendant, parent, ancestor
    case descendantOrSelf = "descendant-or-self", ancestorOrSelf = "ancestor-or-self"
    case followingSibling = "following-sibling", precedingSibling = "preceding-sibling"
    case following, preceding
    case `self` = "self"
    /// Reverse axes count positions from the context node outwards.
    var isReverse: Bool { [.parent, .ancestor, .ancestorOrSelf, .precedingSibling, .preceding].contains(self) }
}

enum XPathNodeTest: Sendable {
    /// A name (`p:local`), any name in a namespace (`p:*`), or any name (`*`, namespace nil).
    case name(namespace: String?, local: String?)
    case node, text, comment
    /// `processing-instruction()`, or with a literal: only that target.
    case processingInstruction(String?)
}

struct XPathStep: Sendable {
    let axis: XPathAxis
    let test: XPathNodeTest
    let predicates: [XPathExpression]
}

enum XPathFunction: String, Sendable {
    case last, position, count, localName = "local-name", namespaceURI = "namespace-uri", name
    case string, concat, startsWith = "starts-with", contains, substringBefore = "substring-before"
    case substringAfter = "substring-after", substring, stringLength = "string-length"
    case normalizeSpace = "normalize-space", translate, boolean, not, `true`, `false`, lang
    case number, sum, floor, ceiling, round
    // XSLT additions.
    case current, generateID = "generate-id", systemProperty = "system-property"
    case elementAvailable = "element-available", functionAvailable = "function-available"

    /// Accepted argument counts.
    var arity: ClosedRange<Int> {
        switch self {
        case .last, .position, .true, .false, .current: 0...0
        case .count, .not, .boolean, .sum, .floor, .ceiling, .round, .lang, .systemProperty, .elementAvailable, .functionAvailable: 1...1
        case .localName, .namespaceURI, .name, .string, .stringLength, .normalizeSpace, .number, .generateID: 0...1
        case .startsWith, .contains, .substringBefore, .substringAfter: 2...2
        case .substring: 2...3
        case .translate: 3...3
        case .concat: 2...Int.max
        }
    }
}

indirect enum XPathExpression: Sendable {
    case or(XPathExpression, XPathExpression)
    case and(XPathExpression, XPathExpression)
    case compare(String, XPathExpression, XPathExpression)
    case arithmetic(String, XPathExpression, XPathExpression)
    case negate(XPathExpression)
    case union(XPathExpression, XPathExpression)
    /// A location path: from the root (`absolute`), the context node, or a filter expression's nodes.
    case path(start: XPathExpression?, absolute: Bool, steps: [XPathStep])
    case filter(XPathExpression, [XPathExpression])
    case literal(String)
    case number(Double)
    case variable(XPathName)
    case function(XPathFunction, [XPathExpression])
}

/// A compile-time problem in an expression (the caller adds where the expression is).
struct XPathSyntaxError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// Tokens of XPath 1.0 (section 3.7), with the operator-name and `*` disambiguation rules.
struct XPathLexer {
    enum Token: Equatable {
        case name(String)          // NCName or QName (p:local)
        case nameTest(String?)     // `*` or `p:*` as a name test (prefix)
        case number(Double)
        case literal(String)
        case variable(String)      // QName after `$`
        case symbol(String)        // ( ) [ ] . .. @ , :: / // | + - = != < <= > >= *
        case operatorName(String)  // and or mod div
        case end
    }

    static func tokens(_ text: String) throws(XPathSyntaxError) -> [Token] {
        let scalars = Array(text.unicodeScalars)
        var out: [Token] = []
        var i = 0
        func isNameStart(_ c: Unicode.Scalar) -> Bool { c == "_" || c.properties.isAlphabetic }
        func isNameChar(_ c: Unicode.Scalar) -> Bool {
            isNameStart(c) || c == "-" || c == "." || c.properties.numericType != nil || c == "\u{B7}"
        }
        func readNCName() -> String {
            var name = ""
            while i < scalars.count, isNameChar(scalars[i]) { name.unicodeScalars.append(scalars[i]); i += 1 }
            return name
        }
        /// Whether the previous token makes `*` multiplication and a name an operator.
        func precededByOperand() -> Bool {
            guard let last = out.last else { return false }
            switch last {
            case .symbol(let s): return [")", "]", ".", ".."].contains(s)
            case .operatorName: return false
            default: return true
            }
        }
        while i < scalars.count {
            let c = scalars[i]
            if c == " " || c == "\t" || c == "\n" || c == "\r" { i += 1; continue }
            if c == "\"" || c == "'" {
                var j = i + 1
                var value = ""
                while j < scalars.count, scalars[j] != c { value.unicodeScalars.append(scalars[j]); j += 1 }
                guard j < scalars.count else { throw XPathSyntaxError("unterminated string literal") }
                out.append(.literal(value))
                i = j + 1
                continue
            }
            if c.properties.numericType == .decimal && c.isASCII || (c == "." && i + 1 < scalars.count && scalars[i + 1].isASCII && scalars[i + 1].properties.numericType == .decimal) {
                var digits = ""
                while i < scalars.count, scalars[i].isASCII, scalars[i].properties.numericType == .decimal || scalars[i] == "." {
                    digits.unicodeScalars.append(scalars[i]); i += 1
                }
                guard let value = Double(digits), digits.filter({ $0 == "." }).count <= 1 else { throw XPathSyntaxError("'\(digits)' is not a number") }
                out.append(.number(value))
                continue
            }
            if c == "$" {
                i += 1
                var name = readNCName()
                if i + 1 < scalars.count, scalars[i] == ":", isNameStart(scalars[i + 1]) { i += 1; name += ":" + readNCName() }
                guard !name.isEmpty else { throw XPathSyntaxError("expected a variable name after '$'") }
                out.append(.variable(name))
                continue
            }
            if c == "*" {
                i += 1
                out.append(precededByOperand() ? .symbol("*") : .nameTest(nil))
                continue
            }
            if isNameStart(c) {
                var name = readNCName()
                if precededByOperand(), ["and", "or", "mod", "div"].contains(name) {
                    out.append(.operatorName(name))
                    continue
                }
                if i + 1 < scalars.count, scalars[i] == ":", scalars[i + 1] != ":" {
                    if scalars[i + 1] == "*" {
                        i += 2
                        out.append(.nameTest(name))
                        continue
                    }
                    guard isNameStart(scalars[i + 1]) else { throw XPathSyntaxError("expected a name after '\(name):'") }
                    i += 1
                    name += ":" + readNCName()
                }
                out.append(.name(name))
                continue
            }
            let two = i + 1 < scalars.count ? String(String.UnicodeScalarView([c, scalars[i + 1]])) : ""
            if ["::", "//", "..", "!=", "<=", ">="].contains(two) {
                out.append(.symbol(two)); i += 2; continue
            }
            if "()[].@,/|+-=<>".unicodeScalars.contains(c) {
                out.append(.symbol(String(c))); i += 1; continue
            }
            throw XPathSyntaxError("unexpected character '\(c)'")
        }
        out.append(.end)
        return out
    }
}

/// Recursive descent over XPath 1.0's grammar (section 3), depth-bounded.
struct XPathParser {
    let tokens: [XPathLexer.Token]
    var index = 0
    var depth = 0
    var operators = 0
    /// Prefix → namespace URI, from the stylesheet where the expression is written.
    let namespaces: [String: String]
    /// Nesting (parentheses, predicates, arguments) and binary operators per expression: together
    /// they bound the depth of the tree, so neither evaluating nor releasing it can exhaust the stack.
    static let maximumDepth = 32
    static let maximumOperators = 128

    init(_ text: String, namespaces: [String: String]) throws(XPathSyntaxError) {
        tokens = try XPathLexer.tokens(text)
        self.namespaces = namespaces
    }

    static func parse(_ text: String, namespaces: [String: String]) throws(XPathSyntaxError) -> XPathExpression {
        var parser = try XPathParser(text, namespaces: namespaces)
        let expression = try parser.expression()
        guard parser.peek == .end else { throw XPathSyntaxError("unexpected \(parser.describe(parser.peek)) after the expression") }
        return expression
    }

    var peek: XPathLexer.Token { tokens[min(index, tokens.count - 1)] }
    var peekNext: XPathLexer.Token { tokens[min(index + 1, tokens.count - 1)] }
    mutating func advance() -> XPathLexer.Token { let t = peek; index += 1; return t }

    func describe(_ token: XPathLexer.Token) -> String {
        switch token {
        case .name(let n): "'\(n)'"
        case .nameTest(let p): p.map { "'\($0):*'" } ?? "'*'"
        case .number(let n): "'\(n)'"
        case .literal(let l): "'\"\(l)\"'"
        case .variable(let v): "'$\(v)'"
        case .symbol(let s), .operatorName(let s): "'\(s)'"
        case .end: "end of expression"
        }
    }

    mutating func expect(_ symbol: String) throws(XPathSyntaxError) {
        guard peek == .symbol(symbol) else { throw XPathSyntaxError("expected '\(symbol)', found \(describe(peek))") }
        index += 1
    }

    func resolve(_ qualified: String, forElement: Bool) throws(XPathSyntaxError) -> XPathName {
        guard let colon = qualified.firstIndex(of: ":") else { return XPathName(namespace: "", local: qualified) }
        let prefix = String(qualified[..<colon])
        guard let uri = namespaces[prefix] else { throw XPathSyntaxError("the prefix '\(prefix)' is not declared") }
        return XPathName(namespace: uri, local: String(qualified[qualified.index(after: colon)...]))
    }

    mutating func nested<T>(_ body: (inout XPathParser) throws(XPathSyntaxError) -> T) throws(XPathSyntaxError) -> T {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maximumDepth else { throw XPathSyntaxError("the expression is nested deeper than \(Self.maximumDepth) levels") }
        return try body(&self)
    }

    /// Counts one binary operator (`or`, `and`, comparisons, arithmetic, `|`).
    mutating func binary() throws(XPathSyntaxError) {
        operators += 1
        guard operators <= Self.maximumOperators else { throw XPathSyntaxError("the expression has more than \(Self.maximumOperators) operators") }
    }

    mutating func expression() throws(XPathSyntaxError) -> XPathExpression {
        try nested { (p: inout XPathParser) throws(XPathSyntaxError) in try p.orExpression() }
    }

    mutating func orExpression() throws(XPathSyntaxError) -> XPathExpression {
        var left = try andExpression()
        while peek == .operatorName("or") { index += 1; try binary(); left = .or(left, try andExpression()) }
        return left
    }

    mutating func andExpression() throws(XPathSyntaxError) -> XPathExpression {
        var left = try equalityExpression()
        while peek == .operatorName("and") { index += 1; try binary(); left = .and(left, try equalityExpression()) }
        return left
    }

    mutating func equalityExpression() throws(XPathSyntaxError) -> XPathExpression {
        var left = try relationalExpression()
        while case .symbol(let s) = peek, s == "=" || s == "!=" { index += 1; try binary(); left = .compare(s, left, try relationalExpression()) }
        return left
    }

    mutating func relationalExpression() throws(XPathSyntaxError) -> XPathExpression {
        var left = try additiveExpression()
        while case .symbol(let s) = peek, ["<", "<=", ">", ">="].contains(s) { index += 1; try binary(); left = .compare(s, left, try additiveExpression()) }
        return left
    }

    mutating func additiveExpression() throws(XPathSyntaxError) -> XPathExpression {
        var left = try multiplicativeExpression()
        while case .symbol(let s) = peek, s == "+" || s == "-" { index += 1; try binary(); left = .arithmetic(s, left, try multiplicativeExpression()) }
        return left
    }

    mutating func multiplicativeExpression() throws(XPathSyntaxError) -> XPathExpression {
        var left = try unaryExpression()
        while true {
            if peek == .symbol("*") { index += 1; try binary(); left = .arithmetic("*", left, try unaryExpression()); continue }
            if case .operatorName(let o) = peek, o == "div" || o == "mod" { index += 1; try binary(); left = .arithmetic(o, left, try unaryExpression()); continue }
            return left
        }
    }

    mutating func unaryExpression() throws(XPathSyntaxError) -> XPathExpression {
        if peek == .symbol("-") {
            index += 1
            return .negate(try nested { (p: inout XPathParser) throws(XPathSyntaxError) in try p.unaryExpression() })
        }
        return try unionExpression()
    }

    mutating func unionExpression() throws(XPathSyntaxError) -> XPathExpression {
        var left = try pathExpression()
        while peek == .symbol("|") { index += 1; try binary(); left = .union(left, try pathExpression()) }
        return left
    }

    /// Whether the next tokens start a filter expression's primary (not a location step).
    var startsPrimary: Bool {
        switch peek {
        case .variable, .literal, .number: return true
        case .symbol("("): return true
        case .name(let n):
            guard peekNext == .symbol("(") else { return false }
            return !["node", "text", "comment", "processing-instruction"].contains(n)
        default: return false
        }
    }

    mutating func pathExpression() throws(XPathSyntaxError) -> XPathExpression {
        if startsPrimary {
            var primary = try primaryExpression()
            var predicates: [XPathExpression] = []
            while peek == .symbol("[") { predicates.append(try predicate()) }
            if !predicates.isEmpty { primary = .filter(primary, predicates) }
            if peek == .symbol("/") || peek == .symbol("//") {
                let steps = try relativeSteps(afterSlash: true)
                return .path(start: primary, absolute: false, steps: steps)
            }
            return primary
        }
        if peek == .symbol("/") {
            index += 1
            if startsStep { return .path(start: nil, absolute: true, steps: try relativeSteps(afterSlash: false)) }
            return .path(start: nil, absolute: true, steps: [])
        }
        if peek == .symbol("//") {
            index += 1
            let rest = try relativeSteps(afterSlash: false)
            return .path(start: nil, absolute: true, steps: [XPathStep(axis: .descendantOrSelf, test: .node, predicates: [])] + rest)
        }
        return .path(start: nil, absolute: false, steps: try relativeSteps(afterSlash: false))
    }

    var startsStep: Bool {
        switch peek {
        case .name, .nameTest: return true
        case .symbol(let s): return s == "." || s == ".." || s == "@"
        default: return false
        }
    }

    /// Steps separated by `/` or `//`; with `afterSlash`, the first separator is still to be read.
    mutating func relativeSteps(afterSlash: Bool) throws(XPathSyntaxError) -> [XPathStep] {
        var steps: [XPathStep] = []
        var needSeparator = afterSlash
        while true {
            if needSeparator {
                if peek == .symbol("/") {
                    index += 1
                } else if peek == .symbol("//") {
                    index += 1
                    steps.append(XPathStep(axis: .descendantOrSelf, test: .node, predicates: []))
                } else {
                    return steps
                }
            }
            steps.append(try step())
            needSeparator = true
            guard steps.count <= 256 else { throw XPathSyntaxError("the path has more than 256 steps") }
        }
    }

    mutating func predicate() throws(XPathSyntaxError) -> XPathExpression {
        try expect("[")
        let expression = try expression()
        try expect("]")
        return expression
    }

    mutating func step() throws(XPathSyntaxError) -> XPathStep {
        if peek == .symbol(".") { index += 1; return XPathStep(axis: .self, test: .node, predicates: []) }
        if peek == .symbol("..") { index += 1; return XPathStep(axis: .parent, test: .node, predicates: []) }
        var axis = XPathAxis.child
        if peek == .symbol("@") {
            index += 1
            axis = .attribute
        } else if case .name(let name) = peek, peekNext == .symbol("::") {
            guard let named = XPathAxis(rawValue: name) else {
                throw XPathSyntaxError(name == "namespace" ? "the namespace axis is not supported" : "'\(name)' is not an axis")
            }
            axis = named
            index += 2
        }
        let test = try nodeTest(axis: axis)
        var predicates: [XPathExpression] = []
        while peek == .symbol("[") { predicates.append(try predicate()) }
        return XPathStep(axis: axis, test: test, predicates: predicates)
    }

    mutating func nodeTest(axis: XPathAxis) throws(XPathSyntaxError) -> XPathNodeTest {
        switch advance() {
        case .nameTest(nil):
            return .name(namespace: nil, local: nil)
        case .nameTest(let prefix?):
            guard let uri = namespaces[prefix] else { throw XPathSyntaxError("the prefix '\(prefix)' is not declared") }
            return .name(namespace: uri, local: nil)
        case .name(let name):
            if peek == .symbol("(") {
                index += 1
                let test: XPathNodeTest
                switch name {
                case "node": test = .node
                case "text": test = .text
                case "comment": test = .comment
                case "processing-instruction":
                    if case .literal(let target) = peek {
                        index += 1
                        test = .processingInstruction(target)
                    } else {
                        test = .processingInstruction(nil)
                    }
                default: throw XPathSyntaxError("'\(name)()' is not a node test")
                }
                try expect(")")
                return test
            }
            let resolved = try resolve(name, forElement: axis != .attribute)
            return .name(namespace: resolved.namespace, local: resolved.local)
        case let other:
            throw XPathSyntaxError("expected a step, found \(describe(other))")
        }
    }

    mutating func primaryExpression() throws(XPathSyntaxError) -> XPathExpression {
        switch advance() {
        case .variable(let name):
            return .variable(try resolve(name, forElement: false))
        case .literal(let text):
            return .literal(text)
        case .number(let value):
            return .number(value)
        case .symbol("("):
            let inner = try expression()
            try expect(")")
            return inner
        case .name(let name):
            try expect("(")
            var arguments: [XPathExpression] = []
            if peek != .symbol(")") {
                arguments.append(try expression())
                while peek == .symbol(",") { index += 1; arguments.append(try expression()) }
            }
            try expect(")")
            if name.contains(":") { throw XPathSyntaxError("the extension function '\(name)()' is not supported") }
            guard let function = XPathFunction(rawValue: name) else {
                switch name {
                case "document", "key", "id", "format-number", "unparsed-entity-uri":
                    throw XPathSyntaxError("the function '\(name)()' is not supported")
                default:
                    throw XPathSyntaxError("'\(name)()' is not an XPath 1.0 or XSLT 1.0 function")
                }
            }
            guard function.arity.contains(arguments.count) else {
                throw XPathSyntaxError("'\(name)()' takes \(function.arity.lowerBound == function.arity.upperBound ? "\(function.arity.lowerBound)" : function.arity.upperBound == Int.max ? "at least \(function.arity.lowerBound)" : "\(function.arity.lowerBound) to \(function.arity.upperBound)") argument(s), not \(arguments.count)")
            }
            return .function(function, arguments)
        case let other:
            throw XPathSyntaxError("expected an expression, found \(describe(other))")
        }
    }
}
