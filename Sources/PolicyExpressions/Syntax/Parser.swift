/// Recursive-descent parser for the C# 7 subset of APIM policy expressions. Produces `Expr`/`Stmt`
/// trees with scalar offsets; every failure is a `PositionedError`, never a trap. Nesting depth is
/// bounded so hostile input cannot exhaust the stack.
struct Parser {
    private let source: SourceText
    private var tokens: [Token]
    private var index = 0
    private var depth = 0
    private static let maximumDepth = 200

    init(source: SourceText, range: Range<Int>? = nil) throws {
        self.source = source
        self.tokens = try Lexer.tokenize(source, range: range)
    }

    // MARK: Entry points

    /// Parses a whole `@( )` expression; trailing tokens are an error.
    mutating func parseWholeExpression() throws -> Expr {
        if current.isEnd { throw error("expected an expression") }
        let expr = try parseExpression()
        if !current.isEnd { throw error("unexpected \(current.describe) after the expression") }
        return expr
    }

    /// Parses the statements of a `@{ }` block.
    mutating func parseWholeBlock() throws -> Stmt {
        let start = current.offset
        var statements: [Stmt] = []
        while !current.isEnd {
            statements.append(try parseStatement())
        }
        return Stmt(kind: .block(statements), offset: start, endOffset: current.offset)
    }

    // MARK: Token helpers

    private var current: Token { tokens[index] }
    private func peekToken(_ ahead: Int) -> Token { tokens[min(index + ahead, tokens.count - 1)] }

    private mutating func advance() -> Token {
        let token = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        return token
    }

    private func error(_ message: String, at offset: Int? = nil) -> PositionedError {
        PositionedError(offset: offset ?? current.offset, message: message)
    }

    private mutating func accept(_ punct: String) -> Bool {
        if current.isPunct(punct) { index += 1; return true }
        return false
    }

    private mutating func acceptKeyword(_ keyword: String) -> Bool {
        if current.isKeyword(keyword) { index += 1; return true }
        return false
    }

    private mutating func expect(_ punct: String) throws {
        guard accept(punct) else { throw error("expected '\(punct)' but found \(current.describe)") }
    }

    private mutating func expectIdentifier() throws -> String {
        guard let name = current.identifier else { throw error("expected an identifier but found \(current.describe)") }
        index += 1
        return name
    }

    private mutating func enter() throws {
        depth += 1
        if depth > Parser.maximumDepth { throw error("expression is nested too deeply") }
    }

    /// Two adjacent `>` tokens form `>>` (kept apart by the lexer for nested generics).
    private func isShiftRight() -> Bool {
        current.isPunct(">") && peekToken(1).isPunct(">") && peekToken(1).offset == current.endOffset
    }

    // MARK: Expressions

    mutating func parseExpression() throws -> Expr {
        try enter()
        defer { depth -= 1 }
        if let lambda = try parseLambdaIfPresent() { return lambda }
        let left = try parseConditional()
        if let op = assignmentOperator() {
            let offset = current.offset
            index += op == ">>=" ? 2 : 1
            switch left.kind {
            case .name, .member, .index: break
            default: throw error("the left-hand side of an assignment must be a variable, property or indexer", at: offset)
            }
            let right = try parseExpression()
            return Expr(kind: .assign(op, left, right), offset: left.start)
        }
        return left
    }

    private func assignmentOperator() -> String? {
        guard case .punctuation(let p) = current.kind else { return nil }
        switch p {
        case "=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=", "??=": return p
        case ">" where peekToken(1).isPunct(">=") && peekToken(1).offset == current.endOffset: return ">>="
        default: return nil
        }
    }

    private mutating func parseLambdaIfPresent() throws -> Expr? {
        let start = current.offset
        if let name = current.identifier, peekToken(1).isPunct("=>") {
            index += 2
            let body = try parseLambdaBody()
            return Expr(kind: .lambda([LambdaParameter(name: name, type: nil, offset: start)], body), offset: start)
        }
        guard current.isPunct("("), let close = matchingParen(from: index), tokens[min(close + 1, tokens.count - 1)].isPunct("=>") else {
            return nil
        }
        index += 1
        var parameters: [LambdaParameter] = []
        if !accept(")") {
            repeat {
                let offset = current.offset
                if current.identifier != nil && (peekToken(1).isPunct(",") || peekToken(1).isPunct(")")) {
                    parameters.append(LambdaParameter(name: try expectIdentifier(), type: nil, offset: offset))
                } else {
                    guard let type = try parseType() else { throw error("expected a lambda parameter") }
                    let paramOffset = current.offset
                    parameters.append(LambdaParameter(name: try expectIdentifier(), type: type, offset: paramOffset))
                }
            } while accept(",")
            try expect(")")
        }
        try expect("=>")
        let body = try parseLambdaBody()
        return Expr(kind: .lambda(parameters, body), offset: start)
    }

