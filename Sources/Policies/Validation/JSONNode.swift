import Foundation

/// A JSON value with where it was read (1-based line and column): request and response bodies for
/// `validate-content`, and the OpenAPI / JSON Schema documents the validation policies compile at load
/// (read from YAML or JSON by the configuration, see `GatewayConfiguration`). Positions go into
/// APIM-style error details ("Line: 3, Position: 12"); equality (`enum`, `const`, `uniqueItems`) ignores them.
public struct JSONNode: Sendable {
    public indirect enum Kind: Sendable {
        case null
        case bool(Bool)
        case number(Double)
        case string(String)
        case array([JSONNode])
        /// Members in document order (duplicate names are refused by the parser).
        case object([(String, JSONNode)])
    }

    public var kind: Kind
    public var line: Int
    public var column: Int

    public init(_ kind: Kind, line: Int = 0, column: Int = 0) {
        self.kind = kind
        self.line = line
        self.column = column
    }

    public subscript(_ name: String) -> JSONNode? {
        guard case .object(let members) = kind else { return nil }
        return members.first { $0.0 == name }?.1
    }

    public var string: String? { if case .string(let text) = kind { text } else { nil } }
    public var number: Double? { if case .number(let value) = kind { value } else { nil } }
    public var bool: Bool? { if case .bool(let value) = kind { value } else { nil } }
    public var array: [JSONNode]? { if case .array(let items) = kind { items } else { nil } }
    public var members: [(String, JSONNode)]? { if case .object(let members) = kind { members } else { nil } }

    /// Json.NET's name for the token type, as its schema errors write it ("Expected Integer but got String").
    var typeName: String {
        switch kind {
        case .null: "Null"
        case .bool: "Boolean"
        case .number(let value): JSONNode.isIntegral(value) ? "Integer" : "Float"
        case .string: "String"
        case .array: "Array"
        case .object: "Object"
        }
    }

    static func isIntegral(_ value: Double) -> Bool { value.isFinite && value.rounded(.towardZero) == value }

    /// Structural equality (JSON Schema's: numbers by value, objects regardless of member order).
    func equals(_ other: JSONNode, depth: Int = 0) -> Bool {
        guard depth < 64 else { return false }
        switch (kind, other.kind) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.number(let a), .number(let b)): return a == b
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.equals($1, depth: depth + 1) }
        case (.object(let a), .object(let b)):
            guard a.count == b.count else { return false }
            return a.allSatisfy { name, value in b.first { $0.0 == name }.map { value.equals($0.1, depth: depth + 1) } ?? false }
        default: return false
        }
    }

    /// Short text of the value for messages (strings quoted as Json.NET does, long ones cut).
    var shortDescription: String {
        switch kind {
        case .null: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .number(let value): return JSONNode.format(value)
        case .string(let text): return text.count <= 64 ? text : String(text.prefix(61)) + "..."
        case .array: return "array"
        case .object: return "object"
        }
    }

    static func format(_ value: Double) -> String {
        if isIntegral(value), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}

