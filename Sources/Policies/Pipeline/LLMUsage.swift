import Foundation

/// What the AI-gateway policies (`llm-token-limit`, `llm-emit-token-metric`, `llm-content-safety`,
/// `llm-semantic-cache-*` and their `azure-openai-*` aliases) share: the request's prompt as an
/// OpenAI-compatible API carries it, the token estimate, the `usage` of the answer (a JSON body, or
/// the events of a `text/event-stream`), and the per-request tracker that hands the usage to the
/// policies once it is known.

/// Tokens of one exchange (OpenAI's `usage`: `prompt_tokens`, `completion_tokens`, `total_tokens`;
/// the Responses API's `input_tokens`/`output_tokens` too).
public struct LLMUsage: Sendable, Equatable {
    public var promptTokens: Int
    public var completionTokens: Int
    public var totalTokens: Int

    public init(promptTokens: Int, completionTokens: Int, totalTokens: Int? = nil) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        let (sum, overflow) = promptTokens.addingReportingOverflow(completionTokens)
        self.totalTokens = totalTokens ?? (overflow ? Int.max : sum)
    }

    /// The largest token count believed from a body: anything above is clamped (a hostile backend
    /// cannot make counters overflow).
    static let maximumCount = 1 << 40

    /// The `usage` object of a decoded answer, or nil when it has none (or it holds no count).
    static func from(_ object: Any?) -> LLMUsage? {
        guard let usage = (object as? [String: Any])?["usage"] as? [String: Any] else { return nil }
        func count(_ names: String...) -> Int? {
            for name in names {
                guard let number = usage[name] as? NSNumber else { continue }
                let double = number.doubleValue
                guard double.isFinite else { continue }
                return Int(min(max(double.rounded(.down), 0), Double(maximumCount)))
            }
            return nil
        }
        let prompt = count("prompt_tokens", "input_tokens")
        let completion = count("completion_tokens", "output_tokens")
        let total = count("total_tokens")
        guard prompt != nil || completion != nil || total != nil else { return nil }
        return LLMUsage(promptTokens: prompt ?? 0, completionTokens: completion ?? 0,
                        totalTokens: total ?? ((prompt ?? 0) + (completion ?? 0)))
    }
}

/// The request as the AI-gateway policies read it: its messages (chat completions), prompt
/// (completions) or input (embeddings, Responses API), whether the answer streams, and the prompt
/// token estimate.
struct LLMRequest: Sendable {
    struct Message: Sendable {
        let role: String
        let text: String
    }

    /// The messages in order (a completions `prompt` or an `input` is one `user` message).
    let messages: [Message]
    /// `"stream": true`.
    let streams: Bool
    /// Whether the body was a JSON object at all.
    let isJSON: Bool
    /// Every text the request carries, in document order: each string value of the JSON body but those of
    /// fields that name or point rather than say (`model`, `role`, `type`, ids, URLs, inline file and image
    /// data). What content safety checks — fail closed: `instructions`, a top-level `system`, tool call
    /// arguments and fields of shapes Drawbridge does not know are checked too, not only the messages.
    let contentText: String

    /// Every text of the request, one message after the other (what content safety checks).
    var allText: String { messages.map(\.text).filter { !$0.isEmpty }.joined(separator: "\n") }

    /// The prompt token estimate. APIM counts with the model's tokenizer; Drawbridge has no
    /// tokenizer (none is in the package mirror, and each model has its own vocabulary), so it uses
    /// OpenAI's documented rule of thumb: a token is about four characters of text (rounded up, per
    /// message), plus the chat format's overhead of 3 tokens per message and 3 to prime the answer.
    var estimatedPromptTokens: Int {
        guard !messages.isEmpty else { return 0 }
        var tokens = 3
        for message in messages {
            tokens += 3 + (message.text.unicodeScalars.count + 3) / 4
        }
        return tokens
    }

    static let empty = LLMRequest(messages: [], streams: false, isJSON: false, contentText: "")

    /// Fields whose string values are not text said to the model.
    static let nonContentKeys: Set<String> = [
        "model", "role", "type", "id", "object", "tool_call_id", "call_id", "url", "image_url", "detail", "data", "file_data",
        "file_id", "format", "voice", "user", "service_tier", "tool_choice", "reasoning_effort", "modalities", "encoding_format",
    ]

    /// Appends the string values of `value` (see `contentText`), at every depth the JSON reader accepts.
    static func strings(_ value: Any, key: String?, into parts: inout [String], depth: Int = 0) {
        guard depth < 1024 else { return }  // beyond what the JSON reader accepts (it refuses deeper nesting)
        switch value {
        case let text as String:
            if let key, nonContentKeys.contains(key) { return }
            if !text.isEmpty { parts.append(text) }
        case let list as [Any]:
            for item in list { strings(item, key: key, into: &parts, depth: depth + 1) }
        case let object as [String: Any]:
            // Document order is not kept by JSONSerialization: sorted keys, so the text is the same for the same body.
            for name in object.keys.sorted() where !(nonContentKeys.contains(name)) {
                if let item = object[name] { strings(item, key: name, into: &parts, depth: depth + 1) }
            }
        default:
            return
        }
    }