    private mutating func parseLambdaBody() throws -> LambdaBody {
        if current.isPunct("{") { return .block(try parseBlockStatement()) }
        return .expression(try parseExpression())
    }

    /// The `)` matching the `(` at `start`, looked for only in a short window: lambda parameter lists
    /// are short, and an unbounded scan would make deeply parenthesised input quadratic.
    private func matchingParen(from start: Int) -> Int? {
        var level = 0
        var i = start
        while i < min(tokens.count, start + 64) {
            let token = tokens[i]
            if token.isPunct("(") { level += 1 }
            else if token.isPunct(")") { level -= 1; if level == 0 { return i } }
            else if token.isEnd || token.isPunct(";") || token.isPunct("{") || token.isPunct("}") { return nil }
            i += 1
        }
        return nil
    }

    private mutating func parseConditional() throws -> Expr {
        let condition = try parseCoalesce()
        guard current.isPunct("?") else { return condition }
        index += 1
        try enter()
        defer { depth -= 1 }
        let whenTrue = try parseExpression()
        try expect(":")
        let whenFalse = try parseExpression()
        return Expr(kind: .conditional(condition, whenTrue, whenFalse), offset: condition.start)
    }

    private mutating func parseCoalesce() throws -> Expr {
        let left = try parseBinary(level: 0)
        guard current.isPunct("??") else { return left }
        index += 1
        try enter()
        defer { depth -= 1 }
        let right = try parseCoalesce()
        return Expr(kind: .binary("??", left, right), offset: left.start)
    }

    private static let levels: [[String]] = [
        ["||"], ["&&"], ["|"], ["^"], ["&"], ["==", "!="], ["<", ">", "<=", ">="], ["<<", ">>"], ["+", "-"], ["*", "/", "%"],
    ]
    private static let relationalLevel = 6
    private static let shiftLevel = 7

    private mutating func parseBinary(level: Int) throws -> Expr {
        if level == Parser.levels.count { return try parseUnary() }
        var left = try parseBinary(level: level + 1)
        // Each operator deepens the (left-nested) tree, so it counts against the nesting budget too.
        var added = 0
        defer { depth -= added }
        while true {
            if level == Parser.relationalLevel, current.isKeyword("is") || current.isKeyword("as") {
                try enter()
                added += 1
                let isAs = current.isKeyword("as")
                index += 1
                if !isAs, current.isKeyword("null") {
                    index += 1
                    left = Expr(kind: .isNull(left, negated: false), offset: left.start)
                    continue
                }
                guard let type = try parseType(allowNullableSuffix: false) else { throw error("expected a type") }
                if isAs {
                    left = Expr(kind: .asType(left, type), offset: left.start)
                } else {
                    var designation: String?
                    if let name = current.identifier { index += 1; designation = name }
                    left = Expr(kind: .isType(left, type, designation: designation), offset: left.start)
                }
                continue
            }
            var op: String?
            if level == Parser.shiftLevel, isShiftRight(), !peekToken(2).isPunct("=") {
                op = ">>"
                index += 2
            } else if level == Parser.relationalLevel, isShiftRight() {
                op = nil
            } else if case .punctuation(let p) = current.kind, Parser.levels[level].contains(p) {
                op = p
                index += 1
            }
            guard let op else { return left }
            try enter()
            added += 1
            let right = try parseBinary(level: level + 1)
            left = Expr(kind: .binary(op, left, right), offset: left.start)
        }
    }

