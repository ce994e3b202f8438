/// Turns C# source into tokens. Handles regular, verbatim and interpolated strings, chars,
/// numeric suffixes and every operator the subset needs. Never traps: malformed input throws.
struct Lexer {
    private let source: SourceText
    private var position: Int
    private let end: Int
    /// Nesting of interpolated strings inside holes; bounded so hostile input cannot exhaust the stack.
    private var interpolationDepth = 0

    init(source: SourceText, range: Range<Int>? = nil) {
        self.source = source
        self.position = range?.lowerBound ?? 0
        self.end = range?.upperBound ?? source.scalars.count
    }

    static func tokenize(_ source: SourceText, range: Range<Int>? = nil) throws -> [Token] {
        var lexer = Lexer(source: source, range: range)
        var tokens: [Token] = []
        while true {
            let token = try lexer.next()
            tokens.append(token)
            if token.isEnd { return tokens }
        }
    }

    private func peek(_ ahead: Int = 0) -> Unicode.Scalar? {
        let index = position + ahead
        return index < end ? source.scalars[index] : nil
    }

    private func error(_ message: String, at offset: Int? = nil) -> PositionedError {
        PositionedError(offset: offset ?? position, message: message)
    }

    private mutating func skipTrivia() throws {
        while let c = peek() {
            if c.properties.isWhitespace { position += 1; continue }
            if c == "/" && peek(1) == "/" {
                while let d = peek(), d != "\n" { position += 1; _ = d }
                continue
            }
            if c == "/" && peek(1) == "*" {
                let start = position
                position += 2
                while true {
                    guard let d = peek() else { throw error("unterminated comment", at: start) }
                    if d == "*" && peek(1) == "/" { position += 2; break }
                    position += 1
                }
                continue
            }
            return
        }
    }

    static func isIdentifierStart(_ c: Unicode.Scalar) -> Bool {
        c == "_" || c.properties.isAlphabetic
    }

    static func isIdentifierPart(_ c: Unicode.Scalar) -> Bool {
        c == "_" || c.properties.isAlphabetic || ("0"..."9").contains(c)
    }

    private static let punctuators: [String] = [
        "<<=", "??=", "=>", "==", "!=", "<=", ">=", "&&", "||", "++", "--", "+=", "-=", "*=", "/=", "%=",
        "&=", "|=", "^=", "<<", "??", "?.", "?[", "::",
        "{", "}", "(", ")", "[", "]", ".", ",", ":", ";", "+", "-", "*", "/", "%", "&", "|", "^", "!",
        "~", "=", "<", ">", "?",
    ]
    // `>>` is deliberately not a token: the parser joins two `>` so that `List<List<int>>` works.

    /// Punctuators by first character, longest first, as scalar arrays (cheap to compare).
    private static let punctuatorsByFirst: [Unicode.Scalar: [(String, [Unicode.Scalar])]] = {
        var table: [Unicode.Scalar: [(String, [Unicode.Scalar])]] = [:]
        for punct in punctuators {
            let scalars = Array(punct.unicodeScalars)
            table[scalars[0], default: []].append((punct, scalars))
        }
        return table
    }()

    mutating func next() throws -> Token {
        try skipTrivia()
        let start = position
        guard let c = peek() else { return Token(kind: .end, offset: end, endOffset: end) }

        if c == "@" && peek(1) == "\"" {
            position += 2
            let text = try verbatimString(start: start)
            return Token(kind: .string(text), offset: start, endOffset: position)
        }
        if (c == "$" && peek(1) == "\"") || (c == "$" && peek(1) == "@" && peek(2) == "\"")
            || (c == "@" && peek(1) == "$" && peek(2) == "\"") {
            let verbatim = peek(1) == "@" || c == "@"
            position += verbatim ? 3 : 2
            let pieces = try interpolatedString(start: start, verbatim: verbatim)
            return Token(kind: .interpolated(pieces), offset: start, endOffset: position)
        }
        if c == "@" , let d = peek(1), Lexer.isIdentifierStart(d) {
            position += 1
            let name = identifier()
            return Token(kind: .identifier(name), offset: start, endOffset: position)
        }
        if Lexer.isIdentifierStart(c) {
            let name = identifier()
            let kind: Token.Kind = Keywords.all.contains(name) ? .keyword(name) : .identifier(name)
            return Token(kind: kind, offset: start, endOffset: position)
        }
        if ("0"..."9").contains(c) || (c == "." && peek(1).map { ("0"..."9").contains($0) } == true) {
            return try number(start: start)
        }
        if c == "\"" {
            position += 1
            let text = try regularString(start: start)
            return Token(kind: .string(text), offset: start, endOffset: position)
        }
        if c == "'" {
            position += 1
            return try character(start: start)
        }
        for (punct, scalars) in Lexer.punctuatorsByFirst[c] ?? [] where matches(scalars) {
            position += scalars.count
            return Token(kind: .punctuation(punct), offset: start, endOffset: position)
        }
        throw error("unexpected character '\(c)'")
    }

