import Foundation

/// A response as `cache-store` keeps it: status, headers (without the connection-specific ones and
/// `Set-Cookie`, which must not be replayed to another client), body, and when it expires (for the
/// downstream `max-age`).
public struct CachedResponse: Sendable {
    public let status: Int
    public let reason: String
    public let headers: [PolicyHeader]
    public let body: [UInt8]
    public let expires: Date

    /// Headers never stored: hop-by-hop ones, framing (recomputed when served), and cookies.
    static let leftOut: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "content-length", "set-cookie",
    ]

    init(status: Int, reason: String, headers: [PolicyHeader], body: [UInt8], expires: Date) {
        self.status = status
        self.reason = reason
        self.headers = headers.filter { !Self.leftOut.contains($0.name.lowercased()) }
        self.body = body
        self.expires = expires
    }

    var byteCount: Int {
        body.count + headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 16 } + reason.utf8.count + 64
    }
}
