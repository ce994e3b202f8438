/// Finding where an `@(…)` or `@{…}` expression ends, by C# lexical rules.
///
/// This is a scanner, not a parser: it tracks brackets and skips over literals and comments so that
/// a `)` or `"` inside a string, or a `<` in a comparison, does not end the expression or the XML
/// value. The expression language proper (PolicyExpressions) compiles the text later.
extension PolicyXMLReader {
    private enum Frame {
        /// `(`, `[` or `{` in code; `opener` is its offset.
        case group(closer: UInt8, opener: Int)
        /// `{ … }` inside an interpolated string literal that started at `literalStart`.
        case hole(verbatim: Bool, opener: Int, literalStart: Int)
    }

    /// The expression text being collected, and where it drifts from the file (entities, CRLF).
    private struct Collected {
        var output: [UInt8] = []
        var anchors: [PolicyExpressionSource.Anchor]
    }

    /// Scans the expression whose `@` is at `index`, leaving `index` just after its closing bracket.
    /// - Parameter attributeQuote: the quote delimiting the attribute the expression is in, if any,
    ///   so an unterminated string that starts with it can be explained as a missing bracket.
    mutating func scanExpression(limit: Int, decodeEntities: Bool, attributeQuote: UInt8? = nil) throws(PolicyDiagnostic)
        -> PolicyExpressionSource
    {
        let isBlock = bytes[index + 1] == ASCII.openBrace
        let opener = index + 1
        index += 2
        let sourceStart = index
        var collected = Collected(anchors: [.init(sourceOffset: 0, textOffset: sourceStart)])
        var frames: [Frame] = [.group(closer: isBlock ? ASCII.closeBrace : ASCII.closeParen, opener: opener)]

        while true {
            let charStart = index
            guard let current = nextCharacter(&collected, limit: limit, decode: decodeEntities) else {
                throw unterminated(frames)
            }
            switch current {
            case ASCII.openParen, ASCII.openBracket, ASCII.openBrace:
                guard frames.count < limits.maximumExpressionDepth else {
                    throw failure(at: charStart, "expression is nested deeper than \(limits.maximumExpressionDepth) levels")
                }
                let closer = current == ASCII.openParen ? ASCII.closeParen : current == ASCII.openBracket ? ASCII.closeBracket : ASCII.closeBrace
                frames.append(.group(closer: closer, opener: charStart))
            case ASCII.closeParen, ASCII.closeBracket, ASCII.closeBrace:
                switch frames[frames.count - 1] {
                case .group(let closer, let groupOpener):
                    guard current == closer else { throw mismatched(at: charStart, expected: closer, opener: groupOpener) }
                    frames.removeLast()
                    if frames.isEmpty {
                        collected.output.removeLast()  // the closing bracket is not part of the source
                        return PolicyExpressionSource(
                            source: String(decoding: collected.output, as: UTF8.self),
                            kind: isBlock ? .block : .singleStatement, position: text.position(sourceStart),
                            anchors: collected.anchors, text: text)
                    }
                case .hole(let verbatim, let holeOpener, let literalStart):
                    guard current == ASCII.closeBrace else {
                        throw mismatched(at: charStart, expected: ASCII.closeBrace, opener: holeOpener)
                    }
                    frames.removeLast()
                    try continueInterpolated(verbatim: verbatim, literalStart: literalStart, frames: &frames, &collected, limit: limit, decode: decodeEntities)
                }
            case ASCII.colon:
                // `{value:format}` — a format specifier is text up to the hole's `}`.
                if case .hole(let verbatim, _, let literalStart) = frames[frames.count - 1] {
                    while true {
                        guard let formatCharacter = nextCharacter(&collected, limit: limit, decode: decodeEntities) else {
                            throw failure(at: literalStart, "unterminated interpolated string literal in expression")
                        }
                        if formatCharacter == ASCII.closeBrace { break }
                    }
                    frames.removeLast()
                    try continueInterpolated(verbatim: verbatim, literalStart: literalStart, frames: &frames, &collected, limit: limit, decode: decodeEntities)
                }
            case ASCII.quote, ASCII.apostrophe:
                var hint = ""
                if current == attributeQuote, case .group(let closer, _) = frames[frames.count - 1] {
                    hint = " (if this quote was meant to end the attribute value, a '\(String(UnicodeScalar(closer)))' is missing before it)"
                }
                try skipQuoted(
                    current, start: charStart, what: current == ASCII.quote ? "string" : "character", hint: hint, &collected, limit: limit,
                    decode: decodeEntities)
            case ASCII.at:
                if peek(limit: limit, decode: decodeEntities) == ASCII.quote {
                    _ = nextCharacter(&collected, limit: limit, decode: decodeEntities)
                    try skipVerbatim(start: charStart, &collected, limit: limit, decode: decodeEntities)
                } else if peek(limit: limit, decode: decodeEntities) == ASCII.dollar,
                    peek(limit: limit, decode: decodeEntities, skipping: 1) == ASCII.quote
                {
                    _ = nextCharacter(&collected, limit: limit, decode: decodeEntities)
                    _ = nextCharacter(&collected, limit: limit, decode: decodeEntities)
                    try continueInterpolated(verbatim: true, literalStart: charStart, frames: &frames, &collected, limit: limit, decode: decodeEntities)
                }
            case ASCII.dollar:
                if peek(limit: limit, decode: decodeEntities) == ASCII.quote {
                    _ = nextCharacter(&collected, limit: limit, decode: decodeEntities)
                    try continueInterpolated(verbatim: false, literalStart: charStart, frames: &frames, &collected, limit: limit, decode: decodeEntities)
                } else if peek(limit: limit, decode: decodeEntities) == ASCII.at,
                    peek(limit: limit, decode: decodeEntities, skipping: 1) == ASCII.quote
                {
                    _ = nextCharacter(&collected, limit: limit, decode: decodeEntities)
                    _ = nextCharacter(&collected, limit: limit, decode: decodeEntities)
                    try continueInterpolated(verbatim: true, literalStart: charStart, frames: &frames, &collected, limit: limit, decode: decodeEntities)
                }
            case ASCII.slash:
                if peek(limit: limit, decode: decodeEntities) == ASCII.slash {
                    while let next = peek(limit: limit, decode: decodeEntities), next != ASCII.newline, next != ASCII.carriageReturn {
                        _ = nextCharacter(&collected, limit: limit, decode: decodeEntities)
                    }
                } else if peek(limit: limit, decode: decodeEntities) == ASCII.star {
                    _ = nextCharacter(&collected, limit: limit, decode: decodeEntities)
                    var previous: UInt8 = 0
                    while true {
                        guard let next = nextCharacter(&collected, limit: limit, decode: decodeEntities) else {
                            throw failure(at: charStart, "unterminated comment in expression: expected '*/'")
                        }
                        if previous == ASCII.star, next == ASCII.slash { break }
                        previous = next
                    }
                }
            default:
                break
            }
        }
    }

