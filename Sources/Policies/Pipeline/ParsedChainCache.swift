import ClientCertificates
import Foundation
import Synchronization

/// Parsed client certificate chains, by their DER bytes. Parsing an X509Certificate2 costs far more
/// than hashing its bytes, and a client sends the same chain on every request of a connection (and
/// on every connection), so each chain is parsed once. Bounded: emptied when full.
final class ParsedChainCache: Sendable {
    typealias Entry = ParsedClientChain

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
        let entry = ParsedClientChain(leaf: leaf, presented: presented)
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = entry
        }
        return entry
    }
}

/// A client certificate chain parsed once: the leaf (nil when unreadable) and the other presented
/// certificates. An embedder that serves many requests per connection parses the connection's chain
/// once with `parse(_:)` and hands it over in `PolicyRequest.parsedClientCertificate`, so that no
/// request pays for hashing the chain again.
public struct ParsedClientChain: Sendable {
    public let leaf: X509Certificate2?
    public let presented: [X509Certificate2]
    /// The digest the verification cache files this chain under, computed once (nil without a leaf).
    public let chainDigest: CertificateChainDigest?

    init(leaf: X509Certificate2?, presented: [X509Certificate2]) {
        self.leaf = leaf
        self.presented = presented
        self.chainDigest = leaf.map { VerificationCache.chainDigest(leaf: $0, chain: presented) }
    }

    /// The parsed chain (DER, leaf first), from the process-wide cache of parsed chains.
    public static func parse(_ chain: [[UInt8]]) -> ParsedClientChain {
        ParsedChainCache.shared.entry(for: chain)
    }
}
