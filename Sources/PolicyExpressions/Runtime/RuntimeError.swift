/// A .NET exception raised while evaluating an expression (the gateway maps it to
/// `ExpressionValueEvaluationFailure`). `exceptionType` is the .NET type name, e.g. `NullReferenceException`.
public struct ExpressionRuntimeError: Error, Sendable, Equatable, CustomStringConvertible {
    public let exceptionType: String
    public let message: String

    public init(_ exceptionType: String, _ message: String) {
        self.exceptionType = exceptionType
        self.message = message
    }

    public var description: String { "\(exceptionType): \(message)" }

    static func nullReference() -> Self {
        .init("NullReferenceException", "Object reference not set to an instance of an object.")
    }
    static func argumentNull(_ parameter: String) -> Self {
        .init("ArgumentNullException", "Value cannot be null. (Parameter '\(parameter)')")
    }
    static func argumentOutOfRange(_ parameter: String, _ detail: String = "Specified argument was out of the range of valid values.") -> Self {
        .init("ArgumentOutOfRangeException", "\(detail) (Parameter '\(parameter)')")
    }
    static func argument(_ message: String) -> Self { .init("ArgumentException", message) }
    static func format(_ message: String = "The input string was not in a correct format.") -> Self {
        .init("FormatException", message)
    }
    static func invalidCast(from: String, to: String) -> Self {
        .init("InvalidCastException", "Unable to cast object of type '\(from)' to type '\(to)'.")
    }
    static func indexOutOfRange() -> Self {
        .init("IndexOutOfRangeException", "Index was outside the bounds of the array.")
    }
    static func divideByZero() -> Self {
        .init("DivideByZeroException", "Attempted to divide by zero.")
    }
    static func overflow(_ message: String = "Arithmetic operation resulted in an overflow.") -> Self {
        .init("OverflowException", message)
    }
    static func invalidOperation(_ message: String) -> Self { .init("InvalidOperationException", message) }
    static func keyNotFound(_ key: String) -> Self {
        .init("KeyNotFoundException", "The given key '\(key)' was not present in the dictionary.")
    }
    static func notSupported(_ message: String) -> Self { .init("NotSupportedException", message) }
}
