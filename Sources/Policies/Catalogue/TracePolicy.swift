import Foundation

/// `<trace source="…" severity="verbose|information|error"><message>…</message><metadata name value/></trace>`,
/// or the older form with the message as the element's text: `<trace source="…">text</trace>`.
public struct TracePolicy: Sendable, PolicyDefinition {
    public enum Severity: String, Sendable, Hashable, Comparable {
        case verbose
        case information
        case error

        var rank: Int {
            switch self {
            case .verbose: 0
            case .information: 1
            case .error: 2
            }
        }

        public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }
    }

    public struct Metadata: Sendable {
        public let name: String
        public let value: PolicyParameter<String>
    }

    public let source: String
    public let severity: Severity
    public let message: PolicyParameter<String>
    public let metadata: [Metadata]

    static let schema = PolicySchema(
        "trace", sections: PolicySection.all,
        attributes: [
            PolicyAttributeSpec("source", .nonEmptyText, required: true, expressions: false),
            PolicyAttributeSpec("severity", .choice(["verbose", "information", "error"]), default: "verbose", expressions: false),
        ],
        children: .elements(["message", "metadata"]), allowsText: true)
    static let messageSchema = PolicySchema("message", allowsText: true)
    static let metadataSchema = PolicySchema(
        "metadata",
        attributes: [
            PolicyAttributeSpec("name", .nonEmptyText, required: true, expressions: false),
            PolicyAttributeSpec("value", required: true),
        ])

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        reader.atMostOne("message")
        let messageElement = reader.children(named: "message", messageSchema).first.map { $0.text ?? .constant("") }
        let text = reader.text.map { parameter -> PolicyParameter<String> in
            parameter.constant.map { .constant($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? parameter
        }
        if messageElement != nil, text != nil {
            reader.error("'<trace>' takes its message either as text or as '<message>', not both")
            return nil
        }
        let message = messageElement ?? text
        let metadata = reader.children(named: "metadata", metadataSchema).compactMap { item -> Metadata? in
            guard let name = item.literal("name"), let value = item.string("value") else { return nil }
            return Metadata(name: name, value: value)
        }
        guard let message else {
            reader.error("'<trace>' requires a '<message>' (or the message as its text)")
            return nil
        }
        guard let source = reader.literal("source"), let severity = reader.literal("severity").flatMap(Severity.init(rawValue:))
        else { return nil }
        return .trace(TracePolicy(source: source, severity: severity, message: message, metadata: metadata))
    }
}

// MARK: Run

extension TracePolicy {
    struct Step: SynchronousPolicyStep {
        let source: String
        let severity: String
        let message: RuntimeParameter<String>
        let metadata: [(String, RuntimeParameter<String>)]

        func run(_ execution: PolicyExecution, _ step: CompiledStep) throws -> Flow {
            var body = try execution.string(message, step)
            if !metadata.isEmpty {
                body += " {" + (try metadata.map { "\($0.0)=\(try execution.string($0.1, step))" }).joined(separator: ", ") + "}"
            }
            execution.state.recordTrace("\(source) [\(severity)]: \(body)", source: source, severity: severity, text: body)
            return .proceed
        }
    }

    func compile(_ compiler: inout StepCompiler) -> (any SynchronousPolicyStep)? {
        guard let message = compiler.parameter(message) else { return nil }
        var compiled: [(String, RuntimeParameter<String>)] = []
        for item in metadata {
            guard let value = compiler.parameter(item.value) else { return nil }
            compiled.append((item.name, value))
        }
        return Step(source: source, severity: severity.rawValue, message: message, metadata: compiled)
    }
}
