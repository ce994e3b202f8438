import Foundation
import Synchronization

/// The `<openid-config>` key caches of a gateway process, one per provider URL: every operation's
/// `validate-jwt` naming the same provider shares one fetch, and a reload keeps the keys (share one
/// instance across reloads, like the counters). At most `maximumProviders` URLs are kept; past that
/// the table starts over (keys are then fetched again, never served stale beyond their rules).
public final class OpenIDKeyRegistry: Sendable {
    public static let maximumProviders = 256
    private let table = Mutex<[URL: ValidateJWTPolicy.OpenIDKeys]>([:])

    public init() {}

    func keys(for url: URL) -> ValidateJWTPolicy.OpenIDKeys {
        table.withLock { table in
            if let known = table[url] { return known }
            if table.count >= Self.maximumProviders { table.removeAll(keepingCapacity: true) }
            let made = ValidateJWTPolicy.OpenIDKeys(url)
            table[url] = made
            return made
        }
    }

    /// Providers with a key cache (tests).
    var count: Int { table.withLock { $0.count } }
}
