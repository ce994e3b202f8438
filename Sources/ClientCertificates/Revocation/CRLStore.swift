import Crypto

/// CRLs configured as files or bytes: an immutable, versioned snapshot indexed by issuer name.
/// Delta CRLs are kept apart and applied on top of the complete CRL they extend (RFC 5280 §5.2.4).
/// A delta CRL fetched from a distribution point is refused (freshestCRL fetching is not implemented).
public final class CRLStore: Sendable {
    public let version: UInt64
    public let crls: [CertificateRevocationList]
    private let byIssuer: [NormalizedName: [CertificateRevocationList]]
    private let deltasByIssuer: [NormalizedName: [CertificateRevocationList]]
    /// Identifies the exact content (version and CRLs) for cache keys.
    let fingerprint: UInt64

    public init(version: UInt64, crls: [CertificateRevocationList]) throws {
        self.version = version
        self.crls = crls
        self.byIssuer = Dictionary(grouping: crls.filter { !$0.isDelta }, by: \.normalizedIssuer)
        self.deltasByIssuer = Dictionary(grouping: crls.filter(\.isDelta), by: \.normalizedIssuer)
        var hasher = SHA256()
        withUnsafeBytes(of: version.bigEndian) { hasher.update(bufferPointer: $0) }
        for crl in crls { hasher.update(data: Array(crl.digest.utf8)) }
        self.fingerprint = hasher.finalize().withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
    }

    public static let empty: CRLStore = {
        // An empty list cannot contain a delta CRL, so this cannot throw.
        (try? CRLStore(version: 0, crls: [])) ?? CRLStore(unchecked: [])
    }()

    private init(unchecked crls: [CertificateRevocationList]) {
        self.version = 0
        self.crls = crls
        self.byIssuer = [:]
        self.deltasByIssuer = [:]
        self.fingerprint = 0
    }

    func crls(issuedBy issuer: NormalizedName) -> [CertificateRevocationList] {
        byIssuer[issuer] ?? []
    }
}

extension CRLStore {
    /// Delta CRLs from this issuer.
    func deltas(issuedBy issuer: NormalizedName) -> [CertificateRevocationList] {
        deltasByIssuer[issuer] ?? []
    }
}
