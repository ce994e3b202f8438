import Policies

/// The expression compiler the policy commands load with. Until the pipeline's `context` model is
/// merged, expressions are located and kept but not compiled (nil).
enum PolicyExpressionBinding {
    static let compiler: (any PolicyExpressionCompiling)? = nil
}
