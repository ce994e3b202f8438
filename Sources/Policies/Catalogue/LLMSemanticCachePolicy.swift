import Foundation
import PolicyExpressions

/// `<llm-semantic-cache-lookup score-threshold="0.0…1.0" embeddings-backend-id="…" embeddings-backend-auth="system-assigned"
/// [ignore-system-messages="false"] [max-message-count="N"]><vary-by>…</vary-by>…</llm-semantic-cache-lookup>` (inbound)
/// and `<llm-semantic-cache-store duration="seconds"/>` (outbound), with their `azure-openai-*` aliases.
///
/// Lookup: the prompt (the request's messages' text, system messages left out with `ignore-system-messages`) is
/// embedded by the OpenAI-compatible embeddings endpoint of the backend `embeddings-backend-id` names
/// (`POST {backend}` — `/embeddings` appended unless its path ends so — with `{"input": prompt}`, answered by
/// `{"data":[{"embedding":[…]}]}`); the closest answer kept in the request's partition (the API, the operation,
/// whether the request streams, and the `vary-by` values) is returned when its score — the cosine distance
/// 1 − cos(θ), so 0 is the same meaning, as APIM's "lower values require higher semantic similarity" — is at
/// most `score-threshold`: 200 with the stored answer, the backend not called, outbound not run (as
/// `cache-lookup`). A miss leaves the embedding for `llm-semantic-cache-store`, which keeps a 200 answer for
/// `duration` seconds in the gateway's `SemanticResponseCache`. More messages than `max-message-count`: no caching.
/// The cache is never an error: an embeddings call that fails is a miss (recorded in the trace), and the
/// request goes to the model.
public struct LLMSemanticCacheLookupPolicy: Sendable, PolicyDefinition {
    public let scoreThreshold: Double
    public let embeddingsBackendID: String
    public let ignoreSystemMessages: PolicyParameter<Bool>
    public let maxMessageCount: PolicyParameter<Int>?
    public let varyBy: [PolicyParameter<String>]

    static func declaration(named name: String) -> PolicySchema {
        PolicySchema(
            name, sections: [.inbound],
            attributes: [
                PolicyAttributeSpec("score-threshold", .nonEmptyText, required: true, expressions: false),
                PolicyAttributeSpec("embeddings-backend-id", .nonEmptyText, required: true, expressions: false),
                PolicyAttributeSpec("embeddings-backend-auth", .choice(["system-assigned"]), required: true, expressions: false),
                PolicyAttributeSpec("ignore-system-messages", .boolean, default: "false"),
                PolicyAttributeSpec("max-message-count", .integer(1...Int(Int32.max))),
            ],
            children: .elements(["vary-by"]))
    }

    static let schema: PolicySchema = declaration(named: "llm-semantic-cache-lookup")
    static let varyBySchema = PolicySchema("vary-by", allowsText: true)

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        var varyBy: [PolicyParameter<String>] = []
        for child in reader.children(named: "vary-by", varyBySchema) {
            guard let text = child.text else {
                child.error("'<vary-by>' of \(reader.tag) needs a value (text or an expression)")
                continue
            }
            varyBy.append(text)
        }
        var threshold: Double? = nil
        if let literal = reader.literal("score-threshold") {
            if let value = Double(ASCII.trimmingWhitespace(literal)), value.isFinite, (0...1).contains(value) {
                threshold = value
            } else {
                reader.error(attribute: "score-threshold", "the 'score-threshold' of \(reader.tag) must be a decimal from 0.0 to 1.0")
            }
        }
        var maxMessages: PolicyParameter<Int>? = nil
        if reader.element.attribute("max-message-count") != nil {
            maxMessages = reader.integer("max-message-count")
        }
        guard let threshold, let backend = reader.literal("embeddings-backend-id"), let ignore = reader.boolean("ignore-system-messages"),
              reader.isValid
        else { return nil }
        return .llmSemanticCacheLookup(LLMSemanticCacheLookupPolicy(
            scoreThreshold: threshold, embeddingsBackendID: backend, ignoreSystemMessages: ignore, maxMessageCount: maxMessages, varyBy: varyBy))
    }
}

