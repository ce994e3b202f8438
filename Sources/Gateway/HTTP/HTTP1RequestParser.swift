import HTTPTypes
import NIOCore

/// A request head as the parser read it: HTTPTypes fields — the one representation the request path
/// uses from here on — and what framing and connection handling need, found in the same pass.
struct HTTP1RequestHead {
    var method: HTTPRequest.Method
    /// The request-target as sent (origin, absolute, authority or asterisk form).
    var target: String
    var http10: Bool
    /// The first Host header (kept out of `fields`, as HTTPTypes carries it as the authority).
    var authority: String?
    var fields: HTTPFields
    /// HTTP/1.1 without `Connection: close`, or HTTP/1.0 with `Connection: keep-alive`.
    var keepAlive: Bool
    var contentLength: Int64?
    var chunked: Bool
    var expectsContinue: Bool
    /// An `Upgrade` header or CONNECT: nothing after this request is parsed.
    var upgrades: Bool
    var upgradeToWebSocket: Bool
    var connectionUpgrade: Bool

    var hasBody: Bool { chunked || (contentLength ?? 0) != 0 }

    /// The path HTTPTypes carries: the target itself, or for the absolute form its path and query.
    var path: String {
        guard !target.hasPrefix("/"), target != "*", method != .connect else { return target }
        var text = target
        return text.withUTF8 { bytes -> String in
            guard let schemeEnd = HTTP1RequestParser.find(bytes, "://") else { return target }
            var index = schemeEnd + 3
            while index < bytes.count, bytes[index] != UInt8(ascii: "/"), bytes[index] != UInt8(ascii: "?") { index += 1 }
            guard index < bytes.count else { return "/" }
            let rest = String(decoding: UnsafeBufferPointer(rebasing: bytes[index...]), as: UTF8.self)
            return bytes[index] == UInt8(ascii: "?") ? "/" + rest : rest
        }
    }
}

/// An incremental, strict HTTP/1.1 request parser over the connection's bytes (RFC 9112), run by
/// `HTTP1ConnectionHandler` itself: no decoder handler in front of it, no `NIOAny` hop per part, and
/// the head goes straight into HTTPTypes (no NIOHTTP1 head converted per request).
///
/// Written by hand because NIO's `HTTPRequestDecoder` produces NIOHTTP1 heads (strings and a header
/// array) that the request path then converted to HTTPTypes on every request — together ≈ 15,000
/// instructions per request under callgrind (bench/instructions), a tenth of the whole request path.
///
/// Refused (a `Failure`, then the connection closes): a request line that is not `method SP target SP
/// HTTP/1.x`; bare CR or LF line ends in the head; whitespace before a colon; obsolete line folding;
/// control characters in a value; a malformed, conflicting or oversized Content-Length;
/// Transfer-Encoding with Content-Length; a transfer coding other than a single `chunked` (501 for a
/// coding it does not know ending in chunked, 400 otherwise); malformed chunk framing; a head over
/// `maxHeadBytes` or more than `maxFields` fields (431). Bodies are slices of the read buffers.
struct HTTP1RequestParser {
    enum Part {
        case head(HTTP1RequestHead)
        case body(ByteBuffer)
        case end
    }

    struct Failure: Error, CustomStringConvertible {
        enum Kind { case badRequest, headTooLarge, notImplemented }
        let kind: Kind
        let reason: String
        var description: String { reason }

        static func bad(_ reason: String) -> Failure { Failure(kind: .badRequest, reason: reason) }
    }

    /// As NIO's decoder allowed (80 KiB); the gateway's own header limits (431) apply after parsing.
    static let maxHeadBytes = 80 << 10
    static let maxFields = 10_000
    static let maxChunkLineBytes = 4096
    static let maxTrailerBytes = 64 << 10

    private enum State {
        case head
        /// A head without a body was returned: its end comes next.
        case endNext
        case fixedBody(remaining: Int64)
        case chunkSize
        case chunkData(remaining: Int64)
        case chunkDataEnd
        case trailers(bytes: Int)
        /// After a request that upgrades: nothing more is parsed, and what follows is dropped.
        case upgraded
        case failed
    }

    private var state = State.head
    private var pending: ByteBuffer?
    /// How far a partial head was already searched for its end.
    private var scanned = 0
    /// A request upgrades: after its end, the parser stops.
    private var upgrading = false

