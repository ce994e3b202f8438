import Foundation

/// `drawbridge cert inspect FILE`: the .NET-style fields plus SHA-256, SPKI hash, SANs, EKUs, CDPs.
public enum CertificateInspection {
    /// Loads every certificate in the file (PEM, DER, PKCS#7, PKCS#12 with `password`) and describes
    /// each: text, or one JSON array with an object per certificate.
    public static func inspect(path: String, password: String? = nil, json: Bool = false, now: Date = Date()) throws -> String {
        let bytes: [UInt8]
        do { bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))) } catch {
            throw CertificateToolError.unreadableFile(path: path, reason: error.localizedDescription)
        }
        let certificates = try CertificateLoader.load(bytes, password: password)
        if json { return self.json(certificates, now: now) }
        return certificates.map { describe($0, now: now) }.joined(separator: "\n")
    }

    /// ISO 8601 with the zone (UTC, `Z`).
    public static func iso8601(_ date: Date) -> String {
        UTCTimestamp.iso8601(date)
    }

    /// Whole days from `now` until `notAfter` (negative once expired).
    public static func daysUntilExpiry(_ certificate: X509Certificate2, now: Date) -> Int {
        let seconds = certificate.notAfter.timeIntervalSince(now)
        guard seconds.isFinite else { return 0 }
        return Int((seconds / 86_400).rounded(.down))
    }

    /// "valid", "expired" or "not yet valid" at `now`.
    public static func state(_ certificate: X509Certificate2, now: Date) -> String {
        if now > certificate.notAfter { return "expired" }
        if now < certificate.notBefore { return "not yet valid" }
        return "valid"
    }

    /// The text for one certificate: `ToString()` followed by the extra fields.
    public static func describe(_ certificate: X509Certificate2, now: Date = Date()) -> String {
        var lines: [String] = [certificate.toString()]
        func section(_ title: String, _ values: [String]) {
            lines.append("[\(title)]")
            lines += values.isEmpty ? ["  (none)"] : values.map { "  " + $0 }
            lines.append("")
        }
        let days = daysUntilExpiry(certificate, now: now)
        let status = state(certificate, now: now)
        section("Validity (ISO 8601)", [
            "Not Before: \(iso8601(certificate.notBefore))",
            "Not After:  \(iso8601(certificate.notAfter))",
            status == "expired" ? "EXPIRED \(-days) days ago" : status == "not yet valid" ? "NOT YET VALID" : "\(days) days until expiry",
        ])
        section("Version", ["V\(certificate.version)"])
        section("Signature Algorithm", [certificate.signatureAlgorithm.description])
        let key = certificate.publicKey
        section("Public Key", ["\(key.oid.friendlyName ?? key.oid.value)\(key.keySizeInBits.map { " \($0) bits" } ?? "")"])
        section("SHA-256 Thumbprint", [certificate.thumbprintSHA256])
        section("SPKI SHA-256 (pin-sha256)", [certificate.spkiSHA256])
        section("Subject Alternative Names", certificate.subjectAlternativeNames.map(\.description))
        section("Enhanced Key Usages", certificate.enhancedKeyUsages?.map(\.description) ?? ["(no EKU extension: any usage)"])
        section("CRL Distribution Points", certificate.crlDistributionPoints.flatMap { point -> [String] in
            if case .fullName(let names) = point.name { return names.map(\.description) }
            return point.crlIssuer.map { ["cRLIssuer " + $0.map(\.description).joined(separator: ", ")] } ?? []
        })
        return lines.joined(separator: "\n")
    }
}

extension CertificateInspection {
    static func json(_ certificates: [X509Certificate2], now: Date) -> String {
        let objects: [[String: Any]] = certificates.map { certificate in
            var object: [String: Any] = [
                "subject": certificate.subject, "issuer": certificate.issuer, "serialNumber": certificate.serialNumber,
                "thumbprint": certificate.thumbprint, "sha256": certificate.thumbprintSHA256, "spkiSHA256": certificate.spkiSHA256,
                "version": certificate.version, "signatureAlgorithm": certificate.signatureAlgorithm.description,
                "publicKey": certificate.publicKey.oid.friendlyName ?? certificate.publicKey.oid.value,
                "notBefore": iso8601(certificate.notBefore), "notAfter": iso8601(certificate.notAfter),
                "daysUntilExpiry": daysUntilExpiry(certificate, now: now),
                "expired": now > certificate.notAfter, "notYetValid": now < certificate.notBefore,
                "subjectAlternativeNames": certificate.subjectAlternativeNames.map(\.description),
                "crlDistributionPoints": certificate.crlDistributionPointURLs,
                "hasPrivateKey": certificate.hasPrivateKey,
            ]
            if let bits = certificate.publicKey.keySizeInBits { object["publicKeyBits"] = bits }
            object["enhancedKeyUsages"] = certificate.enhancedKeyUsages.map { $0.map(\.description) } ?? NSNull()
            return object
        }
        let data = (try? JSONSerialization.data(withJSONObject: objects, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])) ?? Data("[]".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

public enum CertificateToolError: Error, Sendable, CustomStringConvertible {
    case unreadableFile(path: String, reason: String)
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .unreadableFile(let path, let reason): return "cannot read \(path): \(reason)"
        case .invalidArgument(let message): return message
        }
    }
}
