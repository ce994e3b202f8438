import Foundation

/// The `X509Certificate2` surface expressions see (REFERENCE §2.5). The certificate library
/// conforms its facade to this protocol; the formats (uppercase hex thumbprint, reversed DN, local
/// times) are the implementer's responsibility.
public protocol X509Certificate2Object: HostObject {
    var thumbprint: String { get }
    var subject: String { get }
    var issuer: String { get }
    var serialNumber: String { get }
    var notBefore: DateTimeValue { get }
    var notAfter: DateTimeValue { get }
    var rawData: [UInt8] { get }
    var version: Int32 { get }
    var friendlyName: String { get }
    var hasPrivateKey: Bool { get }
    /// The private key (DER) of a certificate loaded with one (`new X509Certificate2(pfx, password)`).
    var privateKeyDER: [UInt8]? { get }
    var signatureAlgorithm: String { get }
    /// Implementers should cache these to keep `SubjectName.Name` allocation-free.
    var subjectName: X500DistinguishedNameObject { get }
    var issuerName: X500DistinguishedNameObject { get }
    /// Chain plus revocation (`Verify()`).
    func verify() -> Bool
    /// Chain without revocation (`VerifyNoRevocation()`).
    func verifyNoRevocation() -> Bool
    /// `GetNameInfo(X509NameType, bool forIssuer)`; `nameType` is the X509NameType raw value.
    func nameInfo(_ nameType: Int32, forIssuer: Bool) -> String
}

extension X509Certificate2Object {
    public var hostType: HostType { X509Types.certificate }
    public var x509Certificate: (any X509Certificate2Object)? { self }
    public func withX509Certificate(_ body: (any X509Certificate2Object) throws -> Value) rethrows -> Value? { try body(self) }
    public var subjectName: X500DistinguishedNameObject { X500DistinguishedNameObject(name: subject) }
    public var issuerName: X500DistinguishedNameObject { X500DistinguishedNameObject(name: issuer) }
    public var version: Int32 { 3 }
    public var friendlyName: String { "" }
    public var hasPrivateKey: Bool { privateKeyDER != nil }
    public var privateKeyDER: [UInt8]? { nil }
    public var signatureAlgorithm: String { "" }
}

/// `X500DistinguishedName` (only `Name` is whitelisted).
public final class X500DistinguishedNameObject: HostObject {
    public let name: String
    public init(name: String) { self.name = name }
    public var hostType: HostType { X509Types.distinguishedName }
}

public enum X509Types {
    public static let distinguishedName = HostType(name: "X500DistinguishedName", members: [
        .property("Name", .string, of: X500DistinguishedNameObject.self) { .string($0.name) },
    ], toString: { _ in "System.Security.Cryptography.X509Certificates.X500DistinguishedName" })

    typealias Cert = any X509Certificate2Object

    private static func property(_ name: String, _ type: ExpressionType, _ get: @escaping @Sendable (Cert) -> Value) -> HostMember {
        .property(HostProperty(name: name, type: type) { object in
            guard let value = object.withX509Certificate(get) else {
                throw ExpressionRuntimeError.invalidCast(from: object.hostType.name, to: "X509Certificate2")
            }
            return value
        })
    }

    private static func method(_ name: String, _ parameters: [ExpressionType], _ returns: ExpressionType,
                               _ invoke: @escaping @Sendable (Cert, [Value]) throws -> Value) -> HostMember {
        .method(HostMethod(name: name, parameters: parameters, returnType: returns) { object, args in
            guard let value = try object.withX509Certificate({ try invoke($0, args) }) else {
                throw ExpressionRuntimeError.invalidCast(from: object.hostType.name, to: "X509Certificate2")
            }
            return value
        })
    }

    /// `ToString()` as seen in APIM demos: `[Subject]\n  ...` blocks.
    static func describe(_ c: Cert) -> String {
        "[Subject]\n  \(c.subject)\n\n[Issuer]\n  \(c.issuer)\n\n[Serial Number]\n  \(c.serialNumber)\n\n[Not Before]\n  "
            + Formatting.dateTime(c.notBefore, format: "G") + "\n\n[Not After]\n  " + Formatting.dateTime(c.notAfter, format: "G")
            + "\n\n[Thumbprint]\n  \(c.thumbprint)\n"
    }

