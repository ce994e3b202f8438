import Foundation

/// A backend base URL, split once at load so forwarding only concatenates strings.
struct BackendTarget: Sendable {
    let scheme: String
    let host: String
    let port: Int
    /// Base path without a trailing slash ("" for the root).
    let basePath: String

    init?(_ text: String) {
        guard let components = URLComponents(string: text),
              let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = components.host, !host.isEmpty else { return nil }
        self.scheme = scheme
        self.host = host
        self.port = components.port ?? (scheme == "https" ? 443 : 80)
        var base = components.percentEncodedPath
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
