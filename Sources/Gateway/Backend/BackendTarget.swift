import Foundation

/// A backend URL split into what a request to it needs: an API's backend once at load (forwarding
/// then only concatenates strings), a policy's or a CRL distribution point's URL per use.
struct BackendTarget: Sendable {
    let scheme: String
    /// Without brackets for an IPv6 literal.
    let host: String
    let port: Int
    /// The URL's own request target (percent-encoded path, `/` when empty, and query).
    let requestTarget: String
    /// Base path without a trailing slash ("" for the root).
    let basePath: String
    /// The Host header for this backend (the port only when it is not the scheme's default).
    let hostHeader: String
    /// `scheme://host[:port]` as the URL spelt it ("" when it was not split by hand): a URL starting
    /// with it has this target's host, port and scheme (see `onSameOrigin`).
    let origin: String

    init?(_ text: String) {
        guard let components = URLComponents(string: text) else { return nil }
        // The common spelling is split by hand: `URLComponents.host` IDNA-maps the host through ICU,
        // which alone makes ≈ 3 MB of ICU data resident in the gateway process.
        if let plain = Self(plain: text) {
            self = plain
            return
        }
        self.init(components: components)
    }

    init?(_ url: URL) {
        if let fast = Self(plain: url.absoluteString) {
            self = fast
            return
        }
        guard let components = URLComponents(url: url, resolvingAgainstBaseURL: false) else { return nil }
        self.init(components: components)
    }

    /// The common spelling — `http(s)://host[:port][/path][?query]`, host a plain lower-case name or
    /// IPv4 address, nothing to decode — split by hand over the UTF-8 bytes (a policy's backend URL,
    /// per request); anything else (userinfo, IPv6, fragments, upper case or escapes in the host) is
    /// left to `URLComponents`.
    init?(plain text: String) {
        var text = text
        guard let parts = text.withUTF8({ Self.split($0) }) else { return nil }
        self.scheme = parts.tls ? "https" : "http"
        self.host = parts.host
        self.port = parts.port
        self.requestTarget = parts.path.isEmpty ? "/" + parts.query : parts.path + parts.query
        self.basePath = parts.basePath
        self.hostHeader = Self.hostHeader(host: parts.host, port: parts.port, tls: parts.tls)
        self.origin = parts.origin
    }

    private init(scheme: String, host: String, port: Int, requestTarget: String, basePath: String, hostHeader: String,
                 origin: String) {
        self.scheme = scheme
        self.host = host
        self.port = port
        self.requestTarget = requestTarget
        self.basePath = basePath
        self.hostHeader = hostHeader
        self.origin = origin
    }

    /// The target of `url` when it starts with this target's origin followed by a path, a query or
    /// nothing — without splitting the URL again (a policy's backend URL is most often the API's own
    /// backend and a path). nil: parse it.
    func onSameOrigin(_ url: String) -> BackendTarget? {
        guard !origin.isEmpty else { return nil }
        var url = url
        var prefix = origin
        return url.withUTF8 { bytes -> BackendTarget? in
            let count = prefix.withUTF8 { originBytes -> Int? in
                guard bytes.count >= originBytes.count else { return nil }
                for index in 0..<originBytes.count where bytes[index] != originBytes[index] { return nil }
                return originBytes.count
            }
            guard let count else { return nil }
            let rest = UnsafeBufferPointer(rebasing: bytes[count...])
            if let first = rest.first, first != UInt8(ascii: "/"), first != UInt8(ascii: "?") { return nil }
            var pathEnd = rest.count
            for (index, byte) in rest.enumerated() {
                if byte == UInt8(ascii: "#") { return nil }
                if byte == UInt8(ascii: "?"), pathEnd == rest.count { pathEnd = index }
            }
            var baseEnd = pathEnd
            while baseEnd > 0, rest[baseEnd - 1] == UInt8(ascii: "/") { baseEnd -= 1 }
            let text = String(decoding: rest, as: UTF8.self)
            let requestTarget = pathEnd == 0 ? "/" + text : text
            return BackendTarget(scheme: scheme, host: host, port: port, requestTarget: requestTarget,
                                 basePath: String(decoding: UnsafeBufferPointer(rebasing: rest[0..<baseEnd]), as: UTF8.self),
                                 hostHeader: hostHeader, origin: origin)
        }
    }