    public static let certificate = HostType(name: "X509Certificate2", members: [
        property("Thumbprint", .string) { .string($0.thumbprint) },
        property("Subject", .string) { .string($0.subject) },
        property("Issuer", .string) { .string($0.issuer) },
        property("SubjectName", .host(distinguishedName)) { .object($0.subjectName) },
        property("IssuerName", .host(distinguishedName)) { .object($0.issuerName) },
        property("SerialNumber", .string) { .string($0.serialNumber) },
        property("NotBefore", .dateTime) { .dateTime($0.notBefore) },
        property("NotAfter", .dateTime) { .dateTime($0.notAfter) },
        property("RawData", .byteArray) { .bytes($0.rawData) },
        property("Version", .int) { .int($0.version) },
        property("FriendlyName", .string) { .string($0.friendlyName) },
        property("HasPrivateKey", .bool) { .bool($0.hasPrivateKey) },
        method("Verify", [], .bool) { c, _ in .bool(c.verify()) },
        method("VerifyNoRevocation", [], .bool) { c, _ in .bool(c.verifyNoRevocation()) },
        method("GetNameInfo", [.enumeration(.x509NameType), .bool], .string) { c, args in
            .string(c.nameInfo(enumRaw(args[0]), forIssuer: args[1].boolValue ?? false))
        },
        method("GetRawCertData", [], .byteArray) { c, _ in .bytes(c.rawData) },
        // (An extension method in .NET: null without a private key or for a key that is not RSA.)
        method("GetRSAPrivateKey", [], .host(RSAKeyObject.rsa)) { c, _ in
            guard let der = c.privateKeyDER, let key = RSAKeyObject(privateKeyDER: der) else { return .null }
            return .object(key)
        },
        method("GetCertHash", [], .byteArray) { c, _ in .bytes(Hex.decode(c.thumbprint) ?? []) },
        method("GetCertHashString", [], .string) { c, _ in .string(c.thumbprint) },
        method("GetSerialNumberString", [], .string) { c, _ in .string(c.serialNumber) },
        method("GetExpirationDateString", [], .string) { c, _ in .string(Formatting.dateTime(c.notAfter, format: "G")) },
        method("GetEffectiveDateString", [], .string) { c, _ in .string(Formatting.dateTime(c.notBefore, format: "G")) },
        method("ToString", [], .string) { c, _ in .string(describe(c)) },
    ], toString: { object in
        guard let c = object as? Cert else { return "System.Security.Cryptography.X509Certificates.X509Certificate2" }
        return describe(c)
    })
}

enum Hex {
    static func decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(chars.count / 2)
        var i = 0
        while i < chars.count {
            guard let hi = nibble(chars[i]), let lo = nibble(chars[i + 1]) else { return nil }
            bytes.append(hi << 4 | lo)
            i += 2
        }
        return bytes
    }

    static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: return c - 48
        case 65...70: return c - 55
        case 97...102: return c - 87
        default: return nil
        }
    }

    static func encode(_ bytes: [UInt8], uppercase: Bool = true, separator: String = "") -> String {
        let digits = Array(uppercase ? "0123456789ABCDEF" : "0123456789abcdef")
        var out = ""
        out.reserveCapacity(bytes.count * (2 + separator.count))
        for (i, b) in bytes.enumerated() {
            if i > 0 { out += separator }
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return out
    }
}

/// A message body (`IMessageBody`): `As<T>(bool preserveContent = false)` consumes it unless asked
/// to preserve; later reads then see an empty body (APIM: "renders it unavailable").
public final class MessageBodyObject: HostObject, @unchecked Sendable {
    public static let type = HostType(name: "IMessageBody", members: [])
    public var hostType: HostType { MessageBodyObject.type }

    private let lock = NSLock()
    private var content: [UInt8]
    private var consumed = false

    public init(_ content: [UInt8]) { self.content = content }
    public convenience init(text: String) { self.init(Array(text.utf8)) }

    /// Bytes as the next `As<T>` would see them (for the engine, e.g. to forward the body).
    public var bytes: [UInt8] {
        lock.lock(); defer { lock.unlock() }
        return consumed ? [] : content
    }

    func read(preserve: Bool) -> [UInt8] {
        lock.lock(); defer { lock.unlock() }
        if consumed { return [] }
        if !preserve { consumed = true }
        return content
    }

    func read(as type: ExpressionType, preserve: Bool) throws -> Value {
        let data = read(preserve: preserve)
        switch type {
        case .string: return .string(String(decoding: data, as: UTF8.self))
        case .array(.byte): return .bytes(data)
        case .json(let kind):
            if data.isEmpty { return .null }
            let token = try JsonReader.parse(String(decoding: data, as: UTF8.self))
            if kind != .token && token.kind != kind {
                throw ExpressionRuntimeError("JsonReaderException", "Error reading \(kind.rawValue) from JsonReader. Current JsonReader item is not an \(kind == .object ? "object" : "array").")
            }
            return .json(token)
        case .host(let host) where host === XmlObjects.document:
            return .object(XDocumentObject(root: try XmlObjects.parse(String(decoding: data, as: UTF8.self))))
        case .host(let host) where host === XmlObjects.element:
            return .object(try XmlObjects.parse(String(decoding: data, as: UTF8.self)))
        default:
            throw ExpressionRuntimeError.notSupported("IMessageBody.As<\(type)> is not supported.")
        }
    }

    /// `AsFormUrlEncodedContent()`: `IDictionary<string, IList<string>>`.
    func formContent(preserve: Bool) -> Value {
        let text = String(decoding: read(preserve: preserve), as: UTF8.self)
        let box = DictionaryBox(ignoresCase: false)
        for pair in text.split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = WebCoding.urlDecode(String(parts[0]))
            let value = parts.count > 1 ? WebCoding.urlDecode(String(parts[1])) : ""
            if case .list(let list)? = box[.string(key)] { list.items.append(.string(value)) } else { box.set(.string(key), .list(ListBox([.string(value)]))) }
        }
        return .dictionary(box)
    }
}
