/// A place in a policy file, as a person reads it: 1-based line and column (columns count Unicode
/// scalars, so a tab or an `é` is one column). Always refers to the ORIGINAL file, before named
/// values were substituted.
public struct SourcePosition: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }

    public static func < (lhs: SourcePosition, rhs: SourcePosition) -> Bool {
        (lhs.file, lhs.line, lhs.column) < (rhs.file, rhs.line, rhs.column)
    }
}
