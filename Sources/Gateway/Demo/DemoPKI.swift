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
    public var revokedClientCertificate: String { path("client-revoked.pem") }
    public var revokedClientKey: String { path("client-revoked-key.pem") }
    /// CRLs of the root (revoking nothing) and of the intermediate (revoking `client-revoked`), as
    /// served at the CRL base URL the certificates name.
    public var crlDirectory: String { path("crl") }
    private var crlBaseFile: String { path("crl-base-url.txt") }

    public init(directory: String) {
        self.directory = directory
    }

    func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }

    var allFiles: [String] {
        [rootCA, intermediateCA, serverCertificate, serverKey, clientCertificate, clientKey,
         expiredClientCertificate, expiredClientKey, unknownClientCertificate, unknownClientKey,
         revokedClientCertificate, revokedClientKey, crlBaseFile,
         (crlDirectory as NSString).appendingPathComponent("root.crl"),
         (crlDirectory as NSString).appendingPathComponent("intermediate.crl")]
    }

    /// True when every file exists (a previous start created them) for this CRL location.
    public func exists(crlBaseURL: String) -> Bool {
        allFiles.allSatisfy { FileManager.default.fileExists(atPath: $0) }
            && (try? String(contentsOfFile: crlBaseFile, encoding: .utf8)) == crlBaseURL
    }

    /// Creates the files unless they all exist. Certificates name `crlBaseURL` + `/root.crl` or
    /// `/intermediate.crl` as their CRL distribution point, so `Verify()` (chain + revocation) works
    /// when something serves `crlDirectory` there. Keys are written with mode 0600.
    @discardableResult
    public func createIfMissing(serverNames: [String] = ["localhost"], crlBaseURL: String) throws -> Bool {
        if exists(crlBaseURL: crlBaseURL) { return false }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let root = try CertificateFactory.rootCA(commonName: "Drawbridge Demo Root CA")
        let rootCRL = crlBaseURL + "/root.crl"
        let intermediateCRL = crlBaseURL + "/intermediate.crl"
        let intermediate = try CertificateFactory.intermediateCA(commonName: "Drawbridge Demo Intermediate CA", issuer: root, crlURL: rootCRL)
        let server = try CertificateFactory.leaf(
            commonName: serverNames.first ?? "localhost", usage: .server, issuer: intermediate,
            dnsNames: serverNames, ipAddresses: [[127, 0, 0, 1]])
        let client = try CertificateFactory.leaf(commonName: "demo-client", usage: .client, issuer: intermediate, crlURL: intermediateCRL)
        let revoked = try CertificateFactory.leaf(commonName: "demo-client-revoked", usage: .client, issuer: intermediate, crlURL: intermediateCRL)
        let expiredStart = Date().addingTimeInterval(-30 * 86_400)
        let expired = try CertificateFactory.leaf(
            commonName: "demo-client-expired", usage: .client, issuer: intermediate,
            notBefore: expiredStart, notAfter: expiredStart.addingTimeInterval(86_400), crlURL: intermediateCRL)
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
        try write(revoked.certificatePEM + "\n" + intermediate.certificatePEM, to: revokedClientCertificate)
        try write(revoked.privateKeyPEM, to: revokedClientKey, secret: true)
        try FileManager.default.createDirectory(atPath: crlDirectory, withIntermediateDirectories: true)
        try Data(try CRLIssuing.crl(issuer: root, revoked: [])).write(to: URL(fileURLWithPath: (crlDirectory as NSString).appendingPathComponent("root.crl")))
        try Data(try CRLIssuing.crl(issuer: intermediate, revoked: [revoked.certificate.serialNumber]))
            .write(to: URL(fileURLWithPath: (crlDirectory as NSString).appendingPathComponent("intermediate.crl")))
        try Data(crlBaseURL.utf8).write(to: URL(fileURLWithPath: crlBaseFile))
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
