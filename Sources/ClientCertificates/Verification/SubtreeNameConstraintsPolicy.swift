import SwiftASN1
import X509

/// RFC 5280 §4.2.1.10 name constraints for directoryName, rfc822Name, dNSName, URI and iPAddress
/// (swift-certificates supports neither directoryName nor rfc822Name). Constraints of every CA in
/// the chain (trust anchor included) apply to the certificates below it, except self-issued
/// intermediates. A constrained name type we cannot evaluate fails closed.
struct SubtreeNameConstraintsPolicy: VerifierPolicy {
    let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = [
        .X509ExtensionID.nameConstraints, .X509ExtensionID.subjectAlternativeName,
    ]

    func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) -> PolicyEvaluationResult {
        let certificates = Array(chain)
        for (caIndex, ca) in certificates.enumerated().dropFirst() {
            let constraints: NameConstraints
            do {
                guard let parsed = try ca.extensions.nameConstraints else { continue }
                constraints = parsed
            } catch {
                return .fails(.nameConstraints, "CA '\(label(ca))' has malformed name constraints: \(error).")
            }
            let permitted: [AlternativeName]
            let excluded: [AlternativeName]
            do {
                permitted = try constraints.permittedSubtrees.map(AlternativeName.init)
                excluded = try constraints.excludedSubtrees.map(AlternativeName.init)
            } catch {
                return .fails(.nameConstraints, "CA '\(label(ca))' has unreadable name constraints: \(error).")
            }
            // Bound the work: |names| x |constraints| grows quadratically (x509-limbo nc-dos-*).
            var budget = 1 << 20
            for index in 0..<caIndex {
                let certificate = certificates[index]
                if index > 0, certificate.isSelfIssued { continue }
                let names: [AlternativeName]
                do { names = try Self.names(of: certificate) } catch {
                    return .fails(.invalidCertificate, "'\(label(certificate))' has unreadable names: \(error).")
                }
                budget -= names.count * (permitted.count + excluded.count)
                if budget < 0 {
                    return .fails(.nameConstraints, "Too many names and name constraints to check under CA '\(label(ca))'.")
                }
                for name in names {
                    if let constraint = excluded.first(where: { NameConstraintMatcher.excludes(name, constraint: $0) }) {
                        return .fails(.nameConstraints, "Name \(name) of '\(label(certificate))' is excluded by \(constraint) of CA '\(label(ca))'.")
                    }
                    if excluded.contains(where: { NameConstraintMatcher.matches(name, constraint: $0) == nil }) {
                        return .fails(.nameConstraints, "Name \(name) of '\(label(certificate))' cannot be checked against the excluded constraints of CA '\(label(ca))'.")
                    }
                    let sameKind = permitted.filter { NameConstraintMatcher.sameKind(name, $0) }
                    if !sameKind.isEmpty, !sameKind.contains(where: { NameConstraintMatcher.matches(name, constraint: $0) == true }) {
                        return .fails(.nameConstraints, "Name \(name) of '\(label(certificate))' is not within the permitted subtrees of CA '\(label(ca))'.")
                    }
                }
            }
        }
        return .meetsPolicy
    }

    /// The names constraints apply to: a non-empty subject, e-mail attributes of the subject (as
    /// rfc822Name, RFC 5280 §4.2.1.10), and every subject alternative name.
    static func names(of certificate: Certificate) throws -> [AlternativeName] {
        var names: [AlternativeName] = []
        let subject = try X500DistinguishedName(certificate.subject)
        if !subject.relativeDistinguishedNames.isEmpty {
            names.append(.directoryName(subject))
        }
        let hasSAN = certificate.extensions[oid: .X509ExtensionID.subjectAlternativeName] != nil
        if !hasSAN {
            for email in subject.relativeDistinguishedNames.flatMap({ $0 }) where email.oid == "1.2.840.113549.1.9.1" {
                if let value = email.value { names.append(.email(value)) }
            }
        }
        if let san = try certificate.extensions.subjectAlternativeNames {
            names += try san.map(AlternativeName.init)
        }
        return names
    }
}

