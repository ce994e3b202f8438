import Foundation

/// Formats a distinguished name the way .NET's `X500DistinguishedName.Name` does.
///
/// Rules (sources: .NET `X500NameEncoder.X500DistinguishedNameDecode` and the Windows
/// `CertNameToStr` documentation for `CERT_X500_NAME_STR | CERT_NAME_STR_REVERSE_FLAG`):
/// - RDNs in reverse encoding order, joined by `", "`; attributes of a multi-valued RDN joined by
///   `" + "` in their encoded order (the order is not reversed inside an RDN).
/// - A value is double-quoted when it is empty-padded (leading or trailing space), or contains any of
///   `, + = " \n < > # ;`; an embedded `"` is doubled.
/// - Keys: the `CertNameToStr` X.500 key table (CN, L, O, OU, E, C, S, STREET, T, G, I, SN, DC,
///   SERIALNUMBER, Description, PostalCode, POBox, Phone, X21Address, dnQualifier); other types
///   print as `OID.1.2.3`.
/// - Values that are not character strings print as `#` + uppercase hex of their DER (CertNameToStr
///   behaviour; not verified against .NET on Linux).
/// - Uncertain and chosen: an empty value prints with nothing after `=` (no quotes).
enum DotNetNameFormatter {
    static let shortNames: [String: String] = [
        "2.5.4.3": "CN", "2.5.4.7": "L", "2.5.4.10": "O", "2.5.4.11": "OU",
        "1.2.840.113549.1.9.1": "E", "2.5.4.6": "C", "2.5.4.8": "S", "2.5.4.9": "STREET",
        "2.5.4.12": "T", "2.5.4.42": "G", "2.5.4.43": "I", "2.5.4.4": "SN",
        "0.9.2342.19200300.100.1.25": "DC", "2.5.4.5": "SERIALNUMBER", "2.5.4.13": "Description",
        "2.5.4.17": "PostalCode", "2.5.4.18": "POBox", "2.5.4.20": "Phone", "2.5.4.24": "X21Address",
        "2.5.4.46": "dnQualifier",
    ]

    /// Key text for an attribute type: the .NET short name or `OID.x.y.z`.
    static func key(for oid: String) -> String {
        shortNames[oid] ?? "OID." + oid
    }

    static func format(
        _ rdns: [[X500DistinguishedName.Attribute]], reversed: Bool = true, separator: String = ", "
    ) -> String {
        let ordered = reversed ? Array(rdns.reversed()) : rdns
        return ordered.map { rdn in
            rdn.map { key(for: $0.oid) + "=" + quoteIfNeeded($0.displayValue) }.joined(separator: " + ")
        }.joined(separator: separator)
    }

    static func quoteIfNeeded(_ value: String) -> String {
        guard needsQuoting(value) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func needsQuoting(_ value: String) -> Bool {
        guard let first = value.unicodeScalars.first, let last = value.unicodeScalars.last else { return false }
        if isQuotableWhitespace(first) || isQuotableWhitespace(last) { return true }
        return value.unicodeScalars.contains { scalar in
            switch scalar {
            case ",", "+", "=", "\"", "\n", "<", ">", "#", ";": return true
            default: return false
            }
        }
    }

    private static func isQuotableWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        scalar == " " || scalar == "\n" || scalar == "\r" || scalar == "\t"
    }
}
