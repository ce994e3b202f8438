import Foundation
import PolicyExpressions

/// `<llm-token-limit counter-key="…" [tokens-per-minute="…"] [token-quota="…" token-quota-period="Hourly|Daily|Weekly|Monthly|Yearly"]
/// [estimate-prompt-tokens="false"] [retry-after-header-name] [retry-after-variable-name] [remaining-tokens-header-name]
/// [remaining-tokens-variable-name] [remaining-quota-tokens-header-name] [remaining-quota-tokens-variable-name]
/// [tokens-consumed-header-name] [tokens-consumed-variable-name]/>` (inbound): language-model tokens per key, per minute
/// (429 with `Retry-After` over it) and per quota period (403 over it).
///
/// Counting: the tokens of the answer's `usage` (`total_tokens`, or prompt plus completion) are charged to
/// the key's counters once the answer arrives — a JSON answer before outbound runs, a `text/event-stream`
/// answer when it ends (its last event carrying a `usage`, else an estimate of its content). With
/// `estimate-prompt-tokens` (and always for `"stream": true`, as in APIM) the prompt is estimated
/// (`LLMRequest.estimatedPromptTokens`) before the call: a request whose estimate does not fit is refused
/// without calling the backend, and the estimate is charged at once, then corrected by the reported usage.
/// A call is admitted while the counters are under their limits, so the answer that crosses a limit
/// completes and the next calls wait (as APIM documents for `estimate-prompt-tokens="false"`).
///
/// One counter per key value for every scope and statement (APIM: "a single counter is used for all
/// scopes"), `llm-token-limit` and its alias `azure-openai-token-limit` alike, kept in the gateway's
/// `PolicyCounters` (across reloads, bounded in keys).
public struct LLMTokenLimitPolicy: Sendable, PolicyDefinition {
    public enum QuotaPeriod: String, Sendable, CaseIterable {
        case hourly = "Hourly", daily = "Daily", weekly = "Weekly", monthly = "Monthly", yearly = "Yearly"
    }

    public let counterKey: PolicyParameter<String>
    public let tokensPerMinute: PolicyParameter<Int>?
    public let tokenQuota: Int?
    public let tokenQuotaPeriod: QuotaPeriod?
    public let estimatePromptTokens: PolicyParameter<Bool>
    public let retryAfterHeaderName: String?
    public let retryAfterVariableName: String?
    public let remainingTokensHeaderName: String?
    public let remainingTokensVariableName: String?
    public let remainingQuotaTokensHeaderName: String?
    public let remainingQuotaTokensVariableName: String?
    public let tokensConsumedHeaderName: String?
    public let tokensConsumedVariableName: String?

    /// The declaration under `name` (`llm-token-limit`, or its alias `azure-openai-token-limit`).
    static func declaration(named name: String) -> PolicySchema {
        PolicySchema(
            name, sections: [.inbound],
            attributes: [
                PolicyAttributeSpec("counter-key", .nonEmptyText, required: true),
                PolicyAttributeSpec("tokens-per-minute", .integer(1...Int.max)),
                PolicyAttributeSpec("token-quota", .integer(1...Int.max), expressions: false),
                PolicyAttributeSpec("token-quota-period", .choice(QuotaPeriod.allCases.map(\.rawValue)), expressions: false),
                // APIM's table says "required", its own second example leaves it out: false when absent.
                PolicyAttributeSpec("estimate-prompt-tokens", .boolean, default: "false"),
                PolicyAttributeSpec("retry-after-header-name", .nonEmptyText, expressions: false),
                PolicyAttributeSpec("retry-after-variable-name", .nonEmptyText, expressions: false),
                PolicyAttributeSpec("remaining-tokens-header-name", .nonEmptyText, expressions: false),
                PolicyAttributeSpec("remaining-tokens-variable-name", .nonEmptyText, expressions: false),
                PolicyAttributeSpec("remaining-quota-tokens-header-name", .nonEmptyText, expressions: false),
                PolicyAttributeSpec("remaining-quota-tokens-variable-name", .nonEmptyText, expressions: false),
                PolicyAttributeSpec("tokens-consumed-header-name", .nonEmptyText, expressions: false),
                PolicyAttributeSpec("tokens-consumed-variable-name", .nonEmptyText, expressions: false),
            ])
    }

