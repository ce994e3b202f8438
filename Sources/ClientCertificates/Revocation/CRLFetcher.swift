import Foundation

/// Fetches the bytes of a CRL from a distribution point URL. The gateway implements it with its
/// HTTP client; tests use a fake. Implementations should honour task cancellation; the cache also
/// enforces `timeout` itself. Implementations should stop reading after `maxBytes`.
public protocol CRLFetcher: Sendable {
    func fetchCRL(from url: String, timeout: Duration) async throws -> [UInt8]
}

/// Why a CRL could not be obtained from a distribution point.
public enum CRLFetchError: Error, Sendable, Hashable, CustomStringConvertible {
    case timedOut(url: String)
    case transport(url: String, message: String)
    case invalid(url: String, message: String)
    /// The newest CRL available is past its nextUpdate.
    case stale(url: String)

    public var description: String {
        switch self {
        case .timedOut(let url): return "fetching the CRL from \(url) timed out"
        case .transport(let url, let message): return "fetching the CRL from \(url) failed: \(message)"
        case .invalid(let url, let message): return "the CRL from \(url) is invalid: \(message)"
        case .stale(let url): return "the CRL from \(url) is past its nextUpdate"
        }
    }
}

public struct CRLFetchConfiguration: Sendable {
    /// Upper bound for one fetch.
    public var timeout: Duration
    /// Fetches running at once, across all URLs.
    public var maxConcurrentFetches: Int
    /// Refresh this long before nextUpdate.
    public var refreshMargin: TimeInterval
    /// Re-fetch CRLs without nextUpdate after this long.
    public var maxAgeWithoutNextUpdate: TimeInterval
    /// After a failure, do not hit the same URL again for this long (use what is cached).
    public var retryAfterFailure: TimeInterval
    /// URLs kept in the cache.
    public var maxEntries: Int
    /// Larger responses are refused (a hostile distribution point cannot exhaust memory or CPU).
    public var maxCRLBytes: Int

    public init(
        timeout: Duration = .seconds(5), maxConcurrentFetches: Int = 4, refreshMargin: TimeInterval = 300,
        maxAgeWithoutNextUpdate: TimeInterval = 3600, retryAfterFailure: TimeInterval = 30, maxEntries: Int = 1024,
        maxCRLBytes: Int = 64 << 20
    ) {
        self.maxCRLBytes = maxCRLBytes
        self.timeout = timeout
        self.maxConcurrentFetches = max(1, maxConcurrentFetches)
        self.refreshMargin = refreshMargin
        self.maxAgeWithoutNextUpdate = maxAgeWithoutNextUpdate
        self.retryAfterFailure = retryAfterFailure
        self.maxEntries = max(1, maxEntries)
    }
}
