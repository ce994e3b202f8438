/// A compact, hashable key for a certificate serial number in canonical DER two's-complement form
/// (redundant leading 00/FF bytes removed). Serials up to 16 bytes (all of RFC 5280's 20-octet
/// limit in practice but a few) are packed into two words, so a lookup hashes 17 bytes and
/// allocates nothing.
struct SerialNumberKey: Hashable, Sendable {
    private let high: UInt64
    private let low: UInt64
    private let count: UInt8
    private let overflow: [UInt8]?

    // Concrete (non-generic) so the hot lookup path is specialised across the module boundary.
    init(_ bytes: ArraySlice<UInt8>) {
        var canonical = bytes
        while canonical.count > 1 {
            let first = canonical[canonical.startIndex]
            let second = canonical[canonical.startIndex + 1]
            if (first == 0x00 && second < 0x80) || (first == 0xFF && second >= 0x80) {
                canonical = canonical.dropFirst()
            } else {
                break
            }
        }
        if canonical.count <= 16 {
            var high: UInt64 = 0
            var low: UInt64 = 0
            for byte in canonical {
                high = high << 8 | low >> 56
                low = low << 8 | UInt64(byte)
            }
            self.high = high
            self.low = low
            self.count = UInt8(canonical.count)
            self.overflow = nil
        } else {
            self.high = 0
            self.low = 0
            self.count = 0xFF
            self.overflow = Array(canonical)
        }
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(high ^ (low &* 0x9E37_79B9_7F4A_7C15) ^ UInt64(count))
        if let overflow { hasher.combine(overflow) }
    }
}