    static let schema: PolicySchema = declaration(named: "llm-token-limit")

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        make(reader).map(Policy.llmTokenLimit)
    }

    static func make(_ reader: PolicyElementReader) -> LLMTokenLimitPolicy? {
        let hasRate = reader.element.attribute("tokens-per-minute") != nil
        let hasQuota = reader.element.attribute("token-quota") != nil
        let hasPeriod = reader.element.attribute("token-quota-period") != nil
        if hasQuota != hasPeriod {
            reader.error("\(reader.tag) needs both 'token-quota' and 'token-quota-period' (or neither)")
        } else if !hasRate && !hasQuota {
            reader.error("\(reader.tag) requires 'tokens-per-minute', or 'token-quota' with 'token-quota-period'")
        }
        var rate: PolicyParameter<Int>? = nil
        if hasRate {
            guard let made = reader.integer("tokens-per-minute") else { return nil }
            rate = made
        }
        var quota: Int? = nil
        if hasQuota {
            guard let literal = reader.literal("token-quota"), let value = Int(ASCII.trimmingWhitespace(literal)), value >= 1 else { return nil }
            quota = value
        }
        let period = reader.literal("token-quota-period").flatMap(QuotaPeriod.init(rawValue:))
        guard let key = reader.string("counter-key"), let estimate = reader.boolean("estimate-prompt-tokens"), reader.isValid else { return nil }
        return LLMTokenLimitPolicy(
            counterKey: key, tokensPerMinute: rate, tokenQuota: quota, tokenQuotaPeriod: hasQuota ? period : nil,
            estimatePromptTokens: estimate,
            retryAfterHeaderName: reader.literal("retry-after-header-name"), retryAfterVariableName: reader.literal("retry-after-variable-name"),
            remainingTokensHeaderName: reader.literal("remaining-tokens-header-name"),
            remainingTokensVariableName: reader.literal("remaining-tokens-variable-name"),
            remainingQuotaTokensHeaderName: reader.literal("remaining-quota-tokens-header-name"),
            remainingQuotaTokensVariableName: reader.literal("remaining-quota-tokens-variable-name"),
            tokensConsumedHeaderName: reader.literal("tokens-consumed-header-name"),
            tokensConsumedVariableName: reader.literal("tokens-consumed-variable-name"))
    }
}

/// `azure-openai-token-limit`: APIM's earlier name of `llm-token-limit`, the same policy (one
/// implementation, `LLMTokenLimitPolicy`; it accepts the `llm-token-limit` attributes, quota included).
struct AzureOpenAITokenLimitPolicy: PolicyDefinition {
    static let schema = LLMTokenLimitPolicy.declaration(named: "azure-openai-token-limit")
    static func parse(_ reader: PolicyElementReader) -> Policy? { LLMTokenLimitPolicy.parse(reader) }
}

// MARK: Run

extension LLMTokenLimitPolicy.QuotaPeriod {
    /// The fixed window (UTC) holding `now`: hours, days, ISO weeks (from Monday), calendar months and years.
    func window(at now: Date) -> (start: Date, seconds: Int) {
        let epoch = now.timeIntervalSince1970
        func fixed(_ length: Double, offset: Double = 0) -> (Date, Int) {
            let start = ((epoch - offset) / length).rounded(.down) * length + offset
            return (Date(timeIntervalSince1970: start), Int(length))
        }
        switch self {
        case .hourly: return fixed(3600)
        case .daily: return fixed(86_400)
        case .weekly: return fixed(604_800, offset: 345_600)  // 1970-01-05 was a Monday
        case .monthly, .yearly:
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
            let parts = calendar.dateComponents(self == .monthly ? [.year, .month] : [.year], from: now)
            guard let start = calendar.date(from: parts),
                  let end = calendar.date(byAdding: self == .monthly ? .month : .year, value: 1, to: start)
            else { return fixed(self == .monthly ? 2_592_000 : 31_536_000) }
            return (start, max(1, Int(end.timeIntervalSince(start))))
        }
    }
}

extension LLMTokenLimitPolicy {
    struct Step: SynchronousPolicyStep {
        let key: RuntimeParameter<String>
        let tokensPerMinute: RuntimeParameter<Int>?
        let estimate: RuntimeParameter<Bool>
        let policy: LLMTokenLimitPolicy

        /// The counters, shared by every statement and scope for one key value.
        static func rateKey(_ key: String) -> String { "llm-token-limit|minute|" + key }
        static func quotaKey(_ period: QuotaPeriod, _ key: String) -> String { "llm-token-limit|\(period.rawValue)|" + key }

