// Why a hand-written engine: the only XSLT processors for Swift on Linux bind to libxslt, whose
// maintenance is uncertain and which hostile request and response bodies would reach. This is a
// bounded XSLT 1.0 subset on top of Drawbridge's own strict XML parser (`StrictXML`): the
// stylesheet is compiled once at load (anything outside the subset is a load error naming the
// instruction or function and its line:col), and each run is bounded in template depth, work
// (a step budget) and output size, failing with an `XSLTError`, never trapping.

/// Limits of one transformation.
struct XSLTLimits: Sendable {
    /// Nested template instantiations (apply-templates, call-template).
    var maximumDepth = 200
    /// Units of work: instructions run, nodes visited by XPath steps, characters built by string functions.
    var maximumSteps = 2_000_000
    /// Bytes of result tree (variables' fragments included) and of the serialized result.
    var maximumOutputBytes = 4 << 20
}

/// A load-time problem with a stylesheet (where, and what).
struct XSLTCompileError: Error, Sendable {
    let position: SourcePosition
    let message: String
}

/// A run-time failure of a transformation.
struct XSLTError: Error, Sendable, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}
