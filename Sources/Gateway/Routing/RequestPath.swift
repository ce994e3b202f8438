/// A request path in the one form that routing matches and the backend receives, so that no spelling
/// of a path reaches a resource under another operation's policies.
///
/// Each segment is normalised as RFC 3986 §6.2.2 allows without changing what it names: escapes of
/// unreserved characters are decoded (`%61dmin` → `admin`) and the hex of the others upper-cased
/// (`%2f` → `%2F`). Matching then uses a *key* per segment, chosen so that a backend's reading of a
/// segment can only be the key or something routing treats the same way:
/// - the percent-decoded text before any `;` (Servlet/Tomcat/Spring path parameters: `admin;x=1` is
///   `admin` there);
/// - without trailing dots and spaces (IIS and Windows file systems drop them: `admin%20`, `admin.`);
/// - compared case-insensitively (APIM matches URL templates regardless of case; case-insensitive
///   backends such as IIS then cannot be reached by another case either).
/// Refused outright (400): dot segments in any spelling (`..`, `%2e%2E`, `..;x`, `..%20`), encoded
/// or raw backslashes and encoded slashes, control characters and NUL, malformed escapes, non-UTF-8
/// bytes, and double encodings that decode to any of these (`%252e%252e`), since some backends decode
/// twice.
struct RequestPath {
    /// Normalised segments (still percent-encoded where needed), as forwarded.
    let segments: [String]
    /// Fully decoded segments: template parameter values.
    let decoded: [String]
    /// Matching keys (see above).
    let keys: [String]
    let trailingSlash: Bool

    /// The whole path in normal form.
    var normalized: String {
        "/" + segments.joined(separator: "/") + (trailingSlash && !segments.isEmpty ? "/" : "")
    }

    init?(_ path: Substring) {
        guard path.first == "/" else { return nil }
        var segments: [String] = []
        var decoded: [String] = []
        var keys: [String] = []
        for raw in path.split(separator: "/", omittingEmptySubsequences: true) {
            guard let segment = Self.normalize(raw) else { return nil }
            segments.append(segment.normalized)
            decoded.append(segment.decoded)
            keys.append(segment.key)
        }
        self.segments = segments
        self.decoded = decoded
        self.keys = keys
        self.trailingSlash = path.count > 1 && path.last == "/"
    }

    /// ASCII case-insensitive equality (other characters compare exactly), without allocating.
    static func sameSegment(_ a: String, _ b: String) -> Bool {
        var left = a.utf8.makeIterator()
        var right = b.utf8.makeIterator()
        while true {
            switch (left.next(), right.next()) {
            case (nil, nil): return true
            case (let x?, let y?):
                if x == y { continue }
                let lx = (x >= 0x41 && x <= 0x5A) ? x | 0x20 : x
                let ly = (y >= 0x41 && y <= 0x5A) ? y | 0x20 : y
                if lx != ly { return false }
            default: return false
            }
        }
    }

    private static func normalize(_ raw: Substring) -> (normalized: String, decoded: String, key: String)? {
        var normalized: [UInt8] = []
        var bytes: [UInt8] = []
        normalized.reserveCapacity(raw.utf8.count)
        bytes.reserveCapacity(raw.utf8.count)
        let wellFormed = PercentDecoding.forEachByte(raw) { value, escaped in
            bytes.append(value)
            if !escaped || isUnreserved(value) {
                normalized.append(value)
            } else {
                normalized.append(UInt8(ascii: "%"))
                normalized.append(hexDigit(value >> 4))
                normalized.append(hexDigit(value & 0x0F))
            }
        }
        guard wellFormed else { return nil }
        guard !bytes.contains(where: isForbidden) else { return nil }
        guard let decoded = String(validating: bytes, as: UTF8.self) else { return nil }
        // Some backends decode twice: what a second decoding yields must pass the same checks.
        if bytes.contains(UInt8(ascii: "%")), let twice = PercentDecoding.decode(decoded) {
            if twice.utf8.contains(where: isForbidden) || twice.utf8.contains(UInt8(ascii: "/")) { return nil }
            if isDotSegment(matchingKey(twice)) { return nil }
        }
        let key = matchingKey(decoded)
        guard !key.isEmpty, !isDotSegment(key) else { return nil }
        return (String(decoding: normalized, as: UTF8.self), decoded, key)
    }

    /// The text before `;`, without trailing dots and spaces (an all-dot text keeps its dots so that
    /// `..;x` and `.. ` are seen as the dot segments they are).
    private static func matchingKey(_ decoded: String) -> String {
        var key = Substring(decoded)
        if let semicolon = key.firstIndex(of: ";") { key = key[..<semicolon] }
        while let last = key.last, last == " " { key = key.dropLast() }
        if key.allSatisfy({ $0 == "." }) { return String(key) }
        while let last = key.last, last == "." || last == " " { key = key.dropLast() }
        return String(key)
    }

    private static func isDotSegment(_ key: String) -> Bool {
        !key.isEmpty && key.allSatisfy { $0 == "." }
    }

    /// Control characters, NUL, DEL, `/` (only reachable encoded) and `\` (either way).
    private static func isForbidden(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == 0x7F || byte == UInt8(ascii: "/") || byte == UInt8(ascii: "\\")
    }

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
             UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "A") + value - 10
    }
}
