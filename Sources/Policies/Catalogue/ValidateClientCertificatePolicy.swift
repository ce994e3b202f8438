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
