import SwiftASN1
import X509

/// One entry of a subject (or issuer) alternative name extension, or of a distribution point name.
public enum AlternativeName: Sendable, Hashable, CustomStringConvertible {
    case dnsName(String)
    case email(String)
    case uri(String)
    /// 4 or 16 bytes (or 8/32 with a mask inside name constraints).
    case ipAddress([UInt8])
    /// The Microsoft UPN otherName (1.3.6.1.4.1.311.20.2.3).
    case userPrincipalName(String)
    case directoryName(X500DistinguishedName)
    case registeredID(String)
    /// Any other otherName, x400Address or ediPartyName: kept as its type.
    case other(String)

    static let upnOID: ASN1ObjectIdentifier = [1, 3, 6, 1, 4, 1, 311, 20, 2, 3]

    init(_ name: GeneralName) throws {
        switch name {
        case .dnsName(let value): self = .dnsName(value)
        case .rfc822Name(let value): self = .email(value)
        case .uniformResourceIdentifier(let value): self = .uri(value)
        case .ipAddress(let octets): self = .ipAddress(Array(octets.bytes))
        case .directoryName(let dn): self = .directoryName(try X500DistinguishedName(dn))
        case .registeredID(let oid): self = .registeredID(oid.description)
        case .otherName(let other):
            if other.typeID == Self.upnOID, let any = other.value {
                // value is [0] EXPLICIT UTF8String
                let node = try DER.parse(try DER.Serializer.serialized(element: any))
                if let inner = try? node.children("UPN").first, let text = DirectoryStringDecoder.decode(inner) {
                    self = .userPrincipalName(text)
                    return
                }
            }
            self = .other("otherName:" + other.typeID.description)
        case .x400Address: self = .other("x400Address")
        case .ediPartyName: self = .other("ediPartyName")
        }
    }

    /// The text .NET's `X509SubjectAlternativeNameExtension.Format()` shows on Linux for common kinds.
    public var description: String {
        switch self {
        case .dnsName(let value): return "DNS:" + value
        case .email(let value): return "email:" + value
        case .uri(let value): return "URI:" + value
        case .ipAddress(let bytes): return "IP Address:" + Self.formatIP(bytes)
        case .userPrincipalName(let value): return "othername:UPN:" + value
        case .directoryName(let dn): return "DirName:" + dn.name
        case .registeredID(let oid): return "Registered ID:" + oid
        case .other(let kind): return kind
        }
    }

    static func formatIP(_ bytes: [UInt8]) -> String {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        if bytes.count == 16 {
            return stride(from: 0, to: 16, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
                .joined(separator: ":")
        }
        return Hex.upper(bytes)
    }
}

extension DER.Serializer {
    static func serialized(element: some DERSerializable) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(element)
        return serializer.serializedBytes
    }
}

extension X500DistinguishedName {
    /// Converts a swift-certificates name (same DER) into the .NET view.
    public init(_ name: DistinguishedName) throws {
        try self.init(derEncoded: try DER.Serializer.serialized(element: name))
    }
}
