import Foundation
import Testing

@testable import Policies

/// An OpenAI-compatible chat completion request and answers, as the AI-gateway tests send them.
enum ChatFixtures {
    static func request(_ content: String = "Say hello", system: String? = nil, stream: Bool = false) -> String {
        var messages: [String] = []
        if let system { messages.append(#"{"role":"system","content":"\#(system)"}"#) }
        messages.append(#"{"role":"user","content":"\#(content)"}"#)
        return #"{"model":"gpt-4o","messages":[\#(messages.joined(separator: ","))]\#(stream ? #","stream":true"# : "")}"#
    }

    static func answer(prompt: Int, completion: Int, text: String = "Hello!") -> String {
        #"{"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"\#(text)"},"finish_reason":"stop"}],"usage":{"prompt_tokens":\#(prompt),"completion_tokens":\#(completion),"total_tokens":\#(prompt + completion)}}"#
    }

    /// A streamed answer: content events, then (optionally) the usage event, then `[DONE]`.
    static func stream(_ pieces: [String], usage: (prompt: Int, completion: Int)?) -> String {
        var events = pieces.map { #"data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"\#($0)"}}]}"# + "\n\n" }
        if let usage {
            events.append(#"data: {"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":\#(usage.prompt),"completion_tokens":\#(usage.completion),"total_tokens":\#(usage.prompt + usage.completion)}}"# + "\n\n")
        }
        events.append("data: [DONE]\n\n")
        return events.joined()
    }

    static let json = [PolicyHeader("Content-Type", "application/json")]
    static let eventStream = [PolicyHeader("Content-Type", "text/event-stream")]
}

@Suite struct LLMTokenLimitRuntimeTests {
    static func post(_ body: String) -> (PolicyRequest, BufferedBody) {
        (request(method: "POST", path: "/echo/chat/completions", headers: [PolicyHeader("Content-Type", "application/json")]), BufferedBody(body))
    }

    static func run(_ pipeline: PolicyPipeline, _ body: String = ChatFixtures.request(), backend: RecordingBackend) async -> PolicyResult {
        let (req, payload) = post(body)
        return await pipeline.run(req, body: payload, backend: backend)
    }

    @Test func theAnswersUsageIsChargedAndTheNextCallOverTheLimitGets429() async throws {
        let options = PolicyPipelineOptions(counters: PolicyCounters())
        let limited = try pipeline(document(inbound: """
            <llm-token-limit counter-key="@(context.Request.IpAddress)" tokens-per-minute="100" estimate-prompt-tokens="false"
                remaining-tokens-header-name="x-remaining" tokens-consumed-header-name="x-consumed" tokens-consumed-variable-name="consumed" />
            """, outbound: #"<set-header name="x-seen" exists-action="override"><value>@(context.Variables.GetValueOrDefault<int>("consumed", -1).ToString())</value></set-header>"#),
            options: options)
        let backend = RecordingBackend(headers: ChatFixtures.json, body: ChatFixtures.answer(prompt: 40, completion: 30))
        let first = await Self.run(limited, backend: backend)
        #expect(first.status == 200)
        #expect(first.header("x-remaining") == "100")
        #expect(first.header("x-consumed") == "70")
        #expect(first.header("x-seen") == "70")  // outbound sees the reported count
        let second = await Self.run(limited, backend: backend)
        #expect(second.status == 200)
        #expect(second.header("x-remaining") == "30")
        // 140 of 100 used: refused until the minute renews, without calling the backend.
        let third = await Self.run(limited, backend: backend)
        #expect(third.status == 429)
        #expect(third.lastError?.reason == "TokenLimitExceeded")
        let retryAfter = try #require(third.header("Retry-After").flatMap(Int.init))
        #expect((1...60).contains(retryAfter))
        #expect(third.bodyText?.contains("Token limit is exceeded. Try again in \(retryAfter) seconds.") == true, "\(third.bodyText ?? "")")
        #expect(backend.requests.count == 2)
        // Another key has its own counter.
        let otherRequest = request(method: "POST", path: "/echo/chat/completions", clientIP: "10.0.0.9")
        let payload = BufferedBody(ChatFixtures.request())
        #expect(await limited.run(otherRequest, body: payload, backend: backend).status == 200)
    }

    @Test func theCountersAreTheGatewaysAndSurviveAReload() async throws {
        let counters = PolicyCounters()
        let xml = document(inbound: #"<azure-openai-token-limit counter-key="k" tokens-per-minute="50" estimate-prompt-tokens="false" />"#)
        let backend = RecordingBackend(headers: ChatFixtures.json, body: ChatFixtures.answer(prompt: 30, completion: 30))
        let before = try pipeline(xml, options: PolicyPipelineOptions(counters: counters))
        #expect(await Self.run(before, backend: backend).status == 200)
        // The same statement in a new pipeline (a reload), even renamed to its llm- form, shares the key's counter.
        let after = try pipeline(document(inbound: #"<llm-token-limit counter-key="k" tokens-per-minute="50" />"#), options: PolicyPipelineOptions(counters: counters))
        let refused = await Self.run(after, backend: backend)
        #expect(refused.status == 429)
        #expect(refused.lastError?.source == "llm-token-limit")
    }

    @Test func anEstimatedPromptOverTheLimitIsRefusedBeforeTheBackend() async throws {
        let options = PolicyPipelineOptions(counters: PolicyCounters())
        let limited = try pipeline(document(inbound: """
            <llm-token-limit counter-key="k" tokens-per-minute="20" estimate-prompt-tokens="true" tokens-consumed-variable-name="consumed"
                remaining-tokens-variable-name="left" retry-after-header-name="x-retry" retry-after-variable-name="retry" />
            <set-header name="x-estimate" exists-action="override"><value>@(((int)context.Variables["consumed"]).ToString())</value></set-header>
            <set-header name="x-left" exists-action="override"><value>@(((int)context.Variables["left"]).ToString())</value></set-header>
            """), options: options)
        let backend = RecordingBackend(headers: ChatFixtures.json, body: ChatFixtures.answer(prompt: 9, completion: 1))
        // "Say hello": 9 characters → 3 tokens, + 3 for the message + 3 for the answer's priming = 9.
        #expect(LLMRequest.parse(Array(ChatFixtures.request().utf8)).estimatedPromptTokens == 9)
        let admitted = await Self.run(limited, backend: backend)
        #expect(admitted.status == 200)
        #expect(backend.requests.first?.headers.first { $0.name == "x-estimate" }?.value == "9")
        #expect(backend.requests.first?.headers.first { $0.name == "x-left" }?.value == "11")
        // 10 used (the estimate 9 corrected to the reported 10); a 100-character prompt is estimated at 31 > 10 left.
        let long = await Self.run(limited, ChatFixtures.request(String(repeating: "a", count: 100)), backend: backend)
        #expect(long.status == 429)
        #expect(long.header("x-retry") != nil && long.header("Retry-After") == nil)
        #expect(backend.requests.count == 1)
        // A small one still fits.
        #expect(await Self.run(limited, backend: backend).status == 200)
    }

    @Test func aStreamedAnswerIsChargedWhenItEndsFromItsUsageEvent() async throws {
        let options = PolicyPipelineOptions(counters: PolicyCounters())
        let limited = try pipeline(document(inbound: #"<llm-token-limit counter-key="k" tokens-per-minute="1000" remaining-tokens-header-name="x-left" />"#),
                                   options: options)
        let backend = RecordingBackend(headers: ChatFixtures.eventStream, body: ChatFixtures.stream(["Hel", "lo"], usage: (prompt: 12, completion: 88)))
        let first = await Self.run(limited, ChatFixtures.request(stream: true), backend: backend)
        #expect(first.status == 200)
        // A stream's prompt is always estimated (9) and charged before the call.
        #expect(first.header("x-left") == "991")
        // The body still streams (it is the backend's, watched), and is charged as it ends.
        guard case .backend(let body) = first.body else { Issue.record("the stream was buffered"); return }
        #expect(body is ObservedResponseBody)
        let relayed = try await body.collect(upTo: 1 << 20)
        #expect(String(decoding: relayed, as: UTF8.self) == ChatFixtures.stream(["Hel", "lo"], usage: (prompt: 12, completion: 88)))
        let second = await Self.run(limited, ChatFixtures.request(stream: true), backend: backend)
        #expect(second.header("x-left") == "891")  // 1000 - 100 reported - 9 estimated for this one
    }

    @Test func aStreamWithoutUsageIsEstimated() async throws {
        let options = PolicyPipelineOptions(counters: PolicyCounters())
        let limited = try pipeline(document(inbound: #"<llm-token-limit counter-key="k" tokens-per-minute="1000" remaining-tokens-header-name="x-left" />"#),
                                   options: options)
        // 40 characters of content: 10 tokens, plus the prompt's 9.
        let backend = RecordingBackend(headers: ChatFixtures.eventStream, body: ChatFixtures.stream([String(repeating: "x", count: 20), String(repeating: "y", count: 20)], usage: nil))
        let first = await Self.run(limited, ChatFixtures.request(stream: true), backend: backend)
        guard case .backend(let body) = first.body else { Issue.record("the stream was buffered"); return }
        _ = try await body.collect(upTo: 1 << 20)
        let second = await Self.run(limited, ChatFixtures.request(stream: true), backend: backend)
        #expect(second.header("x-left") == "\(1000 - 19 - 9)")
    }

    @Test func theQuotaIsRefusedWith403UntilItsPeriodRenews() async throws {
        let options = PolicyPipelineOptions(counters: PolicyCounters())
        let limited = try pipeline(document(inbound: """
            <llm-token-limit counter-key="@(context.Request.IpAddress)" token-quota="100" token-quota-period="Daily"
                remaining-quota-tokens-header-name="x-quota" remaining-quota-tokens-variable-name="quota" />
            """), options: options)
        let backend = RecordingBackend(headers: ChatFixtures.json, body: ChatFixtures.answer(prompt: 50, completion: 60))
        let first = await Self.run(limited, backend: backend)
        #expect(first.header("x-quota") == "100")
        let refused = await Self.run(limited, backend: backend)
        #expect(refused.status == 403)
        #expect(refused.lastError?.reason == "TokenQuotaExceeded")
        #expect(refused.bodyText?.contains("Out of token quota. Quota will be replenished in ") == true, "\(refused.bodyText ?? "")")
        let retryAfter = try #require(refused.header("Retry-After").flatMap(Int.init))
        #expect((1...86_400).contains(retryAfter))
        #expect(backend.requests.count == 1)
    }

    @Test func anAnswerWithoutUsageLeavesTheEstimateCharged() async throws {
        let options = PolicyPipelineOptions(counters: PolicyCounters())
        let limited = try pipeline(document(inbound: #"<llm-token-limit counter-key="k" tokens-per-minute="100" estimate-prompt-tokens="true" remaining-tokens-header-name="x-left" />"#),
                                   options: options)
        let backend = RecordingBackend(status: 500, headers: ChatFixtures.json, body: #"{"error":{"message":"boom"}}"#)
        #expect(await Self.run(limited, backend: backend).status == 500)
        #expect(await Self.run(limited, backend: backend).header("x-left") == "82")  // 100 - 9 kept - 9 for this one
    }

    @Test func quotaPeriodsAreCalendarWindows() throws {
        // 2024-02-29T13:45:10Z, a Thursday.
        let now = Date(timeIntervalSince1970: 1_709_214_310)
        typealias Period = LLMTokenLimitPolicy.QuotaPeriod
        #expect(Period.hourly.window(at: now).start == Date(timeIntervalSince1970: 1_709_211_600))
        #expect(Period.daily.window(at: now).start == Date(timeIntervalSince1970: 1_709_164_800))
        #expect(Period.weekly.window(at: now) == (Date(timeIntervalSince1970: 1_708_905_600), 604_800))  // Monday 26 Feb
        #expect(Period.monthly.window(at: now) == (Date(timeIntervalSince1970: 1_706_745_600), 29 * 86_400))  // leap February
        #expect(Period.yearly.window(at: now) == (Date(timeIntervalSince1970: 1_704_067_200), 366 * 86_400))
    }

    @Test func loadTimeErrors() {
        #expect(loadErrors(#"<llm-token-limit counter-key="k" />"#).contains { $0.contains("requires 'tokens-per-minute', or 'token-quota' with 'token-quota-period'") })
        #expect(loadErrors(#"<llm-token-limit counter-key="k" token-quota="5" />"#).contains { $0.contains("needs both 'token-quota' and 'token-quota-period'") })
        #expect(loadErrors(#"<llm-token-limit counter-key="k" token-quota="5" token-quota-period="Minutely" />"#).contains { $0.contains("'Hourly'") })
        #expect(loadErrors(#"<llm-token-limit counter-key="k" tokens-per-minute="0" />"#).contains { $0.contains("at least 1") })
        #expect(loadErrors(#"<llm-token-limit tokens-per-minute="5" />"#).contains { $0.contains("counter-key") })
        #expect(loadErrors(#"<azure-openai-token-limit counter-key="k" tokens-per-minute="5" token-quota="@(5)" token-quota-period="Daily" />"#)
            .contains { $0.contains("does not allow policy expressions") })
        #expect(loadErrors(#"<llm-token-limit counter-key="k" tokens-per-minute="5" />"#, section: .outbound).contains { $0.contains("is not allowed in '<outbound>'") })
        #expect(loadErrors(#"<llm-token-limit counter-key="k" tokens-per-minute="5" remaining-tokens-header-name="@(&quot;x&quot;)" />"#)
            .contains { $0.contains("does not allow policy expressions") })
    }
}

@Suite struct LLMEmitTokenMetricRuntimeTests {
    @Test func totalPromptAndCompletionTokensAreRecordedWithTheDimensions() async throws {
        let metrics = RecordingMetrics()
        let xml = document(inbound: """
            <llm-emit-token-metric namespace="MyLLM">
                <dimension name="API ID" />
                <dimension name="Client IP" value="@(context.Request.IpAddress)" />
            </llm-emit-token-metric>
            """)
        let backend = RecordingBackend(headers: ChatFixtures.json, body: ChatFixtures.answer(prompt: 11, completion: 22))
        let (req, body) = LLMTokenLimitRuntimeTests.post(ChatFixtures.request())
        let result = await (try pipeline(xml, options: PolicyPipelineOptions(metrics: metrics))).run(req, body: body, backend: backend)
        #expect(result.status == 200)
        #expect(result.bodyText == ChatFixtures.answer(prompt: 11, completion: 22))
        let dimensions: [PolicyMetric.Dimension] = [.init(name: "API ID", value: "echo"), .init(name: "Client IP", value: "10.0.0.5")]
        #expect(metrics.recorded == [
            PolicyMetric(name: "Total Tokens", namespace: "MyLLM", value: 33, dimensions: dimensions),
            PolicyMetric(name: "Prompt Tokens", namespace: "MyLLM", value: 11, dimensions: dimensions),
            PolicyMetric(name: "Completion Tokens", namespace: "MyLLM", value: 22, dimensions: dimensions),
        ])
    }

    @Test func aStreamedAnswerIsRecordedWhenItEnds() async throws {
        let metrics = RecordingMetrics()
        let xml = document(inbound: #"<azure-openai-emit-token-metric><dimension name="API ID" /></azure-openai-emit-token-metric>"#)
        let backend = RecordingBackend(headers: ChatFixtures.eventStream, body: ChatFixtures.stream(["a", "b"], usage: (prompt: 5, completion: 2)))
        let (req, body) = LLMTokenLimitRuntimeTests.post(ChatFixtures.request(stream: true))
        let result = await (try pipeline(xml, options: PolicyPipelineOptions(metrics: metrics))).run(req, body: body, backend: backend)
        #expect(metrics.recorded.isEmpty)  // not before the stream ended
        guard case .backend(let streamed) = result.body else { Issue.record("the stream was buffered"); return }
        _ = try await streamed.collect(upTo: 1 << 20)
        #expect(metrics.recorded.map(\.value) == [7, 5, 2])
        #expect(metrics.recorded.first?.namespace == "API Management")
    }

    @Test func loadTimeErrors() {
        #expect(loadErrors("<llm-emit-token-metric />").contains { $0.contains("at least one '<dimension>'") })
        #expect(loadErrors(#"<llm-emit-token-metric><dimension name="Custom" /></llm-emit-token-metric>"#).contains { $0.contains("needs a 'value'") })
        let six = (0..<6).map { "<dimension name=\"d\($0)\" value=\"v\" />" }.joined()
        #expect(loadErrors("<llm-emit-token-metric>\(six)</llm-emit-token-metric>").contains { $0.contains("at most 5 are allowed") })
        #expect(loadErrors(#"<llm-emit-token-metric namespace="@(&quot;n&quot;)"><dimension name="API ID" /></llm-emit-token-metric>"#)
            .contains { $0.contains("does not allow policy expressions") })
    }
}

@Suite struct LLMUsageParsingTests {
    @Test func requestsOfTheOpenAIShapes() {
        let chat = LLMRequest.parse(Array(#"{"messages":[{"role":"system","content":"Be brief"},{"role":"user","content":[{"type":"text","text":"Hi"},{"type":"image_url","image_url":{"url":"x"}}]}],"stream":true}"#.utf8))
        #expect(chat.messages.map(\.role) == ["system", "user"])
        #expect(chat.messages.map(\.text) == ["Be brief", "Hi"])
        #expect(chat.streams)
        #expect(LLMRequest.parse(Array(#"{"prompt":"Once upon"}"#.utf8)).allText == "Once upon")
        #expect(LLMRequest.parse(Array(#"{"input":["a","b"]}"#.utf8)).allText == "a\nb")
        #expect(LLMRequest.parse(Array("not json".utf8)).messages.isEmpty)
        #expect(LLMRequest.parse(nil).estimatedPromptTokens == 0)
    }

    @Test func theEventStreamScannerFindsTheUsageAcrossChunksAndSkipsHugeLines() {
        let text = ChatFixtures.stream(["Hello", " world"], usage: (prompt: 3, completion: 4))
        var scanner = LLMEventStreamScanner()
        for byte in text.utf8 { scanner.feed([byte]) }  // one byte at a time
        scanner.finish()
        #expect(scanner.usage == LLMUsage(promptTokens: 3, completionTokens: 4))
        #expect(scanner.contentCharacters == 11)
        var huge = LLMEventStreamScanner()
        huge.feed(Array("data: {\"usage\":{\"total_tokens\":5},\"pad\":\"".utf8) + [UInt8](repeating: 0x61, count: LLMEventStreamScanner.maximumLineBytes) + Array("\"}\n".utf8))
        huge.finish()
        #expect(huge.usage == nil)
        // Hostile counts are clamped, never trapping.
        #expect(LLMUsage.from(["usage": ["prompt_tokens": 1e300, "completion_tokens": -5]]) == LLMUsage(promptTokens: LLMUsage.maximumCount, completionTokens: 0))
    }
}