    /// Bytes received and not parsed yet.
    var unparsedBytes: Int { pending?.readableBytes ?? 0 }

    mutating func feed(_ bytes: ByteBuffer) {
        if case .upgraded = state { return }
        if case .failed = state { return }
        if var pending, pending.readableBytes > 0 {
            pending.writeImmutableBuffer(bytes)
            self.pending = pending
        } else {
            pending = bytes
        }
    }

    /// Drops what was received and not parsed (a connection that becomes a tunnel).
    mutating func discardUnparsed() {
        pending = nil
        scanned = 0
    }

    /// The next part, or nil when more bytes are needed (or nothing more is parsed).
    mutating func next() throws -> Part? {
        do {
            return try step()
        } catch {
            state = .failed
            pending = nil
            throw error
        }
    }

    private mutating func step() throws -> Part? {
        switch state {
        case .upgraded, .failed:
            pending = nil
            return nil
        case .endNext:
            return finishMessage()
        case .head:
            return try parseHead()
        case .fixedBody(let remaining):
            guard let (slice, left) = takeBody(remaining) else { return nil }
            state = left == 0 ? .endNext : .fixedBody(remaining: left)
            return .body(slice)
        case .chunkSize:
            guard let line = try takeLine(limit: Self.maxChunkLineBytes, what: "chunk size line") else { return nil }
            let size = try Self.chunkSize(line)
            state = size == 0 ? .trailers(bytes: 0) : .chunkData(remaining: size)
            return try step()
        case .chunkData(let remaining):
            guard let (slice, left) = takeBody(remaining) else { return nil }
            state = left == 0 ? .chunkDataEnd : .chunkData(remaining: left)
            return .body(slice)
        case .chunkDataEnd:
            guard var buffer = pending, buffer.readableBytes >= 2 else { return nil }
            guard buffer.readInteger(as: UInt16.self) == 0x0D0A else { throw Failure.bad("chunk data not followed by CRLF") }
            pending = buffer
            state = .chunkSize
            return try step()
        case .trailers(let bytes):
            // Trailer fields are read and dropped (nothing on the request path uses them).
            guard let line = try takeLine(limit: Self.maxTrailerBytes - bytes, what: "trailer section") else { return nil }
            if line.isEmpty { return finishMessage() }
            state = .trailers(bytes: bytes + line.count + 2)
            return try step()
        }
    }

    /// Up to `remaining` body bytes of what arrived (a slice: no copy), and how many remain after them.
    private mutating func takeBody(_ remaining: Int64) -> (ByteBuffer, Int64)? {
        guard var buffer = pending, buffer.readableBytes > 0 else { return nil }
        let count = Int(min(Int64(buffer.readableBytes), remaining))
        guard let slice = buffer.readSlice(length: count) else { return nil }
        pending = buffer
        return (slice, remaining - Int64(count))
    }

    private mutating func finishMessage() -> Part {
        if upgrading {
            state = .upgraded
            pending = nil
        } else {
            state = .head
        }
        return .end
    }

    // MARK: Lines (chunk framing)

    /// One CRLF-terminated line, without its CRLF; nil when it has not arrived whole.
    private mutating func takeLine(limit: Int, what: String) throws -> [UInt8]? {
        guard var buffer = pending else { return nil }
        let found: Int? = buffer.withUnsafeReadableBytes { bytes in
            var index = 0
            while index < bytes.count {
                if bytes[index] == 0x0A { return index }
                index += 1
            }
            return nil
        }
        guard let lf = found else {
            if buffer.readableBytes > limit { throw Failure.bad("\(what) too long") }
            return nil
        }
        guard lf <= limit else { throw Failure.bad("\(what) too long") }
        guard lf > 0, let line = buffer.readBytes(length: lf + 1), line[lf - 1] == 0x0D else {
            throw Failure.bad("\(what) not ended by CRLF")
        }
        pending = buffer
        return Array(line[0..<(lf - 1)])
    }

