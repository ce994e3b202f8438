import Foundation

/// `<llm-emit-token-metric [namespace="API Management"]><dimension name="…" [value="…"]/>…</llm-emit-token-metric>`
/// (inbound): once the answer's token usage is known, three metrics through `PolicyPipelineOptions.metrics`
/// (what `emit-metric` records to): `Total Tokens`, `Prompt Tokens` and `Completion Tokens`, with the
/// dimensions as evaluated on the request. The usage is the answer's `usage` (a JSON answer: before
/// outbound; a `text/event-stream`: when it ends, from its last `usage` event or estimated from the
/// prompt and the streamed content, as `llm-token-limit` does). An answer without usage emits nothing.
/// Dimensions as `emit-metric`'s: at least one, a value may be left out only for a default dimension
/// (`API ID`, `Operation ID`, `Product ID`, `User ID`, `Subscription ID`, `Location`, `Gateway ID`,
/// `Backend ID`), at most 5 custom (non-default) dimensions as APIM documents.
public struct LLMEmitTokenMetricPolicy: Sendable, PolicyDefinition {
    public let namespace: String
    public let dimensions: [EmitMetricPolicy.Dimension]

    static let maximumCustomDimensions = 5
    static let metricNames = (total: "Total Tokens", prompt: "Prompt Tokens", completion: "Completion Tokens")

    static func declaration(named name: String) -> PolicySchema {
        PolicySchema(
            name, sections: [.inbound],
            attributes: [PolicyAttributeSpec("namespace", .nonEmptyText, default: "API Management", expressions: false)],
            children: .elements(["dimension"]))
    }

    static let schema: PolicySchema = declaration(named: "llm-emit-token-metric")

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        var dimensions: [EmitMetricPolicy.Dimension] = []
        let readers = reader.children(named: "dimension", EmitMetricPolicy.dimensionSchema)
        if readers.isEmpty { reader.error("\(reader.tag) requires at least one '<dimension>'") }
        var custom = 0
        for dimension in readers {
            guard let name = dimension.string("name") else { continue }
            let known: EmitMetricPolicy.DefaultDimension?
            if case .constant(let literal) = name { known = EmitMetricPolicy.DefaultDimension(rawValue: literal) } else { known = nil }
            if known == nil { custom += 1 }
            if dimension.element.attribute("value") == nil {
                guard let known else {
                    dimension.error(
                        "'<dimension>' of \(reader.tag) needs a 'value' unless its name is a default dimension ("
                            + EmitMetricPolicy.DefaultDimension.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ") + ")")
                    continue
                }
                dimensions.append(EmitMetricPolicy.Dimension(name: name, value: nil, defaultDimension: known))
            } else if let value = dimension.string("value") {
                dimensions.append(EmitMetricPolicy.Dimension(name: name, value: value, defaultDimension: known))
            }
        }
        if custom > maximumCustomDimensions {
            reader.error("\(reader.tag) has \(custom) custom dimensions; at most \(maximumCustomDimensions) are allowed")
        }
        guard let namespace = reader.literal("namespace"), reader.isValid else { return nil }
        return .llmEmitTokenMetric(LLMEmitTokenMetricPolicy(namespace: namespace, dimensions: dimensions))
    }
}

/// `azure-openai-emit-token-metric`: APIM's earlier name of `llm-emit-token-metric`, the same policy
/// (one implementation, `LLMEmitTokenMetricPolicy`).
struct AzureOpenAIEmitTokenMetricPolicy: PolicyDefinition {
    static let schema = LLMEmitTokenMetricPolicy.declaration(named: "azure-openai-emit-token-metric")
    static func parse(_ reader: PolicyElementReader) -> Policy? { LLMEmitTokenMetricPolicy.parse(reader) }
}

// MARK: Run

extension LLMEmitTokenMetricPolicy {
    struct Step: SynchronousPolicyStep {
        let namespace: String
        let dimensions: [EmitMetricPolicy.Step.RuntimeDimension]

        func run(_ execution: PolicyExecution, _ step: CompiledStep) throws -> Flow {
            var evaluated: [PolicyMetric.Dimension] = []
            for dimension in dimensions {
                let name = try execution.string(dimension.name, step)
                let value = try dimension.value.map { try execution.string($0, step) }
                    ?? EmitMetricPolicy.Step.defaultValue(dimension.defaultDimension, execution.state.identity)
                evaluated.append(PolicyMetric.Dimension(name: name, value: value))
            }
            guard let metrics = execution.options.metrics else {
                execution.state.record(.info, "no metrics recorder: token metrics not sent")
                return .proceed
            }
            let namespace = self.namespace
            let dimensionValues = evaluated
            execution.llmExchange().onUsage { usage, _ in
                guard let usage else { return }
                let names = LLMEmitTokenMetricPolicy.metricNames
                for (name, value) in [(names.total, usage.totalTokens), (names.prompt, usage.promptTokens), (names.completion, usage.completionTokens)] {
                    metrics.record(PolicyMetric(name: name, namespace: namespace, value: Double(value), dimensions: dimensionValues))
                }
            }
            return .proceed
        }
    }

    func compile(_ compiler: inout StepCompiler) -> (any SynchronousPolicyStep)? {
        compiler.readsMessageBody()
        compiler.observesLLMResponse = true
        var runtime: [EmitMetricPolicy.Step.RuntimeDimension] = []
        for dimension in dimensions {
            guard let name = compiler.parameter(dimension.name) else { return nil }
            var given: RuntimeParameter<String>? = nil
            if let value = dimension.value {
                guard let made = compiler.parameter(value) else { return nil }
                given = made
            }
            runtime.append(EmitMetricPolicy.Step.RuntimeDimension(name: name, value: given, defaultDimension: dimension.defaultDimension))
        }
        return Step(namespace: namespace, dimensions: runtime)
    }
}
