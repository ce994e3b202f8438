import Crypto
import Foundation
import SwiftASN1
import X509

/// The certificate object policy expressions see (`context.Request.Certificate`,
/// `context.Deployment.Certificates[...]`), with .NET `X509Certificate2` output.
///
/// Immutable: every field is computed once from the DER at construction, so an instance can be
/// shared across requests and wrapped as a host object. Verification takes its trust context as an
/// argument (`verify(with:)`); the policy layer binds `Verify()` to the right store.
public final class X509Certificate2: Sendable, Hashable, CustomStringConvertible {
    /// The parsed swift-certificates value (for chain building); nil when swift-certificates cannot
    /// represent the certificate (DSA or RSA < 1024-bit keys, RSA-PSS keys, unique-ID fields...),
    /// in which case the .NET fields still work but verification fails with `unsupportedReason`.
    public let certificate: Certificate?
    /// Why `certificate` is nil.
    public let unsupportedReason: String?
    /// `RawData` / `GetRawCertData()` / `Export(X509ContentType.Cert)`.
    public let rawData: [UInt8]
    /// `Thumbprint`: SHA-1 of the DER, uppercase hex.
    public let thumbprint: String
    /// SHA-256 of the DER, uppercase hex (not in .NET; Drawbridge identity).
    public let thumbprintSHA256: String
    /// The SHA-256 of the DER as bytes (cache keys combine these instead of rehashing the DER).
    public let sha256Digest: [UInt8]
    public let subjectName: X500DistinguishedName
    public let issuerName: X500DistinguishedName
    /// `SerialNumber`: uppercase hex of the DER INTEGER content bytes (a leading 00 stays, as in .NET).
    public let serialNumber: String
    /// The serial number's DER INTEGER content bytes.
    public let serialNumberBytes: [UInt8]
    public let notBefore: Date
    public let notAfter: Date
    /// `Version`: 1, 2 or 3.
    public let version: Int
    /// `SignatureAlgorithm` (`FriendlyName` such as `sha256RSA`, `Value` the OID).
    public let signatureAlgorithm: Oid
    /// `PublicKey`.
    public let publicKey: PublicKeyInfo
    /// Subject alternative names, in encoded order.
    public let subjectAlternativeNames: [AlternativeName]
    /// Issuer alternative names, in encoded order (for `GetNameInfo(..., forIssuer: true)`).
    public let issuerAlternativeNames: [AlternativeName]
    /// Extended key usages (`X509EnhancedKeyUsageExtension.EnhancedKeyUsages`); nil when absent.
    public let enhancedKeyUsages: [Oid]?
    /// CRL distribution points, parsed.
    public let crlDistributionPoints: [DistributionPoint]
    /// The private key DER (PKCS#1 for RSA, SEC1 for EC), when the certificate came from a PFX with one.
    public let privateKeyDER: [UInt8]?

    /// `Subject` (= `SubjectName.Name`).
    public var subject: String { subjectName.name }
    /// `Issuer` (= `IssuerName.Name`).
    public var issuer: String { issuerName.name }
    /// `HasPrivateKey`.
    public var hasPrivateKey: Bool { privateKeyDER != nil }
    /// `GetCertHashString()`: the SHA-1 thumbprint.
    public func getCertHashString() -> String { thumbprint }
    /// SHA-256 of the SubjectPublicKeyInfo, base64 (`pin-sha256`).
    public var spkiSHA256: String { publicKey.sha256Base64 }
    /// HTTP(S) URLs of every CRL distribution point, in order.
    public var crlDistributionPointURLs: [String] { crlDistributionPoints.flatMap(\.urls) }

    /// `new X509Certificate2(byte[])`: DER, or PEM text given as bytes.
    public convenience init(_ bytes: [UInt8]) throws {
        if let pem = String(validating: bytes, as: UTF8.self), pem.contains("-----BEGIN") {
            try self.init(pem: pem)
        } else {
            try self.init(derEncoded: bytes)
        }
    }

