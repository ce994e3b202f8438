/// `<retry condition="@(…)" count="3" interval="1" [max-interval delta first-fast-retry]>`: runs its
/// children, then again while the condition holds. Interval alone: fixed back-off; with delta:
/// linear; with max-interval too: exponential.
public struct RetryPolicy: Sendable, PolicyDefinition {
    public let condition: PolicyParameter<Bool>
    public let count: PolicyParameter<Int>
    /// Seconds.
    public let interval: PolicyParameter<Int>
    public let maxInterval: PolicyParameter<Int>?
    public let delta: PolicyParameter<Int>?
    public let firstFastRetry: PolicyParameter<Bool>
    public let statements: [PolicyStatement]

    static let schema = PolicySchema(
        "retry",
        attributes: [
            PolicyAttributeSpec("condition", .boolean, required: true),
            PolicyAttributeSpec("count", .integer(1...50), required: true),
            PolicyAttributeSpec("interval", .integer(0...300), required: true),
            PolicyAttributeSpec("max-interval", .integer(0...300)),
            PolicyAttributeSpec("delta", .integer(0...300)),
            PolicyAttributeSpec("first-fast-retry", .boolean, default: "false"),
        ],
        children: .policies)

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        let statements = reader.statements()
        guard let condition = reader.boolean("condition"), let count = reader.integer("count"),
            let interval = reader.integer("interval"), let firstFastRetry = reader.boolean("first-fast-retry")
        else { return nil }
        let maxInterval = reader.integer("max-interval"), delta = reader.integer("delta")
        if maxInterval != nil, delta == nil {
            reader.error(attribute: "max-interval", "'max-interval' of '<retry>' requires 'delta' (exponential back-off)")
            return nil
        }
        if let low = interval.constant, let high = maxInterval?.constant, high < low {
            reader.error(attribute: "max-interval", "'max-interval' (\(high)) of '<retry>' is less than 'interval' (\(low))")
            return nil
        }
        return .retry(
            RetryPolicy(
                condition: condition, count: count, interval: interval, maxInterval: maxInterval, delta: delta,
                firstFastRetry: firstFastRetry, statements: statements))
    }
}
