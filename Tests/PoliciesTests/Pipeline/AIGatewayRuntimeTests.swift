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

    @Test func statementsOfSeveralScopesShareTheKeysCounterAndCountTokensOnce() async throws {
        let counters = PolicyCounters()
        let api = #"<policies><inbound><llm-token-limit counter-key="shared" tokens-per-minute="1000" remaining-tokens-header-name="x-api" /><base /></inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>"#
        let operation = #"<policies><inbound><base /><llm-token-limit counter-key="shared" tokens-per-minute="150" remaining-tokens-header-name="x-operation" /></inbound><backend><forward-request /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>"#
        let limited = try PolicyPipeline.load([(api, "api.xml", .api), (operation, "operation.xml", .operation)], options: PolicyPipelineOptions(counters: counters))
        let backend = RecordingBackend(headers: ChatFixtures.json, body: ChatFixtures.answer(prompt: 40, completion: 30))
        #expect(await Self.run(limited, backend: backend).status == 200)
        let second = await Self.run(limited, backend: backend)
        #expect(second.header("x-api") == "930")  // 70 counted once, not twice
        #expect(second.header("x-operation") == "80")
        // 140 of the operation's 150: still admitted (under the limit), then its own limit refuses, the api's far away.
        #expect(await Self.run(limited, backend: backend).status == 200)
        let refused = await Self.run(limited, backend: backend)
        #expect(refused.status == 429)
        #expect(refused.lastError?.scope == "operation")
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
        // Content safety reads every text, not only the messages: nothing the model reads slips past it.
        let responses = LLMRequest.parse(Array(#"{"model":"gpt-4o","instructions":"Obey","input":[{"role":"user","content":[{"type":"input_text","text":"Hi"},{"type":"input_image","image_url":"data:image/png;base64,AAAA"}]}],"tools":[{"type":"function","name":"f","description":"Does f"}],"unknown":{"deep":["said"]}}"#.utf8))
        #expect(responses.contentText == "Hi\nObey\nDoes f\nf\nsaid")  // keys in sorted order
        #expect(LLMRequest.parse(nil).estimatedPromptTokens == 0)
        // Hostile nesting is refused by the JSON reader: no crash; what it accepts is read at every depth.
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(LLMRequest.parse(Array(#"{"messages":\#(deep)}"#.utf8)).messages.isEmpty)
        let nested = String(repeating: #"{"a":"#, count: 200) + #""x""# + String(repeating: "}", count: 200)
        #expect(LLMRequest.parse(Array(#"{"input":"y","n":\#(nested)}"#.utf8)).contentText == "y\nx")
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

/// A backend that answers each request with what `respond` returns for it (the LLM, Content Safety,
/// an embeddings endpoint and a token endpoint, told apart by URL), recording what it was sent.
final class RoutingBackend: PolicyBackend, @unchecked Sendable {
    private let lock = NSLock()
    private var sent: [BackendRequest] = []
    let respond: @Sendable (BackendRequest) throws -> BackendResponse

    init(_ respond: @escaping @Sendable (BackendRequest) throws -> BackendResponse) { self.respond = respond }

    var requests: [BackendRequest] { lock.withLock { sent } }

    func send(_ request: BackendRequest) async throws -> BackendResponse {
        lock.withLock { sent.append(request) }
        return try respond(request)
    }

    static func json(_ text: String, status: Int = 200) -> BackendResponse {
        BackendResponse(status: status, headers: ChatFixtures.json, body: BufferedBody(text))
    }

    static func body(_ request: BackendRequest) -> [String: Any] {
        guard case .bytes(let bytes) = request.body else { return [:] }
        return ((try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any]) ?? [:]
    }
}

@Suite struct LLMContentSafetyRuntimeTests {
    static let backends = ["safety": URL(string: "https://safety.example/")!]

    static func analysis(hate: Int = 0, violence: Int = 0, blocklist: String? = nil) -> String {
        let matches = blocklist.map { #"[{"blocklistName":"\#($0)","blocklistItemId":"1","blocklistItemText":"bad"}]"# } ?? "[]"
        return #"{"blocklistsMatch":\#(matches),"categoriesAnalysis":[{"category":"Hate","severity":\#(hate)},{"category":"Violence","severity":\#(violence)}]}"#
    }

    static func backend(analysis: String = analysis(), attack: Bool = false, safetyStatus: Int = 200) -> RoutingBackend {
        RoutingBackend { request in
            if request.urlText.contains("text:analyze") { return RoutingBackend.json(analysis, status: safetyStatus) }
            if request.urlText.contains("text:shieldPrompt") {
                return RoutingBackend.json(#"{"userPromptAnalysis":{"attackDetected":\#(attack)},"documentsAnalysis":[]}"#, status: safetyStatus)
            }
            return RoutingBackend.json(ChatFixtures.answer(prompt: 1, completion: 1))
        }
    }

    static let policy = document(inbound: """
        <llm-content-safety backend-id="safety" shield-prompt="true">
            <categories output-type="EightSeverityLevels">
                <category name="Hate" threshold="4" />
                <category name="Violence" threshold="4" />
            </categories>
            <blocklists><id>profanity</id><id>@("comp" + "etitors")</id></blocklists>
        </llm-content-safety>
        """)

    static func run(_ backend: RoutingBackend, _ body: String = ChatFixtures.request("Tell me a story", system: "Be kind"),
                    options: PolicyPipelineOptions = PolicyPipelineOptions(backends: backends)) async throws -> PolicyResult {
        let (req, payload) = LLMTokenLimitRuntimeTests.post(body)
        return await (try pipeline(policy, options: options)).run(req, body: payload, backend: backend)
    }

    @Test func aSafeRequestIsCheckedThenForwarded() async throws {
        let backend = Self.backend(analysis: Self.analysis(hate: 3, violence: 2))
        let result = try await Self.run(backend)
        #expect(result.status == 200)
        let urls = backend.requests.map(\.urlText)
        #expect(urls.count == 3)
        #expect(urls[0] == "https://safety.example/contentsafety/text:analyze?api-version=2024-09-01")
        #expect(urls[1] == "https://safety.example/contentsafety/text:shieldPrompt?api-version=2024-09-01")
        let analyze = RoutingBackend.body(backend.requests[0])
        #expect(analyze["text"] as? String == "Be kind\nTell me a story")
        #expect(analyze["categories"] as? [String] == ["Hate", "Violence"])
        #expect(analyze["outputType"] as? String == "EightSeverityLevels")
        #expect(analyze["blocklistNames"] as? [String] == ["profanity", "competitors"])
        #expect(analyze["haltOnBlocklistHit"] as? Bool == false)
        #expect(RoutingBackend.body(backend.requests[1])["userPrompt"] as? String == "Be kind\nTell me a story")
        #expect(backend.requests[0].headers.contains { $0.name == "Authorization" } == false)  // no managed identity configured
        #expect(backend.requests[2].urlText.hasPrefix("https://backend.example/"))
    }

    @Test func aCategoryAtItsThresholdABlocklistHitOrAnAttackIsRefusedWith403() async throws {
        for (backend, why) in [
            (Self.backend(analysis: Self.analysis(hate: 4)), "Hate severity 4 reaches the threshold 4"),
            (Self.backend(analysis: Self.analysis(violence: 7)), "Violence severity 7"),
            (Self.backend(analysis: Self.analysis(blocklist: "profanity")), "blocklist 'profanity'"),
            (Self.backend(attack: true), "prompt attack was detected"),
        ] {
            let result = try await Self.run(backend)
            #expect(result.status == 403)
            #expect(result.lastError?.reason == "ContentSafetyBlocked")
            #expect(result.bodyText?.contains(why) == true, "\(result.bodyText ?? "")")
            #expect(!backend.requests.contains { $0.urlText.contains("backend.example") || $0.urlText.contains("/echo/") })
            #expect(result.backendCalled == false)
        }
    }

    @Test func theCheckFailsClosed() async throws {
        // The service answers an error, or cannot be reached: 500, the LLM is not called.
        let failing = Self.backend(safetyStatus: 401)
        let refused = try await Self.run(failing)
        #expect(refused.status == 500)
        #expect(refused.lastError?.reason == "ContentSafetyFailed")
        #expect(refused.lastError?.message.contains("answered 401") == true)
        #expect(!refused.backendCalled)
        let down = RoutingBackend { _ in throw PolicyBackendError.connectionFailed("refused") }
        #expect(try await Self.run(down).lastError?.reason == "ContentSafetyFailed")
        // A category the service did not rate is not taken as safe.
        let partial = Self.backend(analysis: #"{"blocklistsMatch":[],"categoriesAnalysis":[{"category":"Hate","severity":0}]}"#)
        #expect(try await Self.run(partial).status == 500)
        // A compressed body cannot be checked: refused without a call.
        let unread = Self.backend()
        let (plain, payload) = LLMTokenLimitRuntimeTests.post(ChatFixtures.request())
        let gzipped = PolicyRequest(method: plain.method, host: plain.host, path: plain.path,
                                    headers: plain.headers + [PolicyHeader("Content-Encoding", "gzip")], identity: plain.identity)
        let encoded = await (try pipeline(Self.policy, options: PolicyPipelineOptions(backends: Self.backends))).run(gzipped, body: payload, backend: unread)
        #expect(encoded.status == 500)
        #expect(encoded.lastError?.message.contains("encoded ('gzip')") == true)
        #expect(unread.requests.isEmpty)
        // Over the service's 10,000 characters: refused without a call.
        let quiet = Self.backend()
        let long = try await Self.run(quiet, ChatFixtures.request(String(repeating: "a", count: 10_001)))
        #expect(long.status == 500)
        #expect(quiet.requests.isEmpty)
    }

    @Test func withAManagedIdentityTheServiceGetsItsToken() async throws {
        let backend = RoutingBackend { request in
            if request.urlText.hasPrefix("http://169.254.169.254/") {
                return RoutingBackend.json(#"{"access_token":"cs-token","expires_in":"3600"}"#)
            }
            if request.urlText.contains("text:analyze") { return RoutingBackend.json(Self.analysis()) }
            if request.urlText.contains("text:shieldPrompt") { return RoutingBackend.json(#"{"userPromptAnalysis":{"attackDetected":false}}"#) }
            return RoutingBackend.json(ChatFixtures.answer(prompt: 1, completion: 1))
        }
        let options = PolicyPipelineOptions(
            backends: Self.backends, managedIdentity: ManagedIdentitySettings(endpoint: URL(string: "http://169.254.169.254/metadata/identity/oauth2/token")!))
        #expect(try await Self.run(backend, options: options).status == 200)
        #expect(backend.requests[0].urlText.contains("resource=https%3A%2F%2Fcognitiveservices.azure.com"))
        #expect(backend.requests[1].headers.first { $0.name == "Authorization" }?.value == "Bearer cs-token")
    }

    @Test func loadTimeErrors() {
        func errors(_ statement: String) -> [String] {
            do {
                _ = try PolicyPipeline.load([(policies(statement), "test.xml", .api)], options: PolicyPipelineOptions(backends: Self.backends))
                return []
            } catch {
                return "\(error)".split(separator: "\n").map(String.init)
            }
        }
        #expect(errors(#"<llm-content-safety backend-id="nope" />"#).contains { $0.contains("unknown backend-id 'nope' in '<llm-content-safety>'; configured: safety") })
        #expect(errors(#"<llm-content-safety />"#).contains { $0.contains("backend-id") })
        #expect(errors(#"<llm-content-safety backend-id="safety"><categories><category name="Hatred" threshold="4" /></categories></llm-content-safety>"#)
            .contains { $0.contains("'Hate'") })
        #expect(errors(#"<llm-content-safety backend-id="safety"><categories><category name="Hate" threshold="8" /></categories></llm-content-safety>"#)
            .contains { $0.contains("from 0 to 7") })
        #expect(errors(#"<llm-content-safety backend-id="safety"><categories output-type="Two"><category name="Hate" threshold="1" /></categories></llm-content-safety>"#)
            .contains { $0.contains("'FourSeverityLevels'") })
        #expect(errors(#"<llm-content-safety backend-id="safety"><categories><category name="Hate" threshold="1" /><category name="Hate" threshold="2" /></categories></llm-content-safety>"#)
            .contains { $0.contains("listed twice") })
        #expect(errors(#"<llm-content-safety backend-id="safety"><categories /></llm-content-safety>"#).contains { $0.contains("at least one '<category>'") })
        #expect(errors(#"<llm-content-safety backend-id="safety"><blocklists /></llm-content-safety>"#).contains { $0.contains("at least one '<id>'") })
        #expect(loadErrors(#"<llm-content-safety backend-id="safety" />"#, section: .outbound).contains { $0.contains("is not allowed in '<outbound>'") })
    }
}

@Suite struct LLMSemanticCacheRuntimeTests {
    static let embeddings = "https://emb.example/openai/deployments/emb/embeddings?api-version=2024-02-01"
    static let backends = ["emb": URL(string: embeddings)!]

    /// Embeddings by topic: tulips (two phrasings a little apart), weather; the model numbers its answers.
    static func backend(embeddingsStatus: Int = 200) -> RoutingBackend {
        let answers = NSLock()
        nonisolated(unsafe) var answered = 0
        return RoutingBackend { request in
            if request.urlText == embeddings {
                let input = RoutingBackend.body(request)["input"] as? String ?? ""
                let vector = input.contains("tulips please") ? "[0.99, 0.1, 0.0]" : input.contains("tulip") ? "[1.0, 0.0, 0.0]" : "[0.0, 1.0, 0.0]"
                return RoutingBackend.json(#"{"object":"list","data":[{"object":"embedding","index":0,"embedding":\#(vector)}]}"#, status: embeddingsStatus)
            }
            let number = answers.withLock {
                answered += 1
                return answered
            }
            return RoutingBackend.json(ChatFixtures.answer(prompt: 5, completion: 5, text: "answer \(number)"))
        }
    }

    static func policy(threshold: String = "0.05", extra: String = "", varyBy: String = "") -> String {
        document(inbound: """
            <llm-semantic-cache-lookup score-threshold="\(threshold)" embeddings-backend-id="emb" embeddings-backend-auth="system-assigned" \(extra)>
                \(varyBy)
            </llm-semantic-cache-lookup>
            """, outbound: #"<llm-semantic-cache-store duration="60" />"#)
    }

    static func run(_ pipeline: PolicyPipeline, _ backend: RoutingBackend, _ prompt: String, system: String? = nil, headers: [PolicyHeader] = []) async -> PolicyResult {
        let req = request(method: "POST", path: "/echo/chat/completions", headers: headers)
        return await pipeline.run(req, body: BufferedBody(ChatFixtures.request(prompt, system: system)), backend: backend)
    }

    static func llmCalls(_ backend: RoutingBackend) -> Int { backend.requests.filter { $0.urlText != embeddings }.count }

    @Test func aSimilarPromptIsAnsweredFromTheCache() async throws {
        let cache = SemanticResponseCache()
        let semantic = try pipeline(Self.policy(), options: PolicyPipelineOptions(backends: Self.backends, semanticCache: cache))
        let backend = Self.backend()
        let first = await Self.run(semantic, backend, "I like tulip fields")
        #expect(first.bodyText?.contains("answer 1") == true)
        #expect(cache.count == 1)
        // cos distance of (0.99, 0.1) to (1, 0): ≈ 0.005 ≤ 0.05.
        let similar = await Self.run(semantic, backend, "tulips please")
        #expect(similar.status == 200)
        #expect(similar.bodyText?.contains("answer 1") == true, "\(similar.bodyText ?? "")")
        #expect(similar.header("Content-Type") == "application/json")
        #expect(Self.llmCalls(backend) == 1)
        let other = await Self.run(semantic, backend, "what about the weather")
        #expect(other.bodyText?.contains("answer 2") == true)
        #expect(Self.llmCalls(backend) == 2)
        // Embeddings got the prompt text only.
        #expect(RoutingBackend.body(backend.requests[0])["input"] as? String == "I like tulip fields")
    }

    @Test func theScoreIsADistanceLowerIsCloser() async throws {
        let strict = try pipeline(Self.policy(threshold: "0.001"), options: PolicyPipelineOptions(backends: Self.backends))
        let backend = Self.backend()
        _ = await Self.run(strict, backend, "tulip")
        #expect(await Self.run(strict, backend, "tulips please").bodyText?.contains("answer 2") == true)  // 0.005 > 0.001: a miss
        #expect(await Self.run(strict, backend, "tulip").bodyText?.contains("answer 1") == true)  // distance 0
    }

    @Test func varyByPartitionsAndSystemMessagesCanBeIgnored() async throws {
        let semantic = try pipeline(Self.policy(extra: #"ignore-system-messages="true""#,
                                                varyBy: #"<vary-by>@(context.Request.Headers.GetValueOrDefault("X-Tenant", ""))</vary-by>"#),
                                    options: PolicyPipelineOptions(backends: Self.backends))
        let backend = Self.backend()
        _ = await Self.run(semantic, backend, "tulip", system: "You talk about weather", headers: [PolicyHeader("X-Tenant", "a")])
        #expect(RoutingBackend.body(backend.requests[0])["input"] as? String == "tulip")
        #expect(await Self.run(semantic, backend, "tulip", headers: [PolicyHeader("X-Tenant", "a")]).bodyText?.contains("answer 1") == true)
        #expect(await Self.run(semantic, backend, "tulip", headers: [PolicyHeader("X-Tenant", "b")]).bodyText?.contains("answer 2") == true)
    }

    @Test func tooManyMessagesAFailingEmbeddingsCallOrAnErrorAnswerAreNotCached() async throws {
        let limited = try pipeline(Self.policy(extra: #"max-message-count="1""#), options: PolicyPipelineOptions(backends: Self.backends))
        let backend = Self.backend()
        #expect(await Self.run(limited, backend, "tulip", system: "sys").status == 200)
        #expect(backend.requests.allSatisfy { $0.urlText != Self.embeddings })  // two messages > 1: no lookup
        // The embeddings endpoint failing is a miss, never an error.
        let cache = SemanticResponseCache()
        let semantic = try pipeline(Self.policy(), options: PolicyPipelineOptions(backends: Self.backends, semanticCache: cache))
        let failing = Self.backend(embeddingsStatus: 503)
        #expect(await Self.run(semantic, failing, "tulip").status == 200)
        #expect(cache.count == 0)
        // A model error is not stored.
        let erroring = RoutingBackend { request in
            request.urlText == Self.embeddings ? RoutingBackend.json(#"{"data":[{"embedding":[1,0]}]}"#) : RoutingBackend.json("{}", status: 429)
        }
        #expect(await Self.run(semantic, erroring, "tulip").status == 429)
        #expect(cache.count == 0)
        // Unless cache-response says so.
        let always = try pipeline(Self.policy().replacingOccurrences(of: #"duration="60""#, with: #"duration="60" cache-response="true""#),
                                  options: PolicyPipelineOptions(backends: Self.backends, semanticCache: cache))
        #expect(await Self.run(always, erroring, "tulip").status == 429)
        #expect(cache.count == 1)
    }

    @Test func theStoreIsBoundedAndEntriesExpire() {
        final class Clock: @unchecked Sendable { var now = Date(timeIntervalSince1970: 1_000_000) }
        let clock = Clock()
        let cache = SemanticResponseCache(maximumBytes: 1 << 20, maximumEntries: 5, maximumEntriesPerPartition: 3, clock: { clock.now })
        func response(_ size: Int) -> CachedResponse {
            CachedResponse(status: 200, reason: "OK", headers: [], body: [UInt8](repeating: 1, count: size), expires: clock.now)
        }
        for i in 0..<4 { cache.store(partition: "p", vector: [1, Float(i)], response: response(10), duration: 60) }
        #expect(cache.count == 3)  // per partition
        #expect(cache.lookup(partition: "p", vector: [1, 0], maximumDistance: 0.0001) == nil)  // the oldest went first
        for i in 0..<4 { cache.store(partition: "q\(i)", vector: [1, 0], response: response(10), duration: 60) }
        #expect(cache.count == 5)
        cache.store(partition: "big", vector: [1, 0], response: response(2 << 20), duration: 60)  // larger than the store: not kept
        #expect(cache.count == 5)
        cache.store(partition: "r", vector: [0, 1], response: response(900 << 10), duration: 60)
        #expect(cache.byteCount <= 1 << 20)
        #expect(cache.lookup(partition: "r", vector: [0, 2], maximumDistance: 0)?.distance == 0)
        clock.now += 61
        #expect(cache.lookup(partition: "r", vector: [0, 2], maximumDistance: 1) == nil)
        // Vectors that cannot be compared are never stored or matched.
        #expect(SemanticResponseCache.norm([0, 0]) == nil && SemanticResponseCache.norm([.nan]) == nil && SemanticResponseCache.norm([]) == nil)
    }

    @Test func loadTimeErrors() {
        func errors(_ xml: String) -> [String] {
            do {
                _ = try PolicyPipeline.load([(xml, "test.xml", .api)], options: PolicyPipelineOptions(backends: Self.backends))
                return []
            } catch {
                return "\(error)".split(separator: "\n").map(String.init)
            }
        }
        #expect(errors(Self.policy()).isEmpty)
        #expect(errors(Self.policy().replacingOccurrences(of: "embeddings-backend-id=\"emb\"", with: "embeddings-backend-id=\"nope\""))
            .contains { $0.contains("unknown embeddings-backend-id 'nope'") })
        #expect(errors(Self.policy(threshold: "1.5")).contains { $0.contains("a decimal from 0.0 to 1.0") })
        #expect(errors(Self.policy().replacingOccurrences(of: "system-assigned", with: "user-assigned")).contains { $0.contains("'system-assigned'") })
        #expect(errors(Self.policy(extra: #"max-message-count="0""#)).contains { $0.contains("max-message-count") })
        #expect(loadErrors(#"<llm-semantic-cache-store duration="60" />"#).contains { $0.contains("is not allowed in '<inbound>'") })
        let twice = Self.policy().replacingOccurrences(of: #"<llm-semantic-cache-store duration="60" />"#,
                                                       with: #"<llm-semantic-cache-store duration="60" /><azure-openai-semantic-cache-store duration="5" />"#)
        #expect(errors(twice).contains { $0.contains("'<azure-openai-semantic-cache-store>' may be used only once in a policy section") })
        #expect(loadErrors(#"<azure-openai-semantic-cache-store />"#, section: .outbound).contains { $0.contains("duration") })
    }
}
