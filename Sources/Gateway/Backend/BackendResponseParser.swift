import NIOCore
import NIOHTTP1

/// HTTP/1.1 responses from a backend, parsed straight from the connection's bytes (RFC 9112).
///
/// Hand-written for the proxy path: NIO's `HTTPResponseDecoder` (llhttp behind a
/// `ByteToMessageHandler`, every part wrapped in `NIOAny`, then filtered again for hop-by-hop headers)
/// cost more per exchange than the rest of the backend side. Strict wherever leniency could
/// desynchronise a pooled connection (response splitting): CRLF line ends only, no obsolete line
/// folding, no whitespace before a colon, no control characters in values, one Content-Length value,
/// Transfer-Encoding only `chunked` and never beside Content-Length, chunk sizes of at most 15 hex
/// digits, bounded heads, chunk lines and trailers. Hop-by-hop headers, and any the Connection header
/// lists, are dropped while parsing: they reach neither the client nor a policy.
struct BackendResponseParser {
    enum Event {
        /// A final response head (interim 1xx answers other than 101 are skipped). After a 101 the
        /// connection carries another protocol: every later byte is `.body`, until the backend closes.
        case head(HTTPResponseHead, keepAlive: Bool)
        case body(ByteBuffer)
        case end
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    static let maxHeadBytes = 64 << 10
    static let maxHeaderCount = 256
    static let maxChunkLineBytes = 4096

    private enum State {
        /// No exchange: any byte is unexpected.
        case idle
        case head(searchFrom: Int)
        case fixed(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers(bytes: Int)
        /// The body ends when the connection does (no framing, or after a 101).
        case untilClose
    }

    private var state = State.idle
    private var pending: ByteBuffer?
    private var requestWasHead = false
    private var upgradeRequested = false

    /// Unparsed bytes are held (a response that began before an exchange was started, or after it ended).
    var hasUnexpectedBytes: Bool {
        if case .idle = state, let pending, pending.readableBytes > 0 { return true }
        return false
    }

    /// The body runs until the connection closes: a close is its end, not a failure.
    var endsAtClose: Bool {
        if case .untilClose = state { return true }
        return false
    }

    /// A new exchange: the response to a request with this method (HEAD answers have no body) that
    /// asked (or not) to switch protocols.
    mutating func expectResponse(toHEAD: Bool, upgrade: Bool) {
        state = .head(searchFrom: 0)
        requestWasHead = toHEAD
        upgradeRequested = upgrade
    }

    mutating func feed(_ buffer: ByteBuffer) {
        if pending == nil || pending?.readableBytes == 0 {
            pending = buffer
        } else {
            pending?.writeImmutableBuffer(buffer)
        }
    }

