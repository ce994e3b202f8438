import Foundation
import PolicyExpressions

/// `<invoke-dapr-binding name="…" operation="…" ignore-error="false" response-variable-name="…"
/// timeout="5" template="Liquid" content-type="application/json">` with `<metadata><item key="…">value</item></metadata>`
/// and `<data>content</data>`: triggers a Dapr output binding through the sidecar's HTTP API,
/// `POST {sidecar}/v1.0/bindings/{name}` with `{"data":…,"metadata":{…},"operation":"…"}` (Dapr's
/// bindings request). `data` is a JSON string, or — with `content-type="application/json"` — the
/// content itself, which must then be JSON. `template` applies to `<data>`.
public struct InvokeDaprBindingPolicy: Sendable, PolicyDefinition {
    public struct MetadataItem: Sendable {
        public let key: String
        public let value: PolicyParameter<String>?
    }

    public let name: PolicyParameter<String>
    public let operation: String?
    public let ignoreError: Bool
    public let responseVariableName: String?
    /// Seconds, 1 to 240 (APIM: 5).
    public let timeout: PolicyParameter<Int>
    public let contentType: String?
    public let metadata: [MetadataItem]
    /// `.none`: no `<data>`; `.some(nil)`: an empty one.
    public let data: PolicyParameter<String>??

    /// At most this many metadata items (a policy is configuration, but bounded all the same).
    static let maximumMetadataItems = 256

    static let schema = PolicySchema(
        "invoke-dapr-binding", sections: [.inbound, .outbound, .onError],
        attributes: [
            PolicyAttributeSpec("name", .nonEmptyText, required: true),
            PolicyAttributeSpec("operation", .nonEmptyText, expressions: false),
            PolicyAttributeSpec("ignore-error", .boolean, default: "false", expressions: false),
            PolicyAttributeSpec("response-variable-name", .nonEmptyText, expressions: false),
            PolicyAttributeSpec("timeout", .integer(1...240), default: "5"),
            PolicyAttributeSpec("template", .choice(PublishToDaprPolicy.templates), expressions: false),
            PolicyAttributeSpec("content-type", .choice(["application/json"]), expressions: false),
        ],
        children: .elements(["metadata", "data"]))
    static let metadataSchema = PolicySchema("metadata", children: .elements(["item"]))
    static let itemSchema = PolicySchema(
        "item", attributes: [PolicyAttributeSpec("key", .nonEmptyText, required: true, expressions: false)], allowsText: true)
    static let dataSchema = PolicySchema("data", children: .markup, allowsText: true)

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        reader.atMostOne("metadata")
        reader.atMostOne("data")
        var items: [MetadataItem] = []
        var keys: Set<String> = []
        for metadata in reader.children(named: "metadata", metadataSchema) {
            for item in metadata.children(named: "item", itemSchema) {
                guard let key = item.literal("key") else { continue }
                guard keys.insert(key).inserted else {
                    item.error(attribute: "key", "metadata item key \(item.quote(key, attribute: "key")) is given twice in \(reader.tag)")
                    continue
                }
                items.append(MetadataItem(key: key, value: item.text))
            }
        }
        if items.count > maximumMetadataItems {
            reader.error("\(reader.tag) has \(items.count) metadata items; at most \(maximumMetadataItems) are allowed")
        }
        var data: PolicyParameter<String>?? = .none
        if let dataReader = reader.children(named: "data", dataSchema).first {
            guard let made = PublishToDaprPolicy.daprMessage(dataReader, liquid: reader.literal("template") != nil) else { return nil }
            data = .some(made)
        } else if reader.literal("template") != nil {
            reader.error(attribute: "template", "'template' in \(reader.tag) applies to '<data>', which is missing")
        }
        guard let name = reader.string("name"), let timeout = reader.integer("timeout"),
              let ignoreError = reader.literal("ignore-error").flatMap(PolicyAttributeType.boolean), reader.isValid
        else { return nil }
        return .invokeDaprBinding(
            InvokeDaprBindingPolicy(
                name: name, operation: reader.literal("operation"), ignoreError: ignoreError,
                responseVariableName: reader.literal("response-variable-name"), timeout: timeout, contentType: reader.literal("content-type"),
                metadata: items, data: data))
    }
}

// MARK: Run

extension InvokeDaprBindingPolicy {
    struct Step: WaitingPolicyStep {
        let name: RuntimeParameter<String>
        let operation: String?
        let metadata: [(key: String, value: RuntimeParameter<String>?)]
        let data: RuntimeParameter<String>??
        let settings: DaprSidecar.CallSettings

        func run(_ execution: PolicyExecution, _ step: CompiledStep) async throws -> Flow {
            let path = "/v1.0/bindings/" + (try execution.daprSegment(try execution.string(name, step), "binding name", step))
            // Dapr's bindings request, written by hand so that a JSON `data` goes in as it is.
            var body = "{"
            var fields: [String] = []
            if case .some(let given) = data {
                let bytes = try execution.daprMessage(given, step)
                guard bytes.count <= execution.options.maximumBodyBytes else {
                    throw PolicyFailure.expression(step.name, "The binding data is larger than \(execution.options.maximumBodyBytes) bytes.")
                }
                let text = String(decoding: bytes, as: UTF8.self)
                if settings.contentType == "application/json" {
                    // The expression library's JSON reader: bounded in depth, as a hostile body needs.
                    guard (try? JToken.parse(json: text)) != nil else {
                        throw PolicyFailure.expression(step.name, "The binding data is not JSON, as content-type=\"application/json\" says it is.")
                    }
                    fields.append("\"data\":" + text)
                } else {
                    fields.append("\"data\":\"" + ErrorBody.escape(text) + "\"")
                }
            }
            if !metadata.isEmpty {
                var entries: [String] = []
                for item in metadata {
                    let value = try item.value.map { try execution.string($0, step) } ?? ""
                    entries.append("\"" + ErrorBody.escape(item.key) + "\":\"" + ErrorBody.escape(value) + "\"")
                }
                fields.append("\"metadata\":{" + entries.joined(separator: ",") + "}")
            }
            if let operation { fields.append("\"operation\":\"" + ErrorBody.escape(operation) + "\"") }
            body += fields.joined(separator: ",") + "}"
            let settings = DaprSidecar.CallSettings(
                variable: settings.variable, ignoreError: settings.ignoreError, timeout: settings.timeout, contentType: "application/json")
            try await execution.callDapr(path: path, body: Array(body.utf8), settings, step)
            return .proceed
        }
    }

    func compile(_ compiler: inout StepCompiler, _ statement: PolicyStatement) -> (any WaitingPolicyStep)? {
        guard let name = compiler.parameter(name), let timeout = compiler.parameter(timeout) else { return nil }
        var items: [(key: String, value: RuntimeParameter<String>?)] = []
        for item in metadata {
            if let given = item.value {
                guard let made = compiler.parameter(given) else { return nil }
                items.append((item.key, made))
            } else {
                items.append((item.key, nil))
            }
        }
        var body: RuntimeParameter<String>?? = .none
        if case .some(let given) = data {
            if let given {
                guard let made = compiler.parameter(given) else { return nil }
                body = .some(made)
            } else {
                body = .some(nil)
            }
        }
        return Step(
            name: name, operation: operation, metadata: items, data: body,
            settings: DaprSidecar.CallSettings(variable: responseVariableName, ignoreError: ignoreError, timeout: timeout, contentType: contentType))
    }
}
