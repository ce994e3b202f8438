import NIOPosix

/// W3C Trace Context (`traceparent`, version 00) for requests to backends: the client's trace id is
/// kept and the gateway's call gets a new span id (the client's span becomes its parent); a request
/// without a valid `traceparent` starts a new trace (sampled). Ids come from a per-thread generator
/// (xoshiro256**, seeded once per thread from the system generator): no syscall and no lock per request.
struct TraceParent: Sendable, Equatable {
    var traceIdHigh: UInt64
    var traceIdLow: UInt64
    var spanId: UInt64
    var flags: UInt8

    static let headerName = "traceparent"

    /// `00-<trace id>-<span id>-<flags>`, 55 bytes of lower-case hex, written in place (one allocation).
    var headerValue: String {
        String(unsafeUninitializedCapacity: 55) { bytes in
            bytes[0] = UInt8(ascii: "0")
            bytes[1] = UInt8(ascii: "0")
            bytes[2] = UInt8(ascii: "-")
            Self.hex(traceIdHigh, into: bytes, at: 3)
            Self.hex(traceIdLow, into: bytes, at: 19)
            bytes[35] = UInt8(ascii: "-")
            Self.hex(spanId, into: bytes, at: 36)
            bytes[52] = UInt8(ascii: "-")
            bytes[53] = Self.digit(flags >> 4)
            bytes[54] = Self.digit(flags & 0x0F)
            return 55
        }
    }

    var traceIdHex: String {
        String(unsafeUninitializedCapacity: 32) { bytes in
            Self.hex(traceIdHigh, into: bytes, at: 0)
            Self.hex(traceIdLow, into: bytes, at: 16)
            return 32
        }
    }

    /// A valid header of any version (only version 00's fields are read; a higher version's extra
    /// fields are ignored, as the specification asks); nil for anything malformed, an all-zero id, or
    /// version ff.
    static func parse(_ value: String) -> TraceParent? {
        let utf8 = Array(value.utf8.prefix(56))
        guard utf8.count >= 55, utf8[2] == UInt8(ascii: "-"), utf8[35] == UInt8(ascii: "-"), utf8[52] == UInt8(ascii: "-"),
              let version = number(utf8, 0, 2), version != 0xFF,
              let high = number(utf8, 3, 16), let low = number(utf8, 19, 16), high | low != 0,
              let span = number(utf8, 36, 16), span != 0,
              let flags = number(utf8, 53, 2) else { return nil }
        if version == 0 && value.utf8.count != 55 { return nil }
        if version != 0 && utf8.count > 55 && utf8[55] != UInt8(ascii: "-") { return nil }
        return TraceParent(traceIdHigh: high, traceIdLow: low, spanId: span, flags: UInt8(flags))
    }

    /// The context for the next hop: the incoming trace with a new span id, or a new sampled trace.
    static func next(after incoming: String?) -> TraceParent {
        let generator = TraceIdGenerator.current
        if let incoming, let parent = parse(incoming) {
            return TraceParent(traceIdHigh: parent.traceIdHigh, traceIdLow: parent.traceIdLow,
                               spanId: generator.nonZero(), flags: parent.flags & 0x01)
        }
        return TraceParent(traceIdHigh: generator.next(), traceIdLow: generator.nonZero(), spanId: generator.nonZero(), flags: 0x01)
    }

    /// Sets the `traceparent` of a request to a backend in `fields` (what the gateway forwards): the
    /// client's (or a policy's) value is replaced by the next hop's, or one is added. One pass over
    /// the names comparing lengths first. With span export (`spans`), the backend call's span makes
    /// the value: the exported trace and the one the backend sees are the same.
    static func propagate(_ fields: inout [(String, String)], spans: (any RequestSpans)? = nil) {
        var index: Int?
        for position in fields.indices where fields[position].0.utf8.count == 11 && isTraceParent(fields[position].0) {
            index = position
            break
        }
        let incoming = index.map { fields[$0].1 }
        let value = spans?.backendCallStarted(incoming: incoming) ?? Self.next(after: incoming).headerValue
        if let index {
            fields[index].1 = value
        } else {
            fields.append((headerName, value))
        }
    }

    private static func isTraceParent(_ name: String) -> Bool {
        var expected = headerName.utf8.makeIterator()
        for byte in name.utf8 {
            guard let want = expected.next(), byte | 0x20 == want else { return false }
        }
        return true
    }

    private static func number(_ bytes: [UInt8], _ start: Int, _ count: Int) -> UInt64? {
        var value: UInt64 = 0
        for byte in bytes[start..<(start + count)] {
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            default: return nil  // upper case is not valid either
            }
            value = value << 4 | UInt64(digit)
        }
        return value
    }

    private static func hex(_ value: UInt64, into bytes: UnsafeMutableBufferPointer<UInt8>, at start: Int) {
        for index in 0..<16 {
            bytes[start + index] = digit(UInt8(truncatingIfNeeded: value >> UInt64(60 - 4 * index)) & 0x0F)
        }
    }

    private static func digit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }
}

/// xoshiro256** per thread, seeded from `SystemRandomNumberGenerator` once per thread. Only its own
/// thread touches an instance (`ThreadSpecificVariable`), hence `@unchecked Sendable`.
final class TraceIdGenerator: @unchecked Sendable {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    private static let perThread = ThreadSpecificVariable<TraceIdGenerator>()

    static var current: TraceIdGenerator {
        if let known = perThread.currentValue { return known }
        let made = TraceIdGenerator()
        perThread.currentValue = made
        return made
    }

    private init() {
        var system = SystemRandomNumberGenerator()
        repeat {
            state = (system.next(), system.next(), system.next(), system.next())
        } while state == (0, 0, 0, 0)
    }

    func next() -> UInt64 {
        let result = rotate(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotate(state.3, 45)
        return result
    }

    func nonZero() -> UInt64 {
        while true {
            let value = next()
            if value != 0 { return value }
        }
    }

    private func rotate(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}
