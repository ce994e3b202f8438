import Foundation

/// `<llm-content-safety backend-id="…" [shield-prompt="false"]><categories [output-type="FourSeverityLevels"]>
/// <category name="Hate|SelfHarm|Sexual|Violence" threshold="0-7"/>…</categories><blocklists><id>…</id>…</blocklists>
/// </llm-content-safety>` (inbound): the request's text (`LLMRequest.contentText`: every text of a JSON body, or the
/// whole body when it is not JSON) is sent to Azure AI Content Safety at the backend `backend-id` names, before the
/// backend is called:
///
/// - with `<categories>` or `<blocklists>`: `POST {backend}/contentsafety/text:analyze?api-version=2024-09-01`
///   `{"text", "categories", "outputType", "blocklistNames", "haltOnBlocklistHit": false}`; a category whose
///   `severity` reaches its `threshold`, or any `blocklistsMatch`, blocks the request;
/// - with `shield-prompt="true"`: `POST {backend}/contentsafety/text:shieldPrompt?api-version=2024-09-01`
///   `{"userPrompt", "documents": []}`; `userPromptAnalysis.attackDetected` blocks it.
///
/// Blocked: 403 (`ContentSafetyBlocked`). Text longer than the service takes (10,000 characters), a service that
/// does not answer or answers an error: 500 (`ContentSafetyFailed`) — the request is never let through unchecked.
public struct LLMContentSafetyPolicy: Sendable, PolicyDefinition {
    public struct Category: Sendable {
        public let name: PolicyParameter<String>
        public let threshold: PolicyParameter<Int>
    }

    static let categoryNames = ["Hate", "SelfHarm", "Sexual", "Violence"]
    static let outputTypes = ["FourSeverityLevels", "EightSeverityLevels"]
    /// Azure AI Content Safety's limit on the text of one call (characters).
    static let maximumTextCharacters = 10_000
    static let apiVersion = "2024-09-01"

    public let backendID: PolicyParameter<String>
    public let shieldPrompt: PolicyParameter<Bool>
    /// Nil: no `<categories>`.
    public let outputType: PolicyParameter<String>?
    public let categories: [Category]
    public let blocklists: [PolicyParameter<String>]

    static let schema = PolicySchema(
        "llm-content-safety", sections: [.inbound],
        attributes: [
            PolicyAttributeSpec("backend-id", .nonEmptyText, required: true),
            PolicyAttributeSpec("shield-prompt", .boolean, default: "false"),
        ],
        children: .elements(["categories", "blocklists"]))
    static let categoriesSchema = PolicySchema(
        "categories", attributes: [PolicyAttributeSpec("output-type", .choice(outputTypes), default: "FourSeverityLevels")],
        children: .elements(["category"]))
    static let categorySchema = PolicySchema(
        "category", attributes: [
            PolicyAttributeSpec("name", .choice(categoryNames), required: true),
            PolicyAttributeSpec("threshold", .integer(0...7), required: true),
        ])
    static let blocklistsSchema = PolicySchema("blocklists", children: .elements(["id"]))
    static let idSchema = PolicySchema("id", allowsText: true)

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        reader.atMostOne("categories")
        reader.atMostOne("blocklists")
        var outputType: PolicyParameter<String>? = nil
        var categories: [Category] = []
        if let element = reader.element.childElements.first(where: { $0.name == "categories" }) {
            let categoriesReader = reader.child(element, categoriesSchema)
            outputType = categoriesReader.string("output-type")
            let children = categoriesReader.children(named: "category", categorySchema)
            if children.isEmpty { categoriesReader.error("'<categories>' of \(reader.tag) requires at least one '<category>'") }
            var seen: Set<String> = []
            for child in children {
                guard let name = child.string("name"), let threshold = child.integer("threshold") else { continue }
                if case .constant(let literal) = name, !seen.insert(literal).inserted {
                    child.error("the category '\(literal)' is listed twice in \(reader.tag)")
                }
                categories.append(Category(name: name, threshold: threshold))
            }
        }
        var blocklists: [PolicyParameter<String>] = []
        if let element = reader.element.childElements.first(where: { $0.name == "blocklists" }) {
            let blocklistsReader = reader.child(element, blocklistsSchema)
            let ids = blocklistsReader.children(named: "id", idSchema)
            if ids.isEmpty { blocklistsReader.error("'<blocklists>' of \(reader.tag) requires at least one '<id>'") }
            for id in ids {
                guard let text = id.text else {
                    id.error("'<id>' of \(reader.tag) needs a blocklist name")
                    continue
                }
                blocklists.append(text)
            }
        }
        guard let backendID = reader.string("backend-id"), let shield = reader.boolean("shield-prompt"), reader.isValid else { return nil }
        return .llmContentSafety(LLMContentSafetyPolicy(
            backendID: backendID, shieldPrompt: shield, outputType: outputType, categories: categories, blocklists: blocklists))
    }
}

