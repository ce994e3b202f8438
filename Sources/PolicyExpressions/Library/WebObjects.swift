import Foundation
import Crypto

/// `WebUtility` and `Uri` escaping rules.
enum WebCoding {
    /// `WebUtility.UrlEncode`: unreserved `A-Za-z0-9-_.!*()` kept, space → `+`, others `%XX` uppercase.
    static func urlEncode(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case 0x41...0x5A, 0x61...0x7A, 0x30...0x39, 0x2D, 0x5F, 0x2E, 0x21, 0x2A, 0x28, 0x29: out.unicodeScalars.append(Unicode.Scalar(b))
            case 0x20: out += "+"
            default: out += "%" + Hex.encode([b])
            }
        }
        return out
    }

    /// `Uri.EscapeDataString`: RFC 3986 unreserved kept, everything else `%XX`.
    static func escapeDataString(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case 0x41...0x5A, 0x61...0x7A, 0x30...0x39, 0x2D, 0x5F, 0x2E, 0x7E: out.unicodeScalars.append(Unicode.Scalar(b))
            default: out += "%" + Hex.encode([b])
            }
        }
        return out
    }

    static func urlDecode(_ s: String, plusAsSpace: Bool = true) -> String {
        var bytes: [UInt8] = []
        let u = Array(s.utf8)
        var i = 0
        while i < u.count {
            if u[i] == 0x25, i + 2 < u.count, let hi = Hex.nibble(u[i + 1]), let lo = Hex.nibble(u[i + 2]) {
                bytes.append(hi << 4 | lo)
                i += 3
            } else {
                bytes.append(plusAsSpace && u[i] == 0x2B ? 0x20 : u[i])
                i += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func htmlEncode(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default:
                if c.value >= 160 && c.value < 256 { out += "&#\(c.value);" } else { out.unicodeScalars.append(c) }
            }
        }
        return out
    }

    static func htmlDecode(_ s: String) -> String {
        var out = s
        for (entity, text) in [("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\""), ("&#39;", "'"), ("&apos;", "'")] {
            out = out.replacingOccurrences(of: entity, with: text)
        }
        if let regex = try? NSRegularExpression(pattern: "&#(x?)([0-9A-Fa-f]+);") {
            let ns = out as NSString
            var result = ""
            var last = 0
            for m in regex.matches(in: out, range: NSRange(location: 0, length: ns.length)) {
                result += ns.substring(with: NSRange(location: last, length: m.range.location - last))
                let hex = ns.substring(with: m.range(at: 1)) == "x"
                let digits = ns.substring(with: m.range(at: 2))
                if let v = UInt32(digits, radix: hex ? 16 : 10), let scalar = Unicode.Scalar(v) { result.unicodeScalars.append(scalar) } else { result += ns.substring(with: m.range) }
                last = m.range.location + m.range.length
            }
            result += ns.substring(from: last)
            out = result
        }
        return out.replacingOccurrences(of: "&amp;", with: "&")
    }
}

/// `System.Uri` (absolute URIs).
final class UriObject: HostObject {
    let components: URLComponents
    let original: String
    var hostType: HostType { UriObject.type }

    init(_ text: String) throws {
        guard let components = URLComponents(string: text), let scheme = components.scheme, !scheme.isEmpty,
              components.host != nil || scheme == "file" || scheme == "urn" || scheme == "mailto" else {
            throw ExpressionRuntimeError("UriFormatException", "Invalid URI: The format of the URI could not be determined.")
        }
        if let port = components.port, !(0...65_535).contains(port) {
            throw ExpressionRuntimeError("UriFormatException", "Invalid URI: Invalid port specified.")
        }
        self.components = components
        self.original = text
    }

    var scheme: String { components.scheme?.lowercased() ?? "" }
    var port: Int32 {
        if let port = components.port { return Int32(clamping: port) }
        switch scheme {
        case "http", "ws": return 80
        case "https", "wss": return 443
        case "ftp": return 21
        default: return -1
        }
    }
    var isDefaultPort: Bool { components.port == nil || (scheme == "http" && port == 80) || (scheme == "https" && port == 443) }
    var host: String { components.host?.lowercased() ?? "" }
    var path: String { components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath }
    var query: String { components.percentEncodedQuery.map { "?" + $0 } ?? "" }
    var fragment: String { components.percentEncodedFragment.map { "#" + $0 } ?? "" }
    var authority: String { host + (isDefaultPort ? "" : ":\(port)") }
    var absoluteUri: String { scheme + "://" + authority + path + query + fragment }