    static func chunkSize(_ line: [UInt8]) throws -> Int64 {
        var size: Int64 = 0
        var digits = 0
        var index = 0
        while index < line.count, let value = hexValue(line[index]) {
            guard digits < 15 else { throw Failure.bad("chunk size too large") }
            size = size << 4 | Int64(value)
            digits += 1
            index += 1
        }
        guard digits > 0 else { throw Failure.bad("malformed chunk size") }
        // What may follow: whitespace and chunk extensions (`;name[=value]`), read and ignored.
        while index < line.count, line[index] == 0x20 || line[index] == 0x09 { index += 1 }
        if index < line.count {
            guard line[index] == UInt8(ascii: ";") else { throw Failure.bad("malformed chunk size") }
            for byte in line[index...] where (byte < 0x20 && byte != 0x09) || byte == 0x7F {
                throw Failure.bad("control character in a chunk extension")
            }
        }
        return size
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte - 0x30
        case 0x41...0x46: return byte - 0x41 + 10
        case 0x61...0x66: return byte - 0x61 + 10
        default: return nil
        }
    }

    // MARK: The head

    private mutating func parseHead() throws -> Part? {
        guard var buffer = pending else { return nil }
        // Empty lines before a request line are ignored (RFC 9112 §2.2).
        while buffer.readableBytes >= 2, buffer.getInteger(at: buffer.readerIndex, as: UInt16.self) == 0x0D0A {
            buffer.moveReaderIndex(forwardBy: 2)
        }
        pending = buffer
        let end: Int? = buffer.withUnsafeReadableBytes { bytes in
            var index = max(0, scanned - 3)
            while index + 3 < bytes.count {
                if bytes[index + 3] == 0x0A, bytes[index + 2] == 0x0D, bytes[index + 1] == 0x0A, bytes[index] == 0x0D {
                    return index + 4
                }
                index += 1
            }
            return nil
        }
        guard let end else {
            scanned = buffer.readableBytes
            if buffer.readableBytes > Self.maxHeadBytes {
                throw Failure(kind: .headTooLarge, reason: "request head larger than \(Self.maxHeadBytes) bytes")
            }
            return nil
        }
        guard end <= Self.maxHeadBytes else {
            throw Failure(kind: .headTooLarge, reason: "request head larger than \(Self.maxHeadBytes) bytes")
        }
        scanned = 0
        let head = try buffer.withUnsafeReadableBytes { bytes in
            try Self.head(UnsafeRawBufferPointer(rebasing: bytes[0..<end]))
        }
        buffer.moveReaderIndex(forwardBy: end)
        pending = buffer.readableBytes > 0 ? buffer : nil
        upgrading = head.upgrades
        if head.chunked {
            state = .chunkSize
        } else if let length = head.contentLength, length > 0 {
            state = .fixedBody(remaining: length)
        } else {
            state = .endNext
        }
        return .head(head)
    }

    /// Parses a whole head (request line, fields, the empty line).
    static func head(_ bytes: UnsafeRawBufferPointer) throws -> HTTP1RequestHead {
        var cursor = 0
        func line() throws -> Range<Int> {
            let start = cursor
            while cursor < bytes.count {
                let byte = bytes[cursor]
                if byte == 0x0D {
                    guard cursor + 1 < bytes.count, bytes[cursor + 1] == 0x0A else { throw Failure.bad("bare CR in the request head") }
                    defer { cursor += 2 }
                    return start..<cursor
                }
                if byte == 0x0A { throw Failure.bad("bare LF in the request head") }
                cursor += 1
            }
            throw Failure.bad("incomplete request head")
        }
        func text(_ range: Range<Int>) -> String {
            String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
        }

        // The request line: method SP request-target SP HTTP-version.
        let requestLine = try line()
        var index = requestLine.lowerBound
        while index < requestLine.upperBound, isTokenByte(bytes[index]) { index += 1 }
        guard index > requestLine.lowerBound, index < requestLine.upperBound, bytes[index] == 0x20 else {
            throw Failure.bad("malformed request line")
        }
        let methodRange = requestLine.lowerBound..<index
        index += 1
        let targetStart = index
        while index < requestLine.upperBound, bytes[index] > 0x20, bytes[index] < 0x7F { index += 1 }
        guard index > targetStart, index < requestLine.upperBound, bytes[index] == 0x20 else {
            throw Failure.bad("malformed request target")
        }
        let targetRange = targetStart..<index
        index += 1
        guard requestLine.upperBound - index == 8, matches(bytes, at: index, "HTTP/1.") else {
            throw Failure.bad("malformed HTTP version")
        }
        let http10: Bool
        switch bytes[index + 7] {
        case UInt8(ascii: "1"): http10 = false
        case UInt8(ascii: "0"): http10 = true
        default: throw Failure.bad("HTTP version not supported")
        }
        guard let method = Self.method(UnsafeRawBufferPointer(rebasing: bytes[methodRange])) else {
            throw Failure.bad("malformed method")
        }

        var head = HTTP1RequestHead(
            method: method, target: text(targetRange), http10: http10, authority: nil, fields: HTTPFields(),
            keepAlive: !http10, contentLength: nil, chunked: false, expectsContinue: false,
            upgrades: method == .connect, upgradeToWebSocket: false, connectionUpgrade: false)
        var fieldCount = 0
        var transferEncoding = false
        var connectionClose = false
        var connectionKeepAlive = false
        while true {
            let fieldLine = try line()
            if fieldLine.isEmpty { break }
            fieldCount += 1
            guard fieldCount <= maxFields else {
                throw Failure(kind: .headTooLarge, reason: "more than \(maxFields) header fields")
            }
            let first = bytes[fieldLine.lowerBound]
            if first == 0x20 || first == 0x09 { throw Failure.bad("obsolete line folding in a header field") }
            var colon = fieldLine.lowerBound
            while colon < fieldLine.upperBound, isTokenByte(bytes[colon]) { colon += 1 }
            guard colon > fieldLine.lowerBound, colon < fieldLine.upperBound, bytes[colon] == UInt8(ascii: ":") else {
                throw Failure.bad("malformed header field name")
            }
            var valueStart = colon + 1
            var valueEnd = fieldLine.upperBound
            while valueStart < valueEnd, bytes[valueStart] == 0x20 || bytes[valueStart] == 0x09 { valueStart += 1 }
            while valueEnd > valueStart, bytes[valueEnd - 1] == 0x20 || bytes[valueEnd - 1] == 0x09 { valueEnd -= 1 }
            for position in valueStart..<valueEnd {
                let byte = bytes[position]
                if (byte < 0x20 && byte != 0x09) || byte == 0x7F { throw Failure.bad("control character in a header value") }
            }
            let nameBytes = UnsafeRawBufferPointer(rebasing: bytes[fieldLine.lowerBound..<colon])
            let valueBytes = UnsafeRawBufferPointer(rebasing: bytes[valueStart..<valueEnd])
            // What framing and connection handling need, recognised by length first.
            switch nameBytes.count {
            case 4 where equalsLowercased(nameBytes, "host"):
                if head.authority == nil {
                    head.authority = text(valueStart..<valueEnd)
                    continue
                }
            case 6 where equalsLowercased(nameBytes, "expect"):
                head.expectsContinue = head.expectsContinue || equalsLowercased(valueBytes, "100-continue")
            case 7 where equalsLowercased(nameBytes, "upgrade"):
                head.upgrades = true
                head.upgradeToWebSocket = head.upgradeToWebSocket
                    || BackendResponseParser.tokens(valueBytes).contains { BackendResponseParser.equalsLowercased($0, "websocket") }
            case 10 where equalsLowercased(nameBytes, "connection"):
                for token in BackendResponseParser.tokens(valueBytes) {
                    if BackendResponseParser.equalsLowercased(token, "close") { connectionClose = true }
                    if BackendResponseParser.equalsLowercased(token, "keep-alive") { connectionKeepAlive = true }
                    if BackendResponseParser.equalsLowercased(token, "upgrade") { head.connectionUpgrade = true }
                }
            case 14 where equalsLowercased(nameBytes, "content-length"):
                let length = try contentLength(valueBytes)
                if let known = head.contentLength, known != length { throw Failure.bad("conflicting Content-Length values") }
                head.contentLength = length
            case 17 where equalsLowercased(nameBytes, "transfer-encoding"):
                guard !transferEncoding else { throw Failure.bad("more than one Transfer-Encoding header") }
                transferEncoding = true
                let codings = BackendResponseParser.tokens(valueBytes)
                guard let last = codings.last, BackendResponseParser.equalsLowercased(last, "chunked") else {
                    throw Failure.bad("Transfer-Encoding does not end with chunked")
                }
                guard codings.count == 1 else {
                    throw Failure(kind: .notImplemented, reason: "transfer codings other than chunked are not supported")
                }
                head.chunked = true
            default:
                break
            }
            guard let name = fieldName(nameBytes) else { throw Failure.bad("malformed header field name") }
            head.fields.append(HTTPField(name: name, value: text(valueStart..<valueEnd)))
        }
        if transferEncoding && head.contentLength != nil {
            throw Failure.bad("both Transfer-Encoding and Content-Length")
        }
        head.keepAlive = connectionClose ? false : (http10 ? connectionKeepAlive : true)
        return head
    }

    private static func contentLength(_ bytes: UnsafeRawBufferPointer) throws -> Int64 {
        // A list of identical values is one value (RFC 9110 §8.6); anything else is refused.
        var value: Int64?
        for item in BackendResponseParser.tokens(bytes) {
            guard !item.isEmpty, item.count <= 18 else { throw Failure.bad("malformed Content-Length") }
            var number: Int64 = 0
            for byte in item {
                guard byte >= 0x30, byte <= 0x39 else { throw Failure.bad("malformed Content-Length") }
                number = number * 10 + Int64(byte - 0x30)
            }
            if let value, value != number { throw Failure.bad("conflicting Content-Length values") }
            value = number
        }
        guard let value else { throw Failure.bad("malformed Content-Length") }
        return value
    }

    private static func method(_ bytes: UnsafeRawBufferPointer) -> HTTPRequest.Method? {
        switch bytes.count {
        case 3 where matches(bytes, at: 0, "GET"): return .get
        case 3 where matches(bytes, at: 0, "PUT"): return .put
        case 4 where matches(bytes, at: 0, "POST"): return .post
        case 4 where matches(bytes, at: 0, "HEAD"): return .head
        case 5 where matches(bytes, at: 0, "PATCH"): return .patch
        case 6 where matches(bytes, at: 0, "DELETE"): return .delete
        case 7 where matches(bytes, at: 0, "OPTIONS"): return .options
        case 7 where matches(bytes, at: 0, "CONNECT"): return .connect
        default: return HTTPRequest.Method(String(decoding: bytes, as: UTF8.self))
        }
    }

    /// Common names as HTTPTypes' own constants (no validation, no lower-casing per request).
    private static func fieldName(_ bytes: UnsafeRawBufferPointer) -> HTTPField.Name? {
        switch bytes.count {
        case 6 where equalsLowercased(bytes, "accept"): return .accept
        case 6 where equalsLowercased(bytes, "cookie"): return .cookie
        case 10 where equalsLowercased(bytes, "user-agent"): return .userAgent
        case 10 where equalsLowercased(bytes, "connection"): return .connection
        case 12 where equalsLowercased(bytes, "content-type"): return .contentType
        case 13 where equalsLowercased(bytes, "authorization"): return .authorization
        case 14 where equalsLowercased(bytes, "content-length"): return .contentLength
        case 15 where equalsLowercased(bytes, "accept-encoding"): return .acceptEncoding
        case 15 where equalsLowercased(bytes, "accept-language"): return .acceptLanguage
        default: return HTTPField.Name(String(decoding: bytes, as: UTF8.self))
        }
    }

    // MARK: Bytes

    /// tchar (RFC 9110 §5.6.2).
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
             UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
             UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default: return false
        }
    }

    static func matches(_ bytes: UnsafeRawBufferPointer, at offset: Int, _ text: StaticString) -> Bool {
        let count = text.utf8CodeUnitCount
        guard offset >= 0, offset + count <= bytes.count else { return false }
        let start = text.utf8Start
        for index in 0..<count where bytes[offset + index] != start[index] { return false }
        return true
    }

    static func equalsLowercased(_ bytes: UnsafeRawBufferPointer, _ text: StaticString) -> Bool {
        BackendResponseParser.equalsLowercased(bytes, text)
    }

    static func find(_ bytes: UnsafeBufferPointer<UInt8>, _ text: StaticString) -> Int? {
        let raw = UnsafeRawBufferPointer(bytes)
        var index = 0
        while index + text.utf8CodeUnitCount <= raw.count {
            if matches(raw, at: index, text) { return index }
            index += 1
        }
        return nil
    }
}
