import SwiftASN1
import X509

/// Revocation reasons as the ReasonFlags BIT STRING numbers them (RFC 5280 §4.2.1.13).
public struct RevocationReasonFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let keyCompromise = Self(rawValue: 1 << 1)
    public static let cACompromise = Self(rawValue: 1 << 2)
    public static let affiliationChanged = Self(rawValue: 1 << 3)
    public static let superseded = Self(rawValue: 1 << 4)
    public static let cessationOfOperation = Self(rawValue: 1 << 5)
    public static let certificateHold = Self(rawValue: 1 << 6)
    public static let privilegeWithdrawn = Self(rawValue: 1 << 7)
    public static let aACompromise = Self(rawValue: 1 << 8)
    /// All reasons a CRL can cover (bits 1...8).
    public static let all = Self(rawValue: 0x1FE)

    /// Decodes a DER BIT STRING (bit 0 is the most significant bit of the first byte).
    init(bitString node: ASN1Node) throws {
        let bytes = try node.primitiveBytes("reason flags")
        guard let unused = bytes.first, unused < 8 else {
            throw CertificateParsingError.malformed("reason flags BIT STRING is empty or invalid")
        }
        var raw: UInt16 = 0
        for (byteIndex, byte) in bytes.dropFirst().enumerated() {
            for bit in 0..<8 where byte & (0x80 >> bit) != 0 {
                let number = byteIndex * 8 + bit
                if number < 16 { raw |= 1 << UInt16(number) }
            }
        }
        self.init(rawValue: raw)
    }
}

/// The name of a distribution point: a list of general names, or an RDN relative to the CRL issuer.
public enum DistributionPointName: Sendable, Hashable {
    case fullName([AlternativeName])
    case nameRelativeToCRLIssuer([X500DistinguishedName.Attribute])

    init(node: ASN1Node) throws {
        if node.isContextTag(0) {
            self = .fullName(try DistributionPoint.generalNames(implicitNode: node))
        } else if node.isContextTag(1) {
            // [1] IMPLICIT RelativeDistinguishedName (a SET): reparse it as a one-RDN Name.
            var bytes: [UInt8] = [0x31]
            let content = Array(node.encodedBytes.dropFirst())
            bytes.append(contentsOf: content)
            var name: [UInt8] = [0x30]
            name.append(contentsOf: DERLength.encode(bytes.count))
            name.append(contentsOf: bytes)
            let parsed = try X500DistinguishedName(derEncoded: name)
            self = .nameRelativeToCRLIssuer(parsed.relativeDistinguishedNames.first ?? [])
        } else {
            throw CertificateParsingError.malformed("unknown DistributionPointName choice")
        }
    }

    /// The names this point stands for; a relative name is appended to the CRL issuer's name.
    func resolvedNames(crlIssuer: X500DistinguishedName) -> [AlternativeName] {
        switch self {
        case .fullName(let names): return names
        case .nameRelativeToCRLIssuer(let rdn):
            return [.directoryName(X500DistinguishedName(appending: rdn, to: crlIssuer))]
        }
    }
}

/// One entry of the CRL Distribution Points extension (RFC 5280 §4.2.1.13).
public struct DistributionPoint: Sendable, Hashable {
    public let name: DistributionPointName?
    public let reasons: RevocationReasonFlags?
    public let crlIssuer: [AlternativeName]?

    /// The HTTP(S) URLs of this point, in order.
    public var urls: [String] {
        guard case .fullName(let names) = name else { return [] }
        return names.compactMap {
            if case .uri(let uri) = $0, uri.lowercased().hasPrefix("http") { return uri }
            return nil
        }
    }

    static let extensionOID: ASN1ObjectIdentifier = [2, 5, 29, 31]

    /// Parses the extension value (CRLDistributionPoints ::= SEQUENCE OF DistributionPoint).
    static func parseExtension(_ value: ArraySlice<UInt8>) throws -> [DistributionPoint] {
        let root = try DER.parse(value)
        guard root.identifier == .sequence else { throw CertificateParsingError.malformed("CRL distribution points") }
        return try root.children("CRL distribution points").map { pointNode in
            var name: DistributionPointName?
            var reasons: RevocationReasonFlags?
            var issuer: [AlternativeName]?
            for field in try pointNode.children("distribution point") {
                if field.isContextTag(0) {
                    guard let inner = try field.children("distributionPoint").first else {
                        throw CertificateParsingError.malformed("empty distributionPoint")
                    }
                    name = try DistributionPointName(node: inner)
                } else if field.isContextTag(1) {
                    reasons = try RevocationReasonFlags(bitString: field)
                } else if field.isContextTag(2) {
                    issuer = try generalNames(implicitNode: field)
                } else {
                    throw CertificateParsingError.malformed("unknown field in a distribution point")
                }
            }
            return DistributionPoint(name: name, reasons: reasons, crlIssuer: issuer)
        }
    }

    /// GeneralNames under an IMPLICIT context tag.
    static func generalNames(implicitNode node: ASN1Node) throws -> [AlternativeName] {
        try node.children("general names").map { try AlternativeName(try GeneralName(derEncoded: $0)) }
    }
}

enum DERLength {
    static func encode(_ length: Int) -> [UInt8] {
        if length < 0x80 { return [UInt8(length)] }
        var bytes: [UInt8] = []
        var remaining = length
        while remaining > 0 {
            bytes.insert(UInt8(remaining & 0xFF), at: 0)
            remaining >>= 8
        }
        return [0x80 | UInt8(bytes.count)] + bytes
    }
}

extension X500DistinguishedName {
    /// A new name with one more RDN at the end (for nameRelativeToCRLIssuer).
    init(appending rdn: [Attribute], to base: X500DistinguishedName) {
        self.init(rdns: base.relativeDistinguishedNames + [rdn])
    }
}
