/// Client-supplied text made safe for a log line: what a client sends (server name, path, method,
/// header values) must never forge a log entry (CR/LF), drive a terminal (ESC and other control
/// characters) or break a key=value or JSON reader (quotes, backslashes). Printable ASCII passes
/// unchanged; everything else becomes `\xNN` per byte (UTF-8 bytes of non-ASCII text included), and
/// the text is cut at `limit` bytes with a marker.
public enum LogText {
    public static func escape<S: StringProtocol>(_ text: S, limit: Int = 512) -> String {
        var out = ""
        out.reserveCapacity(min(text.utf8.count, limit) + 8)
        var count = 0
        for byte in text.utf8 {
            if count >= limit {
                out += "…(cut)"
                break
            }
            count += 1
            switch byte {
            case 0x20...0x7E where byte != UInt8(ascii: "\\") && byte != UInt8(ascii: "\""):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "\\x"
                out.unicodeScalars.append(Unicode.Scalar(hex(byte >> 4)))
                out.unicodeScalars.append(Unicode.Scalar(hex(byte & 0x0F)))
            }
        }
        return out
    }

    private static func hex(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }
}