    private mutating func parseUnary() throws -> Expr {
        try enter()
        defer { depth -= 1 }
        let start = current.offset
        if case .punctuation(let p) = current.kind {
            switch p {
            case "+", "-", "!", "~":
                index += 1
                // Fold `-2147483648` and `-9223372036854775808` the way C# does.
                if p == "-", case .integer(let value, let suffix) = current.kind, !peekToken(1).isPunct(".") {
                    if value == 2_147_483_648 && suffix == "" { index += 1; return Expr(kind: .literal(.int(Int32.min)), offset: start) }
                    if value == 9_223_372_036_854_775_808 && (suffix == "" || suffix == "l") {
                        index += 1
                        return Expr(kind: .literal(.long(Int64.min)), offset: start)
                    }
                }
                let operand = try parseUnary()
                return Expr(kind: .unary(p, operand), offset: start)
            case "++", "--":
                index += 1
                let operand = try parseUnary()
                return Expr(kind: .increment(operand, delta: p == "++" ? 1 : -1, prefix: true), offset: start)
            case "(":
                if let cast = try parseCastIfPresent() { return cast }
            default:
                break
            }
        }
        return try parsePostfix(try parsePrimary())
    }

    private mutating func parseCastIfPresent() throws -> Expr? {
        let saved = index
        let start = current.offset
        index += 1
        guard let type = try? parseType(), current.isPunct(")") else { index = saved; return nil }
        index += 1
        let next = current
        let predefined = Keywords.predefinedTypes.contains(type.name)
        var isCast: Bool
        switch next.kind {
        case .identifier, .string, .char, .integer, .real, .interpolated: isCast = true
        case .keyword(let k): isCast = !["is", "as", "in"].contains(k)
        case .punctuation(let p): isCast = p == "(" || p == "!" || p == "~" || (predefined && ["-", "+", "++", "--"].contains(p))
        case .end: isCast = false
        }
        if predefined && type.arguments.isEmpty && !isCast, case .punctuation(let p) = next.kind, p != ")" {
            isCast = false
        }
        guard isCast else { index = saved; return nil }
        let operand = try parseUnary()
        return Expr(kind: .cast(type, operand), offset: start)
    }

    private mutating func parsePrimary() throws -> Expr {
        let token = current
        let start = token.offset
        switch token.kind {
        case .integer(let value, let suffix):
            index += 1
            return Expr(kind: .literal(try integerLiteral(value, suffix: suffix, at: start)), offset: start)
        case .real(let text, let suffix):
            index += 1
            switch suffix {
            case "m": return Expr(kind: .literal(.decimal(text)), offset: start)
            case "f": return Expr(kind: .literal(.float(Double(Float(text) ?? .infinity))), offset: start)
            default:
                guard let value = Double(text), value.isFinite else { throw error("floating-point constant is outside the range of type 'double'", at: start) }
                return Expr(kind: .literal(.double(value)), offset: start)
            }
        case .string(let text):
            index += 1
            return Expr(kind: .literal(.string(text)), offset: start)
        case .char(let unit):
            index += 1
            return Expr(kind: .literal(.char(unit)), offset: start)
        case .interpolated(let pieces):
            index += 1
            return Expr(kind: .interpolated(try interpolationParts(pieces)), offset: start)
        case .identifier(let name):
            index += 1
            let typeArguments = tryParseTypeArgumentList() ?? []
            return Expr(kind: .name(name, typeArguments: typeArguments), offset: start)
        case .keyword(let keyword):
            switch keyword {
            case "true", "false":
                index += 1
                return Expr(kind: .literal(.bool(keyword == "true")), offset: start)
            case "null":
                index += 1
                return Expr(kind: .literal(.null), offset: start)
            case "new":
                return try parseNew()
            case "typeof":
                index += 1
                try expect("(")
                guard let type = try parseType() else { throw error("expected a type") }
                try expect(")")
                return Expr(kind: .typeOf(type), offset: start)
            case "default":
                index += 1
                if accept("(") {
                    guard let type = try parseType() else { throw error("expected a type") }
                    try expect(")")
                    return Expr(kind: .defaultValue(type), offset: start)
                }
                return Expr(kind: .defaultValue(nil), offset: start)
            case "checked", "unchecked":
                index += 1
                try expect("(")
                let inner = try parseExpression()
                try expect(")")
                return inner
            case _ where Keywords.predefinedTypes.contains(keyword) && keyword != "void":
                index += 1
                return Expr(kind: .predefinedType(keyword), offset: start)
            default:
                throw error("unexpected keyword '\(keyword)'")
            }
        case .punctuation("("):
            index += 1
            let inner = try parseExpression()
            try expect(")")
            return inner
        default:
            throw error(token.isEnd ? "unexpected end of expression" : "unexpected \(token.describe)")
        }
    }