/// A strict JSON parser (RFC 8259) for hostile bodies: bounded depth and size, no duplicate member
/// names, numbers as doubles, every string checked UTF-8. Hand-written because Foundation's
/// JSONSerialization reports neither positions nor duplicate names and the expression runtime's
/// reader (`JToken`) turns date-like strings into dates, which JSON Schema must see as strings.
public enum StrictJSON {
    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public let message: String
        public let line: Int
        public let column: Int
        public var description: String { "\(message) Line: \(line), Position: \(column)." }
    }

    public static let maximumDepth = 128

    public static func parse(_ bytes: [UInt8], maximumNodes: Int = 1_000_000) throws(ParseError) -> JSONNode {
        var parser = Parser(bytes: bytes, maximumNodes: maximumNodes)
        parser.skipWhitespace()
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw parser.error("Additional text encountered after finished reading JSON content.") }
        return value
    }

    struct Parser {
        let bytes: [UInt8]
        let maximumNodes: Int
        var index = 0
        var line = 1
        var lineStart = 0
        var nodes = 0

        init(bytes: [UInt8], maximumNodes: Int) {
            self.bytes = bytes
            self.maximumNodes = maximumNodes
            // A UTF-8 byte order mark is allowed before the value.
            if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { index = 3; lineStart = 3 }
        }

        var column: Int { index - lineStart + 1 }

        func error(_ message: String) -> ParseError { ParseError(message: message, line: line, column: column) }

        mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0D: index += 1
                case 0x0A: index += 1; line += 1; lineStart = index
                default: return
                }
            }
        }

        mutating func value(depth: Int) throws(ParseError) -> JSONNode {
            guard depth < StrictJSON.maximumDepth else { throw error("The JSON is nested more than \(StrictJSON.maximumDepth) levels deep.") }
            nodes += 1
            guard nodes <= maximumNodes else { throw error("The JSON has more than \(maximumNodes) values.") }
            guard index < bytes.count else { throw error("Unexpected end when reading JSON.") }
            let (startLine, startColumn) = (line, column)
            func node(_ kind: JSONNode.Kind) -> JSONNode { JSONNode(kind, line: startLine, column: startColumn) }
            switch bytes[index] {
            case UInt8(ascii: "{"):
                index += 1
                var members: [(String, JSONNode)] = []
                var names = Set<String>()
                skipWhitespace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return node(.object(members)) }
                while true {
                    skipWhitespace()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw error("Invalid property identifier character.") }
                    let name = try string()
                    guard names.insert(name).inserted else { throw error("Duplicate property name '\(name)'.") }
                    skipWhitespace()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("Invalid character after parsing property name. Expected ':'.") }
                    index += 1
                    skipWhitespace()
                    members.append((name, try value(depth: depth + 1)))
                    skipWhitespace()
                    guard index < bytes.count else { throw error("Unexpected end when reading JSON.") }
                    if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                    if bytes[index] == UInt8(ascii: "}") { index += 1; return node(.object(members)) }
                    throw error("After parsing a value an unexpected character was encountered.")
                }
            case UInt8(ascii: "["):
                index += 1
                var items: [JSONNode] = []
                skipWhitespace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return node(.array(items)) }
                while true {
                    skipWhitespace()
                    items.append(try value(depth: depth + 1))
                    skipWhitespace()
                    guard index < bytes.count else { throw error("Unexpected end when reading JSON.") }
                    if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                    if bytes[index] == UInt8(ascii: "]") { index += 1; return node(.array(items)) }
                    throw error("After parsing a value an unexpected character was encountered.")
                }
            case UInt8(ascii: "\""):
                return node(.string(try string()))
            case UInt8(ascii: "t"): try literal("true"); return node(.bool(true))
            case UInt8(ascii: "f"): try literal("false"); return node(.bool(false))
            case UInt8(ascii: "n"): try literal("null"); return node(.null)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                return node(.number(try number()))
            default:
                throw error("Unexpected character encountered while parsing value.")
            }
        }

        mutating func literal(_ word: String) throws(ParseError) {
            let expected = Array(word.utf8)
            let count = expected.count
            guard index + count <= bytes.count else { throw error("Unexpected end when reading JSON.") }
            let matches = (0..<count).allSatisfy { bytes[index + $0] == expected[$0] }
            guard matches else { throw error("Unexpected character encountered while parsing value.") }
            index += count
        }

        mutating func number() throws(ParseError) -> Double {
            let start = index
            if bytes[index] == UInt8(ascii: "-") { index += 1 }
            func digits() -> Int {
                let from = index
                while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 { index += 1 }
                return index - from
            }
            guard index < bytes.count else { throw error("Unexpected end when reading JSON.") }
            if bytes[index] == UInt8(ascii: "0") { index += 1 } else if digits() == 0 { throw error("Invalid number.") }
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                index += 1
                guard digits() > 0 else { throw error("Invalid number.") }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
                guard digits() > 0 else { throw error("Invalid number.") }
            }
            guard index - start <= 400, let value = Double(String(decoding: bytes[start..<index], as: UTF8.self)), value.isFinite else {
                throw error("Invalid number.")
            }
            return value
        }

        mutating func string() throws(ParseError) -> String {
            index += 1  // the opening quote
            var out: [UInt8] = []
            while true {
                guard index < bytes.count else { throw error("Unterminated string. Expected delimiter: \".") }
                let byte = bytes[index]
                switch byte {
                case UInt8(ascii: "\""):
                    index += 1
                    guard let text = String(validating: out, as: UTF8.self) else { throw error("Invalid UTF-8 in string.") }
                    return text
                case UInt8(ascii: "\\"):
                    index += 1
                    guard index < bytes.count else { throw error("Unterminated string. Expected delimiter: \".") }
                    let escape = bytes[index]
                    index += 1
                    switch escape {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        var scalar = try hex4()
                        if (0xD800...0xDBFF).contains(scalar) {
                            guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                                throw error("Invalid Unicode surrogate pair.")
                            }
                            index += 2
                            let low = try hex4()
                            guard (0xDC00...0xDFFF).contains(low) else { throw error("Invalid Unicode surrogate pair.") }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else if (0xDC00...0xDFFF).contains(scalar) {
                            throw error("Invalid Unicode surrogate pair.")
                        }
                        guard let unicode = Unicode.Scalar(scalar) else { throw error("Invalid Unicode escape.") }
                        out.append(contentsOf: Array(String(Character(unicode)).utf8))
                    default:
                        throw error("Bad JSON escape sequence.")
                    }
                default:
                    guard byte >= 0x20 else { throw error("Invalid character in string (control characters must be escaped).") }
                    out.append(byte)
                    index += 1
                }
            }
        }

        mutating func hex4() throws(ParseError) -> UInt32 {
            guard index + 4 <= bytes.count else { throw error("Invalid Unicode escape.") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[index]
                let digit: UInt32
                switch byte {
                case 0x30...0x39: digit = UInt32(byte - 0x30)
                case 0x41...0x46: digit = UInt32(byte - 0x41 + 10)
                case 0x61...0x66: digit = UInt32(byte - 0x61 + 10)
                default: throw error("Invalid Unicode escape.")
                }
                value = value << 4 | digit
                index += 1
            }
            return value
        }
    }
}
