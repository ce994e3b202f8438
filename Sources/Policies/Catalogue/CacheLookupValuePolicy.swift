/// `<cache-lookup-value key="…" variable-name="…" [default-value="…"] [caching-type="…"]/>`: the
/// value stored under `key` (by `cache-store-value`) goes into `context.Variables[variable-name]`.
/// On a miss the variable gets `default-value` when one is given and is left unset otherwise
/// (APIM's samples test `context.Variables.ContainsKey(…)` for a miss).
public struct CacheLookupValuePolicy: Sendable, PolicyDefinition {
    public let key: PolicyParameter<String>
    public let variableName: String
    public let defaultValue: PolicyParameter<String>?
    let cachingType: CachingType

    static let schema = PolicySchema(
        "cache-lookup-value",
        attributes: [
            PolicyAttributeSpec("key", .text, required: true),
            PolicyAttributeSpec("variable-name", .nonEmptyText, required: true, expressions: false),
            PolicyAttributeSpec("default-value", expressionType: .any),
            CachingType.attribute,
        ])

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        guard let key = reader.string("key"), let name = reader.literal("variable-name"),
            let cachingType = reader.literal("caching-type").flatMap(CachingType.init(rawValue:))
        else { return nil }
        let fallback = reader.element.attribute("default-value") == nil ? nil : reader.string("default-value")
        return .cacheLookupValue(CacheLookupValuePolicy(key: key, variableName: name, defaultValue: fallback, cachingType: cachingType))
    }
}

// MARK: Run

extension CacheLookupValuePolicy {
    struct Step: WaitingPolicyStep {
        let key: RuntimeParameter<String>
        let variableName: String
        let defaultValue: RuntimeParameter<String>?

        func run(_ execution: PolicyExecution, _ step: CompiledStep) async throws -> Flow {
            let key = try execution.string(self.key, step)
            if let item = await execution.options.cache.lookup(CacheKeys.value(key)) {
                execution.state.record(.info, "cache hit for key '\(key)'")
                execution.state.variables.set(.string(variableName), item.value())
            } else {
                execution.state.record(.info, "cache miss for key '\(key)'")
                if let defaultValue { execution.state.variables.set(.string(variableName), try execution.value(defaultValue, step)) }
            }
            return .proceed
        }
    }

    func compile(_ compiler: inout StepCompiler, _ statement: PolicyStatement) -> (any WaitingPolicyStep)? {
        if let problem = cachingType.problem(cacheIsExternal: compiler.cacheIsExternal) {
            compiler.diagnostics.append(PolicyDiagnostic(at: statement.position, problem))
            return nil
        }
        guard let key = compiler.parameter(key) else { return nil }
        var fallback: RuntimeParameter<String>? = nil
        if let defaultValue {
            guard let made = compiler.parameter(defaultValue) else { return nil }
            fallback = made
        }
        return Step(key: key, variableName: variableName, defaultValue: fallback)
    }
}
