import NIOSSL
import SwiftASN1
import X509

/// Loads a certificate together with its private key, as operators give them for
/// `authentication-certificate certificate-id`: a PEM holding certificates and the key, certificates
/// plus a separate key file (PEM, possibly encrypted with `password`, or DER), or a PKCS#12/PFX with
/// `password`. The certificate the key belongs to comes first, carrying the key. Errors never contain
/// the password or key material.
public enum CertificateKeyLoader {
    public static func load(certificate bytes: [UInt8], key keyBytes: [UInt8]? = nil, password: String? = nil) throws -> [X509Certificate2] {
        guard bytes.contains(where: { $0 > 0x20 }) else { throw CertificateLoadingError.empty }
        let text = String(validating: bytes, as: UTF8.self).flatMap { $0.contains("-----BEGIN") ? $0 : nil }
        if text == nil, case .pkcs12 = try DERShape.classify(bytes) {
            guard keyBytes == nil else {
                throw CertificateKeyError.conflictingKeys("a PKCS#12/PFX file carries its own key; a separate key file is not used with it")
            }
            return try CertificateLoader.loadPKCS12(bytes, password: password ?? "")
        }
        var certificates: [X509Certificate2]
        var keySource = keyBytes
        if let text {
            let documents: [PEMDocument]
            do { documents = try PEMDocument.parseMultiple(pemString: text) } catch {
                return try CertificateLoader.load(pem: text)  // its precise error
            }
            let keys = documents.filter { $0.discriminator.hasSuffix("PRIVATE KEY") }
            let others = documents.filter { !$0.discriminator.hasSuffix("PRIVATE KEY") }
            if !keys.isEmpty {
                guard keyBytes == nil else {
                    throw CertificateKeyError.conflictingKeys("the PEM file holds a private key and a separate key file is given too")
                }
                guard keys.count == 1 else { throw CertificateKeyError.conflictingKeys("the PEM file holds \(keys.count) private keys") }
                keySource = Array(keys[0].pemString.utf8)
            }
            guard !others.isEmpty else { throw CertificateLoadingError.noCertificates }
            certificates = try CertificateLoader.load(pem: others.map(\.pemString).joined(separator: "\n"))
        } else {
            certificates = try CertificateLoader.load(bytes)
        }
        guard let keySource else { return certificates }
        let keyDER = try privateKeyDER(keySource, password: password)
        guard let publicKey = publicKey(ofPrivateKeyDER: keyDER) else {
            throw CertificateKeyError.unusableKey("the private key type is not supported (RSA, P-256, P-384, P-521, Ed25519 are)")
        }
        guard let index = certificates.firstIndex(where: { $0.certificate?.publicKey == publicKey }) else {
            throw CertificateKeyError.keyMismatch
        }
        let owner = try X509Certificate2(derEncoded: certificates[index].rawData, privateKeyDER: keyDER)
        certificates.remove(at: index)
        return [owner] + certificates
    }

    /// The public half of a DER private key in PKCS#8, SEC1 (EC) or PKCS#1 (RSA) form.
    static func publicKey(ofPrivateKeyDER der: [UInt8]) -> Certificate.PublicKey? {
        if let key = try? Certificate.PrivateKey(derBytes: der) { return key.publicKey }
        for type in ["EC PRIVATE KEY", "RSA PRIVATE KEY"] {
            if let key = try? Certificate.PrivateKey(pemDocument: PEMDocument(type: type, derBytes: der)) { return key.publicKey }
        }
        return nil
    }

    /// The key as DER BoringSSL and swift-certificates both read (PEM, encrypted PEM, or DER).
    static func privateKeyDER(_ bytes: [UInt8], password: String?) throws -> [UInt8] {
        let isPEM = String(validating: bytes, as: UTF8.self)?.contains("-----BEGIN") ?? false
        let encrypted = isPEM && (String(decoding: bytes, as: UTF8.self).contains("ENCRYPTED"))
        if encrypted && (password ?? "").isEmpty {
            throw CertificateKeyError.unusableKey("the private key is encrypted and no password is given")
        }
        do {
            let key: NIOSSLPrivateKey
            if isPEM, let password, !password.isEmpty {
                key = try NIOSSLPrivateKey(bytes: bytes, format: .pem) { setter in setter(Array(password.utf8)) }
            } else {
                key = try NIOSSLPrivateKey(bytes: bytes, format: isPEM ? .pem : .der)
            }
            return try key.derBytes
        } catch {
            throw CertificateKeyError.unusableKey(encrypted ? "the private key cannot be decrypted (wrong password?)" : "the private key cannot be read")
        }
    }
}
