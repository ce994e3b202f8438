/// A type as written in source: `string`, `JObject`, `List<string>`, `int?`, `string[]`,
/// `System.Collections.Generic.Dictionary<string, int>`.
struct TypeSyntax: Sendable, Equatable {
    var name: String
    var arguments: [TypeSyntax] = []
    var arrayRanks: Int = 0
    var nullable = false
    var offset: Int

    var display: String {
        var text = name
        if !arguments.isEmpty { text += "<" + arguments.map(\.display).joined(separator: ", ") + ">" }
        if nullable { text += "?" }
        text += String(repeating: "[]", count: arrayRanks)
        return text
    }
}

enum LiteralValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int32)
    case uint(UInt32)
    case long(Int64)
    case ulong(UInt64)
    case double(Double)
    case float(Double)
    case decimal(String)
    case string(String)
    case char(UInt16)
}

enum ArgumentModifier: Sendable { case none, out, ref }

struct Argument: Sendable {
    var name: String?
    var modifier: ArgumentModifier
    var value: Expr
}

enum InterpolationPart: Sendable {
    case text(String)
    case hole(Expr, alignment: Expr?, format: String?)
}

enum LambdaBody: Sendable {
    case expression(Expr)
    case block(Stmt)
}

struct LambdaParameter: Sendable {
    var name: String
    var type: TypeSyntax?
    var offset: Int
}

enum ObjectInitializer: Sendable {
    case none
    case collection([[Expr]])            // { a, b } or { { k, v }, ... }
    case members([(String, Expr, Int)])  // { Name = value }
    case indexers([([Expr], Expr)])      // { ["k"] = v }
}

indirect enum ExprKind: Sendable {
    case literal(LiteralValue)
    case interpolated([InterpolationPart])
    case name(String, typeArguments: [TypeSyntax])
    case predefinedType(String)
    case member(Expr, String, typeArguments: [TypeSyntax])
    case call(Expr, [Argument])
    case index(Expr, [Argument])
    case unary(String, Expr)              // + - ! ~
    case increment(Expr, delta: Int, prefix: Bool)
    case binary(String, Expr, Expr)       // includes ?? && ||
    case conditional(Expr, Expr, Expr)
    case assign(String, Expr, Expr)       // "=", "+=", "??=", ...
    case cast(TypeSyntax, Expr)
    case isType(Expr, TypeSyntax, designation: String?)
    case isNull(Expr, negated: Bool)
    case asType(Expr, TypeSyntax)
    case lambda([LambdaParameter], LambdaBody)
    case newObject(TypeSyntax, [Argument], ObjectInitializer)
    case newArray(TypeSyntax?, sizes: [Expr], elements: [Expr]?)
    case newAnonymous([(String, Expr)])
    case typeOf(TypeSyntax)
    case defaultValue(TypeSyntax?)
    case outVariable(TypeSyntax?, String)  // `out var v` / `out string v`
    /// `a?.b.c`: evaluate `a`; if null the whole chain is null, else evaluate the chain with
    /// `.conditionalAccessTarget` standing for `a` (Roslyn's ConditionalAccessExpression shape).
    case conditionalAccess(Expr, Expr)
    case conditionalAccessTarget
}

struct Expr: Sendable {
    var kind: ExprKind
    /// Where diagnostics point (the member name for `a.b`, the operator's left operand for `a + b`).
    var offset: Int
    /// First character of the whole expression.
    var start: Int

    init(kind: ExprKind, offset: Int, start: Int? = nil) {
        self.kind = kind
        self.offset = offset
        self.start = start ?? offset
    }
}

struct SwitchSection: Sendable {
    var labels: [Expr?]   // nil = default
    var body: [Stmt]
    var offset: Int
}

struct CatchClause: Sendable {
    var type: TypeSyntax?
    var name: String?
    var body: Stmt
    var filter: Expr?
}

indirect enum StmtKind: Sendable {
    case block([Stmt])
    case declaration(TypeSyntax?, [(name: String, offset: Int, value: Expr?)])  // nil type = var
    /// `using (T x = resource) body`: the resource's variables are read-only; disposing is a no-op
    /// (the library's objects hold nothing to release).
    case usingStatement(Stmt, Stmt)
    /// A local function: `T Name(T1 a, T2 b) { … }` or `=> expr;` (`void` allowed).
    case localFunction(name: String, returns: TypeSyntax, parameters: [LambdaParameter], body: LambdaBody)
    /// `const T name = value;` (every declarator initialized); its names cannot be assigned.
    case constantDeclaration(TypeSyntax?, [(name: String, offset: Int, value: Expr?)])
    case expression(Expr)
    case ifElse(Expr, Stmt, Stmt?)
    case foreachLoop(TypeSyntax?, String, Expr, Stmt)
    case forLoop([Stmt], Expr?, [Expr], Stmt)
    case whileLoop(Expr, Stmt)
    case doWhile(Stmt, Expr)
    case switchStatement(Expr, [SwitchSection])
    case tryCatch(Stmt, [CatchClause], Stmt?)
    case returnStatement(Expr?)
    case throwStatement(Expr?)
    case breakStatement
    case continueStatement
    case empty
}

struct Stmt: Sendable {
    var kind: StmtKind
    var offset: Int
    var endOffset: Int
}
