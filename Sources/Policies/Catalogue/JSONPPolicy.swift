/// `<jsonp callback-parameter-name="cb"/>` (outbound): when the request's query has the parameter
/// (`?cb=render`), the response body becomes `render(<body>);` with `Content-Type:
/// application/javascript`; without it the response is left as it is. A callback that is not a
/// JavaScript name path (`[A-Za-z_$][A-Za-z0-9_$]*` joined by `.`, at most 256 characters) is not
/// used (the response stays JSON), so a crafted parameter cannot inject script.
public struct JSONPPolicy: Sendable, PolicyDefinition {
    public let callbackParameterName: PolicyParameter<String>

    static let schema = PolicySchema(
        "jsonp", sections: [.outbound], attributes: [PolicyAttributeSpec("callback-parameter-name", .nonEmptyText, required: true)])

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        reader.string("callback-parameter-name").map { .jsonp(JSONPPolicy(callbackParameterName: $0)) }
    }

    /// Whether `name` is safe to put before `(`: identifiers joined by dots.
    static func isCallbackName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 256 else { return false }
        for part in name.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false) {
            guard let first = part.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { return false }
            for byte in part {
                let isLetter = (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20)
                let isDigit = (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                guard isLetter || isDigit || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "$") else { return false }
            }
        }
        return true
    }
}

// MARK: Run

extension JSONPPolicy {
    struct Step: SynchronousPolicyStep {
        let parameterName: RuntimeParameter<String>

        func run(_ execution: PolicyExecution, _ step: CompiledStep) throws -> Flow {
            let name = try execution.string(parameterName, step)
            guard let callback = execution.state.query.first(where: { $0.name == name })?.value else { return .proceed }
            guard JSONPPolicy.isCallbackName(callback) else {
                execution.state.record(.info, "callback '\(callback.prefix(64))' is not a JavaScript name; the response stays JSON")
                return .proceed
            }
            var wrapped = Array(callback.utf8)
            wrapped.append(UInt8(ascii: "("))
            wrapped.append(contentsOf: execution.sectionBody() ?? [])
            wrapped.append(contentsOf: Array(");".utf8))
            try execution.replaceSectionBody(wrapped, step)
            execution.setSectionHeader("Content-Type", "application/javascript; charset=utf-8")
            return .proceed
        }
    }

    func compile(_ compiler: inout StepCompiler) -> (any SynchronousPolicyStep)? {
        compiler.readsMessageBody()
        return compiler.parameter(callbackParameterName).map { Step(parameterName: $0) }
    }
}