/// Matching of one name against one constraint of the same kind. Returns nil when the pair cannot
/// be evaluated (unsupported or malformed), which callers treat as a failure.
enum NameConstraintMatcher {
    static func sameKind(_ name: AlternativeName, _ constraint: AlternativeName) -> Bool {
        switch (name, constraint) {
        case (.dnsName, .dnsName), (.email, .email), (.uri, .uri), (.ipAddress, .ipAddress),
            (.directoryName, .directoryName), (.userPrincipalName, .userPrincipalName),
            (.registeredID, .registeredID):
            return true
        case (.other(let a), .other(let b)): return a == b
        default: return false
        }
    }

    static func matches(_ name: AlternativeName, constraint: AlternativeName) -> Bool? {
        guard sameKind(name, constraint) else { return false }
        switch (name, constraint) {
        case (.directoryName(let value), .directoryName(let base)):
            let rdns = value.relativeDistinguishedNames
            let prefix = base.relativeDistinguishedNames
            guard prefix.count <= rdns.count else { return false }
            let head = X500DistinguishedName(rdns: Array(rdns.prefix(prefix.count)))
            return NormalizedName(head) == NormalizedName(X500DistinguishedName(rdns: prefix))
        case (.dnsName(let value), .dnsName(let base)):
            return dnsMatches(value, base)
        case (.email(let value), .email(let base)):
            return emailMatches(value, base)
        case (.uri(let value), .uri(let base)):
            guard let host = uriHost(value) else { return nil }
            return hostMatches(host, base)
        case (.ipAddress(let address), .ipAddress(let range)):
            guard range.count == 8 || range.count == 32 else { return nil }
            let half = range.count / 2
            guard address.count == half else { return false }
            let mask = range[half...]
            guard isContiguous(Array(mask)) else { return nil }
            for i in 0..<half where address[i] & mask[half + i] != range[i] & mask[half + i] { return false }
            return true
        default:
            return nil
        }
    }

    /// Exclusion is checked defensively: a wildcard name is excluded when any name it could stand
    /// for is (x509-limbo cve-2025-61727).
    static func excludes(_ name: AlternativeName, constraint: AlternativeName) -> Bool {
        if matches(name, constraint: constraint) == true { return true }
        if case .dnsName(let value) = name, case .dnsName(let base) = constraint, value.hasPrefix("*.") {
            let rest = String(value.dropFirst(1)).lowercased()  // ".example.com"
            return base.lowercased().hasSuffix(rest)
        }
        return false
    }

    static func dnsMatches(_ name: String, _ constraint: String) -> Bool {
        let name = name.lowercased()
        var base = constraint.lowercased()
        if base.isEmpty { return true }
        if base.hasPrefix(".") {
            return name.hasSuffix(base)
        }
        if name == base { return true }
        base = "." + base
        return name.hasSuffix(base)
    }

    /// Host form: `host`, `.domain` (subdomains only); URIs use the same rules for their host.
    static func hostMatches(_ host: String, _ constraint: String) -> Bool {
        let host = host.lowercased()
        let base = constraint.lowercased()
        if base.hasPrefix(".") { return host.hasSuffix(base) }
        return host == base
    }

    /// rfc822Name constraints: a full mailbox, a host (exact), or `.domain` (any subdomain).
    static func emailMatches(_ address: String, _ constraint: String) -> Bool {
        guard let at = address.lastIndex(of: "@") else { return false }
        let domain = address[address.index(after: at)...].lowercased()
        if constraint.contains("@") {
            guard let cAt = constraint.lastIndex(of: "@") else { return false }
            return address[..<at] == constraint[..<cAt]
                && domain == constraint[constraint.index(after: cAt)...].lowercased()
        }
        return hostMatches(domain, constraint)
    }

    static func uriHost(_ uri: String) -> String? {
        guard let schemeEnd = uri.range(of: "://") else { return nil }
        var rest = uri[schemeEnd.upperBound...]
        if let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) { rest = rest[..<end] }
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        if rest.hasPrefix("[") { return nil }  // IP literal: not a host name
        if let colon = rest.lastIndex(of: ":") { rest = rest[..<colon] }
        return rest.isEmpty ? nil : String(rest)
    }

    static func isContiguous(_ mask: [UInt8]) -> Bool {
        var seenZero = false
        for byte in mask {
            for bit in (0..<8).reversed() {
                let set = byte & (1 << bit) != 0
                if set && seenZero { return false }
                if !set { seenZero = true }
            }
        }
        return true
    }
}
