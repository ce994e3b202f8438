
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

    /// True for a header name that is certainly none of those the gateway treats specially (hop-by-hop,
    /// Host, Content-Length, X-Forwarded-*, Forwarded, certificate headers, any name with `_`), decided
    /// from its first byte and length without lower-casing: `Accept`, `User-Agent`, `Content-Type`,
    /// `Cookie`, `Authorization`… skip the set look-ups. False means "look closer", not "special".
    static func isOrdinary(_ name: String) -> Bool {
        let utf8 = name.utf8
        guard let first = utf8.first else { return false }
        if utf8.contains(UInt8(ascii: "_")) { return false }
        switch first | 0x20 {
        case UInt8(ascii: "a"), UInt8(ascii: "b"), UInt8(ascii: "d"), UInt8(ascii: "g"), UInt8(ascii: "i"),
             UInt8(ascii: "j"), UInt8(ascii: "l"), UInt8(ascii: "m"), UInt8(ascii: "n"), UInt8(ascii: "o"),
             UInt8(ascii: "q"), UInt8(ascii: "r"), UInt8(ascii: "v"), UInt8(ascii: "w"), UInt8(ascii: "y"),
             UInt8(ascii: "z"):
            return true
        case UInt8(ascii: "u"):
            return utf8.count != 7  // upgrade
        case UInt8(ascii: "c"):
            // connection (10), content-length (14), client-cert… (11+)
            return utf8.count != 10 && utf8.count != 14 && !(utf8.count >= 11 && (utf8.dropFirst().first ?? 0) | 0x20 == UInt8(ascii: "l"))
        default:
            return false
        }
    }
}
