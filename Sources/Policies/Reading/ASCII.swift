/// Byte constants for the hand-written reader (the input is scanned as UTF-8 bytes).
enum ASCII {
    static let lessThan = UInt8(ascii: "<")
    static let greaterThan = UInt8(ascii: ">")
    static let slash = UInt8(ascii: "/")
    static let backslash = UInt8(ascii: "\\")
    static let equals = UInt8(ascii: "=")
    static let quote = UInt8(ascii: "\"")
    static let apostrophe = UInt8(ascii: "'")
    static let ampersand = UInt8(ascii: "&")
    static let semicolon = UInt8(ascii: ";")
    static let hash = UInt8(ascii: "#")
    static let at = UInt8(ascii: "@")
    static let dollar = UInt8(ascii: "$")
    static let colon = UInt8(ascii: ":")
    static let star = UInt8(ascii: "*")
    static let question = UInt8(ascii: "?")
    static let exclamation = UInt8(ascii: "!")
    static let openParen = UInt8(ascii: "(")
    static let closeParen = UInt8(ascii: ")")
    static let openBrace = UInt8(ascii: "{")
    static let closeBrace = UInt8(ascii: "}")
    static let openBracket = UInt8(ascii: "[")
    static let closeBracket = UInt8(ascii: "]")
    static let space = UInt8(ascii: " ")
    static let tab = UInt8(ascii: "\t")
    static let newline = UInt8(ascii: "\n")
    static let carriageReturn = UInt8(ascii: "\r")

    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == space || byte == tab || byte == newline || byte == carriageReturn
    }

    /// XML name start characters; every non-ASCII byte is accepted as part of a name.
    static func isNameStart(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "_"),
            UInt8(ascii: ":"), 0x80...0xFF:
            true
        default:
            false
        }
    }

    static func isNameByte(_ byte: UInt8) -> Bool {
        isNameStart(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}

/// Allocation-free fast paths for per-request text work; each falls back to Foundation's or the
/// standard library's full Unicode behaviour whenever the input is not plain ASCII.
extension ASCII {
    static func isASCII(_ text: String) -> Bool { text.utf8.allSatisfy { $0 < 0x80 } }

    /// `text.uppercased()`, without a copy when there is nothing to change.
    static func uppercased(_ text: String) -> String {
        text.utf8.contains { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || $0 >= 0x80 } ? text.uppercased() : text
    }

    /// `text` without `prefix` when it starts with it ignoring case (`lowercased().hasPrefix`), else nil.
    static func droppingPrefixIgnoringCase(_ prefix: String, from text: String) -> String? {
        guard isASCII(prefix), isASCII(text) else {
            return text.lowercased().hasPrefix(prefix.lowercased()) ? String(text.dropFirst(prefix.count)) : nil
        }
        let textBytes = text.utf8, prefixBytes = prefix.utf8
        guard textBytes.count >= prefixBytes.count else { return nil }
        for (a, b) in zip(textBytes, prefixBytes) where a != b {
            guard a | 0x20 == b | 0x20, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(a | 0x20) else { return nil }
        }
        return String(decoding: textBytes.dropFirst(prefixBytes.count), as: UTF8.self)
    }

    /// `text.trimmingCharacters(in: .whitespaces)`, without Foundation when the ends are plain ASCII.
    static func trimmingWhitespace(_ text: String) -> String {
        let bytes = text.utf8
        guard let first = bytes.first, let last = bytes.last else { return text }
        func plain(_ byte: UInt8) -> Bool { byte < 0x80 && byte != space && byte != tab }
        if plain(first) && plain(last) { return text }
        guard isASCII(text) else { return text.trimmingCharacters(in: .whitespaces) }
        guard let start = bytes.firstIndex(where: { $0 != space && $0 != tab }) else { return "" }
        guard let end = bytes.lastIndex(where: { $0 != space && $0 != tab }) else { return "" }
        return String(decoding: bytes[start...end], as: UTF8.self)
    }
}
