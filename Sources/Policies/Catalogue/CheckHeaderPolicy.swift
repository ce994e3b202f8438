import Foundation

/// `<check-header name="…" failed-check-httpcode="401" failed-check-error-message="…" ignore-case="true">`
/// with optional `<value>`s: the header must be present (and, with values, equal one of them).
public struct CheckHeaderPolicy: Sendable, PolicyDefinition {
    public let name: PolicyParameter<String>
    public let failedCheckHTTPCode: PolicyParameter<Int>
    public let failedCheckErrorMessage: PolicyParameter<String>
    public let ignoreCase: PolicyParameter<Bool>
    /// Empty: presence is enough.
    public let values: [PolicyParameter<String>]

    static let schema = PolicySchema(
        "check-header", sections: [.inbound, .outbound],
        attributes: [
            PolicyAttributeSpec("name", .nonEmptyText, required: true),
            PolicyAttributeSpec("failed-check-httpcode", .integer(100...599), required: true),
            PolicyAttributeSpec("failed-check-error-message", required: true),
            PolicyAttributeSpec("ignore-case", .boolean, required: true),
        ],
        children: .elements(["value"]))

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        let values = NamedValuesSetting.values(reader)
        guard let values, let name = reader.string("name"), NamedValuesSetting.checkName(reader, name),
            let code = reader.integer("failed-check-httpcode"),
            let message = reader.string("failed-check-error-message"), let ignoreCase = reader.boolean("ignore-case")
        else { return nil }
        return .checkHeader(
            CheckHeaderPolicy(name: name, failedCheckHTTPCode: code, failedCheckErrorMessage: message, ignoreCase: ignoreCase, values: values))
    }
}

// MARK: Run

extension CheckHeaderPolicy {
    struct Step: SynchronousPolicyStep {
        let name: RuntimeParameter<String>
        let code: RuntimeParameter<Int>
        let message: RuntimeParameter<String>
        let ignoreCase: RuntimeParameter<Bool>
        let values: [RuntimeParameter<String>]

        func run(_ execution: PolicyExecution, _ step: CompiledStep) throws -> Flow {
            let headerName = try execution.string(name, step)
            let present = HeaderList.values(execution.state.requestHeaders, headerName)
            let failedCode = try execution.int(code, step, in: 100...599)
            func failure(_ reason: String) throws -> PolicyFailure {
                let text = try execution.string(message, step)
                return PolicyFailure(source: step.name, reason: reason, message: text, status: failedCode, clientMessage: text)
            }
            guard !present.isEmpty else { throw try failure("HeaderNotFound") }
            if !values.isEmpty {
                let allowed = try values.map { try execution.string($0, step) }
                let caseInsensitive = try execution.bool(ignoreCase, step)
                let given = present.flatMap { $0.split(separator: ",").map { ASCII.trimmingWhitespace(String($0)) } } + present
                let matches = given.contains { value in
                    allowed.contains { caseInsensitive ? $0.caseInsensitiveCompare(value) == .orderedSame : $0 == value }
                }
                guard matches else { throw try failure("HeaderValueNotAllowed") }
            }
            return .proceed
        }
    }

    func compile(_ compiler: inout StepCompiler) -> (any SynchronousPolicyStep)? {
        guard let name = compiler.parameter(name), let code = compiler.parameter(failedCheckHTTPCode),
            let message = compiler.parameter(failedCheckErrorMessage), let ignoreCase = compiler.parameter(ignoreCase),
            let values = compiler.parameters(values)
        else { return nil }
        return Step(name: name, code: code, message: message, ignoreCase: ignoreCase, values: values)
    }
}