    private func integerLiteral(_ value: UInt64, suffix: String, at offset: Int) throws -> LiteralValue {
        switch suffix {
        case "l": if value <= UInt64(Int64.max) { return .long(Int64(value)) }; return .ulong(value)
        case "u": if value <= UInt64(UInt32.max) { return .uint(UInt32(value)) }; return .ulong(value)
        case "ul": return .ulong(value)
        default:
            if value <= UInt64(Int32.max) { return .int(Int32(value)) }
            if value <= UInt64(UInt32.max) { return .uint(UInt32(value)) }
            if value <= UInt64(Int64.max) { return .long(Int64(value)) }
            return .ulong(value)
        }
    }

    private mutating func interpolationParts(_ pieces: [InterpolationPiece]) throws -> [InterpolationPart] {
        try pieces.map { piece in
            switch piece {
            case .text(let text): return .text(text)
            case .hole(let range, let alignmentRange, let format):
                var inner = try Parser(source: source, range: range)
                inner.depth = depth + 1
                let expr = try inner.parseWholeExpression()
                var alignment: Expr?
                if let alignmentRange {
                    var alignmentParser = try Parser(source: source, range: alignmentRange)
                    alignment = try alignmentParser.parseWholeExpression()
                }
                return .hole(expr, alignment: alignment, format: format)
            }
        }
    }

    private mutating func parsePostfix(_ start: Expr) throws -> Expr {
        var expr = start
        var added = 0
        defer { depth -= added }
        while true {
            let offset = current.offset
            if current.isPunct(".") || current.isPunct("(") || current.isPunct("[") {
                try enter()
                added += 1
            }
            if accept(".") {
                let nameOffset = current.offset
                let name = try expectIdentifier()
                let typeArguments = tryParseTypeArgumentList() ?? []
                expr = Expr(kind: .member(expr, name, typeArguments: typeArguments), offset: nameOffset, start: expr.start)
            } else if current.isPunct("(") {
                index += 1
                let arguments = try parseArguments(closing: ")")
                expr = Expr(kind: .call(expr, arguments), offset: offset, start: expr.start)
            } else if current.isPunct("[") {
                index += 1
                let arguments = try parseArguments(closing: "]")
                expr = Expr(kind: .index(expr, arguments), offset: offset, start: expr.start)
            } else if current.isPunct("++") || current.isPunct("--") {
                let delta = current.isPunct("++") ? 1 : -1
                index += 1
                expr = Expr(kind: .increment(expr, delta: delta, prefix: false), offset: expr.start)
            } else if current.isPunct("?.") || current.isPunct("?[") {
                try enter()
                defer { depth -= 1 }
                let target = Expr(kind: .conditionalAccessTarget, offset: offset)
                var chain: Expr
                if accept("?.") {
                    let nameOffset = current.offset
                    let name = try expectIdentifier()
                    let typeArguments = tryParseTypeArgumentList() ?? []
                    chain = Expr(kind: .member(target, name, typeArguments: typeArguments), offset: nameOffset)
                } else {
                    index += 1
                    chain = Expr(kind: .index(target, try parseArguments(closing: "]")), offset: offset)
                }
                chain = try parsePostfix(chain)
                return Expr(kind: .conditionalAccess(expr, chain), offset: expr.start)
            } else {
                return expr
            }
        }
    }

    private mutating func parseArguments(closing: String) throws -> [Argument] {
        var arguments: [Argument] = []
        if accept(closing) { return arguments }
        repeat {
            var name: String?
            if let identifier = current.identifier, peekToken(1).isPunct(":") {
                name = identifier
                index += 2
            }
            if acceptKeyword("out") {
                let offset = current.offset
                if acceptKeyword("var") {
                    let variable = try expectIdentifier()
                    arguments.append(Argument(name: name, modifier: .out, value: Expr(kind: .outVariable(nil, variable), offset: offset)))
                } else if current.identifier != nil, peekToken(1).isPunct(",") || peekToken(1).isPunct(closing) {
                    arguments.append(Argument(name: name, modifier: .out, value: try parseExpression()))
                } else {
                    guard let type = try parseType() else { throw error("expected a variable after 'out'") }
                    let variable = try expectIdentifier()
                    arguments.append(Argument(name: name, modifier: .out, value: Expr(kind: .outVariable(type, variable), offset: offset)))
                }
            } else if acceptKeyword("ref") {
                arguments.append(Argument(name: name, modifier: .ref, value: try parseExpression()))
            } else {
                arguments.append(Argument(name: name, modifier: .none, value: try parseExpression()))
            }
        } while accept(",")
        try expect(closing)
        return arguments
    }

