/// Reads APIM policy XML as users really write it.
///
/// APIM accepts `condition="@(x != "a" && y < 3)"`: raw quotes, `<` and `&&` inside an expression
/// that is itself inside an attribute. A conforming XML parser rejects that, so this reader
/// recognises a value that starts with `@(` or `@{`, scans it by C# lexical rules (balanced
/// brackets, string/char/verbatim/interpolated literals, comments) to find where it really ends,
/// and only then goes on reading XML. Strictly escaped XML (`&quot;`, `&lt;`, `&amp;&amp;`) reads
/// the same, because entities are decoded while scanning.
///
/// Fails closed: the first syntax error stops the read with a diagnostic naming the exact position
/// and what was expected. DTDs are refused (no entity expansion attacks); depth and size are bounded.
struct PolicyXMLReader {
    let text: SourceText
    let bytes: [UInt8]
    let limits: PolicyReaderLimits
    var index = 0

    init(text: SourceText, limits: PolicyReaderLimits) {
        self.text = text
        self.bytes = text.bytes
        self.limits = limits
    }

    /// Reads one document and returns its root element.
    static func read(_ text: SourceText, limits: PolicyReaderLimits = PolicyReaderLimits()) throws(PolicyDiagnostic)
        -> PolicyXMLElement
    {
        var reader = PolicyXMLReader(text: text, limits: limits)
        return try reader.readDocument()
    }

    // MARK: Errors

    func failure(at offset: Int, _ message: String) -> PolicyDiagnostic {
        PolicyDiagnostic(.error, at: text.position(offset), message)
    }

    /// What the reader found at `offset`, for "expected X, found Y" messages; never quotes a secret.
    func found(at offset: Int) -> String {
        guard offset < bytes.count else { return "end of file" }
        if let secret = text.secretName(at: offset) { return "the secret named value {{\(secret)}}" }
        let byte = bytes[offset]
        if byte == ASCII.newline || byte == ASCII.carriageReturn { return "end of line" }
        if byte < 0x20 { return "control character U+\(String(byte, radix: 16, uppercase: true))" }
        var end = offset + 1
        while end < bytes.count, bytes[end] & 0xC0 == 0x80 { end += 1 }
        return "'\(String(decoding: bytes[offset..<end], as: UTF8.self))'"
    }

    // MARK: Low-level helpers

    var atEnd: Bool { index >= bytes.count }

    func byte(at offset: Int) -> UInt8? { offset < bytes.count ? bytes[offset] : nil }

