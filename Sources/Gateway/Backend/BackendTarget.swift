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

    init?(_ text: String) {
        guard let components = URLComponents(string: text) else { return nil }
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

    /// The common spelling — `http(s)://host[:port][/path][?query]`, host a plain name or IPv4
    /// address, nothing to decode — split by hand (a policy's backend URL, per request); anything
    /// else (userinfo, IPv6, fragments, escapes in the host) is left to `URLComponents`.
    init?(plain text: String) {
        let utf8 = text.utf8
        let scheme: String
        var rest: Substring.UTF8View
        if utf8.starts(with: "https://".utf8) {
            scheme = "https"
            rest = Substring(text).utf8.dropFirst(8)
        } else if utf8.starts(with: "http://".utf8) {
            scheme = "http"
            rest = Substring(text).utf8.dropFirst(7)
        } else {
            return nil
        }
        let hostEnd = rest.firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") } ?? rest.endIndex
        let authority = rest[..<hostEnd]
        rest = rest[hostEnd...]
        if rest.contains(UInt8(ascii: "#")) { return nil }
        var host = authority
        var port = scheme == "https" ? 443 : 80
        if let colon = authority.firstIndex(of: UInt8(ascii: ":")) {
            host = authority[..<colon]
            let digits = authority[authority.index(after: colon)...]
            guard !digits.isEmpty, digits.count <= 5, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                  let value = Int(Substring(digits)), value > 0, value <= 65_535 else { return nil }
            port = value
        }
        guard !host.isEmpty, host.allSatisfy({ byte in
            (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
        }) else { return nil }
        self.scheme = scheme
        self.host = String(Substring(host))
        self.port = port
        let queryStart = rest.firstIndex(of: UInt8(ascii: "?")) ?? rest.endIndex
        let path = String(Substring(rest[..<queryStart]))
        self.requestTarget = (path.isEmpty ? "/" : path) + String(Substring(rest[queryStart...]))
        var base = path
        while base.hasSuffix("/") { base.removeLast() }
        self.basePath = base
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
    }

    var isTLS: Bool { scheme == "https" }

    /// The Host header for this backend (the port only when it is not the scheme's default).
    var hostHeader: String {
        let hostPart = host.utf8.contains(UInt8(ascii: ":")) ? "[\(host)]" : host
        return port == (isTLS ? 443 : 80) ? hostPart : "\(hostPart):\(port)"
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
