import ClientCertificates
import NIOConcurrencyHelpers

/// The server's cache of CRLs fetched from distribution points, handed to every snapshot: a reload
/// (SIGHUP, a changed CRL file, an admin API change) keeps what was fetched instead of fetching it
/// again on the next request. A new cache is made only when the fetch settings change.
public final class ServerCRLCache: Sendable {
    private let fetcher: any CRLFetcher
    private let current = NIOLockedValueBox<CRLCache?>(nil)
    /// Operations: every download's outcome, for the per-distribution-point metrics.
    private let observer: (@Sendable (String, Result<CertificateRevocationList, CRLFetchError>) -> Void)?

    public init(fetcher: any CRLFetcher, observer: (@Sendable (String, Result<CertificateRevocationList, CRLFetchError>) -> Void)? = nil) {
        self.fetcher = fetcher
        self.observer = observer
    }

    public func cache(configuration: CRLFetchConfiguration) -> CRLCache {
        current.withLockedValue { current in
            if let cache = current, cache.configuration.timeout == configuration.timeout { return cache }
            let made = CRLCache(fetcher: fetcher, configuration: configuration, observer: observer)
            current = made
            return made
        }
    }
}