    // MARK: Characters

    /// The next character of the expression: entities decoded (when reading XML text), CRLF read as
    /// one line break. Appends it to the collected source and returns its first byte.
    private mutating func nextCharacter(_ collected: inout Collected, limit: Int, decode: Bool) -> UInt8? {
        guard index < limit else { return nil }
        let current = bytes[index]
        if decode, current == ASCII.ampersand, let (decoded, length) = entity(at: index), index + length <= limit {
            collected.output.append(contentsOf: decoded)
            index += length
            collected.anchors.append(.init(sourceOffset: collected.output.count, textOffset: index))
            return decoded[0]
        }
        if current == ASCII.carriageReturn, index + 1 < limit, bytes[index + 1] == ASCII.newline {
            collected.output.append(ASCII.newline)
            index += 2
            collected.anchors.append(.init(sourceOffset: collected.output.count, textOffset: index))
            return ASCII.newline
        }
        collected.output.append(current)
        index += 1
        return current
    }

    /// The first byte of the character after skipping `skipping` characters, without consuming.
    private func peek(limit: Int, decode: Bool, skipping: Int = 0) -> UInt8? {
        var cursor = index
        for _ in 0..<skipping {
            guard cursor < limit else { return nil }
            if decode, bytes[cursor] == ASCII.ampersand, let (_, length) = entity(at: cursor) {
                cursor += length
            } else {
                cursor += 1
            }
        }
        guard cursor < limit else { return nil }
        if decode, bytes[cursor] == ASCII.ampersand, let (decoded, length) = entity(at: cursor), cursor + length <= limit {
            return decoded[0]
        }
        return bytes[cursor]
    }

    // MARK: Literals

