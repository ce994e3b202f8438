import SwiftASN1

/// A distinguished name as .NET's `X500DistinguishedName` shows it: `Name` is the decoded text,
/// `RawData` the DER. Attribute values are kept decoded so identities can match on them.
public struct X500DistinguishedName: Sendable, Hashable, CustomStringConvertible {
    /// One attribute (type and value) of a relative distinguished name.
    public struct Attribute: Sendable, Hashable {
        public let oid: String
        /// The decoded string value; nil when the value is not a character string.
        public let value: String?
        /// The complete DER of the value (tag, length, content).
        public let encodedValue: [UInt8]
        /// The ASN.1 universal tag of the value (0x0C UTF8String, 0x13 PrintableString, ...).
        public let valueTag: UInt

        /// The value as .NET prints it before quoting: the string, or `#` + hex of its DER.
        var displayValue: String { value ?? "#" + Hex.upper(encodedValue) }
    }

    /// RDNs in encoding order (most general first, as in the certificate).
    public let relativeDistinguishedNames: [[Attribute]]
    /// The DER encoding of the Name.
    public let rawData: [UInt8]
    /// The .NET text (`X500DistinguishedName.Name`, also `Subject`/`Issuer`).
    public let name: String

    public var description: String { name }

    /// Parses a DER Name (SEQUENCE OF SET OF AttributeTypeAndValue).
    public init(derEncoded bytes: [UInt8]) throws {
        let node = try DER.parse(bytes)
        try self.init(node: node)
    }

    /// - Parameter formatName: false for internal comparisons that never show the text.
    init(node: ASN1Node, formatName: Bool = true) throws {
        guard node.identifier == .sequence else {
            throw CertificateParsingError.malformed("a distinguished name must be a SEQUENCE")
        }
        var rdns: [[Attribute]] = []
        for rdnNode in try node.children("distinguished name") {
            guard rdnNode.identifier == .set else {
                throw CertificateParsingError.malformed("a relative distinguished name must be a SET")
            }
            var attributes: [Attribute] = []
            for attributeNode in try rdnNode.children("relative distinguished name") {
                let parts = try attributeNode.children("name attribute")
                guard parts.count == 2, parts[0].identifier == .objectIdentifier else {
                    throw CertificateParsingError.malformed("a name attribute must be SEQUENCE { OID, value }")
                }
                let oid = try ASN1ObjectIdentifier(derEncoded: parts[0])
                attributes.append(
                    Attribute(
                        oid: oid.description,
                        value: DirectoryStringDecoder.decode(parts[1]),
                        encodedValue: Array(parts[1].encodedBytes),
                        valueTag: parts[1].identifier.tagClass == .universal ? parts[1].identifier.tagNumber : 0))
            }
            guard !attributes.isEmpty else {
                throw CertificateParsingError.malformed("a relative distinguished name must not be empty")
            }
            rdns.append(attributes)
        }
        self.relativeDistinguishedNames = rdns
        self.rawData = Array(node.encodedBytes)
        self.name = formatName ? DotNetNameFormatter.format(rdns) : ""
    }

    /// Every value of the attribute `oid`, most specific (last encoded) first, as .NET lists them.
    public func values(of oid: String) -> [String] {
        relativeDistinguishedNames.reversed().flatMap { rdn in
            rdn.filter { $0.oid == oid }.map(\.displayValue)
        }
    }

    /// `Decode(flags)` of .NET for the two layouts people use; `reversed` is the default `Name`.
    public func decode(reversed: Bool = true, separator: String = ", ") -> String {
        DotNetNameFormatter.format(relativeDistinguishedNames, reversed: reversed, separator: separator)
    }
}

/// Decodes the ASN.1 character-string types allowed in names.
enum DirectoryStringDecoder {
    static func decode(_ node: ASN1Node) -> String? {
        guard node.identifier.tagClass == .universal, case .primitive(let bytes) = node.content else { return nil }
        switch node.identifier.tagNumber {
        case 0x0C:  // UTF8String
            return String(validating: bytes, as: UTF8.self)
        case 0x12, 0x13, 0x16, 0x1A:  // Numeric, Printable, IA5, Visible: ASCII
            guard bytes.allSatisfy({ $0 < 0x80 }) else { return nil }
            return String(decoding: bytes, as: UTF8.self)
        case 0x14:  // TeletexString: .NET (like OpenSSL) reads it byte-per-character (Latin-1)
            return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
        case 0x1E:  // BMPString: UTF-16BE
            guard bytes.count % 2 == 0 else { return nil }
            var units: [UInt16] = []
            var index = bytes.startIndex
            while index < bytes.endIndex {
                units.append(UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1]))
                index += 2
            }
            return String(validating: units, as: UTF16.self)
        case 0x1C:  // UniversalString: UTF-32BE
            guard bytes.count % 4 == 0 else { return nil }
            var scalars = String.UnicodeScalarView()
            var index = bytes.startIndex
            while index < bytes.endIndex {
                let value = bytes[index..<index + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
                guard let scalar = Unicode.Scalar(value) else { return nil }
                scalars.append(scalar)
                index += 4
            }
            return String(scalars)
        default:
            return nil
        }
    }
}

extension X500DistinguishedName {
    /// Builds a name from attributes (re-encoding the DER; set members keep the given order).
    init(rdns: [[Attribute]]) {
        var body: [UInt8] = []
        for rdn in rdns {
            var set: [UInt8] = []
            for attribute in rdn {
                let oidBytes = (try? ASN1ObjectIdentifier(dotRepresentation: attribute.oid))
                    .flatMap { try? DER.Serializer.serialized(element: $0) } ?? []
                let content = oidBytes + attribute.encodedValue
                set += [0x30] + DERLength.encode(content.count) + content
            }
            body += [0x31] + DERLength.encode(set.count) + set
        }
        self.relativeDistinguishedNames = rdns
        self.rawData = [0x30] + DERLength.encode(body.count) + body
        self.name = DotNetNameFormatter.format(rdns)
    }
}
