import Foundation
import X509

/// Where revocation information comes from: configured CRLs and, optionally, CRLs fetched from
/// the certificates' distribution points.
public struct RevocationSources: Sendable {
    public var store: CRLStore
    public var cache: CRLCache?
    /// OCSP responses (nil: OCSP is never asked, its status is unknown).
    public var ocsp: OCSPCache?
    /// Upper bound for one OCSP responder exchange.
    public var ocspTimeout: Duration = .seconds(5)

    public init(store: CRLStore = .empty, cache: CRLCache? = nil, ocsp: OCSPCache? = nil) {
        self.store = store
        self.cache = cache
        self.ocsp = ocsp
    }

    /// Changes whenever the CRLs in use change (configured snapshot content or a newly fetched CRL).
    public var version: UInt64 {
        var value = store.fingerprint
        if let cache {
            value = value &* 1_000_003 &+ UInt64(UInt(bitPattern: ObjectIdentifier(cache).hashValue))
            value = value &* 1_000_003 &+ cache.generation
        }
        return value
    }

    /// The candidate CRLs for a certificate: configured CRLs from its issuer or from a cRLIssuer
    /// named in its distribution points, then CRLs fetched from its HTTP distribution points.
    func candidates(for certificate: Certificate, distributionPoints: [DistributionPoint], now: Date) async
        -> (crls: [CertificateRevocationList], problems: [String])
    {
        var crls: [CertificateRevocationList] = []
        if let issuer = NormalizedName(certificate.issuer) { crls += store.crls(issuedBy: issuer) }
        for point in distributionPoints {
            for case .directoryName(let name) in point.crlIssuer ?? [] {
                crls += store.crls(issuedBy: NormalizedName(name)).filter { candidate in !crls.contains { $0 === candidate } }
            }
        }
        var problems: [String] = []
        if let cache {
            for point in distributionPoints where !point.urls.isEmpty {
                var lastError: CRLFetchError?
                var fetched = false
                for url in point.urls {
                    switch await cache.crl(for: url, now: now) {
                    case .success(let crl):
                        if !crls.contains(where: { $0.digest == crl.digest }) { crls.append(crl) }
                        fetched = true
                    case .failure(let error):
                        lastError = error
                    }
                    if fetched { break }
                }
                if !fetched, let lastError { problems.append(lastError.description) }
            }
        }
        return (crls, problems)
    }
}