    private func matches(_ scalars: [Unicode.Scalar]) -> Bool {
        var index = position
        for scalar in scalars {
            guard index < end, source.scalars[index] == scalar else { return false }
            index += 1
        }
        return true
    }

    private mutating func identifier() -> String {
        var name = String.UnicodeScalarView()
        while let c = peek(), Lexer.isIdentifierPart(c) { name.append(c); position += 1 }
        return String(name)
    }

    private mutating func number(start: Int) throws -> Token {
        if peek() == "0", let x = peek(1), x == "x" || x == "X" {
            position += 2
            var value: UInt64 = 0
            var digits = 0
            while let c = peek(), let digit = hexValue(c) ?? (c == "_" ? -1 : nil) {
                position += 1
                if digit < 0 { continue }
                let (shifted, overflow) = value.multipliedReportingOverflow(by: 16)
                if overflow { throw error("integral constant is too large", at: start) }
                value = shifted + UInt64(digit)
                digits += 1
            }
            guard digits > 0 else { throw error("invalid hexadecimal literal", at: start) }
            let suffix = integerSuffix()
            return Token(kind: .integer(value, suffix: suffix), offset: start, endOffset: position)
        }
        var text = ""
        var isReal = false
        while let c = peek(), ("0"..."9").contains(c) || c == "_" {
            if c != "_" { text.unicodeScalars.append(c) }
            position += 1
        }
        if peek() == ".", let d = peek(1), ("0"..."9").contains(d) {
            isReal = true
            text += "."
            position += 1
            while let c = peek(), ("0"..."9").contains(c) || c == "_" {
                if c != "_" { text.unicodeScalars.append(c) }
                position += 1
            }
        }
        if let e = peek(), e == "e" || e == "E" {
            var look = 1
            if let sign = peek(1), sign == "+" || sign == "-" { look = 2 }
            if let d = peek(look), ("0"..."9").contains(d) {
                isReal = true
                text += "E"
                if look == 2, let sign = peek(1) { text.unicodeScalars.append(sign) }
                position += look
                while let c = peek(), ("0"..."9").contains(c) { text.unicodeScalars.append(c); position += 1 }
            }
        }
        if let s = peek(), "dDfFmM".unicodeScalars.contains(s) {
            position += 1
            let suffix = Character(String(s).lowercased())
            try checkNotIdentifierContinuation(start)
            return Token(kind: .real(text, suffix: suffix), offset: start, endOffset: position)
        }
        if isReal {
            try checkNotIdentifierContinuation(start)
            return Token(kind: .real(text, suffix: nil), offset: start, endOffset: position)
        }
        guard let value = UInt64(text) else { throw error("integral constant is too large", at: start) }
        let suffix = integerSuffix()
        try checkNotIdentifierContinuation(start)
        return Token(kind: .integer(value, suffix: suffix), offset: start, endOffset: position)
    }

    private func checkNotIdentifierContinuation(_ start: Int) throws {
        if let c = peek(), Lexer.isIdentifierPart(c) { throw error("invalid numeric literal", at: start) }
    }

    private func hexValue(_ c: Unicode.Scalar) -> Int? {
        switch c {
        case "0"..."9": return Int(c.value - 48)
        case "a"..."f": return Int(c.value - 97 + 10)
        case "A"..."F": return Int(c.value - 65 + 10)
        default: return nil
        }
    }

    private mutating func integerSuffix() -> String {
        var suffix = ""
        while let c = peek(), "lLuU".unicodeScalars.contains(c), suffix.count < 2 {
            suffix += String(c).lowercased()
            position += 1
        }
        if suffix == "lu" { suffix = "ul" }
        return suffix
    }

    /// Reads one escape sequence after the backslash; returns UTF-16 code units.
    private mutating func escape(start: Int) throws -> [UInt16] {
        guard let c = peek() else { throw error("unterminated string", at: start) }
        position += 1
        switch c {
        case "'": return [0x27]
        case "\"": return [0x22]
        case "\\": return [0x5C]
        case "0": return [0]
        case "a": return [7]
        case "b": return [8]
        case "f": return [12]
        case "n": return [10]
        case "r": return [13]
        case "t": return [9]
        case "v": return [11]
        case "u", "x", "U":
            let maxDigits = c == "U" ? 8 : 4
            var value: UInt32 = 0
            var count = 0
            while count < maxDigits, let d = peek(), let digit = hexValue(d) {
                value = value * 16 + UInt32(digit)
                position += 1
                count += 1
            }
            if count == 0 || (c != "x" && count != maxDigits) {
                throw error("unrecognized escape sequence", at: position - count - 2)
            }
            if c == "U" {
                guard let scalar = Unicode.Scalar(value) else { throw error("unrecognized escape sequence", at: position - 10) }
                return Array(String(scalar).utf16)
            }
            return [UInt16(value)]
        default:
            throw error("unrecognized escape sequence", at: position - 2)
        }
    }

