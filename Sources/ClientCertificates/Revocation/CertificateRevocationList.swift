import Crypto
import Foundation
import SwiftASN1
import X509

/// A parsed X.509 CRL (v1 or v2, RFC 5280 §5), immutable. Revoked serials are indexed for O(1)
/// lookup. Unknown critical CRL or entry extensions are rejected at parse time (RFC 5280 §5.2/§5.3).
public final class CertificateRevocationList: Sendable {
    public struct RevokedEntry: Sendable, Hashable {
        public let serialNumber: [UInt8]
        public let revocationDate: Date
        public let reason: CRLReason?
        public let invalidityDate: Date?
        /// For indirect CRLs: the certificate issuer this entry belongs to (nil = the CRL issuer).
        public let certificateIssuer: [AlternativeName]?
    }

    public let rawData: [UInt8]
    /// 1 or 2.
    public let version: Int
    public let issuer: X500DistinguishedName
    public let thisUpdate: Date
    public let nextUpdate: Date?
    public let crlNumber: [UInt8]?
    public let authorityKeyIdentifier: [UInt8]?
    public let issuingDistributionPoint: IssuingDistributionPoint?
    /// The base CRL number when this is a delta CRL (deltaCRLIndicator present).
    public let deltaCRLIndicator: [UInt8]?
    public let signatureAlgorithm: Oid
    public let revokedCount: Int
    /// SHA-256 of the DER, uppercase hex: identifies this CRL in cache keys and logs.
    public let digest: String

    let tbsBytes: ArraySlice<UInt8>
    let signatureBytes: [UInt8]
    let normalizedIssuer: NormalizedName
    private let index: [SerialNumberKey: RevokedEntry]
    /// Entries sharing a serial with an earlier one (possible in indirect CRLs).
    private let duplicates: [SerialNumberKey: [RevokedEntry]]

    public var isDelta: Bool { deltaCRLIndicator != nil }

    /// Parses DER, or PEM (`X509 CRL`) given as bytes.
    public convenience init(bytes: [UInt8]) throws {
        if let text = String(validating: bytes, as: UTF8.self), text.contains("-----BEGIN") {
            try self.init(pem: text)
        } else {
            try self.init(derEncoded: bytes)
        }
    }

    public convenience init(pem: String) throws {
        let document: PEMDocument
        do { document = try PEMDocument(pemString: pem) } catch { throw CRLError.malformed("PEM: \(error)") }
        guard document.discriminator == "X509 CRL" else { throw CRLError.notPEMCRL(document.discriminator) }
        try self.init(derEncoded: document.derBytes)
    }

    /// Every `X509 CRL` block of a PEM text.
    public static func parseAll(pem: String) throws -> [CertificateRevocationList] {
        let documents: [PEMDocument]
        do { documents = try PEMDocument.parseMultiple(pemString: pem) } catch { throw CRLError.malformed("PEM: \(error)") }
        return try documents.map { document in
            guard document.discriminator == "X509 CRL" else { throw CRLError.notPEMCRL(document.discriminator) }
            return try CertificateRevocationList(derEncoded: document.derBytes)
        }
    }

