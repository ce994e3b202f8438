import HTTPTypes
import NIOHPACK

/// HEADERS frames ↔ swift-http-types, for `HTTP2StreamHandler`, which reads and writes the stream's
/// frame payloads itself (no `HTTP2FramePayloadToHTTPServerCodec` in the stream's pipeline: one
/// handler hop less per part, and a response's last DATA frame carries END_STREAM instead of an
/// empty DATA frame of its own).
///
/// Written here because swift-nio-extras keeps its conversions `package`-internal. NIOHTTP2's
/// header-block validation (on by default in `NIOHTTP2Handler`) has already refused blocks with
/// upper-case names, connection-specific fields, misplaced or missing pseudo-fields before a block
/// reaches a stream; what is checked here is what HTTPTypes itself needs.
enum HTTP2HeaderConversion {
    struct Malformed: Error, CustomStringConvertible {
        let description: String
    }

    /// A request's header block (pseudo-fields first).
    static func request(_ block: HPACKHeaders) throws -> HTTPRequest {
        var method: String?
        var scheme: String?
        var authority: String?
        var path: String?
        var extendedConnect: String?
        var index = block.startIndex
        while index != block.endIndex {
            let (name, value, _) = block[index]
            guard name.utf8.first == UInt8(ascii: ":") else { break }
            switch name {
            case ":method": try once(&method, value, name)
            case ":scheme": try once(&scheme, value, name)
            case ":authority": try once(&authority, value, name)
            case ":path": try once(&path, value, name)
            case ":protocol": try once(&extendedConnect, value, name)
            default: throw Malformed(description: "unknown pseudo-header field")
            }
            index = block.index(after: index)
        }
        guard let method else { throw Malformed(description: "no :method pseudo-header field") }
        guard let parsedMethod = HTTPRequest.Method(method) else { throw Malformed(description: "malformed :method") }
        var request = HTTPRequest(method: parsedMethod, scheme: scheme, authority: authority, path: path)
        if let extendedConnect { request.extendedConnectProtocol = extendedConnect }
        request.headerFields.reserveCapacity(block.count)
        while index != block.endIndex {
            let (name, value, indexing) = block[index]
            guard name.utf8.first != UInt8(ascii: ":") else { throw Malformed(description: "pseudo-header field after a regular field") }
            guard let fieldName = HTTPField.Name(name) else { throw Malformed(description: "malformed header field name") }
            var field = HTTPField(name: fieldName, value: value)
            field.indexingStrategy = strategy(indexing)
            request.headerFields.append(field)
            index = block.index(after: index)
        }
        return request
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
        for field in response.headerFields { add(field, to: &block) }
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
