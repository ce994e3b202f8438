import ClientCertificates

/// TLS settings for one host name (exact, or a `*.example.com` wildcard covering one label).
public struct HostnameConfig: Sendable, Equatable {
    public var name: String
    public var serverCertificate: ServerCertificateSource
    public var clientCertificate: ClientCertificateMode
    /// PEM files of CA certificates (roots and intermediates) that client certificates must chain to
    /// in `required` mode; also the trust set the `negotiate` mode hands to policies.
    public var trustedCAFiles: [String]
    public var http2: Bool
    /// CRL files (PEM or DER) for client certificates of this hostname, on top of
    /// `policies.revocation.crlFiles`. `Verify()` uses every hostname's CRLs, as it trusts every
    /// hostname's CAs.
    public var crlFiles: [String] = []
    /// Overrides `policies.revocation.method` for this hostname's `required` handshakes and
    /// `requireTrustedClientCertificate` gate (policies' `Verify()` uses the global method).
    public var revocationMethod: RevocationMethod?
    /// Protocol versions, cipher suites and curves (default: Mozilla intermediate).
    public var tls = TLSProfile()

    public init(
        name: String,
        serverCertificate: ServerCertificateSource,
        clientCertificate: ClientCertificateMode = .off,
        trustedCAFiles: [String] = [],
        http2: Bool = true
    ) {
        self.name = name
        self.serverCertificate = serverCertificate
        self.clientCertificate = clientCertificate
        self.trustedCAFiles = trustedCAFiles
        self.http2 = http2
    }

    /// Lower-cased name; wildcard names keep their leading `*.`.
    public var normalizedName: String { name.lowercased() }

    public var isWildcard: Bool { name.hasPrefix("*.") }
}

/// Where a hostname's server certificate and key come from.
public enum ServerCertificateSource: Sendable, Equatable {
    /// A PEM certificate chain (leaf first) and a PEM private key.
    case pem(certificateFile: String, keyFile: String)
    /// A PKCS#12 / PFX bundle and its password.
    case pkcs12(file: String, password: String)
}
