/// The evaluation frame: local slots (stack-allocated per evaluation) and the `context` root.
struct Frame {
    let slots: UnsafeMutablePointer<Value>
    let context: Value
    let state: UnsafeMutablePointer<FrameState>

    func spendIteration() throws {
        state.pointee.budget -= 1
        if state.pointee.budget < 0 {
            throw ExpressionRuntimeError("InvalidOperationException", "The expression exceeded its iteration budget.")
        }
    }
}

/// Per-evaluation mutable state.
struct FrameState {
    /// Remaining loop iterations; a runaway loop fails instead of hanging a request.
    var budget: Int
    /// Bit i set = cached host-object path i (e.g. `context.Request.Certificate`) is in its slot.
    var cached: UInt64 = 0
    /// Local function calls in progress (recursion is bounded: a runaway one fails instead of
    /// exhausting the native stack).
    var callDepth: Int = 0
}

typealias Eval = @Sendable (Frame) throws -> Value

func constantEval(_ value: Value) -> Eval { { _ in value } }

/// Result of executing a statement.
enum Flow {
    case normal
    case breakLoop
    case continueLoop
    case returned(Value)
}

typealias Exec = @Sendable (Frame) throws -> Flow

/// A bound (type-checked) expression: its static type and the closure that evaluates it.
struct Bound {
    var type: ExpressionType
    var eval: Eval
    /// Compile-time constant value, when known (literals, folded constants).
    var constant: Value?
    /// For host-object reads rooted at `context` (`context.Request.Certificate`): the member path, used
    /// to evaluate each distinct path at most once per evaluation.
    var path: String?

    init(_ type: ExpressionType, constant: Value? = nil, _ eval: @escaping Eval) {
        self.type = type
        self.eval = eval
        self.constant = constant
    }

    static func constant(_ value: Value, _ type: ExpressionType) -> Bound {
        Bound(type, constant: value) { _ in value }
    }

    var isNullLiteral: Bool { type == .null }
}

/// Implementation of a library method by arity, so that common calls do not allocate argument arrays.
enum Impl: Sendable {
    case a0(@Sendable (Value) throws -> Value)
    case a1(@Sendable (Value, Value) throws -> Value)
    case a2(@Sendable (Value, Value, Value) throws -> Value)
    case a3(@Sendable (Value, Value, Value, Value) throws -> Value)
    case an(@Sendable (Value, [Value]) throws -> Value)
    /// Methods with a trailing `out` parameter: return (result, out value).
    case out(@Sendable (Value, [Value]) throws -> (Value, Value))
}

/// One overload of a library method.
struct Overload: Sendable {
    var parameters: [ExpressionType]
    var returns: ExpressionType
    var impl: Impl
    /// The last parameter is a C# `params T[]` array.
    var isParams = false

    init(_ parameters: [ExpressionType], _ returns: ExpressionType, isParams: Bool = false, _ impl: Impl) {
        self.parameters = parameters
        self.returns = returns
        self.impl = impl
        self.isParams = isParams
    }
}

/// A library property getter.
struct PropertyImpl: Sendable {
    var type: ExpressionType
    var get: @Sendable (Value) throws -> Value
    init(_ type: ExpressionType, _ get: @escaping @Sendable (Value) throws -> Value) {
        self.type = type
        self.get = get
    }
}