    /// The next event the bytes fed so far complete, or nil when more bytes are needed.
    mutating func next() throws -> Event? {
        while true {
            switch state {
            case .idle:
                return nil
            case .fixed(remaining: 0):
                state = .idle
                return .end
            default:
                break
            }
            guard var buffer = pending, buffer.readableBytes > 0 else { return nil }
            pending = nil  // the local copy is the only reference: slicing and reading copy nothing
            switch state {
            case .idle:
                pending = buffer
                return nil
            case .head(let searchFrom):
                guard let headEnd = Self.headEnd(buffer, from: searchFrom) else {
                    guard buffer.readableBytes <= Self.maxHeadBytes else { throw Failure("response head larger than \(Self.maxHeadBytes) bytes") }
                    state = .head(searchFrom: max(0, buffer.readableBytes - 3))
                    pending = buffer
                    return nil
                }
                guard headEnd <= Self.maxHeadBytes else { throw Failure("response head larger than \(Self.maxHeadBytes) bytes") }
                let parsed = try buffer.withUnsafeReadableBytes { bytes in
                    try Self.parseHead(UnsafeRawBufferPointer(rebasing: bytes[..<(headEnd - 2)]))
                }
                buffer.moveReaderIndex(forwardBy: headEnd)
                pending = buffer
                let code = parsed.head.status.code
                if code == 101 {
                    guard upgradeRequested else { throw Failure("101 Switching Protocols to a request that did not ask for it") }
                    state = .untilClose
                    return .head(parsed.head, keepAlive: false)
                }
                if code < 200 {
                    state = .head(searchFrom: 0)  // an interim answer: the final one follows
                    continue
                }
                // A backend asked to switch protocols that did not may have stopped parsing HTTP on
                // this connection (NIO's decoder does): it is not reused.
                var keepAlive = parsed.keepAlive && !upgradeRequested
                if requestWasHead || code == 204 || code == 304 {
                    state = .fixed(remaining: 0)
                } else if parsed.chunked {
                    state = .chunkSize
                } else if let length = parsed.contentLength {
                    state = .fixed(remaining: length)
                } else {
                    state = .untilClose
                    keepAlive = false
                }
                return .head(parsed.head, keepAlive: keepAlive)
            case .fixed(let remaining):
                let count = min(remaining, buffer.readableBytes)
                guard let slice = buffer.readSlice(length: count) else { return nil }
                state = .fixed(remaining: remaining - count)
                pending = buffer
                return .body(slice)
            case .chunkSize:
                guard let lineEnd = Self.lineEnd(buffer, limit: Self.maxChunkLineBytes) else {
                    guard buffer.readableBytes <= Self.maxChunkLineBytes else { throw Failure("chunk size line too long") }
                    pending = buffer
                    return nil
                }
                let size = try buffer.withUnsafeReadableBytes { bytes in
                    try Self.chunkSize(UnsafeRawBufferPointer(rebasing: bytes[..<lineEnd]))
                }
                buffer.moveReaderIndex(forwardBy: lineEnd + 2)
                pending = buffer
                state = size == 0 ? .trailers(bytes: 0) : .chunkData(remaining: size)
            case .chunkData(let remaining):
                let count = min(remaining, buffer.readableBytes)
                guard let slice = buffer.readSlice(length: count) else { return nil }
                state = count == remaining ? .chunkDataEnd : .chunkData(remaining: remaining - count)
                pending = buffer
                return .body(slice)
            case .chunkDataEnd:
                guard buffer.readableBytes >= 2 else {
                    pending = buffer
                    return nil
                }
                guard buffer.readInteger(as: UInt16.self) == 0x0D0A else { throw Failure("chunk data not followed by CRLF") }
                pending = buffer
                state = .chunkSize
            case .trailers(let seen):
                guard let lineEnd = Self.lineEnd(buffer, limit: Self.maxHeadBytes) else {
                    guard seen + buffer.readableBytes <= Self.maxHeadBytes else { throw Failure("trailers larger than \(Self.maxHeadBytes) bytes") }
                    pending = buffer
                    return nil
                }
                // Trailer fields are not relayed (the client's answer may not be chunked).
                buffer.moveReaderIndex(forwardBy: lineEnd + 2)
                pending = buffer
                if lineEnd == 0 {
                    state = .idle
                    return .end
                }
                guard seen + lineEnd <= Self.maxHeadBytes else { throw Failure("trailers larger than \(Self.maxHeadBytes) bytes") }
                state = .trailers(bytes: seen + lineEnd + 2)
            case .untilClose:
                return .body(buffer)
            }
        }
    }

    /// The bytes not parsed yet (after a 101: the other protocol's first bytes); parsing stops.
    mutating func takeRemaining() -> ByteBuffer? {
        defer { reset() }
        guard let pending, pending.readableBytes > 0 else { return nil }
        return pending
    }

    /// Called when the body's end came (or the exchange is abandoned): nothing is parsed any more.
    mutating func reset() {
        state = .idle
        pending = nil
    }

    // MARK: Scanning

    /// The offset just past the CRLFCRLF ending the head, searching from `from`.
    private static func headEnd(_ buffer: ByteBuffer, from: Int) -> Int? {
        buffer.withUnsafeReadableBytes { bytes -> Int? in
            guard bytes.count >= 4 else { return nil }
            var index = from
            let last = bytes.count - 4
            while index <= last {
                if bytes[index + 3] == 0x0A {
                    if bytes[index] == 0x0D && bytes[index + 1] == 0x0A && bytes[index + 2] == 0x0D { return index + 4 }
                    index += 1
                } else if bytes[index + 3] == 0x0D {
                    index += 1
                } else {
                    index += 4
                }
            }
            return nil
        }
    }

    /// The offset of the CR of the first CRLF, within `limit` bytes.
    private static func lineEnd(_ buffer: ByteBuffer, limit: Int) -> Int? {
        buffer.withUnsafeReadableBytes { bytes -> Int? in
            let end = min(bytes.count, limit + 2)
            var index = 0
            while index + 1 < end {
                if bytes[index] == 0x0D && bytes[index + 1] == 0x0A { return index }
                index += 1
            }
            return nil
        }
    }

    private static func chunkSize(_ line: UnsafeRawBufferPointer) throws -> Int {
        var size = 0
        var digits = 0
        var index = 0
        while index < line.count, let value = hexValue(line[index]) {
            guard digits < 15 else { throw Failure("chunk size too large") }
            size = size << 4 | value
            digits += 1
            index += 1
        }
        guard digits > 0 else { throw Failure("malformed chunk size") }
        // Optional whitespace and chunk extensions (ignored); no control characters.
        while index < line.count, line[index] == 0x20 || line[index] == 0x09 { index += 1 }
        if index < line.count {
            guard line[index] == UInt8(ascii: ";") else { throw Failure("malformed chunk size") }
            for byte in line[index...] where byte < 0x20 && byte != 0x09 || byte == 0x7F {
                throw Failure("control character in a chunk extension")
            }
        }
        return size
    }

