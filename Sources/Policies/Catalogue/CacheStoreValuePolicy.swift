/// `<cache-store-value key="…" value="…" duration="seconds" [caching-type="…"]/>`: stores a value
/// for later `cache-lookup-value`. Strings, numbers, booleans, dates, GUIDs, byte arrays and JSON
/// tokens can be stored; a list, dictionary or host object fails with `CacheValueNotSupported`.
public struct CacheStoreValuePolicy: Sendable, PolicyDefinition {
    public let key: PolicyParameter<String>
    public let value: PolicyParameter<String>
    public let duration: PolicyParameter<Int>
    let cachingType: CachingType

    static let schema = PolicySchema(
        "cache-store-value",
        attributes: [
            PolicyAttributeSpec("key", .text, required: true),
            PolicyAttributeSpec("value", required: true, expressionType: .any),
            PolicyAttributeSpec("duration", .integer(0...Int(Int32.max)), required: true),
            CachingType.attribute,
        ])

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        guard let key = reader.string("key"), let value = reader.string("value"), let duration = reader.integer("duration"),
            let cachingType = reader.literal("caching-type").flatMap(CachingType.init(rawValue:))
        else { return nil }
        return .cacheStoreValue(CacheStoreValuePolicy(key: key, value: value, duration: duration, cachingType: cachingType))
    }
}

// MARK: Run

extension CacheStoreValuePolicy {
    struct Step: WaitingPolicyStep {
        let key: RuntimeParameter<String>
        let value: RuntimeParameter<String>
        let duration: RuntimeParameter<Int>

        func run(_ execution: PolicyExecution, _ step: CompiledStep) async throws -> Flow {
            let key = try execution.string(self.key, step)
            let value = try execution.value(self.value, step)
            let seconds = try execution.int(duration, step, in: 0...Int(Int32.max))
            guard let item = PolicyCacheItem(value) else {
                throw PolicyFailure.generic(
                    step.name, reason: "CacheValueNotSupported",
                    "The value for key '\(key)' cannot be cached: store a string, number, boolean, date, byte array or JSON token.")
            }
            await execution.options.cache.store(CacheKeys.value(key), item, duration: seconds)
            execution.state.record(.info, "stored key '\(key)' for \(seconds) s")
            return .proceed
        }
    }

    func compile(_ compiler: inout StepCompiler, _ statement: PolicyStatement) -> (any WaitingPolicyStep)? {
        if let problem = cachingType.problem(cacheIsExternal: compiler.cacheIsExternal) {
            compiler.diagnostics.append(PolicyDiagnostic(at: statement.position, problem))
            return nil
        }
        guard let key = compiler.parameter(key), let value = compiler.parameter(value), let duration = compiler.parameter(duration)
        else { return nil }
        return Step(key: key, value: value, duration: duration)
    }
}