    private mutating func parseNew() throws -> Expr {
        let start = current.offset
        index += 1
        try enter()
        defer { depth -= 1 }
        if current.isPunct("[") {
            index += 1
            try expect("]")
            let elements = try parseArrayInitializer()
            return Expr(kind: .newArray(nil, sizes: [], elements: elements), offset: start)
        }
        if current.isPunct("{") {
            index += 1
            var members: [(String, Expr)] = []
            if !accept("}") {
                repeat {
                    if current.isPunct("}") { break }
                    let value = try parseExpression()
                    var name: String
                    // `Name = value` parses as an assignment expression.
                    if case .assign("=", let target, let assigned) = value.kind, case .name(let n, _) = target.kind {
                        members.append((n, assigned))
                        continue
                    }
                    if case .name(let n, _) = value.kind, accept("=") {
                        name = n
                        members.append((name, try parseExpression()))
                        continue
                    }
                    if case .member(_, let n, _) = value.kind { name = n }
                    else if case .name(let n, _) = value.kind { name = n }
                    else { throw error("invalid anonymous type member declarator", at: value.offset) }
                    members.append((name, value))
                } while accept(",")
                try expect("}")
            }
            return Expr(kind: .newAnonymous(members), offset: start)
        }
        guard var type = try parseType(allowArrays: false) else { throw error("expected a type after 'new'") }
        if current.isPunct("[") {
            index += 1
            var sizes: [Expr] = []
            if !accept("]") {
                sizes.append(try parseExpression())
                try expect("]")
            }
            type.arrayRanks = 0
            var extraRanks = 0
            while current.isPunct("["), peekToken(1).isPunct("]") { index += 2; extraRanks += 1 }
            var elementType = type
            elementType.arrayRanks = extraRanks
            var elements: [Expr]?
            if current.isPunct("{") { elements = try parseArrayInitializer() }
            if sizes.isEmpty && elements == nil { throw error("array creation must have array size or array initializer") }
            return Expr(kind: .newArray(elementType, sizes: sizes, elements: elements), offset: start)
        }
        var arguments: [Argument] = []
        var hasArguments = false
        if accept("(") {
            arguments = try parseArguments(closing: ")")
            hasArguments = true
        }
        var initializer = ObjectInitializer.none
        if current.isPunct("{") {
            initializer = try parseObjectInitializer()
        } else if !hasArguments {
            throw error("expected '(' or '{' after the type in 'new'")
        }
        return Expr(kind: .newObject(type, arguments, initializer), offset: start)
    }

    private mutating func parseArrayInitializer() throws -> [Expr] {
        try expect("{")
        var elements: [Expr] = []
        if accept("}") { return elements }
        repeat {
            if current.isPunct("}") { break }
            elements.append(try parseExpression())
        } while accept(",")
        try expect("}")
        return elements
    }

    private mutating func parseObjectInitializer() throws -> ObjectInitializer {
        try expect("{")
        if accept("}") { return .collection([]) }
        if current.identifier != nil, peekToken(1).isPunct("=") {
            var members: [(String, Expr, Int)] = []
            repeat {
                if current.isPunct("}") { break }
                let offset = current.offset
                let name = try expectIdentifier()
                try expect("=")
                members.append((name, try parseExpression(), offset))
            } while accept(",")
            try expect("}")
            return .members(members)
        }
        if current.isPunct("[") {
            var entries: [([Expr], Expr)] = []
            repeat {
                if current.isPunct("}") { break }
                try expect("[")
                let keys = try parseArguments(closing: "]").map(\.value)
                try expect("=")
                entries.append((keys, try parseExpression()))
            } while accept(",")
            try expect("}")
            return .indexers(entries)
        }
        var items: [[Expr]] = []
        repeat {
            if current.isPunct("}") { break }
            if current.isPunct("{") { items.append(try parseArrayInitializer()) } else { items.append([try parseExpression()]) }
        } while accept(",")
        try expect("}")
        return .collection(items)
    }

    // MARK: Types

