import SwiftASN1

/// Small, throwing accessors over SwiftASN1 nodes, used by the hand-written parsers (names, CRLs,
/// distribution points, PKCS#7) so every malformed input becomes a specific error instead of a crash.
extension ASN1Node {
    /// The children of a constructed node, or an error naming what was expected.
    func children(_ what: @autoclosure () -> String) throws -> [ASN1Node] {
        guard case .constructed(let nodes) = content else {
            throw CertificateParsingError.malformed("\(what()) is not a constructed ASN.1 value")
        }
        return Array(nodes)
    }

    /// The content bytes of a primitive node.
    func primitiveBytes(_ what: @autoclosure () -> String) throws -> ArraySlice<UInt8> {
        guard case .primitive(let bytes) = content else {
            throw CertificateParsingError.malformed("\(what()) is not a primitive ASN.1 value")
        }
        return bytes
    }

    func isContextTag(_ number: UInt) -> Bool {
        identifier.tagClass == .contextSpecific && identifier.tagNumber == number
    }
}

/// Errors raised while decoding certificate-related structures (names, extensions, CRLs).
public enum CertificateParsingError: Error, Sendable, Equatable, CustomStringConvertible {
    case malformed(String)

    public var description: String {
        switch self {
        case .malformed(let detail): return "Malformed certificate data: \(detail)"
        }
    }
}

public enum Hex {
    private static let upperDigits: [UInt8] = Array("0123456789ABCDEF".utf8)

    /// Uppercase hex without separators, as .NET prints thumbprints and serial numbers.
    public static func upper<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            out.append(upperDigits[Int(byte >> 4)])
            out.append(upperDigits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes hex (any case, optional spaces or colons); nil when not hex.
    static func decode(_ text: String) -> [UInt8]? {
        let digits = text.utf8.filter { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: ":") }
        guard digits.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        var index = digits.startIndex
        while index < digits.endIndex {
            guard let high = value(digits[index]), let low = value(digits[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    private static func value(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return digit - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
