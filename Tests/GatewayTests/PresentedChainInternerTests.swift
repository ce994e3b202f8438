@testable import Gateway
import Testing

/// Equal chains presented on different connections share one copy of their bytes; distinct chains
/// are bounded.
struct PresentedChainInternerTests {
    private func baseAddresses(_ chain: [[UInt8]]) -> [UnsafeRawPointer?] {
        chain.map { certificate in certificate.withUnsafeBytes { $0.baseAddress.map { UnsafeRawPointer($0) } } }
    }

    @Test func equalChainsShareTheirBytes() {
        let interner = PresentedChainInterner(capacity: 8)
        // Built separately, as two handshakes read them: equal bytes, different storage.
        let first = interner.intern([[UInt8](repeating: 1, count: 600), [UInt8](repeating: 2, count: 700)])
        let second = interner.intern([[UInt8](repeating: 1, count: 600), [UInt8](repeating: 2, count: 700)])
        #expect(second == first)
        #expect(baseAddresses(second) == baseAddresses(first))
        let other = interner.intern([[UInt8](repeating: 3, count: 600)])
        #expect(other != first)
        #expect(interner.count == 2)
    }

    @Test func distinctChainsAreBounded() {
        let interner = PresentedChainInterner(capacity: 4)
        for i in 0..<10 {
            let chain = [[UInt8(i)]]
            #expect(interner.intern(chain) == chain)
            #expect(interner.count <= 4)
        }
        #expect(interner.intern([]) == [])
    }
}
