import ClientCertificates
import NIOConcurrencyHelpers

/// The server's cache of CRLs fetched from distribution points, handed to every snapshot: a reload
/// (SIGHUP, a changed CRL file, an admin API change) keeps what was fetched instead of fetching it
/// again on the next request. A new cache is made only when the fetch settings change.
public final class ServerCRLCache: Sendable {
    private let fetcher: any CRLFetcher
    private let current = NIOLockedValueBox<CRLCache?>(nil)

    public init(fetcher: any CRLFetcher) {
        self.fetcher = fetcher
    }

    public func cache(configuration: CRLFetchConfiguration) -> CRLCache {
        current.withLockedValue { current in
            if let cache = current, cache.configuration.timeout == configuration.timeout { return cache }
            let made = CRLCache(fetcher: fetcher, configuration: configuration)
            current = made
            return made
        }
    }
}