    /// `"…"` or `'…'` with backslash escapes; C# forbids a raw line break in either.
    private mutating func skipQuoted(
        _ delimiter: UInt8, start: Int, what: String, hint: String, _ collected: inout Collected, limit: Int, decode: Bool
    ) throws(PolicyDiagnostic) {
        while true {
            guard let next = nextCharacter(&collected, limit: limit, decode: decode),
                next != ASCII.newline, next != ASCII.carriageReturn
            else {
                throw failure(
                    at: start,
                    "unterminated \(what) literal in expression: expected a closing \(delimiter == ASCII.quote ? "'\"'" : "\"'\"") before the end of the line\(hint)")
            }
            if next == ASCII.backslash {
                guard let escaped = nextCharacter(&collected, limit: limit, decode: decode),
                    escaped != ASCII.newline, escaped != ASCII.carriageReturn
                else {
                    throw failure(at: start, "unterminated \(what) literal in expression")
                }
                continue
            }
            if next == delimiter { return }
        }
    }

    /// `@"…"`: no escapes except `""`; may span lines.
    private mutating func skipVerbatim(start: Int, _ collected: inout Collected, limit: Int, decode: Bool) throws(PolicyDiagnostic) {
        while true {
            guard let next = nextCharacter(&collected, limit: limit, decode: decode) else {
                throw failure(at: start, "unterminated verbatim string literal in expression: expected a closing '\"'")
            }
            if next == ASCII.quote {
                if peek(limit: limit, decode: decode) == ASCII.quote {
                    _ = nextCharacter(&collected, limit: limit, decode: decode)
                    continue
                }
                return
            }
        }
    }

    /// The text part of `$"…"` / `$@"…"`: stops at the closing quote, or at a hole's `{` (pushing a
    /// hole frame so the code inside is scanned as code).
    private mutating func continueInterpolated(
        verbatim: Bool, literalStart: Int, frames: inout [Frame], _ collected: inout Collected, limit: Int, decode: Bool
    ) throws(PolicyDiagnostic) {
        while true {
            let charStart = index
            guard let next = nextCharacter(&collected, limit: limit, decode: decode),
                verbatim || (next != ASCII.newline && next != ASCII.carriageReturn)
            else {
                throw failure(at: literalStart, "unterminated interpolated string literal in expression: expected a closing '\"'")
            }
            switch next {
            case ASCII.backslash where !verbatim:
                _ = nextCharacter(&collected, limit: limit, decode: decode)
            case ASCII.quote:
                if verbatim, peek(limit: limit, decode: decode) == ASCII.quote {
                    _ = nextCharacter(&collected, limit: limit, decode: decode)
                    continue
                }
                return
            case ASCII.openBrace:
                if peek(limit: limit, decode: decode) == ASCII.openBrace {
                    _ = nextCharacter(&collected, limit: limit, decode: decode)
                    continue
                }
                guard frames.count < limits.maximumExpressionDepth else {
                    throw failure(at: charStart, "expression is nested deeper than \(limits.maximumExpressionDepth) levels")
                }
                frames.append(.hole(verbatim: verbatim, opener: charStart, literalStart: literalStart))
                return
            case ASCII.closeBrace:
                if peek(limit: limit, decode: decode) == ASCII.closeBrace {
                    _ = nextCharacter(&collected, limit: limit, decode: decode)
                }
            default:
                break
            }
        }
    }

    // MARK: Errors

    private func unterminated(_ frames: [Frame]) -> PolicyDiagnostic {
        switch frames[frames.count - 1] {
        case .group(let closer, let opener):
            let openerText = String(UnicodeScalar(bytes[opener]))
            return failure(
                at: opener,
                "unterminated expression: '\(openerText)' is never closed (expected '\(String(UnicodeScalar(closer)))' before the end of the \(index >= bytes.count ? "file" : "section"))")
        case .hole(_, let opener, _):
            return failure(at: opener, "unterminated interpolation hole in expression: '{' is never closed")
        }
    }

    private func mismatched(at offset: Int, expected: UInt8, opener: Int) -> PolicyDiagnostic {
        let openedAt = text.position(opener)
        return failure(
            at: offset,
            "expected '\(String(UnicodeScalar(expected)))' to match the '\(String(UnicodeScalar(bytes[opener])))' at line \(openedAt.line), column \(openedAt.column), found \(self.found(at: offset))"
        )
    }
}
