import ClientCertificates
import Foundation
import X509

/// Turns an uploaded certificate (PEM chain with an optional PEM key, or a password-protected
/// PFX) into what the store keeps: the chain and the key as PEM. A PFX's password is not kept:
/// the key is stored decrypted in the store (owner-only file), as the gateway needs it to serve.
enum CertificateUpload {
    struct Parsed {
        var chainPEM: String
        var keyPEM: String?
        var certificates: [X509Certificate2]
    }

    static func parse(_ body: JSONDocument.Object, what: String) throws -> Parsed {
        try JSONDocument.allowOnly(body, ["pem", "key", "pfx", "password"], what: what)
        let pem = try JSONDocument.string(body, "pem", what: what)
        let key = try JSONDocument.string(body, "key", what: what)
        let pfx = try JSONDocument.string(body, "pfx", what: what)
        let password = try JSONDocument.string(body, "password", what: what)
        switch (pem, pfx) {
        case (let pem?, nil):
            guard password == nil else { throw AdminError.badRequest("\(what): 'password' goes with 'pfx' only") }
            let certificates: [X509Certificate2]
            do { certificates = try CertificateLoader.load(pem: pem) } catch {
                throw AdminError.badRequest("\(what): 'pem' is not a PEM certificate chain: \(error)")
            }
            let chain = certificates.map { PEMText.encode($0.rawData, label: "CERTIFICATE") }.joined()
            guard let key else { return Parsed(chainPEM: chain, keyPEM: nil, certificates: certificates) }
            let privateKey: Certificate.PrivateKey
            do { privateKey = try Certificate.PrivateKey(pemEncoded: key) } catch {
                throw AdminError.badRequest("\(what): 'key' is not a PEM private key (PKCS#8, RSA or EC)")
            }
            try requireMatch(privateKey, certificates.first, what: what)
            return Parsed(chainPEM: chain, keyPEM: key, certificates: certificates)
        case (nil, let pfx?):
            guard key == nil else { throw AdminError.badRequest("\(what): a PFX carries its own key; do not send 'key'") }
            guard let bytes = Data(base64Encoded: pfx, options: .ignoreUnknownCharacters), !bytes.isEmpty else {
                throw AdminError.badRequest("\(what): 'pfx' must be the PFX file in base64")
            }
            let certificates: [X509Certificate2]
            do {
                certificates = try CertificateLoader.loadPKCS12(Array(bytes), password: password ?? "")
            } catch CertificateLoadingError.wrongPassword {
                throw AdminError(400, "WrongPassword", "\(what): the PFX password is wrong")
            } catch {
                throw AdminError.badRequest("\(what): the PFX cannot be read: \(error)")
            }
            let chain = certificates.map { PEMText.encode($0.rawData, label: "CERTIFICATE") }.joined()
            guard let leaf = certificates.first, let der = leaf.privateKeyDER else {
                return Parsed(chainPEM: chain, keyPEM: nil, certificates: certificates)
            }
            // i2d_PrivateKey writes the traditional form: PKCS#1 for RSA, SEC 1 for EC.
            for label in ["RSA PRIVATE KEY", "EC PRIVATE KEY", "PRIVATE KEY"] {
                let text = PEMText.encode(der, label: label)
                if let privateKey = try? Certificate.PrivateKey(pemEncoded: text) {
                    try requireMatch(privateKey, leaf, what: what)
                    return Parsed(chainPEM: chain, keyPEM: text, certificates: certificates)
                }
            }
            throw AdminError.badRequest("\(what): the PFX's private key is of an unsupported type")
        case (nil, nil):
            throw AdminError.badRequest("\(what): send 'pem' (a PEM chain, optionally with 'key') or 'pfx' (base64, with 'password')")
        case (_?, _?):
            throw AdminError.badRequest("\(what): send either 'pem' or 'pfx', not both")
        }
    }

    private static func requireMatch(_ key: Certificate.PrivateKey, _ leaf: X509Certificate2?, what: String) throws {
        guard let leaf, let certificate = leaf.certificate else {
            throw AdminError.badRequest("\(what): the certificate cannot be used with a key")
        }
        guard key.publicKey == certificate.publicKey else {
            throw AdminError.badRequest("\(what): the private key does not belong to the first certificate of the chain")
        }
    }
}
