import NIOCore

/// Writes the pieces of an HTTP head straight into a buffer's memory, with one capacity check for
/// the whole head: `ByteBuffer.writeString` per piece costs a bounds check, a possible reallocation
/// and a call each, a dozen times per head on the hot path.
struct HeadBytes {
    private let base: UnsafeMutableRawBufferPointer
    private(set) var count = 0

    fileprivate init(_ base: UnsafeMutableRawBufferPointer) {
        self.base = base
    }

    mutating func put(_ string: String) {
        var string = string
        string.withUTF8 { copy(UnsafeRawBufferPointer($0)) }
    }

    mutating func put(_ literal: StaticString) {
        literal.withUTF8Buffer { copy(UnsafeRawBufferPointer($0)) }
    }

    mutating func put(_ byte: UInt8) {
        guard count < base.count else { return }
        base[count] = byte
        count += 1
    }

    /// A non-negative decimal.
    mutating func put(decimal value: Int) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // room for 20 digits
        withUnsafeMutableBytes(of: &digits) { scratch in
            var remaining = value.magnitude
            var index = scratch.count
            repeat {
                index -= 1
                scratch[index] = UInt8(truncatingIfNeeded: 0x30 + remaining % 10)
                remaining /= 10
            } while remaining > 0 && index > 0
            copy(UnsafeRawBufferPointer(rebasing: scratch[index...]))
        }
    }

    private mutating func copy(_ bytes: UnsafeRawBufferPointer) {
        // The caller reserved enough; a short reservation truncates rather than overruns.
        let length = min(bytes.count, base.count - count)
        guard length > 0, let source = bytes.baseAddress, let target = base.baseAddress else { return }
        (target + count).copyMemory(from: source, byteCount: length)
        count += length
    }
}

extension ByteBuffer {
    /// Writes a head of at most `capacity` bytes with `body`.
    mutating func writeHead(capacity: Int, _ body: (inout HeadBytes) -> Void) {
        writeWithUnsafeMutableBytes(minimumWritableBytes: capacity) { memory in
            var head = HeadBytes(UnsafeMutableRawBufferPointer(rebasing: memory[..<capacity]))
            body(&head)
            return head.count
        }
    }
}
