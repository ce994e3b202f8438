
/// Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection and are never forwarded, in either
/// direction; nor is any header the `Connection` header names.
enum HopByHop {
    static let names: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
        "te", "trailer", "transfer-encoding", "upgrade", "expect", "http2-settings",
    ]
}
