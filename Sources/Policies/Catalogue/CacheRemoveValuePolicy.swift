/// `<cache-remove-value key="…" [caching-type="…"]/>`: removes a value `cache-store-value` stored.
public struct CacheRemoveValuePolicy: Sendable, PolicyDefinition {
    public let key: PolicyParameter<String>
    let cachingType: CachingType

    static let schema = PolicySchema(
        "cache-remove-value", attributes: [PolicyAttributeSpec("key", .text, required: true), CachingType.attribute])

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        guard let key = reader.string("key"), let cachingType = reader.literal("caching-type").flatMap(CachingType.init(rawValue:))
        else { return nil }
        return .cacheRemoveValue(CacheRemoveValuePolicy(key: key, cachingType: cachingType))
    }
}

// MARK: Run

extension CacheRemoveValuePolicy {
    struct Step: WaitingPolicyStep {
        let key: RuntimeParameter<String>

        func run(_ execution: PolicyExecution, _ step: CompiledStep) async throws -> Flow {
            let key = try execution.string(self.key, step)
            await execution.options.cache.remove(CacheKeys.value(key))
            execution.state.record(.info, "removed key '\(key)'")
            return .proceed
        }
    }

    func compile(_ compiler: inout StepCompiler, _ statement: PolicyStatement) -> (any WaitingPolicyStep)? {
        if let problem = cachingType.problem(cacheIsExternal: compiler.cacheIsExternal) {
            compiler.diagnostics.append(PolicyDiagnostic(at: statement.position, problem))
            return nil
        }
        return compiler.parameter(key).map { Step(key: $0) }
    }
}
