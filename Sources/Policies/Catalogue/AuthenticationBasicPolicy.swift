import Foundation

/// `<authentication-basic username="…" password="…"/>`: the backend request carries
/// `Authorization: Basic base64(username:password)` (UTF-8), replacing any `Authorization` the
/// client sent. A username containing `:` cannot be sent in Basic credentials (RFC 7617 §2): at
/// load when literal, `ExpressionValueEvaluationFailure` when computed.
public struct AuthenticationBasicPolicy: Sendable, PolicyDefinition {
    public let username: PolicyParameter<String>
    public let password: PolicyParameter<String>

    static let schema = PolicySchema(
        "authentication-basic", sections: [.inbound],
        attributes: [PolicyAttributeSpec("username", .nonEmptyText, required: true), PolicyAttributeSpec("password", .text, required: true)])

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        guard let username = reader.string("username"), let password = reader.string("password") else { return nil }
        if case .constant(let name) = username, name.contains(":") {
            reader.error(attribute: "username", "the 'username' of '<authentication-basic>' must not contain ':' (RFC 7617)")
            return nil
        }
        return .authenticationBasic(AuthenticationBasicPolicy(username: username, password: password))
    }
}

// MARK: Run

extension AuthenticationBasicPolicy {
    struct Step: SynchronousPolicyStep {
        let username: RuntimeParameter<String>
        let password: RuntimeParameter<String>

        func run(_ execution: PolicyExecution, _ step: CompiledStep) throws -> Flow {
            let name = try execution.string(username, step)
            let secret = try execution.string(password, step)
            guard !name.contains(":") else {
                throw PolicyFailure.expression(step.name, "the username contains ':', which Basic credentials cannot carry.")
            }
            let credentials = Data((name + ":" + secret).utf8).base64EncodedString()
            var headers = execution.state.requestHeaders
            HeaderList.set(&headers, "Authorization", "Basic " + credentials)
            execution.state.requestHeaders = headers
            return .proceed
        }
    }

    func compile(_ compiler: inout StepCompiler) -> (any SynchronousPolicyStep)? {
        guard let username = compiler.parameter(username), let password = compiler.parameter(password) else { return nil }
        return Step(username: username, password: password)
    }
}
