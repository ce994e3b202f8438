import Crypto
import X509

/// The certificates one verification trusts: `Root` (trust anchors) and `CertificateAuthority`
/// (intermediates that may complete a chain but are not trusted on their own), as APIM's two CA
/// stores. Immutable; `version` changes whenever the content changes (it keys the caches).
public struct TrustStore: Sendable {
    public let version: UInt64
    public let roots: [X509Certificate2]
    public let intermediates: [X509Certificate2]
    let rootStore: NameMatchingCertificateStore
    /// Identifies this exact content (version and certificates), so caches never mix two views
    /// that share a version, such as the per-hostname views of one CA store.
    let identity: SHA256Digest

    public init(version: UInt64, roots: [X509Certificate2], intermediates: [X509Certificate2] = []) {
        self.version = version
        self.roots = roots
        self.intermediates = intermediates
        self.rootStore = NameMatchingCertificateStore(roots.compactMap(\.certificate))
        var hasher = SHA256()
        withUnsafeBytes(of: version.bigEndian) { hasher.update(bufferPointer: $0) }
        for root in roots { hasher.update(data: root.sha256Digest) }
        hasher.update(data: [0xFF])
        for intermediate in intermediates { hasher.update(data: intermediate.sha256Digest) }
        self.identity = hasher.finalize()
    }

    /// An empty store: nothing is trusted.
    public static let empty = TrustStore(version: 0, roots: [])
}

/// APIM's CA certificate store names.
public enum CAStoreName: String, Sendable, Hashable {
    case root = "Root"
    case certificateAuthority = "CertificateAuthority"
}

/// The uploaded CA certificates of a deployment, optionally scoped per hostname (self-hosted gateway
/// style), as one immutable versioned snapshot. `trustStore(forHost:)` gives the view one TLS
/// listener or hostname verifies against: the unscoped entries plus those scoped to that host.
public final class CACertificateStore: Sendable {
    public struct Entry: Sendable {
        public let certificate: X509Certificate2
        public let storeName: CAStoreName
        /// Hostnames this CA applies to (lowercased); nil = every hostname.
        public let hostnames: Set<String>?

        public init(certificate: X509Certificate2, storeName: CAStoreName, hostnames: Set<String>? = nil) {
            self.certificate = certificate
            self.storeName = storeName
            self.hostnames = hostnames.map { Set($0.map { $0.lowercased() }) }
        }
    }

    public let version: UInt64
    public let entries: [Entry]
    private let global: TrustStore
    private let perHost: [String: TrustStore]

    public init(version: UInt64, entries: [Entry]) {
        self.version = version
        self.entries = entries
        func build(_ selected: [Entry]) -> TrustStore {
            TrustStore(
                version: version,
                roots: selected.filter { $0.storeName == .root }.map(\.certificate),
                intermediates: selected.filter { $0.storeName == .certificateAuthority }.map(\.certificate))
        }
        let unscoped = entries.filter { $0.hostnames == nil }
        self.global = build(unscoped)
        var perHost: [String: TrustStore] = [:]
        let hosts = Set(entries.compactMap(\.hostnames).flatMap { $0 })
        for host in hosts {
            perHost[host] = build(entries.filter { $0.hostnames == nil || $0.hostnames?.contains(host) == true })
        }
        self.perHost = perHost
    }

    /// The trust view for a hostname (nil or an unknown host: the unscoped certificates only).
    public func trustStore(forHost host: String? = nil) -> TrustStore {
        guard let host else { return global }
        return perHost[host.lowercased()] ?? global
    }

    /// Certificates of one store (for `Root` / `CertificateAuthority` listings).
    public func certificates(in store: CAStoreName) -> [X509Certificate2] {
        entries.filter { $0.storeName == store }.map(\.certificate)
    }
}
