import ClientCertificates
import Foundation

/// `<validate-client-certificate>` (REFERENCE.md §1.5): the client certificate must pass every rule
/// and match all claims of at least one `<identity>`. Nothing here allows expressions.
public struct ValidateClientCertificatePolicy: Sendable, PolicyDefinition {
    /// One acceptable certificate description; every attribute given must match.
    public struct Identity: Sendable, Hashable {
        /// Upper-case hex SHA-1 of the certificate (compared case-insensitively).
        public var thumbprint: String?
        /// Upper-case hex serial number.
        public var serialNumber: String?
        public var commonName: String?
        /// A full distinguished name, e.g. `CN=MyName, OU=MyOrgUnit, C=US`.
        public var subject: String?
        /// A subjectAltName dNSName entry.
        public var dnsName: String?
        public var issuerSubject: String?
        public var issuerThumbprint: String?
        /// The id of an uploaded CA certificate; exclusive with the other issuer claims.
        public var issuerCertificateID: String?
        public let position: SourcePosition
    }

    public let validateRevocation: Bool
    public let validateTrust: Bool
    public let validateNotBefore: Bool
    public let validateNotAfter: Bool
    /// True: on failure continue with the next policy; false: raise the error (401).
    public let ignoreError: Bool
    /// Empty: only the rules are checked.
    public let identities: [Identity]

    static let schema = PolicySchema(
        "validate-client-certificate", sections: [.inbound],
        attributes: ["validate-revocation", "validate-trust", "validate-not-before", "validate-not-after"].map {
            PolicyAttributeSpec($0, .boolean, default: "true", expressions: false)
        } + [PolicyAttributeSpec("ignore-error", .boolean, default: "false", expressions: false)],
        children: .elements(["identities"]))
    static let identitiesSchema = PolicySchema("identities", children: .elements(["identity"]))
    static let identitySchema = PolicySchema(
        "identity",
        attributes: [
            "thumbprint", "serial-number", "common-name", "subject", "dns-name", "issuer-subject", "issuer-thumbprint",
            "issuer-certificate-id",
        ].map { PolicyAttributeSpec($0, .nonEmptyText, expressions: false) })

    /// Hex digits, optionally separated by spaces or colons (as copied from certificate viewers);
    /// returned upper-case without separators, or nil.
    static func normalizedHex(_ text: String, digits: ClosedRange<Int>) -> String? {
        let hex = text.filter { $0 != " " && $0 != ":" }
        guard digits.contains(hex.count), hex.allSatisfy(\.isHexDigit), hex.allSatisfy(\.isASCII) else { return nil }
        return hex.uppercased()
    }

