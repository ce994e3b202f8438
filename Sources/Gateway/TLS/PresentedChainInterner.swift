import Synchronization

/// Presented client certificate chains, one copy per distinct chain: a client presents the same
/// chain on every connection, and each connection used to keep its own copy of the DER for its whole
/// life (about 1 KiB per idle connection with ECDSA certificates, 2.5 KiB with RSA-2048). Bounded
/// like `ParsedChainCache`: emptied when full, so a flood of distinct chains costs at most
/// `capacity` chains (of at most `PresentedChainRecorder.maxCertificates` certificates each).
final class PresentedChainInterner: Sendable {
    static let shared = PresentedChainInterner(capacity: 4096)

    private let capacity: Int
    private let chains = Mutex<[[[UInt8]]: [[UInt8]]]>([:])

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// The stored copy of `chain` when there is one (its storage shared), else `chain`, now stored.
    func intern(_ chain: [[UInt8]]) -> [[UInt8]] {
        guard !chain.isEmpty else { return chain }
        return chains.withLock { chains in
            if let known = chains[chain] { return known }
            if chains.count >= capacity { chains.removeAll(keepingCapacity: true) }
            chains[chain] = chain
            return chain
        }
    }

    var count: Int { chains.withLock { $0.count } }
}
