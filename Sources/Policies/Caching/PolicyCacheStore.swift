import Foundation

/// Where `cache-store-value`/`cache-lookup-value`/`cache-remove-value` keep their entries. The
/// gateway owns one for the process (so entries survive reloads, like the counters); the built-in
/// one is `InternalPolicyCache`. An external cache (several gateway instances sharing entries)
/// plugs in here, which is why the calls may wait.
public protocol PolicyCacheStore: Sendable {
    /// `external` when entries are shared with other gateway instances (`caching-type="external"`
    /// loads only then).
    var isExternal: Bool { get }
    /// The live entry under `key`, or nil (missing or expired).
    func lookup(_ key: String) async -> PolicyCacheItem?
    /// Stores `item` under `key` for `duration` seconds (replacing an older entry). A store may
    /// refuse an entry (too large for it): the next lookup then misses, as after an eviction.
    func store(_ key: String, _ item: PolicyCacheItem, duration: Int) async
    func remove(_ key: String) async
}