    static func identity(_ reader: PolicyElementReader) -> Identity? {
        var identity = Identity(position: reader.element.position)
        var valid = true
        for (name, digits) in [("thumbprint", 40...40), ("issuer-thumbprint", 40...40), ("serial-number", 1...40)] {
            guard let text = reader.literal(name) else { continue }
            guard let hex = normalizedHex(text, digits: digits) else {
                let what = digits.lowerBound == 40 ? "a SHA-1 thumbprint of 40 hex digits" : "a serial number in hex"
                reader.error(attribute: name, "invalid value \(reader.quote(text, attribute: name)) for '\(name)' of '<identity>': expected \(what)")
                valid = false
                continue
            }
            switch name {
            case "thumbprint": identity.thumbprint = hex
            case "issuer-thumbprint": identity.issuerThumbprint = hex
            default: identity.serialNumber = hex
            }
        }
        identity.commonName = reader.literal("common-name")
        identity.subject = reader.literal("subject")
        identity.dnsName = reader.literal("dns-name")
        identity.issuerSubject = reader.literal("issuer-subject")
        identity.issuerCertificateID = reader.literal("issuer-certificate-id")
        if identity.issuerCertificateID != nil, identity.issuerSubject != nil || identity.issuerThumbprint != nil {
            reader.error(attribute: "issuer-certificate-id", "'issuer-certificate-id' of '<identity>' cannot be combined with 'issuer-subject' or 'issuer-thumbprint'")
            valid = false
        }
        if reader.element.attributes.allSatisfy({ $0.name == "id" }) {
            reader.error("'<identity>' requires at least one claim (thumbprint, serial-number, common-name, subject, dns-name, issuer-subject, issuer-thumbprint or issuer-certificate-id)")
            valid = false
        }
        return valid ? identity : nil
    }

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        reader.atMostOne("identities")
        var identities: [Identity] = []
        for identitiesReader in reader.children(named: "identities", identitiesSchema) {
            identities += identitiesReader.children(named: "identity", identitySchema).compactMap(identity)
        }
        func flag(_ name: String) -> Bool? { reader.literal(name).flatMap(PolicyAttributeType.boolean) }
        guard let revocation = flag("validate-revocation"), let trust = flag("validate-trust"),
            let notBefore = flag("validate-not-before"), let notAfter = flag("validate-not-after"),
            let ignoreError = flag("ignore-error")
        else { return nil }
        return .validateClientCertificate(
            ValidateClientCertificatePolicy(
                validateRevocation: revocation, validateTrust: trust, validateNotBefore: notBefore,
                validateNotAfter: notAfter, ignoreError: ignoreError, identities: identities))
    }
}

// MARK: Run

extension ValidateClientCertificatePolicy {
    /// Verifies the client's chain (which may wait: revocation lists, uncached verdicts).
    struct Step: WaitingPolicyStep {
        let policy: ValidateClientCertificatePolicy

        func run(_ execution: PolicyExecution, _ step: CompiledStep) async throws -> Flow {
            try await execution.validateClientCertificate(policy, step)
            return .proceed
        }
    }

    func compile() -> any WaitingPolicyStep { Step(policy: self) }
}

/// `validate-client-certificate` (REFERENCE.md §1.5): every failure is a 401 with
/// `LastError.Source = validate-client-certificate` and one of APIM's reasons.
extension PolicyExecution {
    static let notTrustedMessage = "A certificate chain could not be built to a trusted root authority."
    static let identityMessage = "Certificate does not match any of allowed identities."

    func validateClientCertificate(_ policy: ValidateClientCertificatePolicy, _ step: CompiledStep) async throws {
        do {
            try await checkClientCertificate(policy)
            state.record(.info, "client certificate accepted")
        } catch let failure as PolicyFailure where policy.ignoreError {
            state.record(.info, "ignored (ignore-error): \(failure.reason): \(failure.message)")
        }
    }

    func certificateFailure(_ reason: String, _ message: String, missing: Bool = false) -> PolicyFailure {
        PolicyFailure(
            source: "validate-client-certificate", reason: reason, message: message, status: 401,
            clientMessage: missing ? "Client certificate missing" : "Invalid client certificate")
    }

    func checkClientCertificate(_ policy: ValidateClientCertificatePolicy) async throws {
        guard let object = state.certificate else {
            if certificatePresentedButUnreadable {
                throw certificateFailure("ClientCertificateNotTrusted", "The client certificate could not be parsed.")
            }
            throw certificateFailure("ClientCertificateNotFound", "Client certificate missing.", missing: true)
        }
        let certificate = object.certificate
        var chain: [X509Certificate2] = []
        if policy.validateTrust {
            var context = options.verification
            context.options.checkRevocation = policy.validateRevocation
            context.options.checkNotBefore = policy.validateNotBefore
            context.options.checkNotAfter = policy.validateNotAfter
            let result = await ChainVerifier.verify(leaf: certificate, presented: presented, context: context)
            if let failure = result.failure {
                let message = failure.reason == .notTrusted ? Self.notTrustedMessage : failure.message
                throw certificateFailure(failure.reason.rawValue, message)
            }
            chain = result.chain
        } else {
            // Without trust there is no chain to check revocation on; only the dates are checked.
            let now = options.verification.options.validationTime ?? options.verification.clock()
            if policy.validateNotBefore, now < certificate.notBefore {
                throw certificateFailure("ClientCertificateNotYetValid", "The client certificate is not valid before \(certificate.notBefore).")
            }
            if policy.validateNotAfter, now > certificate.notAfter {
                throw certificateFailure("ClientCertificateExpired", "The client certificate expired on \(certificate.notAfter).")
            }
        }
        guard !policy.identities.isEmpty else { return }
        let issuers = issuerCandidates(of: certificate, chain: chain)
        guard policy.identities.contains(where: { matches($0, certificate, issuers: issuers) }) else {
            throw certificateFailure("ClientCertificateIdentityNotMatched", Self.identityMessage)
        }
    }

