import Crypto
import SwiftASN1

/// `X509Certificate2.PublicKey`: the key algorithm, its parameters and the encoded key.
public struct PublicKeyInfo: Sendable, Hashable {
    /// `PublicKey.Oid` (`RSA`, `ECC`, ...).
    public let oid: Oid
    /// `PublicKey.EncodedKeyValue.RawData`: the content of the subjectPublicKey BIT STRING.
    public let encodedKeyValue: [UInt8]
    /// `PublicKey.EncodedParameters.RawData`: the DER of the algorithm parameters (05 00 for RSA).
    public let encodedParameters: [UInt8]
    /// The whole SubjectPublicKeyInfo DER (what SPKI pins hash).
    public let subjectPublicKeyInfo: [UInt8]
    /// Key size in bits (RSA modulus length, EC field size), when known.
    public let keySizeInBits: Int?

    init(spkiNode: ASN1Node) throws {
        let parts = try spkiNode.children("SubjectPublicKeyInfo")
        guard parts.count == 2 else { throw CertificateParsingError.malformed("SubjectPublicKeyInfo needs 2 fields") }
        let algorithm = try parts[0].children("public key algorithm")
        guard let oidNode = algorithm.first else { throw CertificateParsingError.malformed("empty key algorithm") }
        let oid = try ASN1ObjectIdentifier(derEncoded: oidNode)
        let bitString = try ASN1BitString(derEncoded: parts[1])
        self.oid = Oid(value: oid.description)
        self.encodedKeyValue = Array(bitString.bytes)
        self.encodedParameters = algorithm.count > 1 ? Array(algorithm[1].encodedBytes) : []
        self.subjectPublicKeyInfo = Array(spkiNode.encodedBytes)
        self.keySizeInBits = Self.keySize(
            algorithm: oid.description, parameters: algorithm.count > 1 ? algorithm[1] : nil,
            key: Array(bitString.bytes))
    }

    /// SHA-256 of the SubjectPublicKeyInfo, base64 (the `pin-sha256` form of RFC 7469).
    public var sha256Base64: String {
        Base64.encode(Array(SHA256.hash(data: subjectPublicKeyInfo)))
    }

    /// SHA-256 of the SubjectPublicKeyInfo, uppercase hex.
    public var sha256Hex: String { Hex.upper(SHA256.hash(data: subjectPublicKeyInfo)) }

    private static func keySize(algorithm: String, parameters: ASN1Node?, key: [UInt8]) -> Int? {
        switch algorithm {
        case "1.2.840.113549.1.1.1":
            // RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }
            guard let node = try? DER.parse(key), let fields = try? node.children("RSA key"),
                let modulus = try? fields.first?.primitiveBytes("modulus")
            else { return nil }
            let significant = modulus.drop(while: { $0 == 0 })
            guard let first = significant.first else { return 0 }
            return (significant.count - 1) * 8 + (8 - first.leadingZeroBitCount)
        case "1.2.840.10045.2.1":
            guard let parameters, let curve = try? ASN1ObjectIdentifier(derEncoded: parameters) else { return nil }
            switch curve.description {
            case "1.2.840.10045.3.1.7": return 256
            case "1.3.132.0.34": return 384
            case "1.3.132.0.35": return 521
            default: return nil
            }
        case "1.3.101.112": return 256
        default: return nil
        }
    }
}

/// Base64 without Foundation's Data round trip.
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let chunk = bytes[index..<min(index + 3, bytes.count)]
            let b0 = chunk[chunk.startIndex]
            let b1 = chunk.count > 1 ? chunk[chunk.startIndex + 1] : 0
            let b2 = chunk.count > 2 ? chunk[chunk.startIndex + 2] : 0
            out.append(alphabet[Int(b0 >> 2)])
            out.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
            out.append(chunk.count > 1 ? alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)] : UInt8(ascii: "="))
            out.append(chunk.count > 2 ? alphabet[Int(b2 & 0x3F)] : UInt8(ascii: "="))
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}
