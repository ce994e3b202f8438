
/// Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection and are never forwarded, in either
/// direction; nor is any header the `Connection` header names.
enum HopByHop {
    static let names: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
        "te", "trailer", "transfer-encoding", "upgrade", "expect", "http2-settings",
    ]

    /// A header name in lower case, without allocating when it already is (most HTTP/2 and many
    /// HTTP/1.1 clients send lower-case names).
    static func lowercased(_ name: String) -> String {
        name.utf8.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) ? name.lowercased() : name
    }
}
