import Crypto
import Foundation
import Synchronization

/// Remembers verification results so repeat clients pay nothing. The key is (chain digest,
/// trust-store version, CRL version, options, time bucket): any change of trust or revocation data
/// gives new keys, and the bucket bounds how long a result is reused. Bounded (oldest entries go
/// first) and thread-safe.
public final class VerificationCache: Sendable {
    struct Key: Hashable, Sendable {
        let chainDigest: SHA256Digest
        let trustVersion: UInt64
        let trustIdentity: SHA256Digest
        let crlVersion: UInt64
        let options: VerificationOptions
        let bucket: Int64

        /// The options are left out of the hash (equality still compares them): they are the same for
        /// every request of a hostname or API, and hashing their fields (a set of policy OIDs among
        /// them) on each look-up cost ~1.5k instructions per request.
        func hash(into hasher: inout Hasher) {
            hasher.combine(chainDigest)
            hasher.combine(trustVersion)
            hasher.combine(crlVersion)
            hasher.combine(bucket)
        }
    }

    private struct State {
        var entries: [Key: VerificationResult] = [:]
        var order: [Key] = []
        var head = 0
        var hits = 0
        var misses = 0
    }

    public let capacity: Int
    /// Results are reused within buckets of this many seconds of validation time.
    public let bucketSeconds: Int64
    private let state = Mutex(State())

    public init(capacity: Int = 10_000, bucketSeconds: Int64 = 60) {
        self.capacity = max(1, capacity)
        self.bucketSeconds = max(1, bucketSeconds)
    }

    public var count: Int { state.withLock { $0.entries.count } }
    public var statistics: (hits: Int, misses: Int) { state.withLock { ($0.hits, $0.misses) } }

    /// The digest a chain is cached under: SHA-256 over the leaf's and each presented certificate's
    /// SHA-256. An embedder that sees the same chain on every request (one per connection) computes it
    /// once and passes it to `ChainVerifier.cachedResult(…chainDigest:)`.
    public static func chainDigest(leaf: X509Certificate2, chain: [X509Certificate2]) -> CertificateChainDigest {
        var hasher = SHA256()
        hasher.update(data: leaf.sha256Digest)
        for certificate in chain { hasher.update(data: certificate.sha256Digest) }
        return hasher.finalize()
    }

    func key(
        leaf: X509Certificate2, chain: [X509Certificate2], context: VerificationContext, time: Date,
        chainDigest: CertificateChainDigest? = nil
    ) -> Key {
        Key(
            chainDigest: chainDigest ?? Self.chainDigest(leaf: leaf, chain: chain), trustVersion: context.trustStore.version,
            trustIdentity: context.trustStore.identity,
            crlVersion: context.options.checkRevocation ? context.revocation.version : 0,
            options: context.options, bucket: Int64(time.timeIntervalSince1970.rounded(.down)) / bucketSeconds)
    }

    func lookup(_ key: Key) -> VerificationResult? {
        state.withLock { state in
            let result = state.entries[key]
            if result == nil { state.misses += 1 } else { state.hits += 1 }
            return result
        }
    }

    func store(_ result: VerificationResult, for key: Key) {
        let capacity = self.capacity
        state.withLock { state in
            guard state.entries.updateValue(result, forKey: key) == nil else { return }
            state.order.append(key)
            if state.entries.count > capacity {
                state.entries[state.order[state.head]] = nil
                state.head += 1
                if state.head > capacity {  // compact the FIFO now and then
                    state.order.removeFirst(state.head)
                    state.head = 0
                }
            }
        }
    }

    public func removeAll() {
        state.withLock { $0 = State() }
    }
}

/// The digest a presented chain is cached under (see `VerificationCache.chainDigest`).
public typealias CertificateChainDigest = SHA256Digest