    static let type = HostType(name: "Uri", members: [
        .property("Scheme", .string, of: UriObject.self) { .string($0.scheme) },
        .property("Host", .string, of: UriObject.self) { .string($0.host) },
        .property("Port", .int, of: UriObject.self) { .int($0.port) },
        .property("AbsolutePath", .string, of: UriObject.self) { .string($0.path) },
        .property("Query", .string, of: UriObject.self) { .string($0.query) },
        .property("Fragment", .string, of: UriObject.self) { .string($0.fragment) },
        .property("PathAndQuery", .string, of: UriObject.self) { .string($0.path + $0.query) },
        .property("Authority", .string, of: UriObject.self) { .string($0.authority) },
        .property("AbsoluteUri", .string, of: UriObject.self) { .string($0.absoluteUri) },
        .property("OriginalString", .string, of: UriObject.self) { .string($0.original) },
        .property("IsAbsoluteUri", .bool, of: UriObject.self) { _ in .bool(true) },
        .property("IsDefaultPort", .bool, of: UriObject.self) { .bool($0.isDefaultPort) },
        .property("Segments", .array(.string), of: UriObject.self) { uri in
            var segments: [Value] = []
            var current = ""
            for c in uri.path {
                current.append(c)
                if c == "/" { segments.append(.string(current)); current = "" }
            }
            if !current.isEmpty { segments.append(.string(current)) }
            return .list(ListBox(segments))
        },
        .method("GetLeftPart", [.enumeration(.uriPartial)], returns: .string, of: UriObject.self) { uri, a in
            switch enumRaw(a[0]) {
            case 0: return .string(uri.scheme + "://")
            case 1: return .string(uri.scheme + "://" + uri.authority)
            case 2: return .string(uri.scheme + "://" + uri.authority + uri.path)
            default: return .string(uri.scheme + "://" + uri.authority + uri.path + uri.query)
            }
        },
        .method("ToString", [], returns: .string, of: UriObject.self) { uri, _ in .string(WebCoding.urlDecode(uri.absoluteUri, plusAsSpace: false)) },
    ], toString: { object in (object as? UriObject).map { WebCoding.urlDecode($0.absoluteUri, plusAsSpace: false) } ?? "" })
}

/// `HashAlgorithm` / `HMAC` objects from `SHA256.Create()`, `new HMACSHA256(key)`, ...
final class HashObject: HostObject {
    enum Algorithm: String, Sendable { case md5 = "MD5", sha1 = "SHA1", sha256 = "SHA256", sha384 = "SHA384", sha512 = "SHA512" }
    let algorithm: Algorithm
    let key: [UInt8]?
    var hostType: HostType { HashObject.type }

    init(_ algorithm: Algorithm, key: [UInt8]? = nil) {
        self.algorithm = algorithm
        self.key = key
    }

    static func digest(_ algorithm: Algorithm, _ data: [UInt8]) -> [UInt8] {
        switch algorithm {
        case .md5: return Array(Insecure.MD5.hash(data: data))
        case .sha1: return Array(Insecure.SHA1.hash(data: data))
        case .sha256: return Array(SHA256.hash(data: data))
        case .sha384: return Array(SHA384.hash(data: data))
        case .sha512: return Array(SHA512.hash(data: data))
        }
    }

    static func hmac(_ algorithm: Algorithm, key: [UInt8], _ data: [UInt8]) -> [UInt8] {
        let k = SymmetricKey(data: key)
        switch algorithm {
        case .md5: return Array(HMAC<Insecure.MD5>.authenticationCode(for: data, using: k))
        case .sha1: return Array(HMAC<Insecure.SHA1>.authenticationCode(for: data, using: k))
        case .sha256: return Array(HMAC<SHA256>.authenticationCode(for: data, using: k))
        case .sha384: return Array(HMAC<SHA384>.authenticationCode(for: data, using: k))
        case .sha512: return Array(HMAC<SHA512>.authenticationCode(for: data, using: k))
        }
    }

    func compute(_ data: [UInt8]) -> [UInt8] {
        if let key { return HashObject.hmac(algorithm, key: key, data) }
        return HashObject.digest(algorithm, data)
    }

    static let type = HostType(name: "HashAlgorithm", members: [
        .method("ComputeHash", [.byteArray], returns: .byteArray, of: HashObject.self) { h, a in .bytes(h.compute(try bytes(a[0], "buffer"))) },
        .method("ComputeHash", [.byteArray, .int, .int], returns: .byteArray, of: HashObject.self) { h, a in
            let b = try bytes(a[0], "buffer"), offset = try int(a[1]), count = try int(a[2])
            guard offset >= 0, count >= 0, offset + count <= b.count else { throw ExpressionRuntimeError.argument("Offset and length were out of bounds for the array or count is greater than the number of elements from index to the end of the source collection.") }
            return .bytes(h.compute(Array(b[offset..<offset + count])))
        },
        .property("Key", .byteArray, of: HashObject.self) { .bytes($0.key ?? []) },
        .property("HashSize", .int, of: HashObject.self) { .int(Int32(HashObject.digest($0.algorithm, []).count * 8)) },
        .method("Dispose", [], returns: .void, of: HashObject.self) { _, _ in .null },
    ])
}
