/// What a compiled expression is to this library: an opaque, immutable handle produced by the
/// expression language (PolicyExpressions) and handed back to it by the pipeline at run time.
public protocol CompiledPolicyExpression: Sendable {}

/// The type a policy needs an expression to produce, so the compiler can check it at load time
/// (a `when` condition must be a bool, a status code an integer).
public enum PolicyExpressionResultType: String, Sendable, Hashable {
    case any
    case string
    case boolean
    case integer
    /// A byte array (`authentication-certificate body`).
    case bytes
}

/// The seam where the expression language plugs in. The loader calls it once for every expression
/// it finds, so all compile errors of a load are collected with their positions.
///
/// Takes the whole `PolicyExpressionSource` (not just its text) so that a compile error at some
/// offset inside the source can be mapped back to the file with `position(atSourceOffset:)`, even
/// when entities or named values made the source differ from the file's bytes.
public protocol PolicyExpressionCompiling: Sendable {
    func compile(_ expression: PolicyExpressionSource, expecting resultType: PolicyExpressionResultType) throws
        -> any CompiledPolicyExpression
}

/// The error a compiler should throw: a message and, when known, the UTF-8 offset inside the
/// expression source where the problem is. Any other error is reported at the expression's start.
public struct PolicyExpressionCompileError: Error, Sendable, Hashable {
    public let message: String
    public let sourceOffset: Int?

    public init(_ message: String, sourceOffset: Int? = nil) {
        self.message = message
        self.sourceOffset = sourceOffset
    }
}

/// An expression of a loaded policy: where it came from and, when a compiler was given, its
/// compiled form.
public struct PolicyExpression: Sendable {
    public let source: PolicyExpressionSource
    public let compiled: (any CompiledPolicyExpression)?
    public let resultType: PolicyExpressionResultType
}

/// A policy setting that is either fixed at load time or computed per request by an expression.
public enum PolicyParameter<Value: Sendable>: Sendable {
    case constant(Value)
    case expression(PolicyExpression)

    public var constant: Value? {
        if case .constant(let value) = self { return value }
        return nil
    }

    public var expression: PolicyExpression? {
        if case .expression(let expression) = self { return expression }
        return nil
    }
}