    /// Reads an OpenAI-compatible request body (anything else reads as no prompt).
    static func parse(_ bytes: [UInt8]?) -> LLMRequest {
        guard let bytes, !bytes.isEmpty,
              let object = (try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])) as? [String: Any]
        else { return .empty }
        var messages: [Message] = []
        if let list = object["messages"] as? [Any] {
            for item in list {
                guard let message = item as? [String: Any] else { continue }
                let role = (message["role"] as? String) ?? ""
                messages.append(Message(role: role, text: text(of: message["content"])))
            }
        } else if let prompt = object["prompt"] {
            messages.append(Message(role: "user", text: text(of: prompt)))
        } else if let input = object["input"] {
            if let list = input as? [Any], list.contains(where: { ($0 as? [String: Any])?["role"] != nil }) {
                for item in list {
                    guard let message = item as? [String: Any] else { continue }
                    messages.append(Message(role: (message["role"] as? String) ?? "user", text: text(of: message["content"])))
                }
            } else {
                messages.append(Message(role: "user", text: text(of: input)))
            }
        }
        let streams = (object["stream"] as? Bool) ?? false
        var parts: [String] = []
        strings(object, key: nil, into: &parts)
        return LLMRequest(messages: messages, streams: streams, isJSON: true, contentText: parts.joined(separator: "\n"))
    }

    /// The text of a message's content: a string, an array of strings or of parts (`{"type":"text","text":…}`).
    static func text(of content: Any?) -> String {
        switch content {
        case let text as String: return text
        case let list as [Any]:
            return list.map { item -> String in
                if let text = item as? String { return text }
                if let part = item as? [String: Any] {
                    if let text = part["text"] as? String { return text }
                    if let text = part["input_text"] as? String { return text }
                }
                return ""
            }.filter { !$0.isEmpty }.joined(separator: "\n")
        default: return ""
        }
    }
}

/// Reads a `text/event-stream` as it goes by: the last `usage` any event carried, and the
/// characters of the streamed content (for an estimate when no event carries a usage). Bounded: a
/// line longer than `maximumLineBytes` is skipped.
struct LLMEventStreamScanner {
    static let maximumLineBytes = 256 << 10
    private var line: [UInt8] = []
    private var skipping = false
    private(set) var usage: LLMUsage?
    private(set) var contentCharacters = 0

    mutating func feed<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                if !skipping { handle(line) }
                line.removeAll(keepingCapacity: true)
                skipping = false
            } else if !skipping {
                if line.count >= Self.maximumLineBytes {
                    skipping = true
                    line.removeAll()
                } else {
                    line.append(byte)
                }
            }
        }
    }

    /// The end of the stream: a last line without its newline counts too.
    mutating func finish() {
        if !skipping, !line.isEmpty { handle(line) }
        line = []
    }

    private mutating func handle(_ raw: [UInt8]) {
        var bytes = raw[...]
        if bytes.last == UInt8(ascii: "\r") { bytes = bytes.dropLast() }
        let prefix = Array("data:".utf8)
        guard bytes.count > prefix.count, bytes.starts(with: prefix) else { return }
        bytes = bytes.dropFirst(prefix.count)
        while bytes.first == UInt8(ascii: " ") { bytes = bytes.dropFirst() }
        guard bytes.first == UInt8(ascii: "{"),
              let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]
        else { return }
        if let found = LLMUsage.from(object) { usage = found }
        for choice in (object["choices"] as? [Any]) ?? [] {
            guard let choice = choice as? [String: Any] else { continue }
            let delta = choice["delta"] as? [String: Any]
            let text = (delta?["content"] as? String) ?? (choice["text"] as? String) ?? ""
            contentCharacters = min(contentCharacters + text.unicodeScalars.count, LLMUsage.maximumCount)
        }
        // The Responses API's streamed text.
        if let text = object["delta"] as? String, (object["type"] as? String)?.hasSuffix(".delta") == true {
            contentCharacters = min(contentCharacters + text.unicodeScalars.count, LLMUsage.maximumCount)
        }
    }
}

/// The AI-gateway state of one request: the parsed request (read once, shared by the policies),
/// and what the policies want done once the answer's usage is known. Usage arrives in the outbound
/// section for a JSON answer, or when a streamed answer ends (possibly after the run, while the
/// gateway relays the stream), so it is guarded by a lock.
final class LLMExchange: @unchecked Sendable {
    let request: LLMRequest
    /// The prompt estimate, when a policy needed it (`estimate-prompt-tokens`, or a streamed answer).
    let promptEstimate: Int
    private let lock = NSLock()
    private var actions: [@Sendable (LLMUsage?, PolicyExecution?) -> Void] = []
    private var scanner = LLMEventStreamScanner()
    private var delivered = false
    /// The token counters this request is charged to already (a counter is charged once per request,
    /// however many `llm-token-limit` statements of the effective policy name its key).
    private var chargedCounters: Set<String> = []

