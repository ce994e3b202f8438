import SwiftASN1
import X509

/// The RFC 5280 certificate-profile rules a strict verifier enforces on every certificate of the
/// chain (x509-limbo's rfc5280::* cases): serial numbers positive and at most 20 octets; an
/// authorityKeyIdentifier on every certificate but the trust anchor; a subjectKeyIdentifier and a
/// non-empty subject on CA certificates; no empty EKU; policyConstraints critical; SAN critical when
/// the subject is empty and SAN entries in valid syntax; nameConstraints only in CA certificates,
/// non-empty; no keyCertSign without cA; a critical basicConstraints on the anchor.
/// (PKITS 4.6.4 requires accepting a non-critical basicConstraints on intermediates, so that rule is
/// applied to the trust anchor only.)
struct RFC5280ProfilePolicy: VerifierPolicy {
    let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = []
    var enabled = true

    func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) -> PolicyEvaluationResult {
        guard enabled else { return .meetsPolicy }
        for (index, certificate) in chain.enumerated() {
            if let problem = Self.problem(certificate, isLeaf: index == 0, isAnchor: index == chain.count - 1) {
                let who = index == 0 ? "The client certificate" : "'\(label(certificate))'"
                return .fails(.invalidCertificate, "\(who) violates RFC 5280: \(problem).")
            }
        }
        return .meetsPolicy
    }

    static func problem(_ certificate: Certificate, isLeaf: Bool, isAnchor: Bool) -> String? {
        do {
            if !isAnchor, let serial = rawSerial(certificate) {
                // 20 octets of magnitude; a 21st leading 00 is only the DER sign byte (common in practice).
                let magnitude = serial.first == 0 ? serial.dropFirst() : serial
                if magnitude.count > 20 { return "the serial number is longer than 20 octets" }
                if serial.allSatisfy({ $0 == 0 }) { return "the serial number is zero" }
            }
            let extensions = certificate.extensions
            let isCA: Bool
            if case .some(.isCertificateAuthority) = try extensions.basicConstraints { isCA = true } else { isCA = false }
            if !isAnchor {
                guard let aki = try extensions.authorityKeyIdentifier, aki.keyIdentifier != nil else {
                    return "authorityKeyIdentifier with a keyIdentifier is missing"
                }
            }
            if isCA {
                if try extensions.subjectKeyIdentifier == nil { return "a CA certificate lacks subjectKeyIdentifier" }
                if certificate.subject.isEmpty { return "a CA certificate has an empty subject" }
            }
            if isAnchor, let bc = extensions[oid: .X509ExtensionID.basicConstraints], !bc.critical, isCA {
                return "the CA's basicConstraints is not critical"
            }
            if let eku = extensions[oid: .X509ExtensionID.extendedKeyUsage],
                try DER.parse(eku.value).children("extended key usage").isEmpty
            {
                return "extendedKeyUsage lists no usage"
            }
            if let pc = extensions[oid: [2, 5, 29, 36]], !pc.critical { return "policyConstraints is not critical" }
            if isLeaf, !isCA, let usage = try extensions.keyUsage, usage.keyCertSign {
                return "keyCertSign is set but basicConstraints cA is not"
            }
            if let nc = extensions[oid: .X509ExtensionID.nameConstraints] {
                if !isCA { return "nameConstraints in a non-CA certificate" }
                // Not required critical: CABF allows non-critical nameConstraints, and Drawbridge enforces
                // them either way (x509-limbo rfc5280::nc::permitted-dns-match-noncritical conflicts with
                // webpki::nc::permitted-dns-match-noncritical; the safe, compatible choice is taken).
                _ = nc
                if let parsed = try extensions.nameConstraints {
                    if parsed.permittedSubtrees.isEmpty && parsed.excludedSubtrees.isEmpty {
                        return "nameConstraints has no subtrees"
                    }
                    for case .dnsName(let name) in parsed.permittedSubtrees + parsed.excludedSubtrees
                    where !name.isEmpty && !NameSyntax.isValidDNSName(name, allowWildcard: false) {
                        return "nameConstraints has a malformed dNSName '\(name)'"
                    }
                }
            }
            let san = extensions[oid: .X509ExtensionID.subjectAlternativeName]
            if certificate.subject.isEmpty {
                guard let san, san.critical else { return "the subject is empty and subjectAltName is not critical" }
            }
            if san != nil, let names = try extensions.subjectAlternativeNames {
                for name in names {
                    switch name {
                    case .dnsName(let dns) where !NameSyntax.isValidDNSName(dns, allowWildcard: isLeaf):
                        return "subjectAltName has a malformed dNSName '\(dns)'"
                    case .rfc822Name(let email) where !NameSyntax.isValidEmail(email):
                        return "subjectAltName has a malformed rfc822Name '\(email)'"
                    default: continue
                    }
                }
            }
        } catch {
            return "an extension is malformed (\(error))"
        }
        return nil
    }

    /// The serial's DER INTEGER content bytes, read from the TBSCertificate header without parsing
    /// the rest (swift-certificates keeps only the magnitude, which loses the sign).
    static func rawSerial(_ certificate: Certificate) -> ArraySlice<UInt8>? {
        var reader = TLVReader(certificate.tbsCertificateBytes)
        guard let tbs = reader.next(), tbs.tag == 0x30 else { return nil }
        var fields = TLVReader(tbs.content)
        guard var field = fields.next() else { return nil }
        if field.tag == 0xA0 {
            guard let next = fields.next() else { return nil }
            field = next
        }
        return field.tag == 0x02 ? field.content : nil
    }
}