    public init(derEncoded der: [UInt8]) throws {
        do {
            // Walked with StrictTLV so a million-entry list builds no ASN.1 tree.
            var top = StrictTLV(der[...])
            guard let certificateList = try top.next(), certificateList.tag == 0x30, top.isAtEnd else {
                throw CRLError.malformed("a CRL is one DER SEQUENCE")
            }
            var parts = StrictTLV(certificateList.content)
            guard let tbs = try parts.next(), tbs.tag == 0x30, let outerAlgorithm = try parts.next(),
                outerAlgorithm.tag == 0x30, let signatureElement = try parts.next(), signatureElement.tag == 0x03,
                parts.isAtEnd
            else { throw CRLError.malformed("CertificateList needs tbsCertList, signatureAlgorithm, signature") }
            var fields = StrictTLV(tbs.content)
            var field = try fields.next()
            var version = 1
            if let first = field, first.tag == 0x02 {
                let raw = try Int(derEncoded: try DER.parse(first.encoded))
                guard raw == 1 else { throw CRLError.malformed("unsupported CRL version value \(raw)") }
                version = 2
                field = try fields.next()
            }
            guard let innerAlgorithm = field, innerAlgorithm.tag == 0x30 else {
                throw CRLError.malformed("TBSCertList has no signature algorithm")
            }
            guard innerAlgorithm.encoded == outerAlgorithm.encoded else {
                throw CRLError.malformed("the signature algorithms inside and outside the CRL differ")
            }
            let algorithmNode = try DER.parse(innerAlgorithm.encoded)
            guard let algorithmOIDNode = try algorithmNode.children("algorithm").first else {
                throw CRLError.malformed("empty signature algorithm")
            }
            let algorithmOID = try ASN1ObjectIdentifier(derEncoded: algorithmOIDNode)
            guard let issuerElement = try fields.next(), issuerElement.tag == 0x30 else {
                throw CRLError.malformed("TBSCertList has no issuer")
            }
            let issuer = try X500DistinguishedName(node: try DER.parse(issuerElement.encoded))
            guard let thisUpdateElement = try fields.next(), thisUpdateElement.tag == 0x17 || thisUpdateElement.tag == 0x18 else {
                throw CRLError.malformed("TBSCertList has no thisUpdate")
            }
            let thisUpdate = try ASN1Time.fastDate(thisUpdateElement)
            field = try fields.next()
            var nextUpdate: Date?
            if let next = field, next.tag == 0x17 || next.tag == 0x18 {
                nextUpdate = try ASN1Time.fastDate(next)
                field = try fields.next()
            }
            var index: [SerialNumberKey: RevokedEntry] = [:]
            var duplicates: [SerialNumberKey: [RevokedEntry]] = [:]
            var count = 0
            if let revoked = field, revoked.tag == 0x30 {
                var currentIssuer: [AlternativeName]?
                var entries = StrictTLV(revoked.content)
                while let entryElement = try entries.next() {
                    let entry = try Self.parseEntry(entryElement, version: version, currentIssuer: &currentIssuer)
                    let key = SerialNumberKey(entry.serialNumber[...])
                    if index[key] == nil { index[key] = entry } else { duplicates[key, default: []].append(entry) }
                    count += 1
                }
                field = try fields.next()
            }
            var list: [ASN1Node] = []
            if let extensionsElement = field {
                list.append(try DER.parse(extensionsElement.encoded))
                field = try fields.next()
            }
            guard field == nil else { throw CRLError.malformed("unexpected trailing fields in TBSCertList") }
            var crlNumber: [UInt8]?
            var aki: [UInt8]?
            var idp: IssuingDistributionPoint?
            var delta: [UInt8]?
            if let extensionsNode = list.first {
                guard extensionsNode.isContextTag(0) else { throw CRLError.malformed("unexpected field in TBSCertList") }
                list.removeFirst()
                guard version == 2 else { throw CRLError.malformed("a v1 CRL cannot have extensions") }
                guard let sequence = try extensionsNode.children("crlExtensions").first else {
                    throw CRLError.malformed("empty crlExtensions")
                }
                for ext in try Self.extensions(sequence) {
                    switch ext.oid {
                    case "2.5.29.20":
                        guard !ext.critical else { throw CRLError.malformed("cRLNumber must not be critical (RFC 5280 §5.2.3)") }
                        crlNumber = Array(try DER.parse(ext.value).primitiveBytes("cRLNumber"))
                    case "2.5.29.35": aki = try Self.keyIdentifier(ext.value)
                    case "2.5.29.28": idp = try IssuingDistributionPoint(extensionValue: ext.value)
                    case "2.5.29.27": delta = Array(try DER.parse(ext.value).primitiveBytes("deltaCRLIndicator"))
                    case "2.5.29.18", "2.5.29.46", "1.3.6.1.5.5.7.1.1":
                        // issuerAltName, freshestCRL, authorityInfoAccess: informational
                        if ext.critical && ext.oid != "2.5.29.18" { throw CRLError.unsupportedCriticalExtension(ext.oid) }
                    default:
                        if ext.critical { throw CRLError.unsupportedCriticalExtension(ext.oid) }
                    }
                }
            }
            guard list.isEmpty else { throw CRLError.malformed("unexpected trailing fields in TBSCertList") }
            let signature = try ASN1BitString(derEncoded: try DER.parse(signatureElement.encoded))

            self.rawData = der
            self.version = version
            self.issuer = issuer
            self.normalizedIssuer = NormalizedName(issuer)
            self.thisUpdate = thisUpdate
            self.nextUpdate = nextUpdate
            self.crlNumber = crlNumber
            self.authorityKeyIdentifier = aki
            self.issuingDistributionPoint = idp
            self.deltaCRLIndicator = delta
            self.signatureAlgorithm = Oid(value: algorithmOID.description)
            self.tbsBytes = tbs.encoded
            self.signatureBytes = Array(signature.bytes)
            self.index = index
            self.duplicates = duplicates
            self.revokedCount = count
            self.digest = Hex.upper(SHA256.hash(data: der))
        } catch let error as CRLError {
            throw error
        } catch {
            throw CRLError.malformed(String(describing: error))
        }
    }

    /// The entry for a serial number (content bytes of the DER INTEGER), O(1).
    public func entry(forSerial serial: ArraySlice<UInt8>) -> RevokedEntry? {
        index[SerialNumberKey(serial)]
    }

    /// The entry for a serial number given as an array.
    public func entry(forSerial serial: [UInt8]) -> RevokedEntry? {
        index[SerialNumberKey(serial[...])]
    }

    /// Every entry for a serial (more than one only in indirect CRLs).
    func entries(forSerial serial: ArraySlice<UInt8>) -> [RevokedEntry] {
        let key = SerialNumberKey(serial)
        guard let first = index[key] else { return [] }
        return [first] + (duplicates[key] ?? [])
    }

