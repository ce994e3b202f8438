import Policies

/// The expression compiler the policy commands load with: expressions are compiled against the
/// `context` model, so `policy check` reports expression errors at file:line:col too.
enum PolicyExpressionBinding {
    static let compiler: (any PolicyExpressionCompiling)? = ContextExpressionCompiler()
}