/// `azure-openai-semantic-cache-lookup`: the same policy as `llm-semantic-cache-lookup` (one implementation).
struct AzureOpenAISemanticCacheLookupPolicy: PolicyDefinition {
    static let schema = LLMSemanticCacheLookupPolicy.declaration(named: "azure-openai-semantic-cache-lookup")
    static func parse(_ reader: PolicyElementReader) -> Policy? { LLMSemanticCacheLookupPolicy.parse(reader) }
}

/// `<llm-semantic-cache-store duration="seconds" [cache-response="false"]/>`: `cache-response="true"` (APIM's later
/// attribute) keeps answers of any status, not only `200 OK`.
public struct LLMSemanticCacheStorePolicy: Sendable, PolicyDefinition {
    public let duration: PolicyParameter<Int>
    public let cacheResponse: PolicyParameter<Bool>

    static func declaration(named name: String) -> PolicySchema {
        PolicySchema(name, sections: [.outbound], attributes: [
            PolicyAttributeSpec("duration", .integer(1...Int(Int32.max)), required: true),
            PolicyAttributeSpec("cache-response", .boolean, default: "false"),
        ])
    }

    static let schema: PolicySchema = declaration(named: "llm-semantic-cache-store")

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        guard let duration = reader.integer("duration"), let cacheResponse = reader.boolean("cache-response") else { return nil }
        return .llmSemanticCacheStore(LLMSemanticCacheStorePolicy(duration: duration, cacheResponse: cacheResponse))
    }
}

/// `azure-openai-semantic-cache-store`: the same policy as `llm-semantic-cache-store` (one implementation).
struct AzureOpenAISemanticCacheStorePolicy: PolicyDefinition {
    static let schema = LLMSemanticCacheStorePolicy.declaration(named: "azure-openai-semantic-cache-store")
    static func parse(_ reader: PolicyElementReader) -> Policy? { LLMSemanticCacheStorePolicy.parse(reader) }
}

/// What a lookup that missed leaves for the store: where and under which embedding to keep the answer.
struct SemanticCachePending: Sendable {
    let partition: String
    let vector: [Float]
}

// MARK: Run

extension LLMSemanticCacheLookupPolicy {
    struct Step: WaitingPolicyStep {
        let threshold: Double
        let backendID: String
        let ignoreSystemMessages: RuntimeParameter<Bool>
        let maxMessageCount: RuntimeParameter<Int>?
        let varyBy: [RuntimeParameter<String>]

        func run(_ execution: PolicyExecution, _ step: CompiledStep) async throws -> Flow {
            let state = execution.state
            let ignore = try execution.bool(ignoreSystemMessages, step)
            let limit = try maxMessageCount.map { try execution.int($0, step, in: 1...Int(Int32.max)) }
            var partition = ""
            func append(_ part: String) { partition += String(part.utf8.count) + ":" + part }  // length-prefixed: no collisions
            append(state.identity.apiId)
            append(state.identity.operationId)
            for parameter in varyBy { append(try execution.string(parameter, step)) }
            let llm = execution.llmExchange()
            append(llm.request.streams ? "stream" : "whole")
            let messages = llm.request.messages.filter { !(ignore && $0.role == "system") }
            if let limit, messages.count > limit {
                state.record(.info, "\(step.name): \(messages.count) messages exceed max-message-count \(limit): not cached")
                return .proceed
            }
            let prompt = messages.map(\.text).filter { !$0.isEmpty }.joined(separator: "\n")
            guard !prompt.isEmpty else {
                state.record(.info, "\(step.name): no prompt text: not cached")
                return .proceed
            }
            guard let base = AIServiceCall.backend(backendID, execution) else {
                state.record(.info, "\(step.name): no backend '\(backendID)': not cached")
                return .proceed
            }
            let url = base.path.hasSuffix("/embeddings") ? base.absoluteString : AIServiceCall.url(base, appending: "/embeddings", query: "")
            let vector: [Float]
            do {
                let answer = try await AIServiceCall.post(url, ["input": prompt], execution)
                guard let first = (answer["data"] as? [Any])?.first as? [String: Any], let numbers = first["embedding"] as? [Any],
                      numbers.count <= SemanticResponseCache.maximumDimensions
                else {
                    state.record(.info, "\(step.name): the embeddings answer holds no 'data[0].embedding': not cached")
                    return .proceed
                }
                vector = numbers.compactMap { ($0 as? NSNumber)?.floatValue }
                guard vector.count == numbers.count, SemanticResponseCache.norm(vector) != nil else {
                    state.record(.info, "\(step.name): the embedding is not a usable vector: not cached")
                    return .proceed
                }
            } catch {
                state.record(.info, "\(step.name): embeddings call failed (\(AIServiceCall.describe(error))): not cached")
                return .proceed
            }
            if let (cached, distance) = execution.options.semanticCache.lookup(partition: partition, vector: vector, maximumDistance: threshold) {
                state.record(.info, "\(step.name): semantic cache hit (score \(distance))")
                state.status = cached.status
                state.reason = cached.reason
                state.responseHeaders = cached.headers
                state.responseBody = MessageBodyObject(cached.body)
                state.backendBody = nil
                return .stop
            }
            state.record(.info, "\(step.name): semantic cache miss")
            llm.semanticCachePending = SemanticCachePending(partition: partition, vector: vector)
            return .proceed
        }
    }