// MARK: Run

extension LLMContentSafetyPolicy {
    struct Step: WaitingPolicyStep {
        struct RuntimeCategory: Sendable {
            let name: RuntimeParameter<String>
            let threshold: RuntimeParameter<Int>
        }

        let backendID: RuntimeParameter<String>
        let shieldPrompt: RuntimeParameter<Bool>
        let outputType: RuntimeParameter<String>?
        let categories: [RuntimeCategory]
        let blocklists: [RuntimeParameter<String>]

        func run(_ execution: PolicyExecution, _ step: CompiledStep) async throws -> Flow {
            let id = try execution.string(backendID, step)
            guard let base = AIServiceCall.backend(id, execution) else {
                throw PolicyFailure.generic(step.name, reason: "BackendNotFound", "No backend with the id '\(id)' is configured.")
            }
            let shield = try execution.bool(shieldPrompt, step)
            var thresholds: [(name: String, threshold: Int)] = []
            for category in categories {
                let name = try execution.string(category.name, step)
                guard LLMContentSafetyPolicy.categoryNames.contains(name) else {
                    throw PolicyFailure.expression(step.name, "'\(name.prefix(64))' is not a content safety category (Hate, SelfHarm, Sexual, Violence).")
                }
                thresholds.append((name, try execution.int(category.threshold, step, in: 0...7)))
            }
            let output = try outputType.map { try execution.string($0, step) } ?? "FourSeverityLevels"
            guard LLMContentSafetyPolicy.outputTypes.contains(output) else {
                throw PolicyFailure.expression(step.name, "'\(output.prefix(64))' is not an output type (FourSeverityLevels, EightSeverityLevels).")
            }
            var names: [String] = []
            for blocklist in blocklists {
                let name = ASCII.trimmingWhitespace(try execution.string(blocklist, step))
                if !name.isEmpty { names.append(name) }
            }

            // A compressed body cannot be read as text, and the model would read it decompressed: fail closed.
            let encodings = HeaderList.values(execution.state.requestHeaders, "Content-Encoding")
                .flatMap { $0.split(separator: ",") }.map { ASCII.trimmingWhitespace(String($0)).lowercased() }.filter { $0 != "identity" && !$0.isEmpty }
            if let encoding = encodings.first {
                throw failed(step, "the request body is encoded ('\(encoding.prefix(32))'); its text cannot be checked.")
            }
            let llm = execution.llmExchange()
            let text = llm.request.isJSON ? llm.request.contentText : String(decoding: execution.state.requestBody?.bytes ?? [], as: UTF8.self)
            guard !text.isEmpty else { return .proceed }  // nothing to check
            guard text.count <= LLMContentSafetyPolicy.maximumTextCharacters else {
                throw failed(step, "the request's text (\(text.count) characters) exceeds Azure AI Content Safety's \(LLMContentSafetyPolicy.maximumTextCharacters).")
            }

            if !thresholds.isEmpty || !names.isEmpty {
                var payload: [String: Any] = ["text": text, "outputType": output, "haltOnBlocklistHit": false]
                payload["categories"] = thresholds.map(\.name)
                if !names.isEmpty { payload["blocklistNames"] = names }
                let url = AIServiceCall.url(base, appending: "/contentsafety/text:analyze", query: "api-version=\(LLMContentSafetyPolicy.apiVersion)")
                let answer: [String: Any]
                do {
                    answer = try await AIServiceCall.post(url, payload, execution)
                } catch {
                    throw failed(step, "text:analyze: \(AIServiceCall.describe(error))")
                }
                if let matches = answer["blocklistsMatch"] as? [Any], let first = matches.first as? [String: Any] {
                    let list = (first["blocklistName"] as? String).map { " '\($0.prefix(64))'" } ?? ""
                    throw blocked(step, "the request matches the blocklist\(list).")
                }
                let analysis = (answer["categoriesAnalysis"] as? [Any] ?? []).compactMap { $0 as? [String: Any] }
                for (name, threshold) in thresholds {
                    guard let entry = analysis.first(where: { ($0["category"] as? String) == name }) else {
                        throw failed(step, "text:analyze did not rate the category '\(name)'.")
                    }
                    let severity = (entry["severity"] as? NSNumber)?.intValue ?? 0
                    if severity >= threshold {
                        throw blocked(step, "the request's \(name) severity \(severity) reaches the threshold \(threshold).")
                    }
                }
            }
            if shield {
                let url = AIServiceCall.url(base, appending: "/contentsafety/text:shieldPrompt", query: "api-version=\(LLMContentSafetyPolicy.apiVersion)")
                let answer: [String: Any]
                do {
                    answer = try await AIServiceCall.post(url, ["userPrompt": text, "documents": [String]()], execution)
                } catch {
                    throw failed(step, "text:shieldPrompt: \(AIServiceCall.describe(error))")
                }
                guard let analysis = answer["userPromptAnalysis"] as? [String: Any], let attack = analysis["attackDetected"] as? Bool else {
                    throw failed(step, "text:shieldPrompt's answer holds no 'userPromptAnalysis.attackDetected'.")
                }
                if attack { throw blocked(step, "a prompt attack was detected in the request.") }
            }
            execution.state.record(.info, "\(step.name): the request passed the content safety checks")
            return .proceed
        }

