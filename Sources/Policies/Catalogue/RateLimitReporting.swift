import PolicyExpressions

/// What `rate-limit` and `rate-limit-by-key` share: the attributes naming where the limit is reported
/// (`retry-after-header-name`, `retry-after-variable-name`, `remaining-calls-header-name`,
/// `remaining-calls-variable-name`, `total-calls-header-name`: literals, as in APIM), the refusal
/// (429 with `Retry-After`, APIM's message) and the report of an admitted call.
struct RateLimitReporting: Sendable {
    let retryAfterHeaderName: String?
    let retryAfterVariableName: String?
    let remainingCallsHeaderName: String?
    let remainingCallsVariableName: String?
    let totalCallsHeaderName: String?

    static let attributes: [PolicyAttributeSpec] = [
        PolicyAttributeSpec("retry-after-header-name", .nonEmptyText, expressions: false),
        PolicyAttributeSpec("retry-after-variable-name", .nonEmptyText, expressions: false),
        PolicyAttributeSpec("remaining-calls-header-name", .nonEmptyText, expressions: false),
        PolicyAttributeSpec("remaining-calls-variable-name", .nonEmptyText, expressions: false),
        PolicyAttributeSpec("total-calls-header-name", .nonEmptyText, expressions: false),
    ]

    init(_ reader: PolicyElementReader) {
        retryAfterHeaderName = reader.literal("retry-after-header-name")
        retryAfterVariableName = reader.literal("retry-after-variable-name")
        remainingCallsHeaderName = reader.literal("remaining-calls-header-name")
        remainingCallsVariableName = reader.literal("remaining-calls-variable-name")
        totalCallsHeaderName = reader.literal("total-calls-header-name")
    }

    /// The refusal of a call over the limit: `Retry-After` (or the named header) and variable set,
    /// and the failure to throw.
    func refusal(renewsIn: Int, _ execution: PolicyExecution, _ step: CompiledStep) -> PolicyFailure {
        execution.extraResponseHeaders.append(PolicyHeader(retryAfterHeaderName ?? "Retry-After", String(renewsIn)))
        if let name = retryAfterVariableName { execution.state.variables.set(.string(name), .int(Int32(clamping: renewsIn))) }
        let message = "Rate limit is exceeded. Try again in \(renewsIn) seconds."
        return PolicyFailure(source: step.name, reason: "RateLimitExceeded", message: message, status: 429, clientMessage: message)
    }

    /// The report of an admitted call: calls remaining in the window and the limit.
    func admitted(remaining: Int, total: Int, _ execution: PolicyExecution) {
        if let name = remainingCallsHeaderName { execution.extraResponseHeaders.append(PolicyHeader(name, String(remaining))) }
        if let name = remainingCallsVariableName { execution.state.variables.set(.string(name), .int(Int32(clamping: remaining))) }
        if let name = totalCallsHeaderName { execution.extraResponseHeaders.append(PolicyHeader(name, String(total))) }
    }
}