    func compile(_ compiler: inout StepCompiler, _ statement: PolicyStatement) -> (any WaitingPolicyStep)? {
        compiler.readsMessageBody()
        guard compiler.semanticCacheOnce(statement, "lookup") else { return nil }
        if compiler.backends[embeddingsBackendID] == nil {
            let known = compiler.backends.keys.sorted()
            compiler.diagnostics.append(PolicyDiagnostic(
                at: statement.position,
                "unknown embeddings-backend-id '\(embeddingsBackendID)' in '<\(statement.name)>'"
                    + (known.isEmpty ? " (no backends are configured)" : "; configured: \(known.joined(separator: ", "))")))
            return nil
        }
        guard let ignore = compiler.parameter(ignoreSystemMessages), let vary = compiler.parameters(varyBy) else { return nil }
        var limit: RuntimeParameter<Int>? = nil
        if let maxMessageCount {
            guard let made = compiler.parameter(maxMessageCount) else { return nil }
            limit = made
        }
        return Step(threshold: scoreThreshold, backendID: embeddingsBackendID, ignoreSystemMessages: ignore, maxMessageCount: limit, varyBy: vary)
    }
}

extension LLMSemanticCacheStorePolicy {
    struct Step: WaitingPolicyStep {
        let duration: RuntimeParameter<Int>
        let cacheResponse: RuntimeParameter<Bool>

        func run(_ execution: PolicyExecution, _ step: CompiledStep) async throws -> Flow {
            let seconds = try execution.int(duration, step, in: 1...Int(Int32.max))
            let always = try execution.bool(cacheResponse, step)
            let state = execution.state
            guard let pending = execution.llm?.semanticCachePending else {
                state.record(.info, "\(step.name): no semantic cache lookup missed for this request: nothing stored")
                return .proceed
            }
            execution.llm?.semanticCachePending = nil
            guard always || state.status == 200, let body = execution.sectionBody() else {
                state.record(.info, "\(step.name): status \(state.status) is not stored")
                return .proceed
            }
            let response = CachedResponse(
                status: state.status, reason: state.reason, headers: state.responseHeaders, body: body,
                expires: Date().addingTimeInterval(TimeInterval(min(seconds, InternalPolicyCache.maximumDuration))))
            execution.options.semanticCache.store(partition: pending.partition, vector: pending.vector, response: response, duration: seconds)
            state.record(.info, "\(step.name): answer stored for \(seconds) s")
            return .proceed
        }
    }

    func compile(_ compiler: inout StepCompiler, _ statement: PolicyStatement) -> (any WaitingPolicyStep)? {
        compiler.readsMessageBody()
        guard compiler.semanticCacheOnce(statement, "store") else { return nil }
        guard let duration = compiler.parameter(duration), let cacheResponse = compiler.parameter(cacheResponse) else { return nil }
        return Step(duration: duration, cacheResponse: cacheResponse)
    }
}

extension StepCompiler {
    /// APIM: each semantic-cache policy "can only be used once in a policy section" (of the effective policy).
    mutating func semanticCacheOnce(_ statement: PolicyStatement, _ kind: String) -> Bool {
        guard semanticCachePolicies.insert(kind).inserted else {
            diagnostics.append(PolicyDiagnostic(
                at: statement.position, "'<\(statement.name)>' may be used only once in a policy section (another semantic cache \(kind) comes first)"))
            return false
        }
        return true
    }
}