    /// Claims `counter` for this request: true the first time only.
    func claim(_ counter: String) -> Bool { lock.withLock { chargedCounters.insert(counter).inserted } }

    /// What `llm-semantic-cache-lookup` left for `llm-semantic-cache-store` (nil: nothing to store).
    /// Set and read by the request's own run only.
    var semanticCachePending: SemanticCachePending?
    /// Whether a policy asked for the answer's usage (then outbound reads or watches the body).
    var wantsUsage: Bool { lock.withLock { !actions.isEmpty } }

    init(request: LLMRequest) {
        self.request = request
        promptEstimate = request.estimatedPromptTokens
    }

    /// Runs `action` with the usage once it is known (nil: the answer reported none), once.
    func onUsage(_ action: @escaping @Sendable (LLMUsage?, PolicyExecution?) -> Void) {
        lock.withLock { actions.append(action) }
    }

    /// Delivers the usage to every registered action (once).
    func deliver(_ usage: LLMUsage?, _ execution: PolicyExecution?) {
        let pending: [@Sendable (LLMUsage?, PolicyExecution?) -> Void] = lock.withLock {
            guard !delivered else { return [] }
            delivered = true
            return actions
        }
        for action in pending { action(usage, execution) }
    }

    /// A streamed answer's bytes as they go by.
    func observe<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        lock.withLock { scanner.feed(bytes) }
    }

    /// The end of a streamed answer (or the client went away): the usage the stream reported, or the
    /// estimate — the prompt's, and the streamed content's at four characters a token.
    func streamEnded() {
        let usage: LLMUsage = lock.withLock {
            scanner.finish()
            if let reported = scanner.usage { return reported }
            return LLMUsage(promptTokens: promptEstimate, completionTokens: (scanner.contentCharacters + 3) / 4)
        }
        deliver(usage, nil)
    }
}

/// The backend's streamed answer with the AI-gateway policies watching it: the gateway relays its
/// `inner` body chunk by chunk, calling `observe(_:)` for each and `finish()` at the end; read whole
/// (`collect`), it does both itself.
public struct ObservedResponseBody: PolicyBodySource {
    public let inner: any PolicyBodySource
    let exchange: LLMExchange

    public func observe<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 { exchange.observe(bytes) }

    /// The stream ended (or was abandoned): the usage is delivered. Idempotent.
    public func finish() { exchange.streamEnded() }

    public func collect(upTo limit: Int) async throws -> [UInt8] {
        defer { finish() }
        let bytes = try await inner.collect(upTo: limit)
        observe(bytes)
        return bytes
    }
}

extension PolicyExecution {
    /// The request's AI-gateway state, made (and the request body parsed) when a policy first needs it.
    func llmExchange() -> LLMExchange {
        if let llm { return llm }
        let made = LLMExchange(request: LLMRequest.parse(state.requestBody?.bytes))
        llm = made
        return made
    }

    /// Before outbound: when a policy waits for the usage, a JSON answer is read (within the body
    /// limit) and its `usage` delivered now, so outbound sees the counts; a `text/event-stream`
    /// answer is watched as it streams to the client and delivered when it ends.
    func collectLLMUsage() async throws {
        guard let llm, llm.wantsUsage, backendCalled else { return }
        let contentType = HeaderList.values(state.responseHeaders, "Content-Type").first?.lowercased() ?? ""
        if contentType.hasPrefix("text/event-stream"), let body = state.backendBody {
            state.backendBody = ObservedResponseBody(inner: body, exchange: llm)
            return
        }
        // Only a JSON answer (or one without a type) can carry a `usage`: others (audio, files) stream through.
        guard contentType.isEmpty || contentType.contains("json") else {
            llm.deliver(nil, self)
            return
        }
        if state.responseBody == nil, state.backendBody != nil {
            do {
                try await loadResponseBody()
            } catch {
                // An answer over the body limit is relayed as is; its usage is unknown (the estimate stays).
                llm.deliver(nil, self)
                throw error
            }
        }
        let object = state.responseBody.flatMap { try? JSONSerialization.jsonObject(with: Data($0.bytes)) }
        if let usage = LLMUsage.from(object) {
            llm.deliver(usage, self)
        } else if llm.request.streams, let bytes = state.responseBody?.bytes {
            // A stream the backend sent without its content type: read as events.
            var scanner = LLMEventStreamScanner()
            scanner.feed(bytes)
            scanner.finish()
            llm.deliver(scanner.usage ?? LLMUsage(promptTokens: llm.promptEstimate, completionTokens: (scanner.contentCharacters + 3) / 4), self)
        } else {
            // No usage reported (an error answer, another API): nothing is known beyond what was charged.
            llm.deliver(nil, self)
        }
    }
}