    /// True when `key` signed this CRL.
    public func isSignatureValid(publicKey key: Certificate.PublicKey) -> Bool {
        guard let algorithm = Self.signatureAlgorithms[signatureAlgorithm.value] else { return false }
        return key.isValidSignature(signatureBytes, for: tbsBytes, signatureAlgorithm: algorithm)
    }

    static let signatureAlgorithms: [String: Certificate.SignatureAlgorithm] = [
        "1.2.840.113549.1.1.5": .sha1WithRSAEncryption, "1.2.840.113549.1.1.11": .sha256WithRSAEncryption,
        "1.2.840.113549.1.1.12": .sha384WithRSAEncryption, "1.2.840.113549.1.1.13": .sha512WithRSAEncryption,
        "1.2.840.10045.4.3.2": .ecdsaWithSHA256, "1.2.840.10045.4.3.3": .ecdsaWithSHA384,
        "1.2.840.10045.4.3.4": .ecdsaWithSHA512, "1.3.101.112": .ed25519,
    ]

    struct RawExtension {
        let oid: String
        let critical: Bool
        let value: ArraySlice<UInt8>
    }

    static func extensions(_ sequence: ASN1Node) throws -> [RawExtension] {
        var seen: Set<String> = []
        return try sequence.children("extensions").map { node in
            let parts = try node.children("extension")
            guard parts.count == 2 || parts.count == 3 else { throw CRLError.malformed("extension field count") }
            let oid = try ASN1ObjectIdentifier(derEncoded: parts[0]).description
            guard seen.insert(oid).inserted else { throw CRLError.malformed("duplicate extension \(oid)") }
            let critical = parts.count == 3 ? try Bool(derEncoded: parts[1]) : false
            let value = try ASN1OctetString(derEncoded: parts[parts.count - 1]).bytes
            return RawExtension(oid: oid, critical: critical, value: value)
        }
    }

    private static func keyIdentifier(_ value: ArraySlice<UInt8>) throws -> [UInt8]? {
        let node = try DER.parse(value)
        return try node.children("authorityKeyIdentifier").first(where: { $0.isContextTag(0) })
            .map { Array(try $0.primitiveBytes("keyIdentifier")) }
    }

    private static func parseEntry(
        _ element: StrictTLV.Element, version: Int, currentIssuer: inout [AlternativeName]?
    ) throws -> RevokedEntry {
        guard element.tag == 0x30 else { throw CRLError.malformed("revoked certificate entry is not a SEQUENCE") }
        var parts = StrictTLV(element.content)
        guard let serialElement = try parts.next(), serialElement.tag == 0x02, let first = serialElement.content.first else {
            throw CRLError.malformed("revoked certificate entry has no serial number")
        }
        if serialElement.content.count > 1 {
            let second = serialElement.content[serialElement.content.startIndex + 1]
            guard !(first == 0 && second < 0x80), !(first == 0xFF && second >= 0x80) else {
                throw CRLError.malformed("non-minimal serial number INTEGER")
            }
        }
        let serial = Array(serialElement.content)
        guard let dateElement = try parts.next(), dateElement.tag == 0x17 || dateElement.tag == 0x18 else {
            throw CRLError.malformed("revoked certificate entry has no revocation date")
        }
        let date = try ASN1Time.fastDate(dateElement)
        let extensionsElement = try parts.next()
        guard parts.isAtEnd else { throw CRLError.malformed("revoked certificate entry has trailing fields") }
        var reason: CRLReason?
        var invalidity: Date?
        if let extensionsElement {
            guard version == 2 else { throw CRLError.malformed("a v1 CRL entry cannot have extensions") }
            guard extensionsElement.tag == 0x30 else { throw CRLError.malformed("CRL entry extensions are not a SEQUENCE") }
            for ext in try extensions(try DER.parse(extensionsElement.encoded)) {
                switch ext.oid {
                case "2.5.29.21":
                    let code = try Int(derEncoded: try DER.parse(ext.value), withIdentifier: .enumerated)
                    guard let parsed = CRLReason(rawValue: code) else { throw CRLError.malformed("unknown reason code \(code)") }
                    reason = parsed
                case "2.5.29.24": invalidity = try ASN1Time.date(from: try DER.parse(ext.value))
                case "2.5.29.29":
                    let names = try DER.parse(ext.value)
                    currentIssuer = try names.children("certificateIssuer").map { try AlternativeName(try GeneralName(derEncoded: $0)) }
                case "2.5.29.23": break  // holdInstructionCode: informational
                default:
                    if ext.critical { throw CRLError.unsupportedCriticalEntryExtension(ext.oid) }
                }
            }
        }
        return RevokedEntry(
            serialNumber: serial, revocationDate: date, reason: reason, invalidityDate: invalidity,
            certificateIssuer: currentIssuer)
    }
}