    /// Speculatively parses `<T, U>` after a name; restores the position and returns nil unless
    /// the list is followed by a token that C# accepts after a generic name (spec §6.2.5).
    private mutating func tryParseTypeArgumentList() -> [TypeSyntax]? {
        guard current.isPunct("<") else { return nil }
        let saved = index
        index += 1
        var arguments: [TypeSyntax] = []
        repeat {
            guard let type = try? parseType() else { index = saved; return nil }
            arguments.append(type)
        } while accept(",")
        guard accept(">") else { index = saved; return nil }
        switch current.kind {
        case .punctuation(let p) where ["(", ")", "]", "}", ":", ";", ",", ".", "?", "==", "!=", "|", "^", "&&", "||", "&", "[", "?.", "??"].contains(p):
            return arguments
        case .end:
            return arguments
        default:
            index = saved
            return nil
        }
    }

    /// Parses a type; returns nil (position restored) when the tokens do not form one.
    mutating func parseType(allowNullableSuffix: Bool = true, allowArrays: Bool = true) throws -> TypeSyntax? {
        let saved = index
        let start = current.offset
        var name: String
        switch current.kind {
        case .identifier(let identifier): name = identifier
        case .keyword(let keyword) where Keywords.predefinedTypes.contains(keyword): name = keyword
        default: return nil
        }
        index += 1
        var arguments: [TypeSyntax] = []
        while true {
            if current.isPunct("<") {
                index += 1
                guard depth < Parser.maximumDepth else { index = saved; return nil }
                depth += 1
                defer { depth -= 1 }
                repeat {
                    guard let argument = try parseType() else { index = saved; return nil }
                    arguments.append(argument)
                } while accept(",")
                guard accept(">") else { index = saved; return nil }
            }
            if current.isPunct("."), case .identifier(let next) = peekToken(1).kind, arguments.isEmpty {
                name += "." + next
                index += 2
                continue
            }
            break
        }
        var type = TypeSyntax(name: name, arguments: arguments, offset: start)
        // `x is int ? a : b` stays a conditional; `int? x` and `(int?)y` are nullable.
        if current.isPunct("?"), allowNullableSuffix || !startsExpression(peekToken(1)) {
            type.nullable = true
            index += 1
        }
        while allowArrays, current.isPunct("["), peekToken(1).isPunct("]") {
            type.arrayRanks += 1
            index += 2
        }
        return type
    }

    private func startsExpression(_ token: Token) -> Bool {
        switch token.kind {
        case .identifier, .integer, .real, .string, .char, .interpolated: return true
        case .keyword(let k): return ["true", "false", "null", "new", "typeof", "default"].contains(k) || Keywords.predefinedTypes.contains(k)
        case .punctuation(let p): return ["(", "!", "-", "+", "~"].contains(p)
        case .end: return false
        }
    }

    // MARK: Statements

    private mutating func parseBlockStatement() throws -> Stmt {
        let start = current.offset
        try expect("{")
        try enter()
        defer { depth -= 1 }
        var statements: [Stmt] = []
        while !current.isPunct("}") {
            if current.isEnd { throw error("expected '}'") }
            statements.append(try parseStatement())
        }
        let end = current.offset
        index += 1
        return Stmt(kind: .block(statements), offset: start, endOffset: end)
    }

    private mutating func embedded() throws -> Stmt {
        if let name = current.identifier, current.kind == .identifier(name),
           (try? isDeclarationStart()) == true {
            throw error("embedded statement cannot be a declaration")
        }
        return try parseStatement()
    }

    /// `Type Name(` at the start of a statement: a local function.
    private mutating func isLocalFunctionStart() throws -> Bool {
        let saved = index
        defer { index = saved }
        guard (try parseType()) != nil, current.identifier != nil else { return false }
        return peekToken(1).isPunct("(")
    }

    private mutating func parseLocalFunction() throws -> Stmt {
        let start = current.offset
        guard let returns = try parseType() else { throw error("expected a return type") }
        let name = try expectIdentifier()
        try expect("(")
        var parameters: [LambdaParameter] = []
        if !current.isPunct(")") {
            repeat {
                let offset = current.offset
                guard let type = try parseType() else { throw error("expected a parameter type") }
                parameters.append(LambdaParameter(name: try expectIdentifier(), type: type, offset: offset))
            } while accept(",")
        }
        try expect(")")
        let body: LambdaBody
        if accept("=>") {
            body = .expression(try parseExpression())
            try expect(";")
        } else {
            body = .block(try parseBlockStatement())
        }
        return Stmt(kind: .localFunction(name: name, returns: returns, parameters: parameters, body: body), offset: start,
                    endOffset: tokens[max(index - 1, 0)].endOffset)
    }

