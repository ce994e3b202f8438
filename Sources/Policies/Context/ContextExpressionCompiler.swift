import PolicyExpressions

/// A policy expression compiled against the `context` type model of this library.
public struct ContextCompiledExpression: CompiledPolicyExpression {
    public let compiled: CompiledExpression
    public let source: PolicyExpressionSource
}

/// The loader's expression seam bound to `ExpressionCompiler` and the `context` type model
/// (`PolicyContextTypes.model`): every `@(…)`/`@{…}` is compiled once, at load, and a compile error
/// comes out at the file position of the offending character.
public struct ContextExpressionCompiler: PolicyExpressionCompiling {
    let compiler: ExpressionCompiler

    public init() {
        compiler = ExpressionCompiler(model: PolicyContextTypes.model)
    }

    public func compile(_ expression: PolicyExpressionSource, expecting resultType: PolicyExpressionResultType) throws
        -> any CompiledPolicyExpression
    {
        let kind: ExpressionKind = expression.kind == .block ? .block : .expression
        let compiled: CompiledExpression
        do {
            compiled = try compiler.compile(expression.source, kind: kind)
        } catch {
            throw PolicyExpressionCompileError(
                error.message, sourceOffset: Self.utf8Offset(in: expression.source, line: error.line, column: error.column))
        }
        if let problem = Self.typeProblem(compiled.resultType, expected: resultType) {
            throw PolicyExpressionCompileError(problem, sourceOffset: 0)
        }
        return ContextCompiledExpression(compiled: compiled, source: expression)
    }

    /// Rejects at load what can never convert at run time (a `when` condition of type string).
    /// `object` (blocks, casts) is checked when the value arrives.
    static func typeProblem(_ type: ExpressionType, expected: PolicyExpressionResultType) -> String? {
        if type == .object { return nil }
        switch expected {
        case .any, .string: return nil
        case .boolean:
            return type == .bool ? nil : "the expression must produce a bool, but its type is '\(type)'"
        case .integer:
            return [.int, .long, .short, .byte, .uint, .ulong, .string].contains(type)
                ? nil : "the expression must produce an integer, but its type is '\(type)'"
        case .bytes:
            return type == .byteArray || type == .string ? nil : "the expression must produce a byte[], but its type is '\(type)'"
        }
    }

    /// The UTF-8 offset of a 1-based line and column (columns counted in characters).
    static func utf8Offset(in source: String, line: Int, column: Int) -> Int {
        var offset = 0
        var currentLine = 1
        var currentColumn = 1
        for character in source {
            if currentLine == line, currentColumn == column { return offset }
            if currentLine > line { return offset }
            offset += character.utf8.count
            if character == "\n" || character == "\r\n" {
                currentLine += 1
                currentColumn = 1
            } else {
                currentColumn += 1
            }
        }
        return offset
    }
}