    /// From one PEM `CERTIFICATE` block.
    public convenience init(pem: String) throws {
        let certificates = try CertificateLoader.load(pem: pem)
        guard certificates.count == 1, let only = certificates.first else {
            throw CertificateLoadingError.unexpectedCount(expected: 1, found: certificates.count)
        }
        try self.init(derEncoded: only.rawData, privateKeyDER: only.privateKeyDER)
    }

    /// From DER bytes.
    public init(derEncoded der: [UInt8], privateKeyDER: [UInt8]? = nil) throws {
        // Our own strict walk gives the .NET fields; swift-certificates is needed for verification
        // only, so a certificate it cannot represent still loads (as .NET would load it).
        let fields: TBSFields
        do { fields = try TBSFields(der: der) } catch {
            throw CertificateLoadingError.invalidCertificate(String(describing: error))
        }
        do {
            self.certificate = try Certificate(derEncoded: der)
            self.unsupportedReason = nil
        } catch {
            self.certificate = nil
            self.unsupportedReason = String(describing: error)
        }
        self.rawData = der
        self.thumbprint = Hex.upper(Insecure.SHA1.hash(data: der))
        let digest = Array(SHA256.hash(data: der))
        self.sha256Digest = digest
        self.thumbprintSHA256 = Hex.upper(digest)
        self.subjectName = fields.subject
        self.issuerName = fields.issuer
        self.serialNumberBytes = fields.serial
        self.serialNumber = Hex.upper(fields.serial)
        self.notBefore = fields.notBefore
        self.notAfter = fields.notAfter
        self.version = fields.version
        self.signatureAlgorithm = Oid(value: fields.signatureAlgorithm)
        self.publicKey = fields.publicKey
        self.privateKeyDER = privateKeyDER
        func value(_ oid: String) -> ArraySlice<UInt8>? { fields.extensions.first { $0.oid == oid }?.value }
        do {
            func generalNames(_ value: ArraySlice<UInt8>) throws -> [AlternativeName] {
                try DER.parse(value).children("general names").map { try AlternativeName(try GeneralName(derEncoded: $0)) }
            }
            self.subjectAlternativeNames = try value("2.5.29.17").map(generalNames) ?? []
            self.issuerAlternativeNames = try value("2.5.29.18").map(generalNames) ?? []
            self.enhancedKeyUsages = try value("2.5.29.37").map {
                try DER.parse($0).children("extended key usage").map {
                    Oid(value: try ASN1ObjectIdentifier(derEncoded: $0).description)
                }
            }
            self.crlDistributionPoints = try value("2.5.29.31").map { try DistributionPoint.parseExtension($0) } ?? []
        } catch let error as CertificateLoadingError {
            throw error
        } catch {
            throw CertificateLoadingError.invalidCertificate("bad extension: \(error)")
        }
    }

    /// `GetNameInfo(X509NameType, bool forIssuer)`. Returns "" when nothing matches, as .NET does.
    ///
    /// Rules chosen (source: .NET `OpenSslX509CertificateReader.GetNameInfo`, as remembered; most
    /// specific RDN first): SimpleName = CN, else OU, else O, else E, else first SAN email / DNS;
    /// EmailName = E attribute, else SAN rfc822Name; UpnName = SAN UPN otherName; DnsName = first SAN
    /// dNSName, else CN; DnsFromAlternativeName = first SAN dNSName; UrlName = first SAN URI.
    public func getNameInfo(_ type: X509NameType, forIssuer: Bool) -> String {
        let name = forIssuer ? issuerName : subjectName
        let alternatives = forIssuer ? issuerAlternativeNames : subjectAlternativeNames
        let dns = alternatives.lazy.compactMap { if case .dnsName(let v) = $0 { return v } else { return nil } }.first
        let email = alternatives.lazy.compactMap { if case .email(let v) = $0 { return v } else { return nil } }.first
        switch type {
        case .simpleName:
            for oid in ["2.5.4.3", "2.5.4.11", "2.5.4.10", "1.2.840.113549.1.9.1"] {
                if let value = name.values(of: oid).first { return value }
            }
            return email ?? dns ?? ""
        case .emailName:
            return name.values(of: "1.2.840.113549.1.9.1").first ?? email ?? ""
        case .upnName:
            return alternatives.lazy.compactMap { if case .userPrincipalName(let v) = $0 { return v } else { return nil } }.first ?? ""
        case .dnsName:
            return dns ?? name.values(of: "2.5.4.3").first ?? ""
        case .dnsFromAlternativeName:
            return dns ?? ""
        case .urlName:
            return alternatives.lazy.compactMap { if case .uri(let v) = $0 { return v } else { return nil } }.first ?? ""
        }
    }

