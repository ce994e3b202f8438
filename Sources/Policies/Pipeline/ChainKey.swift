/// A presented chain as a dictionary key. Hashing every DER byte cost a few microseconds per request;
/// the length and edges of each certificate (its end holds the signature) spread keys just as well,
/// and equality still compares every byte (cheap when it is the connection's own array).
struct ChainKey: Hashable, Sendable {
    let chain: [[UInt8]]

    func hash(into hasher: inout Hasher) {
        hasher.combine(chain.count)
        for der in chain {
            hasher.combine(der.count)
            der.prefix(32).withUnsafeBytes { hasher.combine(bytes: $0) }
            der.suffix(64).withUnsafeBytes { hasher.combine(bytes: $0) }
        }
    }

    static func == (lhs: ChainKey, rhs: ChainKey) -> Bool { lhs.chain == rhs.chain }
}