        func run(_ execution: PolicyExecution, _ step: CompiledStep) throws -> Flow {
            let key = try execution.string(self.key, step)
            let perMinute = try tokensPerMinute.map { try execution.int($0, step, in: 1...Int.max) }
            let estimates = try execution.bool(estimate, step)
            let llm = execution.llmExchange()
            // APIM estimates a streamed request's prompt whatever the attribute says.
            let charged = estimates || llm.request.streams ? llm.promptEstimate : 0
            let counters = execution.options.counters
            let policy = self.policy

            var remainingRate: Int? = nil
            if let perMinute {
                let (count, renewsIn) = counters.peek(Self.rateKey(key), period: 60)
                if count >= perMinute || (charged > 0 && charged > perMinute - count) {
                    throw refusal(renewsIn, execution, step, status: 429, reason: "TokenLimitExceeded",
                                  message: "Token limit is exceeded. Try again in \(renewsIn) seconds.")
                }
                remainingRate = perMinute - count - charged
            }
            var quotaWindow: (start: Date, seconds: Int)? = nil
            var remainingQuota: Int? = nil
            if let quota = policy.tokenQuota, let period = policy.tokenQuotaPeriod {
                let window = period.window(at: Date())
                quotaWindow = window
                let (count, renewsIn) = counters.peek(Self.quotaKey(period, key), period: window.seconds, anchor: window.start)
                if count >= quota || (charged > 0 && charged > quota - count) {
                    throw refusal(renewsIn, execution, step, status: 403, reason: "TokenQuotaExceeded",
                                  message: "Out of token quota. Quota will be replenished in \(BandwidthQuota.time(renewsIn)).")
                }
                remainingQuota = quota - count - charged
            }
            let period = policy.tokenQuotaPeriod
            let window = quotaWindow
            // Each counter once per request: another statement (another scope) with the same key checks its own
            // limit against the counter but does not count the same tokens again.
            let chargesRate = perMinute != nil && llm.claim(Self.rateKey(key))
            let chargesQuota = period.map { llm.claim(Self.quotaKey($0, key)) } ?? false
            @Sendable func charge(_ amount: Int) {
                guard amount != 0 else { return }
                if chargesRate { counters.add(Self.rateKey(key), amount: amount, period: 60) }
                if chargesQuota, let period, let window {
                    counters.add(Self.quotaKey(period, key), amount: amount, period: window.seconds, anchor: window.start)
                }
            }
            charge(charged)

            if let remainingRate {
                if let name = policy.remainingTokensHeaderName { execution.extraResponseHeaders.append(PolicyHeader(name, String(remainingRate))) }
                if let name = policy.remainingTokensVariableName { execution.state.variables.set(.string(name), .int(Int32(clamping: remainingRate))) }
            }
            if let remainingQuota {
                if let name = policy.remainingQuotaTokensHeaderName { execution.extraResponseHeaders.append(PolicyHeader(name, String(remainingQuota))) }
                if let name = policy.remainingQuotaTokensVariableName {
                    execution.state.variables.set(.string(name), .int(Int32(clamping: remainingQuota)))
                }
            }
            if let name = policy.tokensConsumedVariableName { execution.state.variables.set(.string(name), .int(Int32(clamping: charged))) }
            execution.state.record(.info, "\(step.name): \(charged) prompt tokens estimated and charged")

            llm.onUsage { usage, execution in
                // No usage in the answer: what was charged (the estimate, or nothing) stands.
                guard let usage else { return }
                charge(usage.totalTokens - charged)
                guard let execution else { return }
                if let name = policy.tokensConsumedHeaderName {
                    execution.extraResponseHeaders.append(PolicyHeader(name, String(usage.totalTokens)))
                }
                if let name = policy.tokensConsumedVariableName {
                    execution.state.variables.set(.string(name), .int(Int32(clamping: usage.totalTokens)))
                }
            }
            return .proceed
        }

        /// Over a limit: `Retry-After` (or the named header) and variable, and APIM's failure.
        func refusal(_ renewsIn: Int, _ execution: PolicyExecution, _ step: CompiledStep, status: Int, reason: String, message: String) -> PolicyFailure {
            execution.extraResponseHeaders.append(PolicyHeader(policy.retryAfterHeaderName ?? "Retry-After", String(renewsIn)))
            if let name = policy.retryAfterVariableName { execution.state.variables.set(.string(name), .int(Int32(clamping: renewsIn))) }
            return PolicyFailure(source: step.name, reason: reason, message: message, status: status, clientMessage: message)
        }
    }

    func compile(_ compiler: inout StepCompiler) -> (any SynchronousPolicyStep)? {
        // The prompt (and `"stream"`) is read from the request body.
        compiler.readsMessageBody()
        compiler.observesLLMResponse = true
        guard let key = compiler.parameter(counterKey), let estimate = compiler.parameter(estimatePromptTokens) else { return nil }
        var rate: RuntimeParameter<Int>? = nil
        if let tokensPerMinute {
            guard let made = compiler.parameter(tokensPerMinute) else { return nil }
            rate = made
        }
        return Step(key: key, tokensPerMinute: rate, estimate: estimate, policy: self)
    }
}