        func blocked(_ step: CompiledStep, _ why: String) -> PolicyFailure {
            let message = "Request failed content safety check: \(why)"
            return PolicyFailure(source: step.name, reason: "ContentSafetyBlocked", message: message, status: 403, clientMessage: message)
        }

        /// Fail closed: the request is not let through unchecked.
        func failed(_ step: CompiledStep, _ why: String) -> PolicyFailure {
            PolicyFailure.generic(step.name, reason: "ContentSafetyFailed", "The content safety check could not be made: \(why)")
        }
    }

    func compile(_ compiler: inout StepCompiler, _ statement: PolicyStatement) -> (any WaitingPolicyStep)? {
        compiler.readsMessageBody()
        if let literal = backendID.constant, compiler.backends[literal] == nil {
            let known = compiler.backends.keys.sorted()
            compiler.diagnostics.append(PolicyDiagnostic(
                at: statement.position,
                "unknown backend-id '\(literal)' in '<llm-content-safety>'"
                    + (known.isEmpty ? " (no backends are configured)" : "; configured: \(known.joined(separator: ", "))")))
            return nil
        }
        guard let id = compiler.parameter(backendID), let shield = compiler.parameter(shieldPrompt) else { return nil }
        var output: RuntimeParameter<String>? = nil
        if let outputType {
            guard let made = compiler.parameter(outputType) else { return nil }
            output = made
        }
        var runtime: [Step.RuntimeCategory] = []
        for category in categories {
            guard let name = compiler.parameter(category.name), let threshold = compiler.parameter(category.threshold) else { return nil }
            runtime.append(Step.RuntimeCategory(name: name, threshold: threshold))
        }
        guard let lists = compiler.parameters(blocklists) else { return nil }
        return Step(backendID: id, shieldPrompt: shield, outputType: output, categories: runtime, blocklists: lists)
    }
}
