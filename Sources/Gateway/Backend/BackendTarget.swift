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
        guard let components = URLComponents(url: url, resolvingAgainstBaseURL: false) else { return nil }
        self.init(components: components)
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
        let hostPart = host.contains(":") ? "[\(host)]" : host
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
        let hostPart = host.contains(":") ? "[\(host)]" : host
        var url = "\(scheme)://\(hostPart):\(port)\(basePath)\(remainingPath == "/" && !basePath.isEmpty ? "" : remainingPath)"
        if let query, !query.isEmpty { url += "?" + query }
        return url
    }
}