    private mutating func isDeclarationStart() throws -> Bool {
        let saved = index
        defer { index = saved }
        if current.isKeyword("var"), peekToken(1).identifier != nil { return true }
        guard (try parseType()) != nil else { return false }
        return current.identifier != nil && (peekToken(1).isPunct("=") || peekToken(1).isPunct(";") || peekToken(1).isPunct(","))
    }

    mutating func parseStatement() throws -> Stmt {
        try enter()
        defer { depth -= 1 }
        let start = current.offset
        func make(_ kind: StmtKind) -> Stmt { Stmt(kind: kind, offset: start, endOffset: tokens[max(index - 1, 0)].endOffset) }

        if current.isPunct("{") { return try parseBlockStatement() }
        if accept(";") { return make(.empty) }
        if case .keyword(let keyword) = current.kind {
            switch keyword {
            case "if":
                index += 1
                try expect("(")
                let condition = try parseExpression()
                try expect(")")
                let then = try embedded()
                var otherwise: Stmt?
                if acceptKeyword("else") { otherwise = try embedded() }
                return make(.ifElse(condition, then, otherwise))
            case "foreach":
                index += 1
                try expect("(")
                var type: TypeSyntax?
                if !acceptKeyword("var") {
                    guard let t = try parseType() else { throw error("expected a type in foreach") }
                    type = t
                }
                let name = try expectIdentifier()
                guard acceptKeyword("in") else { throw error("expected 'in' in foreach") }
                let sequence = try parseExpression()
                try expect(")")
                let body = try embedded()
                return make(.foreachLoop(type, name, sequence, body))
            case "for":
                index += 1
                try expect("(")
                var initializers: [Stmt] = []
                if !current.isPunct(";") {
                    if try isDeclarationStart() {
                        initializers.append(try parseDeclaration(requireSemicolon: false))
                    } else {
                        repeat {
                            let e = try parseExpression()
                            initializers.append(Stmt(kind: .expression(e), offset: e.offset, endOffset: current.offset))
                        } while accept(",")
                    }
                }
                try expect(";")
                let condition = current.isPunct(";") ? nil : try parseExpression()
                try expect(";")
                var iterators: [Expr] = []
                if !current.isPunct(")") {
                    repeat { iterators.append(try parseExpression()) } while accept(",")
                }
                try expect(")")
                let body = try embedded()
                return make(.forLoop(initializers, condition, iterators, body))
            case "while":
                index += 1
                try expect("(")
                let condition = try parseExpression()
                try expect(")")
                return make(.whileLoop(condition, try embedded()))
            case "do":
                index += 1
                let body = try embedded()
                guard acceptKeyword("while") else { throw error("expected 'while' after the do body") }
                try expect("(")
                let condition = try parseExpression()
                try expect(")")
                try expect(";")
                return make(.doWhile(body, condition))
            case "switch":
                return try parseSwitch()
            case "unchecked" where peekToken(1).isPunct("{"):
                // `unchecked { … }`: integer arithmetic already wraps here (C#'s default context),
                // so the block runs as a plain block.
                index += 1
                return try parseBlockStatement()
            case "checked" where peekToken(1).isPunct("{"):
                throw error("'checked' blocks are not supported (overflow checking is not implemented); remove 'checked' to get C#'s default, wrapping arithmetic")
            case "try":
                index += 1
                let body = try parseBlockStatement()
                var catches: [CatchClause] = []
                while acceptKeyword("catch") {
                    var type: TypeSyntax?
                    var name: String?
                    if accept("(") {
                        type = try parseType()
                        if type == nil { throw error("expected an exception type") }
                        if let n = current.identifier { index += 1; name = n }
                        try expect(")")
                    }
                    var filter: Expr?
                    if current.identifier == "when" {
                        index += 1
                        try expect("(")
                        filter = try parseExpression()
                        try expect(")")
                    }
                    catches.append(CatchClause(type: type, name: name, body: try parseBlockStatement(), filter: filter))
                }
                var finally: Stmt?
                if acceptKeyword("finally") { finally = try parseBlockStatement() }
                if catches.isEmpty && finally == nil { throw error("expected 'catch' or 'finally'") }
                return make(.tryCatch(body, catches, finally))
            case "return":
                index += 1
                if accept(";") { return make(.returnStatement(nil)) }
                let value = try parseExpression()
                try expect(";")
                return make(.returnStatement(value))
            case "throw":
                index += 1
                if accept(";") { return make(.throwStatement(nil)) }
                let value = try parseExpression()
                try expect(";")
                return make(.throwStatement(value))
            case "break":
                index += 1
                try expect(";")
                return make(.breakStatement)
            case "continue":
                index += 1
                try expect(";")
                return make(.continueStatement)
            default:
                break
            }
        }
        if current.identifier == "using", current.kind == .identifier("using"), peekToken(1).isPunct("(") {
            index += 2
            let resource: Stmt
            if try isDeclarationStart() {
                resource = try parseDeclaration(requireSemicolon: false)
            } else {
                let e = try parseExpression()
                resource = Stmt(kind: .expression(e), offset: e.offset, endOffset: current.offset)
            }
            try expect(")")
            let body = try embedded()
            return make(.usingStatement(resource, body))
        }
        if try isLocalFunctionStart() { return try parseLocalFunction() }
        if try isDeclarationStart() { return try parseDeclaration(requireSemicolon: true) }
        if current.identifier == "const", current.kind == .identifier("const") {
            // `const T name = value;`: a local constant; the binder refuses assignments to it.
            index += 1
            guard !current.isKeyword("var"), try isDeclarationStart() else { throw error("expected a type and a name after 'const'") }
            let declaration = try parseDeclaration(requireSemicolon: true)
            guard case .declaration(let type, let declarators) = declaration.kind else { return declaration }
            if let missing = declarators.first(where: { $0.value == nil }) {
                throw error("a const local must be initialized", at: missing.offset)
            }
            return Stmt(kind: .constantDeclaration(type, declarators), offset: declaration.offset, endOffset: declaration.endOffset)
        }
        let expr = try parseExpression()
        switch expr.kind {
        case .assign, .call, .increment, .newObject: break
        case .conditionalAccess(_, let chain):
            if case .call = chain.kind { break }
            throw error("only assignment, call, increment, decrement, and new object expressions can be used as a statement", at: expr.offset)
        default:
            throw error("only assignment, call, increment, decrement, and new object expressions can be used as a statement", at: expr.offset)
        }
        try expect(";")
        return make(.expression(expr))
    }

