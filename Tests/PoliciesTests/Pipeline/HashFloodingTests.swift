import ClientCertificates
import Foundation
import Testing

@testable import Policies

/// Client-chosen certificate bytes must not let a client degrade the parsed-chain cache
/// (security issue: hash flooding of one bucket).
@Suite struct HashFloodingTests {
    /// Chains that agree in length, in their first 32 and their last 64 bytes, and differ only in
    /// between: the former ChainKey hash (length and edges) gave all of them one hash value.
    @Test func chainKeysOfChainsDifferingOnlyInTheMiddleDoNotCollide() {
        var hashes = Set<Int>()
        for index in 0..<1_000 {
            var der = [UInt8](repeating: 0x30, count: 300)
            der[100] = UInt8(index & 0xFF)
            der[101] = UInt8(index >> 8)
            hashes.insert(ChainKey(chain: [der, [UInt8](repeating: 7, count: 120)]).hashValue)
        }
        #expect(hashes.count == 1_000)
    }

    @Test func chainKeysStillCompareEveryByteAndLength() {
        let a = ChainKey(chain: [[1, 2, 3], [4]])
        #expect(a == ChainKey(chain: [[1, 2, 3], [4]]))
        #expect(a.hashValue == ChainKey(chain: [[1, 2, 3], [4]]).hashValue)
        #expect(a != ChainKey(chain: [[1, 2], [3, 4]]))
        #expect(a.hashValue != ChainKey(chain: [[1, 2], [3, 4]]).hashValue)
        #expect(a != ChainKey(chain: [[1, 2, 3, 4]]))
    }

    @Test func parsedChainCacheParsesABoundedNumberOfPresentedCertificates() throws {
        let root = try PipelinePKI.root()
        let leaf = try PipelinePKI.leaf(issuer: root)
        let cache = ParsedChainCache(capacity: 8)
        let entry = cache.entry(for: [leaf.der] + Array(repeating: root.der, count: 200))
        #expect(entry.leaf?.thumbprint == leaf.wrapped.thumbprint)
        #expect(entry.presented.count == ParsedChainCache.maximumParsedPresented)
        // Still over the verification limit, so such a chain is refused, not shortened into a valid one.
        #expect(ChainVerifier.presentedChainRefusal(count: 1 + entry.presented.count, options: VerificationOptions()) != nil)
    }
}