    private mutating func regularString(start: Int) throws -> String {
        var units: [UInt16] = []
        while true {
            guard let c = peek(), c != "\n" else { throw error("newline in constant", at: start) }
            position += 1
            if c == "\"" { break }
            if c == "\\" { units += try escape(start: start); continue }
            units += String(c).utf16
        }
        return String(decoding: units, as: UTF16.self)
    }

    private mutating func verbatimString(start: Int) throws -> String {
        var text = String.UnicodeScalarView()
        while true {
            guard let c = peek() else { throw error("unterminated string", at: start) }
            position += 1
            if c == "\"" {
                if peek() == "\"" { text.append("\""); position += 1; continue }
                break
            }
            text.append(c)
        }
        return String(text)
    }

    private mutating func character(start: Int) throws -> Token {
        guard let c = peek(), c != "'", c != "\n" else { throw error("empty character literal", at: start) }
        position += 1
        var units: [UInt16]
        if c == "\\" { units = try escape(start: start) } else { units = Array(String(c).utf16) }
        guard peek() == "'" else { throw error("too many characters in character literal", at: start) }
        position += 1
        guard units.count == 1 else { throw error("too many characters in character literal", at: start) }
        return Token(kind: .char(units[0]), offset: start, endOffset: position)
    }

    private mutating func interpolatedString(start: Int, verbatim: Bool) throws -> [InterpolationPiece] {
        interpolationDepth += 1
        defer { interpolationDepth -= 1 }
        if interpolationDepth > 32 { throw error("interpolated strings are nested too deeply", at: start) }
        var pieces: [InterpolationPiece] = []
        var units: [UInt16] = []
        func flush() {
            if !units.isEmpty { pieces.append(.text(String(decoding: units, as: UTF16.self))); units = [] }
        }
        while true {
            guard let c = peek(), verbatim || c != "\n" else { throw error("unterminated interpolated string", at: start) }
            position += 1
            switch c {
            case "\"":
                if verbatim && peek() == "\"" { units.append(0x22); position += 1; continue }
                flush()
                return pieces
            case "\\" where !verbatim:
                units += try escape(start: start)
            case "{":
                if peek() == "{" { units.append(0x7B); position += 1; continue }
                flush()
                pieces.append(try hole(stringStart: start))
            case "}":
                if peek() == "}" { units.append(0x7D); position += 1; continue }
                throw error("'}' in interpolated string must be doubled", at: position - 1)
            default:
                units += String(c).utf16
            }
        }
    }

    /// Scans `expr[,alignment][:format]}` with balanced brackets and nested literals.
    private mutating func hole(stringStart: Int) throws -> InterpolationPiece {
        let expressionStart = position
        var depth = 0
        var expressionEnd: Int?
        var alignment: Range<Int>?
        var alignmentStart: Int?
        while true {
            guard let c = peek() else { throw error("unterminated interpolated string", at: stringStart) }
            switch c {
            case "(", "[", "{":
                depth += 1
                position += 1
            case ")", "]":
                depth -= 1
                position += 1
            case "}" where depth > 0:
                depth -= 1
                position += 1
            case "\"", "'", "@", "$":
                // Nested literal: let the ordinary lexer skip it.
                if c == "@" || c == "$", peek(1) != "\"", peek(1) != "@", peek(1) != "$" { position += 1; continue }
                _ = try next()
            case "," where depth == 0 && alignmentStart == nil:
                expressionEnd = position
                position += 1
                alignmentStart = position
            case ":" where depth == 0:
                if let alignmentStart { alignment = alignmentStart..<position } else { expressionEnd = position }
                position += 1
                var format = String.UnicodeScalarView()
                while let f = peek(), f != "}" {
                    if f == "\"" || f == "\n" { throw error("invalid interpolation format", at: position) }
                    format.append(f)
                    position += 1
                }
                guard peek() == "}" else { throw error("unterminated interpolated string", at: stringStart) }
                position += 1
                return .hole(expression: expressionStart..<(expressionEnd ?? position), alignment: alignment, format: String(format))
            case "}":
                if let alignmentStart { alignment = alignmentStart..<position } else { expressionEnd = position }
                position += 1
                let range = expressionStart..<(expressionEnd ?? position - 1)
                if source.text(range).allSatisfy(\.isWhitespace) {
                    throw error("empty expression in interpolated string", at: expressionStart)
                }
                return .hole(expression: range, alignment: alignment, format: nil)
            case "\n":
                throw error("newline in interpolated string hole", at: position)
            default:
                position += 1
            }
        }
    }
}
