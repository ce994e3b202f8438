/// `context.Deployment.Certificates`: the uploaded certificates keyed by uppercase SHA-1 thumbprint
/// (how public policies index it), also addressable by the certificate id given at upload.
/// Immutable, versioned snapshot.
public final class DeploymentCertificateStore: Sendable {
    public let version: UInt64
    /// Thumbprint → certificate (the `IReadOnlyDictionary<string, X509Certificate2>` view).
    public let byThumbprint: [String: X509Certificate2]
    /// Certificate id → certificate.
    public let byId: [String: X509Certificate2]

    /// - Parameter certificates: (id, certificate) pairs; a later duplicate id replaces an earlier one,
    ///   except that a certificate with its private key is not replaced by one without (a file holding
    ///   a key's certificate and its chain is addressed by its id as the key's certificate).
    public init(version: UInt64, certificates: [(id: String, certificate: X509Certificate2)]) {
        self.version = version
        var byThumbprint: [String: X509Certificate2] = [:]
        var byId: [String: X509Certificate2] = [:]
        for (id, certificate) in certificates {
            byThumbprint[certificate.thumbprint] = certificate
            if let known = byId[id], known.hasPrivateKey, !certificate.hasPrivateKey { continue }
            byId[id] = certificate
        }
        self.byThumbprint = byThumbprint
        self.byId = byId
    }

    /// `Certificates["THUMBPRINT"]`: exact, case-sensitive like .NET's dictionary.
    public subscript(thumbprint: String) -> X509Certificate2? { byThumbprint[thumbprint] }

    /// Lookup by certificate id (Drawbridge extension).
    public func certificate(id: String) -> X509Certificate2? { byId[id] }

    /// `Keys` in a stable order.
    public var thumbprints: [String] { byThumbprint.keys.sorted() }
    public var count: Int { byThumbprint.count }
}
