import Foundation
import _CryptoExtras

/// APIM's `byte[]` helpers `Encrypt(string alg, byte[] key, byte[] iv)` and `Decrypt(…)`: the
/// .NET `SymmetricAlgorithm` defaults, CBC with PKCS7 padding. AES (also named Rijndael with its
/// 128-bit block, as .NET's RijndaelManaged defaults) is the algorithm offered; the others .NET
/// knows by name (DES, TripleDES, RC2) are refused with a CryptographicException.
enum SymmetricCrypto {
    static let aesNames: Set<String> = [
        "aes", "rijndael", "aesmanaged", "rijndaelmanaged", "aescryptoserviceprovider", "aescng",
        "system.security.cryptography.aes", "system.security.cryptography.rijndael", "system.security.cryptography.aesmanaged",
        "system.security.cryptography.rijndaelmanaged",
    ]

    static func crypto(_ message: String) -> ExpressionRuntimeError { ExpressionRuntimeError("CryptographicException", message) }

    static func transform(_ input: Value, _ algorithm: Value, _ key: Value, _ iv: Value, encrypt: Bool) throws -> Value {
        let data = try bytes(input, "input")
        let name = try argStr(algorithm, "alg")
        guard aesNames.contains(name.lowercased()) else { throw crypto("Algorithm '\(name)' is not supported (AES only).") }
        let keyBytes = try bytes(key, "key")
        let ivBytes = try bytes(iv, "iv")
        guard [16, 24, 32].contains(keyBytes.count) else { throw crypto("Specified key is not a valid size for this algorithm.") }
        guard ivBytes.count == 16, let vector = try? AES._CBC.IV(ivBytes: ivBytes) else {
            throw crypto("Specified initialization vector (IV) does not match the block size for this algorithm.")
        }
        let symmetric = SymmetricKey(data: keyBytes)
        if encrypt {
            guard let sealed = try? AES._CBC.encrypt(data, using: symmetric, iv: vector) else { throw crypto("Encryption failed.") }
            return .bytes(Array(sealed))
        }
        guard data.count % 16 == 0 else { throw crypto("The input data is not a complete block.") }
        guard let opened = try? AES._CBC.decrypt(data, using: symmetric, iv: vector) else {
            throw crypto("Padding is invalid and cannot be removed.")
        }
        return .bytes(Array(opened))
    }

    static let methods: [String: [Overload]] = [
        "Encrypt": [m3(.string, .byteArray, .byteArray, .byteArray) { input, alg, key, iv in try transform(input, alg, key, iv, encrypt: true) }],
        "Decrypt": [m3(.string, .byteArray, .byteArray, .byteArray) { input, alg, key, iv in try transform(input, alg, key, iv, encrypt: false) }],
    ]
}
