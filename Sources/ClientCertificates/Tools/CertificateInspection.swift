import Foundation

/// `drawbridge cert inspect FILE`: the .NET-style fields plus SHA-256, SPKI hash, SANs, EKUs, CDPs.
public enum CertificateInspection {
    /// Loads every certificate in the file (PEM, DER, PKCS#7, PKCS#12 with `password`) and describes each.
    public static func inspect(path: String, password: String? = nil) throws -> String {
        let bytes: [UInt8]
        do { bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))) } catch {
            throw CertificateToolError.unreadableFile(path: path, reason: error.localizedDescription)
        }
        return try CertificateLoader.load(bytes, password: password).map(describe).joined(separator: "\n")
    }

    /// The text for one certificate: `ToString()` followed by the extra fields.
    public static func describe(_ certificate: X509Certificate2) -> String {
        var lines: [String] = [certificate.toString()]
        func section(_ title: String, _ values: [String]) {
            lines.append("[\(title)]")
            lines += values.isEmpty ? ["  (none)"] : values.map { "  " + $0 }
            lines.append("")
        }
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
