import SwiftASN1

/// The certificates of a PKCS#7 / CMS SignedData "certs-only" bundle (.p7b), RFC 5652 §5.1:
/// ContentInfo { signedData, [0] EXPLICIT SignedData { version, digestAlgorithms,
/// encapContentInfo, [0] IMPLICIT certificates SET OF CertificateChoices, ... } }.
/// Only plain certificates are taken; attribute certificates and other choices are rejected.
enum PKCS7CertificateBundle {
    static func certificates(fromDER bytes: [UInt8]) throws -> [X509Certificate2] {
        let root: ASN1Node
        do { root = try BER.parse(bytes) } catch { throw CertificateLoader.structuralError(error, format: "PKCS#7") }
        do {
            let contentInfo = try root.children("ContentInfo")
            guard contentInfo.count == 2,
                try ASN1ObjectIdentifier(berEncoded: contentInfo[0]) == DERShape.signedDataOID,
                contentInfo[1].isContextTag(0),
                let signedData = try contentInfo[1].children("content").first
            else { throw CertificateLoadingError.invalidPKCS7("not a SignedData ContentInfo") }
            let fields = try signedData.children("SignedData")
            guard let certificatesNode = fields.first(where: { $0.isContextTag(0) }) else {
                throw CertificateLoadingError.noCertificates
            }
            var result: [X509Certificate2] = []
            for choice in try certificatesNode.children("certificates") {
                guard choice.identifier == .sequence else {
                    throw CertificateLoadingError.invalidPKCS7("only X.509 certificates are supported in the bundle")
                }
                result.append(try X509Certificate2(derEncoded: Array(choice.encodedBytes)))
            }
            guard !result.isEmpty else { throw CertificateLoadingError.noCertificates }
            return result
        } catch let error as CertificateLoadingError {
            throw error
        } catch {
            throw CertificateLoadingError.invalidPKCS7(String(describing: error))
        }
    }
}