    private static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case 0x30...0x39: return Int(byte - 0x30)
        case 0x41...0x46: return Int(byte - 0x41 + 10)
        case 0x61...0x66: return Int(byte - 0x61 + 10)
        default: return nil
        }
    }

    // MARK: The head

    struct ParsedHead {
        var head: HTTPResponseHead
        var keepAlive: Bool
        var chunked: Bool
        var contentLength: Int?
    }

    /// Parses a head given without its final empty line (every line ends with CRLF).
    static func parseHead(_ bytes: UnsafeRawBufferPointer) throws -> ParsedHead {
        var lines = LineCursor(bytes: bytes)
        guard let statusLine = lines.next() else { throw Failure("empty response head") }
        let (version, status) = try parseStatusLine(UnsafeRawBufferPointer(rebasing: bytes[statusLine]))
        let isUpgrade = status.code == 101

        // Collected as pairs and made into `HTTPHeaders` once: `HTTPHeaders.add` scans every name for
        // non-ASCII bytes and compares it with "connection" again (~1.5k instructions per answer); the
        // names here are already checked to be tokens.
        var fields: [(String, String)] = []
        fields.reserveCapacity(12)
        var keepAlive = version.minor >= 1
        var chunked = false
        var contentLength: Int?
        var listed: [String] = []
        var count = 0
        while let range = lines.next() {
            count += 1
            guard count <= maxHeaderCount else { throw Failure("more than \(maxHeaderCount) response headers") }
            let line = UnsafeRawBufferPointer(rebasing: bytes[range])
            guard let first = line.first else { throw Failure("empty header line") }
            if first == 0x20 || first == 0x09 { throw Failure("obsolete line folding in a response header") }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > 0 else { throw Failure("malformed response header line") }
            let name = UnsafeRawBufferPointer(rebasing: line[..<colon])
            for byte in name where !isTokenByte(byte) { throw Failure("invalid character in a response header name") }
            var valueStart = colon + 1
            var valueEnd = line.count
            while valueStart < valueEnd, line[valueStart] == 0x20 || line[valueStart] == 0x09 { valueStart += 1 }
            while valueEnd > valueStart, line[valueEnd - 1] == 0x20 || line[valueEnd - 1] == 0x09 { valueEnd -= 1 }
            let value = UnsafeRawBufferPointer(rebasing: line[valueStart..<valueEnd])
            for byte in value where (byte < 0x20 && byte != 0x09) || byte == 0x7F {
                throw Failure("control character in a response header value")
            }

            switch classify(name) {
            case .ordinary:
                fields.append((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
            case .contentLength:
                guard let length = decimal(value) else { throw Failure("malformed Content-Length") }
                guard contentLength == nil || contentLength == length else { throw Failure("conflicting Content-Length values") }
                if contentLength == nil {
                    fields.append((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
                }
                contentLength = length
            case .transferEncoding:
                guard !chunked, equalsLowercased(value, "chunked") else {
                    throw Failure("unsupported Transfer-Encoding (only a single chunked coding is relayed)")
                }
                chunked = true
            case .connection:
                for token in tokens(value) {
                    if equalsLowercased(token, "close") {
                        keepAlive = false
                    } else if equalsLowercased(token, "keep-alive") {
                        if version.minor == 0 { keepAlive = true }
                    } else if !(isUpgrade && equalsLowercased(token, "upgrade")) {
                        listed.append(String(decoding: token, as: UTF8.self))
                    }
                }
                if isUpgrade {
                    fields.append((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
                }
            case .upgrade:
                if isUpgrade {
                    fields.append((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
                }
            case .hopByHop:
                break
            }
        }
        if chunked && contentLength != nil {
            throw Failure("both Transfer-Encoding and Content-Length (a response-splitting risk)")
        }
        var headers = HTTPHeaders(fields)
        for name in listed where !name.isEmpty { headers.remove(name: name) }
        return ParsedHead(head: HTTPResponseHead(version: version, status: status, headers: headers),
                          keepAlive: keepAlive, chunked: chunked, contentLength: contentLength)
    }

    private static func parseStatusLine(_ line: UnsafeRawBufferPointer) throws -> (HTTPVersion, HTTPResponseStatus) {
        // HTTP/1.x SP 3DIGIT [SP reason-phrase]
        guard line.count >= 12, line[0] == UInt8(ascii: "H"), line[1] == UInt8(ascii: "T"), line[2] == UInt8(ascii: "T"),
              line[3] == UInt8(ascii: "P"), line[4] == UInt8(ascii: "/"), line[5] == UInt8(ascii: "1"), line[6] == UInt8(ascii: "."),
              line[7] == UInt8(ascii: "0") || line[7] == UInt8(ascii: "1"), line[8] == 0x20
        else { throw Failure("malformed status line") }
        var code = 0
        for index in 9..<12 {
            let byte = line[index]
            guard byte >= 0x30 && byte <= 0x39 else { throw Failure("malformed status code") }
            code = code * 10 + Int(byte - 0x30)
        }
        guard code >= 100 else { throw Failure("malformed status code") }
        if line.count > 12 {
            guard line[12] == 0x20 else { throw Failure("malformed status line") }
            for byte in line[13...] where (byte < 0x20 && byte != 0x09) || byte == 0x7F {
                throw Failure("control character in the reason phrase")
            }
        }
        let version = HTTPVersion(major: 1, minor: line[7] == UInt8(ascii: "1") ? 1 : 0)
        return (version, HTTPResponseStatus(statusCode: code))
    }

    private enum HeaderKind {
        case ordinary, contentLength, transferEncoding, connection, upgrade, hopByHop
    }

    /// What a header name means to the relay, from its length and bytes, without allocating.
    private static func classify(_ name: UnsafeRawBufferPointer) -> HeaderKind {
        switch name.count {
        case 2: return equalsLowercased(name, "te") ? .hopByHop : .ordinary
        case 6: return equalsLowercased(name, "expect") ? .hopByHop : .ordinary
        case 7:
            if equalsLowercased(name, "upgrade") { return .upgrade }
            return equalsLowercased(name, "trailer") ? .hopByHop : .ordinary
        case 10:
            if equalsLowercased(name, "connection") { return .connection }
            return equalsLowercased(name, "keep-alive") ? .hopByHop : .ordinary
        case 14:
            if equalsLowercased(name, "content-length") { return .contentLength }
            return equalsLowercased(name, "http2-settings") ? .hopByHop : .ordinary
        case 16: return equalsLowercased(name, "proxy-connection") ? .hopByHop : .ordinary
        case 17: return equalsLowercased(name, "transfer-encoding") ? .transferEncoding : .ordinary
        case 18: return equalsLowercased(name, "proxy-authenticate") ? .hopByHop : .ordinary
        case 19: return equalsLowercased(name, "proxy-authorization") ? .hopByHop : .ordinary
        default: return .ordinary
        }
    }

    /// ASCII case-insensitive comparison with a lower-case literal.
    static func equalsLowercased(_ bytes: UnsafeRawBufferPointer, _ lower: StaticString) -> Bool {
        guard bytes.count == lower.utf8CodeUnitCount else { return false }
        return lower.withUTF8Buffer { expected in
            for index in 0..<expected.count {
                let byte = bytes[index]
                let folded = byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
                if folded != expected[index] { return false }
            }
            return true
        }
    }

    /// Comma-separated list elements, trimmed of whitespace, empty ones skipped.
    static func tokens(_ value: UnsafeRawBufferPointer) -> [UnsafeRawBufferPointer] {
        var result: [UnsafeRawBufferPointer] = []
        var start = 0
        var index = 0
        while index <= value.count {
            if index == value.count || value[index] == UInt8(ascii: ",") {
                var low = start
                var high = index
                while low < high, value[low] == 0x20 || value[low] == 0x09 { low += 1 }
                while high > low, value[high - 1] == 0x20 || value[high - 1] == 0x09 { high -= 1 }
                if high > low { result.append(UnsafeRawBufferPointer(rebasing: value[low..<high])) }
                start = index + 1
            }
            index += 1
        }
        return result
    }

    /// A non-negative decimal of at most 18 digits (no sign, no spaces, no list).
    private static func decimal(_ value: UnsafeRawBufferPointer) -> Int? {
        guard !value.isEmpty, value.count <= 18 else { return nil }
        var result = 0
        for byte in value {
            guard byte >= 0x30 && byte <= 0x39 else { return nil }
            result = result * 10 + Int(byte - 0x30)
        }
        return result
    }

    /// RFC 9110 tchar.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
             UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
             UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }
}

/// The CRLF-terminated lines of a head, as ranges without their CRLF. A bare CR or LF inside a
/// line is left in it (and refused by the value check).
private struct LineCursor {
    let bytes: UnsafeRawBufferPointer
    var position = 0

    mutating func next() -> Range<Int>? {
        guard position < bytes.count else { return nil }
        var index = position
        while index + 1 < bytes.count {
            if bytes[index] == 0x0D && bytes[index + 1] == 0x0A {
                let line = position..<index
                position = index + 2
                return line
            }
            index += 1
        }
        let line = position..<bytes.count
        position = bytes.count
        return line
    }
}
