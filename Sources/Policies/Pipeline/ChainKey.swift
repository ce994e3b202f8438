/// A presented chain as a dictionary key.
///
/// The hash covers every byte of every certificate (and each length, so that moving bytes between
/// certificates changes it), with Swift's `Hasher`: SipHash-1-3 keyed by a random per-process seed.
/// The client chooses these bytes, so a hash of a fixed part of each certificate (formerly the
/// length and the first 32 and last 64 bytes) let it craft any number of colliding chains and turn
/// the cache's look-ups into linear scans comparing whole chains. With a secret seed, collisions
/// cannot be precomputed. It is computed once, when the key is made, and reused by every dictionary
/// operation on it. Chosen over SHA-256: no collision resistance against an attacker who knows the
/// hash is needed (the seed is secret and equality still compares every byte), and SipHash costs a
/// fraction of a software SHA-256 per byte (the data-plane issue measured two SHA-256 look-ups at
/// ≈16,000 instructions per request).
struct ChainKey: Hashable, Sendable {
    let chain: [[UInt8]]
    private let hash: Int

    init(chain: [[UInt8]]) {
        self.chain = chain
        var hasher = Hasher()
        hasher.combine(chain.count)
        for der in chain {
            hasher.combine(der.count)
            der.withUnsafeBytes { hasher.combine(bytes: $0) }
        }
        hash = hasher.finalize()
    }

    func hash(into hasher: inout Hasher) { hasher.combine(hash) }

    static func == (lhs: ChainKey, rhs: ChainKey) -> Bool { lhs.hash == rhs.hash && lhs.chain == rhs.chain }
}
