import ClientCertificates
import Foundation
import Synchronization

/// Parsed client certificate chains, by their DER bytes. Parsing an X509Certificate2 costs far more
/// than hashing its bytes, and a client sends the same chain on every request of a connection (and
/// on every connection), so each chain is parsed once. Bounded: emptied when full.
final class ParsedChainCache: Sendable {
    struct Entry: Sendable {
        let leaf: X509Certificate2?
        let presented: [X509Certificate2]
    }

    static let shared = ParsedChainCache(capacity: 4096)
    /// At most this many certificates after the leaf are parsed. Verification refuses chains longer
    /// than `VerificationOptions.maxPresentedCertificates` (10 by default) anyway; the cap keeps a
    /// client that sends hundreds of small certificates from making every new chain cost hundreds of
    /// parses. Keep it above any configured `maxPresentedCertificates`, so that an over-long chain is
    /// still seen as over-long.
    static let maximumParsedPresented = 64

    private let capacity: Int
    private let entries = Mutex<[ChainKey: Entry]>([:])

    init(capacity: Int) {
        self.capacity = capacity
    }

    func entry(for chain: [[UInt8]]) -> Entry {
        let key = ChainKey(chain: chain)
        if let hit = entries.withLock({ $0[key] }) { return hit }
        let leaf = chain.first.flatMap { try? X509Certificate2(derEncoded: $0) }
        let presented = chain.dropFirst().prefix(Self.maximumParsedPresented).compactMap { try? X509Certificate2(derEncoded: $0) }
        let entry = Entry(leaf: leaf, presented: presented)
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = entry
        }
        return entry
    }
}
