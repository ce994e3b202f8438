import Foundation

/// The embedded demo's PKI, written as PEM files under a folder (`./.drawbridge/pki` by default):
/// a root CA, an intermediate CA, a server certificate for `localhost`, a valid client certificate,
/// an expired one, and one from an unknown CA — each with its key.
public struct DemoPKI: Sendable {
    public let directory: String

    public var rootCA: String { path("root-ca.pem") }
    public var intermediateCA: String { path("intermediate-ca.pem") }
    public var serverCertificate: String { path("server.pem") }
    public var serverKey: String { path("server-key.pem") }
    public var clientCertificate: String { path("client.pem") }
    public var clientKey: String { path("client-key.pem") }
    public var expiredClientCertificate: String { path("client-expired.pem") }
    public var expiredClientKey: String { path("client-expired-key.pem") }
    public var unknownClientCertificate: String { path("client-unknown-ca.pem") }
    public var unknownClientKey: String { path("client-unknown-ca-key.pem") }

    public init(directory: String) {
        self.directory = directory
    }

    func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }

    var allFiles: [String] {
        [rootCA, intermediateCA, serverCertificate, serverKey, clientCertificate, clientKey,
         expiredClientCertificate, expiredClientKey, unknownClientCertificate, unknownClientKey]
    }

    /// True when every file exists (a previous start created them).
    public var exists: Bool { allFiles.allSatisfy { FileManager.default.fileExists(atPath: $0) } }

    /// Creates the files unless they all exist. Keys are written with mode 0600.
    @discardableResult
    public func createIfMissing(serverNames: [String] = ["localhost"]) throws -> Bool {
        if exists { return false }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let root = try CertificateFactory.rootCA(commonName: "Drawbridge Demo Root CA")
        let intermediate = try CertificateFactory.intermediateCA(commonName: "Drawbridge Demo Intermediate CA", issuer: root)
        let server = try CertificateFactory.leaf(
            commonName: serverNames.first ?? "localhost", usage: .server, issuer: intermediate,
            dnsNames: serverNames, ipAddresses: [[127, 0, 0, 1]])
        let client = try CertificateFactory.leaf(commonName: "demo-client", usage: .client, issuer: intermediate)
        let expiredStart = Date().addingTimeInterval(-30 * 86_400)
        let expired = try CertificateFactory.leaf(
            commonName: "demo-client-expired", usage: .client, issuer: intermediate,
            notBefore: expiredStart, notAfter: expiredStart.addingTimeInterval(86_400))
        let strangerRoot = try CertificateFactory.rootCA(commonName: "Unknown Demo CA")
        let stranger = try CertificateFactory.leaf(commonName: "demo-client-unknown-ca", usage: .client, issuer: strangerRoot)

        try write(root.certificatePEM, to: rootCA)
        try write(intermediate.certificatePEM, to: intermediateCA)
        try write(server.certificatePEM + "\n" + intermediate.certificatePEM, to: serverCertificate)
        try write(server.privateKeyPEM, to: serverKey, secret: true)
        try write(client.certificatePEM + "\n" + intermediate.certificatePEM, to: clientCertificate)
        try write(client.privateKeyPEM, to: clientKey, secret: true)
        try write(expired.certificatePEM + "\n" + intermediate.certificatePEM, to: expiredClientCertificate)
        try write(expired.privateKeyPEM, to: expiredClientKey, secret: true)
        try write(stranger.certificatePEM, to: unknownClientCertificate)
        try write(stranger.privateKeyPEM, to: unknownClientKey, secret: true)
        return true
    }

    private func write(_ text: String, to file: String, secret: Bool = false) throws {
        let data = Data((text.hasSuffix("\n") ? text : text + "\n").utf8)
        guard FileManager.default.createFile(atPath: file, contents: data,
                                             attributes: [.posixPermissions: secret ? 0o600 : 0o644]) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: file])
        }
    }
}
