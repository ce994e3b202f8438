import Crypto
import Foundation
import _CryptoExtras

/// `RSA` (as `RSACng`, APIM's Windows implementation): the private key of a certificate that has one,
/// from `X509Certificate2.GetRSAPrivateKey()`. `SignData`/`VerifyData` with `HashAlgorithmName`
/// (SHA1, SHA256, SHA384, SHA512) and `RSASignaturePadding` (Pkcs1, Pss), on swift-crypto's RSA.
public final class RSAKeyObject: HostObject, Sendable {
    let key: _RSA.Signing.PrivateKey

    /// The key of a DER private key (PKCS#1 or PKCS#8), nil when it is not RSA. Keys of 1024 bits
    /// and more are taken, as .NET takes them.
    public init?(privateKeyDER der: [UInt8]) {
        guard let key = try? _RSA.Signing.PrivateKey(unsafeDERRepresentation: der) else { return nil }
        self.key = key
    }

    public var hostType: HostType { RSAKeyObject.cng }

    static func digest(_ data: [UInt8], _ algorithm: Value) throws -> any Digest {
        switch enumRaw(algorithm) {
        case 1: return Insecure.SHA1.hash(data: data)
        case 2: return SHA256.hash(data: data)
        case 3: return SHA384.hash(data: data)
        case 4: return SHA512.hash(data: data)
        default: throw ExpressionRuntimeError("CryptographicException", "'\(Formatting.toString(algorithm))' is not a known hash algorithm.")
        }
    }

    static func padding(_ value: Value) throws -> _RSA.Signing.Padding {
        guard case .enumeration(let raw, .rsaSignaturePadding) = value else { throw ExpressionRuntimeError.argumentNull("padding") }
        return raw == 1 ? .PSS : .insecurePKCS1v1_5
    }

    func sign(_ data: [UInt8], _ algorithm: Value, _ padding: Value) throws -> [UInt8] {
        let digest = try Self.digest(data, algorithm), padding = try Self.padding(padding)
        do {
            switch digest {
            case let d as Insecure.SHA1Digest: return Array(try key.signature(for: d, padding: padding).rawRepresentation)
            case let d as SHA256Digest: return Array(try key.signature(for: d, padding: padding).rawRepresentation)
            case let d as SHA384Digest: return Array(try key.signature(for: d, padding: padding).rawRepresentation)
            case let d as SHA512Digest: return Array(try key.signature(for: d, padding: padding).rawRepresentation)
            default: break
            }
        } catch {
            throw ExpressionRuntimeError("CryptographicException", "The data could not be signed with this key.")
        }
        throw ExpressionRuntimeError("CryptographicException", "The hash algorithm is not supported.")
    }

    func verify(_ data: [UInt8], _ signature: [UInt8], _ algorithm: Value, _ padding: Value) throws -> Bool {
        let digest = try Self.digest(data, algorithm), padding = try Self.padding(padding)
        let publicKey = key.publicKey
        let rsaSignature = _RSA.Signing.RSASignature(rawRepresentation: signature)
        switch digest {
        case let d as Insecure.SHA1Digest: return publicKey.isValidSignature(rsaSignature, for: d, padding: padding)
        case let d as SHA256Digest: return publicKey.isValidSignature(rsaSignature, for: d, padding: padding)
        case let d as SHA384Digest: return publicKey.isValidSignature(rsaSignature, for: d, padding: padding)
        case let d as SHA512Digest: return publicKey.isValidSignature(rsaSignature, for: d, padding: padding)
        default: return false
        }
    }

    static let rsa = HostType(name: "RSA", members: [
        .property("KeySize", .int, of: RSAKeyObject.self) { .int(Int32(clamping: $0.key.keySizeInBits)) },
        .method("SignData", [.byteArray, .enumeration(.hashAlgorithmName), .enumeration(.rsaSignaturePadding)], returns: .byteArray,
                of: RSAKeyObject.self) { k, a in .bytes(try k.sign(try bytes(a[0], "data"), a[1], a[2])) },
        .method("VerifyData", [.byteArray, .byteArray, .enumeration(.hashAlgorithmName), .enumeration(.rsaSignaturePadding)], returns: .bool,
                of: RSAKeyObject.self) { k, a in .bool(try k.verify(try bytes(a[0], "data"), try bytes(a[1], "signature"), a[2], a[3])) },
        .method("Dispose", [], returns: .void, of: RSAKeyObject.self) { _, _ in .null },
    ], toString: { _ in "System.Security.Cryptography.RSA" })

    static let cng = HostType(name: "RSACng", conformances: [rsa], members: [], toString: { _ in "System.Security.Cryptography.RSACng" })
}