    private mutating func parseDeclaration(requireSemicolon: Bool) throws -> Stmt {
        let start = current.offset
        var type: TypeSyntax?
        if !acceptKeyword("var") {
            guard let t = try parseType() else { throw error("expected a type") }
            type = t
        }
        var declarators: [(name: String, offset: Int, value: Expr?)] = []
        repeat {
            let offset = current.offset
            let name = try expectIdentifier()
            var value: Expr?
            if accept("=") {
                value = current.isPunct("{") && type?.arrayRanks ?? 0 > 0
                    ? Expr(kind: .newArray(nil, sizes: [], elements: try parseArrayInitializer()), offset: current.offset)
                    : try parseExpression()
            }
            if type == nil && value == nil { throw error("implicitly-typed variables must be initialized", at: offset) }
            declarators.append((name, offset, value))
        } while accept(",")
        if requireSemicolon { try expect(";") }
        if type == nil && declarators.count > 1 { throw error("implicitly-typed variables cannot have multiple declarators", at: start) }
        return Stmt(kind: .declaration(type, declarators), offset: start, endOffset: current.offset)
    }

    private mutating func parseSwitch() throws -> Stmt {
        let start = current.offset
        index += 1
        try expect("(")
        let subject = try parseExpression()
        try expect(")")
        try expect("{")
        var sections: [SwitchSection] = []
        while !accept("}") {
            let sectionStart = current.offset
            var labels: [Expr?] = []
            while true {
                if acceptKeyword("case") {
                    labels.append(try parseExpression())
                    try expect(":")
                } else if current.isKeyword("default"), peekToken(1).isPunct(":") {
                    index += 2
                    labels.append(nil)
                } else {
                    break
                }
            }
            if labels.isEmpty { throw error("expected 'case' or 'default'") }
            var body: [Stmt] = []
            while !current.isKeyword("case") && !(current.isKeyword("default") && peekToken(1).isPunct(":")) && !current.isPunct("}") {
                if current.isEnd { throw error("expected '}'") }
                body.append(try parseStatement())
            }
            sections.append(SwitchSection(labels: labels, body: body, offset: sectionStart))
        }
        return Stmt(kind: .switchStatement(subject, sections), offset: start, endOffset: current.offset)
    }
}
