import HTTPTypes
import NIOHPACK

/// HEADERS frames ↔ swift-http-types, for `HTTP2Stream`, which reads and writes its frame payloads
/// itself (no `HTTP2FramePayloadToHTTPServerCodec`: a response's last DATA frame carries END_STREAM
/// instead of an empty DATA frame of its own).
///
/// Written here because swift-nio-extras keeps its conversions `package`-internal. It is also
/// where a request's header block is checked (RFC 9113 §8.2–8.3): `NIOHTTP2Handler` runs with its
/// header-block validation off, because it validated every block twice over — the client's and
/// the gateway's own responses, which HTTPTypes has already made well-formed — at about a twelfth
/// of an HTTP/2 request's instructions. Checked here, in the pass that converts the block:
/// - field names: lower-case tokens; no connection-specific field (`connection`, `keep-alive`,
///   `proxy-connection`, `transfer-encoding`, `upgrade`), `te` only as `trailers`;
/// - field values: no NUL, CR or LF, no leading or trailing whitespace (other control characters
///   pass, as RFC 9113 allows, and are escaped wherever a value is logged); pseudo-field values
///   no control character or space at all (they become the backend's request line);
/// - pseudo-fields: only `:method`, `:scheme`, `:authority`, `:path` (extended CONNECT's
///   `:protocol` is not offered), each at most once, all before the regular fields, `:method`
///   always, `:scheme` and a non-empty `:path` unless the method is CONNECT, which needs
///   `:authority` and has neither.
/// A block that fails gets 400 naming the rule (`HTTP2Stream`), never reaches routing or a backend.
enum HTTP2HeaderConversion {
    struct Malformed: Error, CustomStringConvertible {
        let description: String
    }

    /// A request's header block (pseudo-fields first), checked as the type's comment says.
    static func request(_ block: HPACKHeaders) throws -> HTTPRequest {
        var method: String?
        var scheme: String?
        var authority: String?
        var path: String?
        var index = block.startIndex
        while index != block.endIndex {
            let (name, value, _) = block[index]
            guard name.utf8.first == UInt8(ascii: ":") else { break }
            switch name {
            case ":method": try once(&method, value, name)
            case ":scheme": try once(&scheme, value, name)
            case ":authority": try once(&authority, value, name)
            case ":path": try once(&path, value, name)
            default: throw Malformed(description: "unknown pseudo-header field")
            }
            guard isValidValue(value, spaceAllowed: false) else { throw Malformed(description: "malformed \(name)") }
            index = block.index(after: index)
        }
        if method == nil || path == nil || scheme == nil {
            // Missing, or sent too late: name the latter.
            var rest = index
            while rest != block.endIndex {
                if block[rest].name.utf8.first == UInt8(ascii: ":") {
                    throw Malformed(description: "pseudo-header field after a regular field")
                }
                rest = block.index(after: rest)
            }
        }
        guard let method else { throw Malformed(description: "no :method pseudo-header field") }
        guard let parsedMethod = HTTPRequest.Method(method) else { throw Malformed(description: "malformed :method") }
        if parsedMethod == .connect {
            guard authority != nil, scheme == nil, path == nil else {
                throw Malformed(description: "CONNECT needs :authority and neither :scheme nor :path")
            }
        } else {
            guard let scheme, !scheme.isEmpty else { throw Malformed(description: "no :scheme pseudo-header field") }
            guard let path, !path.isEmpty else { throw Malformed(description: "no :path pseudo-header field") }
        }
        var request = HTTPRequest(method: parsedMethod, scheme: scheme, authority: authority, path: path)
        request.headerFields.reserveCapacity(block.count)
        while index != block.endIndex {
            let (name, value, indexing) = block[index]
            guard name.utf8.first != UInt8(ascii: ":") else { throw Malformed(description: "pseudo-header field after a regular field") }
            try checkRegular(name, value)
            guard let fieldName = HTTPField.Name(name) else { throw Malformed(description: "malformed header field name") }
            var field = HTTPField(name: fieldName, value: value)
            field.indexingStrategy = strategy(indexing)
            request.headerFields.append(field)
            index = block.index(after: index)
        }
        return request
    }

