import Foundation

/// `<publish-to-dapr pubsub-name="…" topic="…" ignore-error="false" response-variable-name="…"
/// timeout="5" template="Liquid" content-type="application/json">message</publish-to-dapr>`: the
/// message is published to a Dapr pub/sub topic through the sidecar's HTTP API,
/// `POST {sidecar}/v1.0/publish/{pubsub-name}/{topic}` (Dapr answers 204 when delivered). Without
/// `pubsub-name`, `topic` is `pubsub-name/topic-name`. The message is the element's content: text, an
/// expression, or (with `template="Liquid"`) a liquid template as `set-body` has it.
public struct PublishToDaprPolicy: Sendable, PolicyDefinition {
    public let pubsubName: PolicyParameter<String>?
    public let topic: PolicyParameter<String>
    public let ignoreError: Bool
    public let responseVariableName: String?
    /// Seconds, 1 to 240 (APIM: 5).
    public let timeout: PolicyParameter<Int>
    public let contentType: String?
    /// Nil: an empty message.
    public let message: PolicyParameter<String>?

    /// APIM: "Liquid" is the only template; set-body writes it "liquid". Both are taken.
    static let templates = ["Liquid", "liquid"]

    static let schema = PolicySchema(
        "publish-to-dapr", sections: [.inbound],
        attributes: [
            PolicyAttributeSpec("pubsub-name", .nonEmptyText),
            PolicyAttributeSpec("topic", .nonEmptyText, required: true),
            PolicyAttributeSpec("ignore-error", .boolean, default: "false", expressions: false),
            PolicyAttributeSpec("response-variable-name", .nonEmptyText, expressions: false),
            PolicyAttributeSpec("timeout", .integer(1...240), default: "5"),
            PolicyAttributeSpec("template", .choice(templates), expressions: false),
            PolicyAttributeSpec("content-type", .choice(["application/json"]), expressions: false),
        ],
        children: .markup, allowsText: true)

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        guard let topic = reader.string("topic"), let timeout = reader.integer("timeout"),
              let ignoreError = reader.literal("ignore-error").flatMap(PolicyAttributeType.boolean)
        else { return nil }
        let pubsubName = reader.element.attribute("pubsub-name") == nil ? nil : reader.string("pubsub-name")
        if pubsubName == nil, let literal = topic.constant, !Self.splitsIntoPubsubAndTopic(literal) {
            reader.error(attribute: "topic", "\(reader.tag) without 'pubsub-name' needs 'topic' as 'pubsub-name/topic-name', got \(reader.quote(literal, attribute: "topic"))")
            return nil
        }
        guard let message = daprMessage(reader, liquid: reader.literal("template") != nil) else { return nil }
        guard reader.isValid else { return nil }
        return .publishToDapr(
            PublishToDaprPolicy(
                pubsubName: pubsubName, topic: topic, ignoreError: ignoreError, responseVariableName: reader.literal("response-variable-name"),
                timeout: timeout, contentType: reader.literal("content-type"), message: message))
    }

    /// `pubsub/topic`: both parts non-empty (the topic may hold more `/`).
    static func splitsIntoPubsubAndTopic(_ text: String) -> Bool {
        guard let slash = text.firstIndex(of: "/") else { return false }
        return slash != text.startIndex && text.index(after: slash) != text.endIndex
    }

    /// The element's content as the message: text, an expression, or a liquid template compiled now
    /// (`template`); `.some(nil)` when there is none, nil when it does not load.
    static func daprMessage(_ reader: PolicyElementReader, liquid: Bool) -> PolicyParameter<String>?? {
        if liquid {
            if reader.text?.expression != nil {
                reader.error("a liquid template in \(reader.tag) must be text, not a policy expression")
                return nil
            }
            guard let compiled = SetBodyPolicy.liquid(reader) else { return nil }
            return .some(.expression(compiled))
        }
        return .some(reader.text)
    }
}

// MARK: Run

extension PublishToDaprPolicy {
    struct Step: WaitingPolicyStep {
        let pubsubName: RuntimeParameter<String>?
        let topic: RuntimeParameter<String>
        let message: RuntimeParameter<String>?
        let settings: DaprSidecar.CallSettings

        func run(_ execution: PolicyExecution, _ step: CompiledStep) async throws -> Flow {
            var topicName = try execution.string(topic, step)
            let pubsub: String
            if let pubsubName {
                pubsub = try execution.string(pubsubName, step)
            } else {
                guard PublishToDaprPolicy.splitsIntoPubsubAndTopic(topicName), let slash = topicName.firstIndex(of: "/") else {
                    throw PolicyFailure.expression(step.name, "Without 'pubsub-name' the topic must be 'pubsub-name/topic-name'.")
                }
                pubsub = String(topicName[..<slash])
                topicName = String(topicName[topicName.index(after: slash)...])
            }
            let path = "/v1.0/publish/" + (try execution.daprSegment(pubsub, "pubsub name", step)) + "/"
                + (try execution.daprSegment(topicName, "topic", step))
            let body = try execution.daprMessage(message, step)
            guard body.count <= execution.options.maximumBodyBytes else {
                throw PolicyFailure.expression(step.name, "The message is larger than \(execution.options.maximumBodyBytes) bytes.")
            }
            try await execution.callDapr(path: path, body: body, settings, step)
            return .proceed
        }
    }

    func compile(_ compiler: inout StepCompiler, _ statement: PolicyStatement) -> (any WaitingPolicyStep)? {
        guard let topic = compiler.parameter(topic), let timeout = compiler.parameter(timeout) else { return nil }
        var pubsub: RuntimeParameter<String>? = nil
        if let given = pubsubName {
            guard let made = compiler.parameter(given) else { return nil }
            pubsub = made
        }
        var body: RuntimeParameter<String>? = nil
        if let given = message {
            guard let made = compiler.parameter(given) else { return nil }
            body = made
        }
        return Step(
            pubsubName: pubsub, topic: topic, message: body,
            settings: DaprSidecar.CallSettings(variable: responseVariableName, ignoreError: ignoreError, timeout: timeout, contentType: contentType))
    }
}
