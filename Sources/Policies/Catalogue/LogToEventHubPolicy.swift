import Foundation

/// `<log-to-eventhub logger-id="id" [partition-id="index" | partition-key="value"]>message</log-to-eventhub>`:
/// the message (literal text, or an expression — typically `@(...)` or `@{ ... }` building a string)
/// is evaluated in the request and handed to the named logger (`PolicyPipelineOptions.loggers`),
/// whose queue is drained off the request path. As in APIM: `logger-id` and `partition-id` are
/// literals, `partition-key` may be an expression, the two partition attributes exclude each other,
/// every section and scope takes it, and a message over 200 KB is cut to 200 KB. A `logger-id` no
/// configured logger has is refused at load, naming it. An expression that fails fails the policy
/// (on-error), as any policy expression; a logger whose queue is full drops an event and counts it,
/// but never fails or slows the request.
public struct LogToEventHubPolicy: Sendable, PolicyDefinition {
    public let loggerID: String
    public let partitionID: Int?
    public let partitionKey: PolicyParameter<String>?
    public let message: PolicyParameter<String>

    /// APIM's limit: "a larger message will be automatically truncated to 200 KB".
    public static let maximumMessageBytes = 200 * 1024

    static let schema = PolicySchema(
        "log-to-eventhub", sections: PolicySection.all,
        attributes: [
            PolicyAttributeSpec("logger-id", .nonEmptyText, required: true, expressions: false),
            PolicyAttributeSpec("partition-id", .integer(0...65_535), expressions: false),
            PolicyAttributeSpec("partition-key", .text),
        ],
        allowsText: true, textType: .any)

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        let hasPartitionID = reader.element.attribute("partition-id") != nil
        let hasPartitionKey = reader.element.attribute("partition-key") != nil
        if hasPartitionID, hasPartitionKey {
            reader.error("'<log-to-eventhub>' takes 'partition-id' or 'partition-key', not both")
            return nil
        }
        guard let message = reader.text.map({ text -> PolicyParameter<String> in
            text.constant.map { .constant($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? text
        }) else {
            if reader.isValid { reader.error("'<log-to-eventhub>' needs the message as its text (text, or an expression returning a string)") }
            return nil
        }
        guard let loggerID = reader.literal("logger-id") else { return nil }
        var partitionID: Int? = nil
        if hasPartitionID {
            guard case .constant(let index)? = reader.integer("partition-id") else { return nil }
            partitionID = index
        }
        let partitionKey = hasPartitionKey ? reader.string("partition-key") : nil
        if hasPartitionKey, partitionKey == nil { return nil }
        guard reader.isValid else { return nil }
        return .logToEventHub(LogToEventHubPolicy(loggerID: loggerID, partitionID: partitionID, partitionKey: partitionKey, message: message))
    }

    /// `text` cut to at most `limit` UTF-8 bytes, on a character boundary (never inside a scalar).
    static func truncated(_ text: String, toBytes limit: Int) -> (text: String, cut: Bool) {
        guard text.utf8.count > limit else { return (text, false) }
        var end = text.utf8.index(text.utf8.startIndex, offsetBy: max(0, limit))
        // Step back to the start of a scalar (continuation bytes are 10xxxxxx).
        while end > text.utf8.startIndex, text.utf8[end] & 0xC0 == 0x80 { end = text.utf8.index(before: end) }
        let prefix = text.utf8[..<end]
        return (String(decoding: prefix, as: UTF8.self), true)
    }
}

// MARK: Run

extension LogToEventHubPolicy {
    struct Step: SynchronousPolicyStep {
        let loggerID: String
        let partitionID: Int?
        let partitionKey: RuntimeParameter<String>?
        let message: RuntimeParameter<String>

        func run(_ execution: PolicyExecution, _ step: CompiledStep) throws -> Flow {
            let (text, cut) = LogToEventHubPolicy.truncated(try execution.string(message, step), toBytes: LogToEventHubPolicy.maximumMessageBytes)
            let key = try partitionKey.map { try execution.string($0, step) }
            let state = execution.state
            guard let logger = execution.options.loggers[loggerID] else {
                // (Not reachable through the gateway: an unknown id does not load.)
                state.record(.info, "log-to-eventhub: no logger '\(loggerID)' here; message not sent")
                return .proceed
            }
            logger.log(PolicyLogEvent(message: text, partitionID: partitionID, partitionKey: key, truncated: cut,
                                      requestID: state.requestId.uuidString.lowercased()))
            state.record(.info, "log-to-eventhub: \(text.utf8.count) bytes to logger '\(loggerID)'" + (cut ? " (truncated to 200 KB)" : ""))
            return .proceed
        }
    }

    func compile(_ compiler: inout StepCompiler, _ statement: PolicyStatement) -> (any SynchronousPolicyStep)? {
        guard compiler.loggers.contains(loggerID) else {
            let known = compiler.loggers.sorted()
            compiler.diagnostics.append(
                PolicyDiagnostic(
                    at: statement.position,
                    "logger '\(loggerID)' of '<log-to-eventhub>' does not exist"
                        + (known.isEmpty ? " (no loggers are configured: policies.loggers)" : "; configured: \(known.joined(separator: ", "))")))
            return nil
        }
        guard let message = compiler.parameter(message) else { return nil }
        var key: RuntimeParameter<String>? = nil
        if let partitionKey {
            guard let made = compiler.parameter(partitionKey) else { return nil }
            key = made
        }
        return Step(loggerID: loggerID, partitionID: partitionID, partitionKey: key, message: message)
    }
}