    /// `ToString()`: .NET's verbose `X509Certificate` layout. Dates are printed in UTC with the
    /// invariant culture pattern `MM/dd/yyyy HH:mm:ss` (.NET uses the host's local time and culture;
    /// gateway containers run in UTC with invariant globalization).
    public func toString() -> String {
        """
        [Subject]
          \(subject)

        [Issuer]
          \(issuer)

        [Serial Number]
          \(serialNumber)

        [Not Before]
          \(Self.invariantDate(notBefore))

        [Not After]
          \(Self.invariantDate(notAfter))

        [Thumbprint]
          \(thumbprint)

        """
    }

    public var description: String { toString() }

    static func invariantDate(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func two(_ v: Int?) -> String { let v = v ?? 0; return v < 10 ? "0\(v)" : "\(v)" }
        return "\(two(c.month))/\(two(c.day))/\(c.year ?? 0) \(two(c.hour)):\(two(c.minute)):\(two(c.second))"
    }

    public static func == (lhs: X509Certificate2, rhs: X509Certificate2) -> Bool { lhs.rawData == rhs.rawData }
    public func hash(into hasher: inout Hasher) { hasher.combine(thumbprintSHA256) }
}

/// The TBSCertificate fields read straight from the DER, so names, serial and algorithm keep the
/// exact bytes .NET would show.
struct TBSFields {
    var version = 1
    var serial: [UInt8] = []
    var signatureAlgorithm = ""
    var issuer: X500DistinguishedName
    var subject: X500DistinguishedName
    var publicKey: PublicKeyInfo
    var notBefore: Date
    var notAfter: Date
    var extensions: [CertificateRevocationList.RawExtension] = []

    init(der: [UInt8]) throws {
        let root = try DER.parse(der)
        let outer = try root.children("certificate")
        guard outer.count == 3 else { throw CertificateParsingError.malformed("certificate needs 3 fields") }
        var fields = try outer[0].children("tbsCertificate")[...]
        if let first = fields.first, first.isContextTag(0) {
            let versionNode = try first.children("version")
            guard let inner = versionNode.first else { throw CertificateParsingError.malformed("empty version") }
            let raw = try Int(derEncoded: inner)
            guard (0...2).contains(raw) else { throw CertificateParsingError.malformed("unknown certificate version \(raw)") }
            version = raw + 1
            fields = fields.dropFirst()
        }
        guard fields.count >= 6 else { throw CertificateParsingError.malformed("tbsCertificate is too short") }
        let list = Array(fields)
        serial = Array(try list[0].primitiveBytes("serial number"))
        let algorithm = try list[1].children("signature algorithm")
        guard let oidNode = algorithm.first else { throw CertificateParsingError.malformed("empty algorithm") }
        signatureAlgorithm = try ASN1ObjectIdentifier(derEncoded: oidNode).description
        issuer = try X500DistinguishedName(node: list[2])
        let validity = try list[3].children("validity")
        guard validity.count == 2 else { throw CertificateParsingError.malformed("validity needs 2 times") }
        notBefore = try ASN1Time.date(from: validity[0])
        notAfter = try ASN1Time.date(from: validity[1])
        subject = try X500DistinguishedName(node: list[4])
        publicKey = try PublicKeyInfo(spkiNode: list[5])
        for field in list.dropFirst(6) {
            if field.isContextTag(3) {
                guard version == 3, let sequence = try field.children("extensions").first else {
                    throw CertificateParsingError.malformed("extensions need a v3 certificate and a SEQUENCE")
                }
                extensions = try CertificateRevocationList.extensions(sequence)
            } else if !(field.isContextTag(1) || field.isContextTag(2)) {
                throw CertificateParsingError.malformed("unexpected field in tbsCertificate")
            }
        }
    }
}
