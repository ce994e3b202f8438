/// CRLs configured as files or bytes: an immutable, versioned snapshot indexed by issuer name.
/// Delta CRLs are rejected (not implemented) rather than silently ignored.
public final class CRLStore: Sendable {
    public let version: UInt64
    public let crls: [CertificateRevocationList]
    private let byIssuer: [NormalizedName: [CertificateRevocationList]]

    public init(version: UInt64, crls: [CertificateRevocationList]) throws {
        if crls.contains(where: \.isDelta) { throw CRLError.deltaCRLNotSupported }
        self.version = version
        self.crls = crls
        self.byIssuer = Dictionary(grouping: crls, by: \.normalizedIssuer)
    }

    public static let empty: CRLStore = {
        // An empty list cannot contain a delta CRL, so this cannot throw.
        (try? CRLStore(version: 0, crls: [])) ?? CRLStore(unchecked: [])
    }()

    private init(unchecked crls: [CertificateRevocationList]) {
        self.version = 0
        self.crls = crls
        self.byIssuer = [:]
    }

    func crls(issuedBy issuer: NormalizedName) -> [CertificateRevocationList] {
        byIssuer[issuer] ?? []
    }
}
