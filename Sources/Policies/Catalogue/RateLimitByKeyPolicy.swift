/// `<rate-limit-by-key calls="10" renewal-period="60" counter-key="@(…)"/>`: at most `calls` per
/// key per window; over the limit, 429 with `Retry-After`.
public struct RateLimitByKeyPolicy: Sendable, PolicyDefinition {
    public let calls: PolicyParameter<Int>
    /// Window length in seconds (APIM allows at most 300).
    public let renewalPeriod: PolicyParameter<Int>
    public let counterKey: PolicyParameter<String>
    /// When false for a request, that request is not counted.
    public let incrementCondition: PolicyParameter<Bool>?
    public let incrementCount: PolicyParameter<Int>
    public let retryAfterHeaderName: String?
    public let retryAfterVariableName: String?
    public let remainingCallsHeaderName: String?
    public let remainingCallsVariableName: String?
    public let totalCallsHeaderName: String?

    static let schema = PolicySchema(
        "rate-limit-by-key", sections: [.inbound],
        attributes: [
            PolicyAttributeSpec("calls", .integer(1...Int.max), required: true),
            PolicyAttributeSpec("renewal-period", .integer(1...300), required: true),
            PolicyAttributeSpec("counter-key", .nonEmptyText, required: true),
            PolicyAttributeSpec("increment-condition", .boolean),
            PolicyAttributeSpec("increment-count", .integer(0...Int.max), default: "1"),
            PolicyAttributeSpec("retry-after-header-name", .nonEmptyText, expressions: false),
            PolicyAttributeSpec("retry-after-variable-name", .nonEmptyText, expressions: false),
            PolicyAttributeSpec("remaining-calls-header-name", .nonEmptyText, expressions: false),
            PolicyAttributeSpec("remaining-calls-variable-name", .nonEmptyText, expressions: false),
            PolicyAttributeSpec("total-calls-header-name", .nonEmptyText, expressions: false),
        ])

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        guard let calls = reader.integer("calls"), let renewalPeriod = reader.integer("renewal-period"),
            let counterKey = reader.string("counter-key"), let incrementCount = reader.integer("increment-count")
        else { return nil }
        return .rateLimitByKey(
            RateLimitByKeyPolicy(
                calls: calls, renewalPeriod: renewalPeriod, counterKey: counterKey,
                incrementCondition: reader.boolean("increment-condition"), incrementCount: incrementCount,
                retryAfterHeaderName: reader.literal("retry-after-header-name"),
                retryAfterVariableName: reader.literal("retry-after-variable-name"),
                remainingCallsHeaderName: reader.literal("remaining-calls-header-name"),
                remainingCallsVariableName: reader.literal("remaining-calls-variable-name"),
                totalCallsHeaderName: reader.literal("total-calls-header-name")))
    }
}
