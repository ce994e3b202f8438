import ConfigurationStore
import Crypto
import Foundation

/// Writes the files a materialised configuration names: one per content (SHA-256 name), owner-only,
/// written to a temporary name and renamed so a reader never sees half a file.
struct FileWriter {
    let directory: String
    /// Path → resource name, for messages.
    private(set) var labels: [String: String] = [:]
    private(set) var errors: [String] = []
    private var created = false

    init(directory: String) { self.directory = directory }

    mutating func file(for resource: StoredResource) -> String {
        let document = JSONDocument.object(resource.document)
        let label = resource.key.description
        switch resource.key.kind {
        case .certificates, .caCertificates:
            return write(document["pem"]?.stringValue ?? "", extension: "pem", label: label)
        case .crls:
            let der = document["der"]?.stringValue.flatMap { Data(base64Encoded: $0) } ?? Data()
            return write(bytes: Array(der), extension: "crl", label: label)
        case .policies, .fragments:
            return write(document["xml"]?.stringValue ?? "", extension: "xml", label: label)
        case .hostnames, .apis, .namedValues, .settings, .products, .subscriptions, .backends, .loggers:
            errors.append("\(label) cannot be referenced as a file")
            return ""
        }
    }

    mutating func keyFile(for certificate: StoredResource) -> String? {
        guard let key = JSONDocument.object(certificate.document)["key"]?.stringValue else { return nil }
        return write(key, extension: "key", label: "\(certificate.key) (private key)")
    }

    /// A file holding `text` (an API's OpenAPI description).
    mutating func file(text: String, extension ext: String, label: String) -> String {
        write(text, extension: ext, label: label)
    }

    private mutating func write(_ text: String, extension ext: String, label: String) -> String {
        write(bytes: Array(text.utf8), extension: ext, label: label)
    }

    private mutating func write(bytes: [UInt8], extension ext: String, label: String) -> String {
        let name = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined() + "." + ext
        let path = (directory as NSString).appendingPathComponent(name)
        labels[path] = label
        let manager = FileManager.default
        if manager.fileExists(atPath: path) { return path }
        do {
            if !created {
                try manager.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                created = true
            }
            let temporary = path + ".\(UUID().uuidString).tmp"
            guard manager.createFile(atPath: temporary, contents: Data(bytes), attributes: [.posixPermissions: 0o600]) else {
                throw CocoaError(.fileWriteUnknown)
            }
            if rename(temporary, path) != 0 {
                try? manager.removeItem(atPath: temporary)
                throw CocoaError(.fileWriteUnknown)
            }
        } catch {
            errors.append("\(label): cannot write \(path): \(error.localizedDescription)")
        }
        return path
    }
}