    /// A trailer block: regular fields only, checked as a request's are.
    static func checkTrailers(_ block: HPACKHeaders) throws {
        for (name, value, _) in block {
            guard name.utf8.first != UInt8(ascii: ":") else { throw Malformed(description: "pseudo-header field in trailers") }
            try checkRegular(name, value)
        }
    }

    private static func checkRegular(_ name: String, _ value: String) throws {
        guard isValidName(name) else { throw Malformed(description: "malformed header field name") }
        guard isValidValue(value, spaceAllowed: true) else { throw Malformed(description: "malformed header field value") }
        if isConnectionSpecific(name) {
            // `te: trailers` is the one connection-specific field a request may carry.
            guard name == "te", value.utf8.count == 8, value.caseInsensitiveEquals("trailers") else {
                throw Malformed(description: "connection-specific header field")
            }
        }
    }

    /// A lower-case token (RFC 9110 `tchar`).
    private static func isValidName(_ name: String) -> Bool {
        var any = false
        for byte in name.utf8 {
            any = true
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                continue
            case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
                 UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
                 UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
                continue
            default:
                return false
            }
        }
        return any
    }

    /// No NUL, CR or LF, no leading or trailing whitespace; `spaceAllowed: false` (pseudo-fields)
    /// also refuses every other control character and SP anywhere.
    private static func isValidValue(_ value: String, spaceAllowed: Bool) -> Bool {
        let utf8 = value.utf8
        if let first = utf8.first, let last = utf8.last {
            if first == 0x20 || first == 0x09 || last == 0x20 || last == 0x09 { return false }
        }
        if spaceAllowed {
            return !utf8.contains { $0 == 0x00 || $0 == 0x0A || $0 == 0x0D }
        }
        return !utf8.contains { $0 <= 0x20 || $0 == 0x7F }
    }

    /// `connection`, `keep-alive`, `proxy-connection`, `transfer-encoding`, `upgrade`, `te`.
    static func isConnectionSpecific(_ name: String) -> Bool {
        switch name.utf8.count {
        case 2: return name == "te"
        case 7: return name == "upgrade"
        case 10: return name == "connection" || name == "keep-alive"
        case 16: return name == "proxy-connection"
        case 17: return name == "transfer-encoding"
        default: return false
        }
    }

    private static func once(_ slot: inout String?, _ value: String, _ name: String) throws {
        guard slot == nil else { throw Malformed(description: "repeated \(name) pseudo-header field") }
        slot = value
    }

    /// A response's header block: `:status`, then its fields.
    static func block(_ response: HTTPResponse) -> HPACKHeaders {
        var block = HPACKHeaders()
        block.reserveCapacity(response.headerFields.count + 1)
        add(response.pseudoHeaderFields.status, to: &block)
        for field in response.headerFields where !isConnectionSpecific(field.name.canonicalName) {
            // (Backend responses lose these already; a policy's `set-header` could still add one.)
            add(field, to: &block)
        }
        return block
    }

    /// A trailer block.
    static func block(_ trailers: HTTPFields) -> HPACKHeaders {
        var block = HPACKHeaders()
        block.reserveCapacity(trailers.count)
        for field in trailers { add(field, to: &block) }
        return block
    }

    private static func add(_ field: HTTPField, to block: inout HPACKHeaders) {
        let indexing: HPACKIndexing
        switch field.indexingStrategy {
        case .avoid: indexing = .nonIndexable
        case .disallow: indexing = .neverIndexed
        default: indexing = .indexable
        }
        block.add(name: field.name.canonicalName, value: field.value, indexing: indexing)
    }

    private static func strategy(_ indexing: HPACKIndexing) -> HTTPField.DynamicTableIndexingStrategy {
        switch indexing {
        case .indexable: return .automatic
        case .nonIndexable: return .avoid
        case .neverIndexed: return .disallow
        }
    }
}
