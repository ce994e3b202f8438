/// One lexical token. `offset` is the scalar offset of its first character in the whole source.
struct Token: Sendable {
    enum Kind: Sendable, Equatable {
        case identifier(String)
        case keyword(String)
        case integer(UInt64, suffix: String)   // suffix: "", "l", "u", "ul"
        case real(String, suffix: Character?)  // digits as written; suffix d, f, m or nil
        case string(String)
        case char(UInt16)
        case interpolated([InterpolationPiece])
        case punctuation(String)
        case end
    }

    let kind: Kind
    let offset: Int
    let endOffset: Int

    var isEnd: Bool { kind == .end }

    func isPunct(_ text: String) -> Bool { kind == .punctuation(text) }
    func isKeyword(_ text: String) -> Bool { kind == .keyword(text) }

    var identifier: String? {
        if case .identifier(let name) = kind { return name }
        return nil
    }

    var describe: String {
        switch kind {
        case .identifier(let name): return "'\(name)'"
        case .keyword(let name): return "'\(name)'"
        case .integer, .real: return "number"
        case .string, .interpolated: return "string"
        case .char: return "character"
        case .punctuation(let text): return "'\(text)'"
        case .end: return "end of expression"
        }
    }
}

/// A piece of an interpolated string: literal text, or a hole whose source range is re-lexed by the parser.
enum InterpolationPiece: Sendable, Equatable {
    case text(String)
    case hole(expression: Range<Int>, alignment: Range<Int>?, format: String?)
}

enum Keywords {
    static let all: Set<String> = [
        "true", "false", "null", "new", "typeof", "default", "is", "as", "var", "if", "else", "foreach",
        "in", "for", "while", "do", "switch", "case", "break", "continue", "return", "throw", "try",
        "catch", "finally", "out", "ref", "this", "void", "checked", "unchecked",
        "string", "int", "long", "double", "decimal", "bool", "char", "byte", "object", "float",
        "short", "uint", "ulong", "sbyte", "ushort",
    ]
    static let predefinedTypes: Set<String> = [
        "string", "int", "long", "double", "decimal", "bool", "char", "byte", "object", "float",
        "short", "uint", "ulong", "sbyte", "ushort", "void",
    ]
}
