/// `<authentication-certificate thumbprint|certificate-id|body [password]/>` (REFERENCE.md §1.6):
/// the client certificate the gateway presents to the backend.
public struct AuthenticationCertificatePolicy: Sendable, PolicyDefinition {
    public enum Source: Sendable {
        case thumbprint(PolicyParameter<String>)
        /// The certificate resource's name; survives Key Vault rotation, unlike a thumbprint.
        case certificateID(PolicyParameter<String>)
        /// A PKCS#12 (or DER) byte array from an expression, with an optional password.
        case body(PolicyExpression, password: PolicyParameter<String>?)
    }

    public let source: Source

    static let schema = PolicySchema(
        "authentication-certificate", sections: [.inbound],
        attributes: [
            PolicyAttributeSpec("thumbprint", .nonEmptyText),
            PolicyAttributeSpec("certificate-id", .nonEmptyText),
            PolicyAttributeSpec("body", expressionType: .bytes),
            PolicyAttributeSpec("password"),
        ])

    static func make(_ reader: PolicyElementReader) -> AuthenticationCertificatePolicy? {
        let given = ["thumbprint", "certificate-id", "body"].filter { reader.element.attribute($0) != nil }
        guard given.count == 1 else {
            reader.error("\(reader.tag) requires exactly one of 'thumbprint', 'certificate-id' and 'body'")
            return nil
        }
        if reader.element.attribute("password") != nil, given[0] != "body" {
            reader.error(attribute: "password", "'password' of \(reader.tag) is only used with 'body'")
            return nil
        }
        switch given[0] {
        case "thumbprint":
            guard let thumbprint = reader.string("thumbprint") else { return nil }
            if let literal = thumbprint.constant {
                guard let hex = ValidateClientCertificatePolicy.normalizedHex(literal, digits: 40...40) else {
                    reader.error(attribute: "thumbprint", "invalid thumbprint \(reader.quote(literal, attribute: "thumbprint")) in \(reader.tag): expected 40 hex digits")
                    return nil
                }
                return AuthenticationCertificatePolicy(source: .thumbprint(.constant(hex)))
            }
            return AuthenticationCertificatePolicy(source: .thumbprint(thumbprint))
        case "certificate-id":
            return reader.string("certificate-id").map { AuthenticationCertificatePolicy(source: .certificateID($0)) }
        default:
            guard case .expression? = reader.element.attribute("body")?.value else {
                reader.error(attribute: "body", "'body' of \(reader.tag) must be a policy expression producing a byte array")
                return nil
            }
            guard let body = reader.expression("body") else { return nil }
            return AuthenticationCertificatePolicy(source: .body(body, password: reader.string("password")))
        }
    }

    static func parse(_ reader: PolicyElementReader) -> Policy? { make(reader).map(Policy.authenticationCertificate) }
}

// MARK: Run

extension AuthenticationCertificatePolicy {
    /// Chooses the client certificate presented to the backend by `forward-request`.
    struct Step: SynchronousPolicyStep {
        let source: CompiledStep.CertificateSource

        func run(_ execution: PolicyExecution, _ step: CompiledStep) throws -> Flow {
            execution.backendCertificate = try execution.certificate(source, step)
            return .proceed
        }
    }

    func compile(_ compiler: inout StepCompiler) -> (any SynchronousPolicyStep)? {
        compiler.certificateSource(self).map { Step(source: $0) }
    }
}
