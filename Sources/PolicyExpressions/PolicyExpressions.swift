// PolicyExpressions: APIM's C# policy-expression subset, compiled once into closures and evaluated
// with .NET semantics.
//
// Pipeline (cel-go style): Lexer → Parser (AST with offsets) → Binder (type-checks against a
// `TypeModel` and plans each node into a closure in the same pass) → `CompiledExpression`.
//
// Usage by the policy engine:
//
//     let requestType = HostType(name: "IRequest", members: [
//         .property("Certificate", .host(X509Types.certificate), of: MyRequest.self) { $0.cert.map { .object($0) } ?? .null },
//         .property("Headers", .headerDictionary, of: MyRequest.self) { .dictionary($0.headers) },
//     ])
//     let contextType = HostType(name: "IProxyRequestContext", members: [
//         .property("Request", .host(requestType), of: MyContext.self) { .object($0.request) },
//         .property("Variables", .variableDictionary, of: MyContext.self) { .dictionary($0.variables) },
//     ])
//     let compiler = ExpressionCompiler(model: TypeModel(contextType: contextType, namedTypes: [requestType]))
//     let condition = try compiler.compile("context.Request.Certificate == null")   // ExpressionCompileError: line/column
//     let value = try condition.evaluate(context: myContext)                        // ExpressionRuntimeError: .NET exception
//     if value.boolValue == true { … }   // value.dotNetString for header values
/// Whether the source is the body of `@( … )` (one C# expression) or `@{ … }` (statements that return).
public enum ExpressionKind: Sendable {
    case expression
    case block
}

/// A compiled policy expression: an immutable tree of closures, reusable and safe to evaluate
/// from many requests at once (each evaluation gets its own stack-allocated frame).
public struct CompiledExpression: Sendable {
    public let source: String
    public let kind: ExpressionKind
    /// The static C# type of the result (`object` for blocks whose returns differ).
    public let resultType: ExpressionType
    /// What the expression reads from host objects (members, `context` paths), from the binder.
    public let uses: ExpressionUses
    private let body: Eval
    private let slotCount: Int
    /// Weak references to the expression's local functions (tests check they die with it).
    let localFunctionReferences: [WeakReference]

    init(source: String, kind: ExpressionKind, resultType: ExpressionType, body: @escaping Eval, slotCount: Int,
         uses: ExpressionUses = ExpressionUses(), localFunctions: [AnyObject] = []) {
        self.localFunctionReferences = localFunctions.map(WeakReference.init)
        self.source = source
        self.kind = kind
        self.resultType = resultType
        self.body = body
        self.slotCount = slotCount
        self.uses = uses
    }

    /// Evaluates against a `context` host object. Throws `ExpressionRuntimeError` (a .NET exception name
    /// and message) on failure. `iterationBudget` bounds loop iterations so a runaway loop cannot hang a request.
    public func evaluate(context: any HostObject, iterationBudget: Int = 1_000_000) throws(ExpressionRuntimeError) -> Value {
        let count = slotCount
        let body = self.body
        do {
            return try withUnsafeTemporaryAllocation(of: Value.self, capacity: max(count, 1)) { buffer -> Value in
                guard let base = buffer.baseAddress else { throw ExpressionRuntimeError("InvalidOperationException", "no evaluation frame") }
                base.initialize(repeating: .null, count: count)
                defer { base.deinitialize(count: count) }
                var state = FrameState(budget: iterationBudget)
                let result = try withUnsafeMutablePointer(to: &state) { pointer in
                    try body(Frame(slots: base, context: .object(context), state: pointer))
                }
                // The host serialises results (bodies, variables): a JSON value or collection that nests
                // too deeply or contains itself fails here, as an expression exception, not later in the host.
                try JsonLimits.validate(result)
                return result
            }
        } catch let error as ExpressionRuntimeError {
            throw error
        } catch {
            throw ExpressionRuntimeError("Exception", String(describing: error))
        }
    }
}

/// A weak reference (to observe that compiled closures are freed).
struct WeakReference: @unchecked Sendable {
    weak var object: AnyObject?
    init(_ object: AnyObject) { self.object = object }
}

/// Compiles policy expressions against a type model whose root variable `context` has `model.contextType`.
public struct ExpressionCompiler: Sendable {
    public let model: TypeModel

    public init(model: TypeModel) { self.model = model }

    public func compile(_ source: String, kind: ExpressionKind = .expression) throws(ExpressionCompileError) -> CompiledExpression {
        let text = SourceText(source)
        do {
            var parser = try Parser(source: text)
            let binder = Binder(source: text, model: model)
            switch kind {
            case .expression:
                let expr = try parser.parseWholeExpression()
                let bound = try binder.bindValue(expr)
                if bound.type == .void { throw PositionedError(offset: expr.start, message: "the expression has no value (its type is 'void')") }
                return CompiledExpression(source: source, kind: kind, resultType: bound.type, body: bound.eval, slotCount: binder.slotCount, uses: binder.uses,
                                          localFunctions: binder.localFunctionsBound)
            case .block:
                let block = try parser.parseWholeBlock()
                let exec = try binder.bindStatement(block)
                if Reachability.completesNormally(block) {
                    throw PositionedError(offset: block.endOffset, message: "not all code paths return a value")
                }
                let eval: Eval = { frame in
                    if case .returned(let value) = try exec(frame) { return value }
                    return .null
                }
                return CompiledExpression(source: source, kind: kind, resultType: .object, body: eval, slotCount: binder.slotCount, uses: binder.uses,
                                          localFunctions: binder.localFunctionsBound)
            }
        } catch let error as PositionedError {
            let (line, column) = text.location(of: error.offset)
            throw ExpressionCompileError(line: line, column: column, message: error.message)
        } catch {
            throw ExpressionCompileError(line: 1, column: 1, message: String(describing: error))
        }
    }
}