    func starts(with literal: StaticString, at offset: Int) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard offset + count <= bytes.count else { return false }
        let pointer = literal.utf8Start
        for position in 0..<count where bytes[offset + position] != pointer[position] { return false }
        return true
    }

    @discardableResult
    mutating func skipWhitespace() -> Bool {
        let start = index
        while index < bytes.count, ASCII.isWhitespace(bytes[index]) { index += 1 }
        return index > start
    }

    mutating func readName() -> String? {
        guard index < bytes.count, ASCII.isNameStart(bytes[index]) else { return nil }
        let start = index
        while index < bytes.count, ASCII.isNameByte(bytes[index]) { index += 1 }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    /// Does the value starting at `offset` (after optional whitespace) open an expression?
    func expressionStart(from offset: Int, limit: Int) -> Int? {
        var cursor = offset
        while cursor < limit, ASCII.isWhitespace(bytes[cursor]) { cursor += 1 }
        guard cursor + 1 < limit, bytes[cursor] == ASCII.at,
            bytes[cursor + 1] == ASCII.openParen || bytes[cursor + 1] == ASCII.openBrace
        else { return nil }
        return cursor
    }

    // MARK: Document

    mutating func readDocument() throws(PolicyDiagnostic) -> PolicyXMLElement {
        guard bytes.count <= limits.maximumBytes else {
            throw failure(at: 0, "policy document is \(bytes.count) bytes; the limit is \(limits.maximumBytes)")
        }
        if starts(with: "\u{FEFF}", at: 0) { index = 3 }
        try skipMiscellany()
        guard byte(at: index) == ASCII.lessThan else {
            throw failure(at: index, "expected '<' to start the root element, found \(found(at: index))")
        }
        let root = try readElement(depth: 1)
        try skipMiscellany()
        guard atEnd else {
            throw failure(at: index, "expected end of file after the root element '</\(root.name)>', found \(found(at: index))")
        }
        return root
    }

    /// Whitespace, comments, processing instructions (the XML declaration among them) around the root.
    mutating func skipMiscellany() throws(PolicyDiagnostic) {
        while true {
            skipWhitespace()
            if starts(with: "<!--", at: index) {
                try skipComment()
            } else if starts(with: "<?", at: index) {
                try skipProcessingInstruction()
            } else if starts(with: "<!", at: index) {
                throw failure(at: index, "document type declarations are not allowed in policy documents")
            } else {
                return
            }
        }
    }

    mutating func skipComment() throws(PolicyDiagnostic) {
        let start = index
        index += 4
        while index < bytes.count {
            if starts(with: "-->", at: index) {
                index += 3
                return
            }
            index += 1
        }
        throw failure(at: start, "unterminated comment: expected '-->'")
    }

    mutating func skipProcessingInstruction() throws(PolicyDiagnostic) {
        let start = index
        index += 2
        guard readName() != nil else {
            throw failure(at: index, "expected a processing instruction name after '<?', found \(found(at: index))")
        }
        while index < bytes.count {
            if starts(with: "?>", at: index) {
                index += 2
                return
            }
            index += 1
        }
        throw failure(at: start, "unterminated processing instruction: expected '?>'")
    }

    // MARK: Elements

    mutating func readElement(depth: Int) throws(PolicyDiagnostic) -> PolicyXMLElement {
        let start = index
        guard depth <= limits.maximumElementDepth else {
            throw failure(at: start, "elements are nested deeper than \(limits.maximumElementDepth) levels")
        }
        index += 1
        guard let name = readName() else {
            throw failure(at: index, "expected an element name after '<', found \(found(at: index))")
        }
        var attributes: [PolicyXMLAttribute] = []
        var attributeNames = Set<String>()
        var afterValue = false
        while true {
            let hadSpace = skipWhitespace()
            if starts(with: "/>", at: index) {
                index += 2
                return PolicyXMLElement(name: name, attributes: attributes, position: text.position(start))
            }
            if byte(at: index) == ASCII.greaterThan {
                index += 1
                break
            }
            guard !atEnd else {
                throw failure(at: index, "expected '>' or '/>' to end the start tag of '<\(name)>', found end of file")
            }
            if afterValue && !hadSpace {
                throw failure(
                    at: index, "expected whitespace, '>' or '/>' after attribute value, found \(found(at: index))")
            }
            let attributeStart = index
            guard let attributeName = readName() else {
                throw failure(
                    at: index, "expected an attribute name, '>' or '/>' in '<\(name)>', found \(found(at: index))")
            }
            guard attributeNames.insert(attributeName).inserted else {
                throw failure(at: attributeStart, "duplicate attribute '\(attributeName)' on '<\(name)>'")
            }
            skipWhitespace()
            guard byte(at: index) == ASCII.equals else {
                throw failure(at: index, "expected '=' after attribute name '\(attributeName)', found \(found(at: index))")
            }
            index += 1
            skipWhitespace()
            guard let quote = byte(at: index), quote == ASCII.quote || quote == ASCII.apostrophe else {
                throw failure(
                    at: index, "expected '\"' or ''' to start the value of attribute '\(attributeName)', found \(found(at: index))")
            }
            index += 1
            let valueStart = index
            let value = try readAttributeValue(quote: quote, attributeName: attributeName)
            attributes.append(
                PolicyXMLAttribute(
                    name: attributeName, value: value, position: text.position(attributeStart),
                    valuePosition: text.position(valueStart), secretNamedValue: text.secretName(in: valueStart..<index)))
            afterValue = true
        }
        let children = try readContent(of: name, start: start, depth: depth)
        return PolicyXMLElement(name: name, attributes: attributes, children: children, position: text.position(start))
    }

    /// The text of a value that began with an expression but goes on after it: APIM evaluates an
    /// expression only when it is the whole value, so all of it is literal text.
    func literalPrefix(from start: Int, expressionAt: Int, _ expression: PolicyExpressionSource, expressionEnd: Int) -> [UInt8] {
        let (opener, closer) = expression.kind == .block ? (ASCII.openBrace, ASCII.closeBrace) : (ASCII.openParen, ASCII.closeParen)
        return Array(bytes[start..<expressionAt]) + [ASCII.at, opener] + Array(expression.source.utf8) + [closer]
            + Array(bytes[expressionEnd..<index])
    }

    mutating func readAttributeValue(quote: UInt8, attributeName: String) throws(PolicyDiagnostic) -> PolicyValue {
        let openingQuote = index - 1
        var value: [UInt8] = []
        if let expressionAt = expressionStart(from: index, limit: bytes.count) {
            let start = index
            index = expressionAt
            let expression = try scanExpression(limit: bytes.count, decodeEntities: true, attributeQuote: quote)
            let expressionEnd = index
            skipWhitespace()
            if byte(at: index) == quote {
                index += 1
                return .expression(expression)
            }
            value = literalPrefix(from: start, expressionAt: expressionAt, expression, expressionEnd: expressionEnd)
        }
        while true {
            guard let current = byte(at: index) else {
                throw failure(at: openingQuote, "unterminated value of attribute '\(attributeName)': expected a closing \(quote == ASCII.quote ? "'\"'" : "\"'\"")")
            }
            switch current {
            case quote:
                index += 1
                return .literal(String(decoding: value, as: UTF8.self))
            case ASCII.lessThan:
                throw failure(at: index, "'<' is not allowed in the value of attribute '\(attributeName)' (write '&lt;')")
            case ASCII.ampersand:
                value.append(contentsOf: try readEntity())
            case ASCII.carriageReturn:
                // XML attribute-value normalisation: a line break (CRLF counts as one) becomes a space.
                index += byte(at: index + 1) == ASCII.newline ? 2 : 1
                value.append(ASCII.space)
            case ASCII.newline, ASCII.tab:
                index += 1
                value.append(ASCII.space)
            default:
                index += 1
                value.append(current)
            }
        }
    }

    mutating func readContent(of name: String, start: Int, depth: Int) throws(PolicyDiagnostic) -> [PolicyXMLNode] {
        var children: [PolicyXMLNode] = []
        while true {
            guard !atEnd else {
                let opened = text.position(start)
                throw failure(
                    at: index, "expected '</\(name)>' to close '<\(name)>' opened at line \(opened.line), column \(opened.column), found end of file")
            }
            if starts(with: "</", at: index) {
                let endStart = index
                index += 2
                let endName = readName()
                guard endName == name else {
                    throw failure(
                        at: endStart,
                        "expected '</\(name)>' but found " + (endName.map { "'</\($0)>'" } ?? "'</' without a name"))
                }
                skipWhitespace()
                guard byte(at: index) == ASCII.greaterThan else {
                    throw failure(at: index, "expected '>' to end '</\(name)', found \(found(at: index))")
                }
                index += 1
                return children
            } else if starts(with: "<!--", at: index) {
                try skipComment()
            } else if starts(with: "<![CDATA[", at: index) {
                children.append(.text(try readCDATA()))
            } else if starts(with: "<?", at: index) {
                try skipProcessingInstruction()
            } else if starts(with: "<!", at: index) {
                throw failure(at: index, "declarations ('<!') are not allowed inside an element")
            } else if byte(at: index) == ASCII.lessThan {
                children.append(.element(try readElement(depth: depth + 1)))
            } else if let node = try readText(keepingWhitespace: Self.keepsWhitespace(in: name)) {
                children.append(.text(node))
            }
        }
    }

    /// Whether whitespace-only text is kept inside an element: only in `<xsl:text>` (any prefix),
    /// where it is the content (`<xsl:text> </xsl:text>`, a line break), as XSLT keeps it.
    static func keepsWhitespace(in name: String) -> Bool {
        guard let colon = name.firstIndex(of: ":") else { return false }
        return name[name.index(after: colon)...] == "text"
    }

    /// A run of character data up to the next markup. Whitespace-only runs are dropped (unless kept).
    mutating func readText(keepingWhitespace: Bool = false) throws(PolicyDiagnostic) -> PolicyXMLText? {
        let start = index
        var value: [UInt8] = []
        var onlyWhitespace = true
        if let expressionAt = expressionStart(from: index, limit: bytes.count) {
            index = expressionAt
            let expression = try scanExpression(limit: bytes.count, decodeEntities: true)
            let expressionEnd = index
            skipWhitespace()
            if atEnd || byte(at: index) == ASCII.lessThan {
                return PolicyXMLText(
                    value: .expression(expression), position: expression.position, secretNamedValue: text.secretName(in: start..<index))
            }
            value = literalPrefix(from: start, expressionAt: expressionAt, expression, expressionEnd: expressionEnd)
            onlyWhitespace = false
        }
        while let current = byte(at: index), current != ASCII.lessThan {
            if current == ASCII.ampersand {
                value.append(contentsOf: try readEntity())
                onlyWhitespace = false
                continue
            }
            if current == ASCII.carriageReturn {
                index += byte(at: index + 1) == ASCII.newline ? 2 : 1
                value.append(ASCII.newline)
                continue
            }
            if !ASCII.isWhitespace(current) { onlyWhitespace = false }
            value.append(current)
            index += 1
        }
        if onlyWhitespace && !keepingWhitespace { return nil }
        return PolicyXMLText(
            value: .literal(String(decoding: value, as: UTF8.self)), position: text.position(start),
            secretNamedValue: text.secretName(in: start..<index))
    }

    mutating func readCDATA() throws(PolicyDiagnostic) -> PolicyXMLText {
        let start = index
        index += 9
        let contentStart = index
        var contentEnd: Int? = nil
        var cursor = index
        while cursor + 2 < bytes.count + 0 {
            if bytes[cursor] == ASCII.closeBracket, bytes[cursor + 1] == ASCII.closeBracket,
                bytes[cursor + 2] == ASCII.greaterThan
            {
                contentEnd = cursor
                break
            }
            cursor += 1
        }
        guard let contentEnd else { throw failure(at: start, "unterminated CDATA section: expected ']]>'") }
        defer { index = contentEnd + 3 }
        if let expressionAt = expressionStart(from: contentStart, limit: contentEnd) {
            index = expressionAt
            let expression = try scanExpression(limit: contentEnd, decodeEntities: false)
            while index < contentEnd, ASCII.isWhitespace(bytes[index]) { index += 1 }
            if index >= contentEnd {
                return PolicyXMLText(
                    value: .expression(expression), position: expression.position, isCDATA: true,
                    secretNamedValue: text.secretName(in: contentStart..<contentEnd))
            }
        }
        let content = String(decoding: bytes[contentStart..<contentEnd], as: UTF8.self)
        return PolicyXMLText(
            value: .literal(content), position: text.position(contentStart), isCDATA: true,
            secretNamedValue: text.secretName(in: contentStart..<contentEnd))
    }

    // MARK: Entities

    /// Decodes a predefined or numeric entity reference at `offset` (which holds `&`).
    /// Returns nil when the text there is not a well-formed reference.
    func entity(at offset: Int) -> (bytes: [UInt8], length: Int)? {
        var cursor = offset + 1
        let nameStart = cursor
        while cursor < bytes.count, cursor - nameStart <= 10, bytes[cursor] != ASCII.semicolon {
            cursor += 1
        }
        guard cursor < bytes.count, bytes[cursor] == ASCII.semicolon, cursor > nameStart else { return nil }
        let name = bytes[nameStart..<cursor]
        let length = cursor + 1 - offset
        switch String(decoding: name, as: UTF8.self) {
        case "lt": return ([ASCII.lessThan], length)
        case "gt": return ([ASCII.greaterThan], length)
        case "amp": return ([ASCII.ampersand], length)
        case "quot": return ([ASCII.quote], length)
        case "apos": return ([ASCII.apostrophe], length)
        case let reference where reference.hasPrefix("#"):
            let digits = reference.dropFirst()
            let value: UInt32?
            if digits.hasPrefix("x") {
                value = digits.count > 1 ? UInt32(digits.dropFirst(), radix: 16) : nil
            } else {
                value = digits.isEmpty ? nil : UInt32(digits, radix: 10)
            }
            // XML 1.0 Char production: tab, newline, carriage return, and U+0020 upwards (no surrogates).
            guard let value, value == 0x9 || value == 0xA || value == 0xD || value >= 0x20,
                let scalar = Unicode.Scalar(value), value != 0xFFFE, value != 0xFFFF
            else { return nil }
            return (Array(String(Character(scalar)).utf8), length)
        default:
            return nil
        }
    }

    /// Reads an entity reference outside expressions, where XML rules are strict.
    mutating func readEntity() throws(PolicyDiagnostic) -> [UInt8] {
        guard let (decoded, length) = entity(at: index) else {
            throw failure(
                at: index,
                "expected an entity reference such as '&amp;', '&lt;', '&quot;' or '&#38;' after '&' (write '&amp;' for a literal '&')")
        }
        index += length
        return decoded
    }
}
