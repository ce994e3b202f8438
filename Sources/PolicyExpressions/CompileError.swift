/// A compile-time error inside an expression, positioned at a 1-based line and column.
public struct ExpressionCompileError: Error, Sendable, Equatable, CustomStringConvertible {
    public let line: Int
    public let column: Int
    public let message: String

    public init(line: Int, column: Int, message: String) {
        self.line = line
        self.column = column
        self.message = message
    }

    /// `1:34: 'IRequest' has no member 'Certifcate'`
    public var description: String { "\(line):\(column): \(message)" }
}

/// Internal error carrying a scalar offset; converted to line/column at the API boundary.
struct PositionedError: Error {
    let offset: Int
    let message: String
}
