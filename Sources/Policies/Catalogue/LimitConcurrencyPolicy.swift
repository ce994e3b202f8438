/// `<limit-concurrency key="@(…)" max-count="3">…</limit-concurrency>`: at most `max-count`
/// executions of the children at once per key; others fail with 429.
public struct LimitConcurrencyPolicy: Sendable, PolicyDefinition {
    public let key: PolicyParameter<String>
    public let maxCount: Int
    public let statements: [PolicyStatement]

    static let schema = PolicySchema(
        "limit-concurrency",
        attributes: [
            PolicyAttributeSpec("key", .nonEmptyText, required: true),
            PolicyAttributeSpec("max-count", .integer(1...Int.max), required: true, expressions: false),
        ],
        children: .policies)

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        let statements = reader.statements()
        guard let key = reader.string("key"), let maxCount = reader.integer("max-count")?.constant else { return nil }
        return .limitConcurrency(LimitConcurrencyPolicy(key: key, maxCount: maxCount, statements: statements))
    }
}