    private static func hasPrefix(_ bytes: UnsafeBufferPointer<UInt8>, _ prefix: StaticString) -> Bool {
        let count = prefix.utf8CodeUnitCount
        guard bytes.count >= count else { return false }
        let start = prefix.utf8Start
        for offset in 0..<count where bytes[offset] != start[offset] { return false }
        return true
    }

    private static func split(_ bytes: UnsafeBufferPointer<UInt8>)
        -> (tls: Bool, host: String, port: Int, path: String, query: String, basePath: String, origin: String)? {
        var index: Int
        let tls: Bool
        if Self.hasPrefix(bytes, "https://") {
            tls = true
            index = 8
        } else if Self.hasPrefix(bytes, "http://") {
            tls = false
            index = 7
        } else {
            return nil
        }
        let hostStart = index
        while index < bytes.count {
            let byte = bytes[index]
            if (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39) || byte == 0x2D || byte == 0x2E {
                index += 1
            } else {
                break
            }
        }
        let hostEnd = index
        guard hostEnd > hostStart else { return nil }
        var port = tls ? 443 : 80
        if index < bytes.count, bytes[index] == UInt8(ascii: ":") {
            index += 1
            var value = 0
            var digits = 0
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39, digits < 5 {
                value = value * 10 + Int(bytes[index] - 0x30)
                digits += 1
                index += 1
            }
            guard digits > 0, value > 0, value <= 65_535 else { return nil }
            port = value
        }
        // What follows the authority: nothing, a path or a query — never a fragment.
        if index < bytes.count, bytes[index] != UInt8(ascii: "/"), bytes[index] != UInt8(ascii: "?") { return nil }
        let pathStart = index
        while index < bytes.count, bytes[index] != UInt8(ascii: "?") {
            if bytes[index] == UInt8(ascii: "#") { return nil }
            index += 1
        }
        let pathEnd = index
        let queryStart = index
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "#") { return nil }
            index += 1
        }
        var baseEnd = pathEnd
        while baseEnd > pathStart, bytes[baseEnd - 1] == UInt8(ascii: "/") { baseEnd -= 1 }
        let text = { (range: Range<Int>) in String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self) }
        return (tls, text(hostStart..<hostEnd), port, text(pathStart..<pathEnd), text(queryStart..<bytes.count),
                text(pathStart..<baseEnd), text(0..<pathStart))
    }

    private init?(components: URLComponents) {
        guard let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
              var host = components.host, !host.isEmpty else { return nil }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        self.scheme = scheme
        self.host = host
        self.port = components.port ?? (scheme == "https" ? 443 : 80)
        let path = components.percentEncodedPath
        self.requestTarget = (path.isEmpty ? "/" : path) + (components.percentEncodedQuery.map { "?" + $0 } ?? "")
        var base = path
        while base.hasSuffix("/") { base.removeLast() }
        self.basePath = base
        self.hostHeader = Self.hostHeader(host: host, port: self.port, tls: scheme == "https")
        self.origin = ""
    }

    var isTLS: Bool { scheme == "https" }

    static func hostHeader(host: String, port: Int, tls: Bool) -> String {
        let hostPart = host.utf8.contains(UInt8(ascii: ":")) ? "[\(host)]" : host
        return port == (tls ? 443 : 80) ? hostPart : hostPart + ":" + String(port)
    }

    /// The request target for a request: base path + the path below the API prefix + the query.
    func target(remainingPath: String, query: Substring?) -> String {
        var target = basePath + (remainingPath == "/" && !basePath.isEmpty ? "" : remainingPath)
        if target.isEmpty { target = "/" }
        if let query, !query.isEmpty { target += "?" + query }
        return target
    }

    /// The backend URL for a request: base path + the path below the API prefix + the query.
    func url(remainingPath: String, query: String?) -> String {
        let hostPart = host.utf8.contains(UInt8(ascii: ":")) ? "[\(host)]" : host
        var url = "\(scheme)://\(hostPart):\(port)\(basePath)\(remainingPath == "/" && !basePath.isEmpty ? "" : remainingPath)"
        if let query, !query.isEmpty { url += "?" + query }
        return url
    }
}
