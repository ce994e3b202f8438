import SwiftASN1

/// Loads certificates from the formats operators upload: PEM (one or many blocks), DER, PKCS#7
/// (.p7b, DER or PEM) and PKCS#12/PFX with a password.
public enum CertificateLoader {
    /// Detects the format and loads every certificate. For PKCS#12 the first certificate is the one
    /// matching the private key (which it carries).
    public static func load(_ bytes: [UInt8], password: String? = nil) throws -> [X509Certificate2] {
        guard bytes.contains(where: { !Self.isWhitespace($0) }) else { throw CertificateLoadingError.empty }
        if let text = String(validating: bytes, as: UTF8.self), text.contains("-----BEGIN") {
            return try load(pem: text)
        }
        switch try DERShape.classify(bytes) {
        case .certificate: return [try X509Certificate2(derEncoded: bytes)]
        case .pkcs7: return try PKCS7CertificateBundle.certificates(fromDER: bytes)
        case .pkcs12: return try loadPKCS12(bytes, password: password ?? "")
        case .privateKey(let kind): throw CertificateLoadingError.privateKeyInsteadOfCertificate(kind)
        }
    }

    /// Every `CERTIFICATE` (and `PKCS7`) block of a PEM text, in order. Private key blocks are an
    /// error (a key was uploaded where certificates were expected); so is text with no block.
    public static func load(pem: String) throws -> [X509Certificate2] {
        let documents: [PEMDocument]
        do {
            documents = try PEMDocument.parseMultiple(pemString: pem)
        } catch {
            if pem.contains("-----BEGIN"), !pem.contains("-----END") {
                throw CertificateLoadingError.truncated("PEM block has no END line")
            }
            throw CertificateLoadingError.unrecognizedFormat("PEM: \(error)")
        }
        guard !documents.isEmpty else { throw CertificateLoadingError.noCertificates }
        var certificates: [X509Certificate2] = []
        for document in documents {
            switch document.discriminator {
            case "CERTIFICATE", "X509 CERTIFICATE":
                do { _ = try DER.parse(document.derBytes) } catch {
                    throw Self.structuralError(error, format: "PEM certificate")
                }
                certificates.append(try X509Certificate2(derEncoded: document.derBytes))
            case "PKCS7":
                certificates += try PKCS7CertificateBundle.certificates(fromDER: document.derBytes)
            case let label where label.hasSuffix("PRIVATE KEY"):
                throw CertificateLoadingError.privateKeyInsteadOfCertificate(label)
            default:
                throw CertificateLoadingError.unsupportedPEMBlock(document.discriminator)
            }
        }
        guard !certificates.isEmpty else { throw CertificateLoadingError.noCertificates }
        return certificates
    }

    /// One DER certificate.
    public static func load(der: [UInt8]) throws -> X509Certificate2 {
        guard !der.isEmpty else { throw CertificateLoadingError.empty }
        switch try DERShape.classify(der) {
        case .certificate: return try X509Certificate2(derEncoded: der)
        case .privateKey(let kind): throw CertificateLoadingError.privateKeyInsteadOfCertificate(kind)
        case .pkcs7, .pkcs12: throw CertificateLoadingError.unexpectedCount(expected: 1, found: 0)
        }
    }

    /// A PKCS#12/PFX file: the certificate with the private key first, then the rest of the chain.
    public static func loadPKCS12(_ bytes: [UInt8], password: String) throws -> [X509Certificate2] {
        guard !bytes.isEmpty else { throw CertificateLoadingError.empty }
        if case .failure(let error) = Result(catching: { try BER.parse(bytes) }) {
            throw Self.structuralError(error, format: "PKCS#12")
        }
        // Not NIOSSLPKCS12Bundle: it traps on a file without a key or without the key's certificate.
        let contents: PKCS12Reader.Contents
        do {
            contents = try PKCS12Reader.read(bytes, password: password)
        } catch PKCS12Reader.Failure.wrongPassword {
            throw CertificateLoadingError.wrongPassword
        } catch PKCS12Reader.Failure.unparsable(let text) {
            throw CertificateLoadingError.invalidPKCS12(text)
        }
        if contents.privateKeyDER != nil, contents.keyCertificateDER == nil {
            throw CertificateLoadingError.invalidPKCS12("it has a private key but no certificate for that key")
        }
        var result: [X509Certificate2] = []
        if let leaf = contents.keyCertificateDER {
            result.append(try X509Certificate2(derEncoded: leaf, privateKeyDER: contents.privateKeyDER))
        }
        // A certificates-only file (no key) loads as its certificates, like a PKCS#7 bundle.
        for der in contents.otherCertificateDERs { result.append(try X509Certificate2(derEncoded: der)) }
        guard !result.isEmpty else { throw CertificateLoadingError.noCertificates }
        return result
    }

    static func structuralError(_ error: any Error, format: String) -> CertificateLoadingError {
        if let asn1 = error as? ASN1Error, asn1.code == .truncatedASN1Field {
            return .truncated("\(format) structure ends early")
        }
        return .unrecognizedFormat("\(format): \(error)")
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }
}

/// Recognizes what a DER/BER blob is from its outer structure, before any deep parsing.
enum DERShape {
    case certificate
    case pkcs7
    case pkcs12
    case privateKey(String)

    static let signedDataOID: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 7, 2]

    static func classify(_ bytes: [UInt8]) throws -> DERShape {
        let root: ASN1Node
        do {
            root = try BER.parse(bytes)
        } catch {
            throw CertificateLoader.structuralError(error, format: "DER")
        }
        guard root.identifier == .sequence, case .constructed(let childNodes) = root.content else {
            throw CertificateLoadingError.unrecognizedFormat("the outer value is not a SEQUENCE")
        }
        let children = Array(childNodes)
        guard let first = children.first else {
            throw CertificateLoadingError.unrecognizedFormat("empty SEQUENCE")
        }
        if first.identifier == .objectIdentifier {
            if let oid = try? ASN1ObjectIdentifier(berEncoded: first), oid == signedDataOID { return .pkcs7 }
            throw CertificateLoadingError.unrecognizedFormat("a PKCS#7 content type other than signedData")
        }
        if first.identifier == .integer, case .primitive(let value) = first.content {
            let second = children.count > 1 ? children[1] : nil
            switch (Array(value), second?.identifier) {
            case ([3], .some(.sequence)): return .pkcs12
            case ([0], .some(.sequence)): return .privateKey("PKCS#8 private key")
            case ([0], .some(.integer)): return .privateKey("PKCS#1 RSA private key")
            case ([1], .some(.octetString)): return .privateKey("SEC1 EC private key")
            default: break
            }
        }
        if first.identifier == .sequence, children.count == 3 { return .certificate }
        throw CertificateLoadingError.unrecognizedFormat("unknown DER structure")
    }

}
