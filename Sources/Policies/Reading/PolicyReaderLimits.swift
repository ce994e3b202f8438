/// Bounds that keep hostile or broken input from exhausting memory or the stack.
public struct PolicyReaderLimits: Sendable, Hashable {
    /// APIM caps a policy document at 256 KiB and a fragment at 512 KB; allow some headroom.
    public var maximumBytes: Int
    public var maximumElementDepth: Int
    /// Nesting of parentheses, brackets, braces and interpolation holes inside one expression.
    public var maximumExpressionDepth: Int

    public init(maximumBytes: Int = 1 << 20, maximumElementDepth: Int = 64, maximumExpressionDepth: Int = 256) {
        self.maximumBytes = maximumBytes
        self.maximumElementDepth = maximumElementDepth
        self.maximumExpressionDepth = maximumExpressionDepth
    }
}
