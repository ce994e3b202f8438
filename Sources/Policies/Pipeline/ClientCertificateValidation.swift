import ClientCertificates
import Foundation

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