/// A bounds-checked DER TLV walker for the few hot paths that need one field (definite lengths).
struct TLVReader {
    private var bytes: ArraySlice<UInt8>

    init(_ bytes: ArraySlice<UInt8>) { self.bytes = bytes }

    mutating func next() -> (tag: UInt8, content: ArraySlice<UInt8>)? {
        guard bytes.count >= 2 else { return nil }
        var index = bytes.startIndex
        let tag = bytes[index]
        index += 1
        var length = Int(bytes[index])
        index += 1
        if length & 0x80 != 0 {
            let count = length & 0x7F
            guard count >= 1, count <= 4, bytes.endIndex - index >= count else { return nil }
            length = 0
            for _ in 0..<count {
                length = length << 8 | Int(bytes[index])
                index += 1
            }
        }
        guard bytes.endIndex - index >= length else { return nil }
        let content = bytes[index..<index + length]
        bytes = bytes[(index + length)...]
        return (tag, content)
    }
}

/// RFC 1034/1123 preferred name syntax and RFC 5321-ish mailbox checks for SAN entries.
enum NameSyntax {
    static func isValidDNSName(_ name: String, allowWildcard: Bool) -> Bool {
        var labels = name.split(separator: ".", omittingEmptySubsequences: false)
        guard !labels.isEmpty, name.utf8.count <= 253 else { return false }
        if allowWildcard, labels.first == "*", labels.count > 2 { labels.removeFirst() }
        for label in labels {
            guard !label.isEmpty, label.utf8.count <= 63 else { return false }
            guard label.utf8.allSatisfy({ isLetterOrDigit($0) || $0 == UInt8(ascii: "-") }) else { return false }
            if label.utf8.first == UInt8(ascii: "-") || label.utf8.last == UInt8(ascii: "-") { return false }
        }
        // The rightmost label must not be all-numeric (an IP address written as a name).
        if let last = labels.last, last.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) { return false }
        return true
    }

    static func isValidEmail(_ address: String) -> Bool {
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty else { return false }
        return isValidDNSName(String(parts[1]), allowWildcard: false)
    }

    private static func isLetterOrDigit(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
    }
}