    /// The issuer: from the verified chain, else any presented or trusted certificate whose subject is the leaf's issuer.
    func issuerCandidates(of certificate: X509Certificate2, chain: [X509Certificate2]) -> [X509Certificate2] {
        if chain.count > 1 { return [chain[1]] }
        if chain.count == 1 { return [chain[0]] }  // self-signed trust anchor
        let trust = options.verification.trustStore
        let uploaded = options.certificates.map { Array($0.byThumbprint.values) } ?? []
        return (presented + trust.intermediates + trust.roots + uploaded).filter { $0.subjectName.rawData == certificate.issuerName.rawData }
    }

    func matches(_ identity: ValidateClientCertificatePolicy.Identity, _ certificate: X509Certificate2, issuers: [X509Certificate2]) -> Bool {
        if let thumbprint = identity.thumbprint, thumbprint != certificate.thumbprint.uppercased() { return false }
        if let serial = identity.serialNumber, Self.trimmedHex(serial) != Self.trimmedHex(certificate.serialNumber) { return false }
        if let commonName = identity.commonName, commonName != certificate.getNameInfo(.simpleName, forIssuer: false) { return false }
        if let subject = identity.subject, !Self.sameName(subject, certificate.subject) { return false }
        if let dnsName = identity.dnsName {
            let names = certificate.subjectAlternativeNames.compactMap { name -> String? in
                if case .dnsName(let value) = name { return value }
                return nil
            }
            guard names.contains(where: { $0.caseInsensitiveCompare(dnsName) == .orderedSame }) else { return false }
        }
        if let issuerSubject = identity.issuerSubject, !Self.sameName(issuerSubject, certificate.issuer) { return false }
        if let issuerThumbprint = identity.issuerThumbprint, !issuers.contains(where: { $0.thumbprint.uppercased() == issuerThumbprint }) {
            return false
        }
        if let id = identity.issuerCertificateID {
            guard let uploaded = options.certificates?.certificate(id: id), issuers.contains(where: { $0.thumbprint == uploaded.thumbprint })
            else { return false }
        }
        return true
    }

    static func trimmedHex(_ text: String) -> String {
        let hex = text.uppercased().filter { $0 != " " && $0 != ":" }
        let trimmed = hex.drop { $0 == "0" }
        return trimmed.isEmpty ? "0" : String(trimmed)
    }

    /// Distinguished names compared as sets of `KEY=value` parts, case-insensitively, ignoring
    /// spaces around separators and quoting (`O="Contoso, Inc."`).
    static func sameName(_ lhs: String, _ rhs: String) -> Bool {
        components(lhs) == components(rhs)
    }

    static func components(_ name: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var quoted = false
        for character in name {
            if character == "\"" {
                quoted.toggle()
            } else if (character == "," || character == ";") && !quoted {
                parts.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        parts.append(current)
        return parts.map { part in
            let pieces = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            return pieces.joined(separator: "=").lowercased()
        }.filter { !$0.isEmpty }.sorted()
    }
}
