import ClientCertificates
import Foundation

/// Reads configured CRL files (`crlFiles`): PEM with one or more `X509 CRL` blocks, or one DER CRL.
/// Errors name the file; a CRL file that cannot be used stops the load (a revocation list silently
/// missing would let revoked certificates in).
enum CRLFiles {
    /// Larger files are refused (the same bound as a fetched CRL).
    static let maxBytes = 64 * 1024 * 1024

    static func load(_ path: String) throws -> [CertificateRevocationList] {
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
        guard let size else { throw GatewayStartupError.file(path: path, reason: "cannot read CRL file") }
        guard size <= maxBytes else {
            throw GatewayStartupError.file(path: path, reason: "CRL file is larger than \(maxBytes / (1024 * 1024)) MiB")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw GatewayStartupError.file(path: path, reason: "cannot read CRL file")
        }
        let bytes = [UInt8](data)
        do {
            if let text = String(validating: bytes, as: UTF8.self), text.contains("-----BEGIN") {
                let crls = try CertificateRevocationList.parseAll(pem: text)
                guard !crls.isEmpty else { throw GatewayStartupError.file(path: path, reason: "no PEM 'X509 CRL' block found") }
                return crls
            }
            return [try CertificateRevocationList(derEncoded: bytes)]
        } catch let error as GatewayStartupError {
            throw error
        } catch {
            throw GatewayStartupError.file(path: path, reason: "not a usable CRL (PEM 'X509 CRL' or DER): \(error)")
        }
    }

    /// Every CRL of `paths`, each file read once, as one store.
    static func store(_ paths: [String]) throws -> CRLStore {
        guard !paths.isEmpty else { return .empty }
        var crls: [CertificateRevocationList] = []
        for path in Set(paths).sorted() {
            for crl in try load(path) where !crls.contains(where: { $0.digest == crl.digest }) { crls.append(crl) }
        }
        do {
            return try CRLStore(version: 1, crls: crls)
        } catch {
            throw GatewayStartupError.file(path: paths.joined(separator: ", "), reason: "CRL files cannot be used: \(error)")
        }
    }
}
