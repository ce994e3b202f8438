import Foundation

/// `<set-body template="liquid">`: a bounded subset of Liquid, translated at load into a C# block
/// expression that the expression compiler then type-checks and compiles like any `@{ … }` — so a
/// template costs an expression evaluation per request and nothing is parsed on the request path.
///
/// Hand-written: the package mirror holds no Liquid implementation for Swift, and the subset APIM
/// users write is small. What it takes:
/// - text, and `{{ value | Filter: "arg" … }}` outputs, with `{{-`/`-}}` (and `{%-`/`-%}`) trimming
///   the whitespace beside them;
/// - values: `context.…` (the policy context, members and `["key"]`/`[0]` indexers as in C#; a
///   missing key renders empty; `context.Variables["x"]` is taken as JSON, `JToken.FromObject`, so
///   its members and keys can be reached), `body.…` (the message body as JSON — the request's in inbound,
///   the response's in outbound/on-error; a missing member, or a body that is not JSON, renders
///   empty), loop variables, and
///   string, number, `true`/`false`/`nil` literals;
/// - filters on the rendered text (names in either case): Upcase, Downcase, Capitalize, Append,
///   Prepend, Replace, Remove, Default, Strip (Trim), Size, UrlEncode, Escape (HTML); arguments are
///   literals;
/// - `{% if %}`/`{% elsif %}`/`{% else %}`/`{% endif %}` and `{% unless %}`/`{% endunless %}` with
///   `==`, `!=`, `<`, `>`, `<=`, `>=` (numbers), `contains` (text), `and`/`or` (Liquid's right-to-left
///   grouping) and truthiness (nil and false are false — and, unlike Liquid, the text "false");
/// - `{% for x in … %}`/`{% endfor %}` over a collection (`context.Request.Headers` gives `x.Key`
///   and `x.Value`) or a JSON array of the body; APIM's `{% JSONArrayFor x in … %}`/`{% endJSONArrayFor %}`
///   the same, with a comma between the iterations (the items of a JSON array);
/// - `{% assign name = value %}` (a variable until the end of the enclosing block, as C# scopes it);
/// - `{% comment %}…{% endcomment %}`.
/// Anything else is a load error at the tag's line and column. Rendering: text as is, a string
/// array joined with ",", JSON strings unquoted and other JSON compact.
struct LiquidTemplate {
    /// The C# block (without `@{ }`) and, for error positions, marks from code offsets to template offsets.
    let code: String
    let marks: [(code: Int, template: Int)]

    struct Failure: Error {
        let message: String
        let templateOffset: Int
    }

    /// Where the body comes from for `body.…`.
    enum BodySource {
        case request
        case response
    }

    /// Translates `text`; throws `Failure` with the template offset of the problem.
    static func translate(_ text: String, body: BodySource) throws(Failure) -> LiquidTemplate {
        var translator = Translator(text: Array(text.utf8), body: body)
        try translator.run()
        guard translator.usesBody else { return LiquidTemplate(code: translator.code, marks: translator.marks) }
        // The body, read once, as JSON; a body that is not JSON is nil (renders as nothing).
        let message = body == .request ? "Request" : "Response"
        let prefix = "JToken __body = null; try { __body = context.\(message).Body.As<JToken>(preserveContent: true); } catch (Exception) { }\n"
        let shift = prefix.utf8.count
        return LiquidTemplate(code: prefix + translator.code, marks: translator.marks.map { ($0.code + shift, $0.template) })
    }

    /// A line and column inside `text` for a UTF-8 offset (1-based), relative to the text's start.
    static func lineAndColumn(_ text: String, offset: Int) -> (line: Int, column: Int) {
        var line = 0
        var column = 0
        for (index, byte) in text.utf8.enumerated() {
            if index >= offset { break }
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 0
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
        }
        return (line, column)
    }
}

private struct Translator {
    let text: [UInt8]
    let body: LiquidTemplate.BodySource
    var code = "var __o = new System.Text.StringBuilder();\n"
    var marks: [(code: Int, template: Int)] = []
    var index = 0
    var temporaries = 0
    /// Open blocks: the tag that opened each (`if`, `unless`, `for`) with its offset.
    var open: [(tag: String, offset: Int, variables: Int)] = []
    /// Loop variables in scope: template name → whether the items are JSON tokens.
    var loops: [(name: String, json: Bool)] = []
    /// Whitespace before the next text is to be dropped (`-}}`).
    var trimNext = false
    /// Whether `body` is used (its JSON is then read once, up front).
    var usesBody = false

    typealias Failure = LiquidTemplate.Failure

    mutating func mark(_ templateOffset: Int) { marks.append((code.utf8.count, templateOffset)) }

    mutating func run() throws(Failure) {
        var textStart = 0
        while index < text.count {
            guard text[index] == UInt8(ascii: "{"), index + 1 < text.count, text[index + 1] == UInt8(ascii: "{") || text[index + 1] == UInt8(ascii: "%")
            else {
                index += 1
                continue
            }
            let isOutput = text[index + 1] == UInt8(ascii: "{")
            let tagStart = index
            let trimBefore = index + 2 < text.count && text[index + 2] == UInt8(ascii: "-")
            emitText(textStart, tagStart, trimEnd: trimBefore)
            let close: [UInt8] = isOutput ? Array("}}".utf8) : Array("%}".utf8)
            var end = index + 2
            while end + 1 < text.count, !(text[end] == close[0] && text[end + 1] == close[1]) { end += 1 }
            guard end + 1 < text.count else {
                throw Failure(message: "liquid: '\(isOutput ? "{{" : "{%")' is not closed by '\(isOutput ? "}}" : "%}")'", templateOffset: tagStart)
            }
            var innerStart = tagStart + 2 + (trimBefore ? 1 : 0)
            var innerEnd = end
            trimNext = innerEnd > innerStart && text[innerEnd - 1] == UInt8(ascii: "-")
            if trimNext { innerEnd -= 1 }
            while innerStart < innerEnd, Self.isSpace(text[innerStart]) { innerStart += 1 }
            let inner = String(decoding: text[innerStart..<innerEnd], as: UTF8.self)
            index = end + 2
            mark(innerStart)
            if isOutput {
                try output(inner, at: innerStart)
            } else {
                try tag(inner, at: innerStart)
            }
            textStart = index
        }
        emitText(textStart, text.count, trimEnd: false)
        if let unclosed = open.last {
            throw Failure(message: "liquid: '{% \(unclosed.tag) %}' is not closed", templateOffset: unclosed.offset)
        }
        code += "return __o.ToString();\n"
    }

    static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }

    mutating func emitText(_ start: Int, _ end: Int, trimEnd: Bool) {
        var from = start
        var to = end
        if trimNext { while from < to, Self.isSpace(text[from]) { from += 1 } }
        trimNext = false
        if trimEnd { while to > from, Self.isSpace(text[to - 1]) { to -= 1 } }
        guard from < to else { return }
        code += "__o.Append(\(Self.literal(String(decoding: text[from..<to], as: UTF8.self))));\n"
    }

    /// A C# regular string literal (the JSON escaping is valid C# escaping: quotes, backslashes,
    /// control characters and the line terminators NEL, LS and PS as `\uXXXX`).
    static func literal(_ text: String) -> String {
        "\"" + ErrorBody.escape(text) + "\""
    }

    // MARK: Tags

    mutating func tag(_ inner: String, at offset: Int) throws(Failure) {
        let words = inner.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }).map(String.init)
        guard let name = words.first else { throw Failure(message: "liquid: empty tag", templateOffset: offset) }
        let rest = String(inner.dropFirst(name.count))
        switch name {
        case "if", "unless":
            let condition = try condition(rest, at: offset)
            code += name == "if" ? "if (\(condition)) {\n" : "if (!(\(condition))) {\n"
            open.append((name, offset, loops.count))
        case "elsif":
            guard open.last?.tag == "if" else { throw Failure(message: "liquid: '{% elsif %}' outside '{% if %}'", templateOffset: offset) }
            // The condition is computed after the `else` (conditions have no side effects).
            if let opened = open.last { loops.removeLast(loops.count - opened.variables) }
            code += "} else {\n"
            let condition = try condition(rest, at: offset)
            code += "if (\(condition)) {\n"
            open.append(("elsif", offset, loops.count))
        case "else":
            guard let last = open.last, ["if", "elsif", "unless"].contains(last.tag) else {
                throw Failure(message: "liquid: '{% else %}' outside '{% if %}'", templateOffset: offset)
            }
            loops.removeLast(loops.count - last.variables)
            code += "} else {\n"
        case "endif", "endunless":
            let opener = name == "endif" ? "if" : "unless"
            while open.last?.tag == "elsif" {
                open.removeLast()
                code += "}\n"
            }
            guard let opened = open.last, opened.tag == opener else {
                throw Failure(message: "liquid: '{% \(name) %}' without '{% \(opener) %}'", templateOffset: offset)
            }
            open.removeLast()
            loops.removeLast(loops.count - opened.variables)
            code += "}\n"
        case "for", "JSONArrayFor":
            guard words.count >= 4, words[2] == "in", Self.isName(words[1]) else {
                throw Failure(message: "liquid: expected '{% \(name) item in collection %}'", templateOffset: offset)
            }
            guard words.count == 4 else {
                throw Failure(message: "liquid: for-loop parameters (limit, offset, reversed) are not supported", templateOffset: offset)
            }
            let (sequence, json) = try value(words[3], at: offset)
            let variable = "__l_" + words[1]
            // APIM's `JSONArrayFor`: the iterations' texts separated by commas (the items of a JSON array).
            var separator = ""
            if name == "JSONArrayFor" {
                temporaries += 1
                let counter = "__n\(temporaries)"
                code += "var \(counter) = 0;\n"
                separator = "if (\(counter) > 0) { __o.Append(\",\"); }\n\(counter) = \(counter) + 1;\n"
            }
            if json {
                code += "foreach (var \(variable) in ((\(sequence)) as JArray) ?? new JArray()) {\n" + separator
            } else {
                code += "foreach (var \(variable) in \(sequence)) {\n" + separator
            }
            open.append((name, offset, loops.count))
            loops.append((words[1], json))
        case "endfor", "endJSONArrayFor":
            let opener = name == "endfor" ? "for" : "JSONArrayFor"
            guard let opened = open.last, opened.tag == opener else {
                throw Failure(message: "liquid: '{% \(name) %}' without '{% \(opener) %}'", templateOffset: offset)
            }
            open.removeLast()
            loops.removeLast(loops.count - opened.variables)
            code += "}\n"
        case "assign":
            // `{% assign name = value %}` (a value, no filters): a variable from here on.
            let parts = rest.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, Self.isName(parts[0]), !parts[1].isEmpty, !parts[1].contains("|") else {
                throw Failure(message: "liquid: expected '{% assign name = value %}' (filters are not supported in assign)", templateOffset: offset)
            }
            let (valueCode, json) = try value(parts[1], at: offset)
            if let known = loops.last(where: { $0.name == parts[0] }) {
                guard known.json == json else {
                    throw Failure(message: "liquid: '\(parts[0])' cannot change from a JSON value to another kind", templateOffset: offset)
                }
                code += "__l_\(parts[0]) = \(valueCode);\n"
            } else {
                code += json ? "JToken __l_\(parts[0]) = \(valueCode);\n" : "var __l_\(parts[0]) = \(valueCode);\n"
                loops.append((parts[0], json))
            }
        case "comment":
            guard let range = findTag("endcomment") else { throw Failure(message: "liquid: '{% comment %}' is not closed", templateOffset: offset) }
            index = range
        default:
            throw Failure(message: "liquid: the tag '\(name)' is not supported (if, elsif, else, unless, for, JSONArrayFor, assign, comment are)", templateOffset: offset)
        }
    }

    /// The offset after `{% name %}` (from `index`), or nil.
    func findTag(_ name: String) -> Int? {
        var at = index
        while at + 1 < text.count {
            if text[at] == UInt8(ascii: "{"), text[at + 1] == UInt8(ascii: "%") {
                var end = at + 2
                while end + 1 < text.count, !(text[end] == UInt8(ascii: "%") && text[end + 1] == UInt8(ascii: "}")) { end += 1 }
                guard end + 1 < text.count else { return nil }
                let inner = String(decoding: text[(at + 2)..<end], as: UTF8.self).trimmingCharacters(in: CharacterSet(charactersIn: " \t\r\n-"))
                if inner == name { return end + 2 }
                at = end + 2
            } else {
                at += 1
            }
        }
        return nil
    }

    static func isName(_ word: String) -> Bool {
        func letter(_ s: Unicode.Scalar) -> Bool { ("a"..."z").contains(s) || ("A"..."Z").contains(s) }
        guard let first = word.unicodeScalars.first, first == "_" || letter(first) else { return false }
        return word.unicodeScalars.allSatisfy { $0 == "_" || letter($0) || ("0"..."9").contains($0) }
    }

    // MARK: Values

    /// Splits an expression into tokens: strings, brackets, operators, words.
    static func tokens(_ text: String) -> [String]? {
        var tokens: [String] = []
        var current = ""
        var iterator = Array(text)
        var i = 0
        func flush() {
            if !current.isEmpty { tokens.append(current) }
            current = ""
        }
        while i < iterator.count {
            let c = iterator[i]
            if c == "\"" || c == "'" {
                // A string literal, or a quoted key inside a path (`a["b c"]`).
                let inPath = !current.isEmpty
                if !inPath { flush() }
                var literal = String(c)
                i += 1
                while i < iterator.count, iterator[i] != c {
                    literal.append(iterator[i])
                    i += 1
                }
                guard i < iterator.count else { return nil }
                literal.append(c)
                if inPath { current += literal } else { tokens.append(literal) }
            } else if c == " " || c == "\t" || c == "\n" || c == "\r" {
                flush()
            } else if c == "|" || c == ":" || c == "," {
                flush()
                tokens.append(String(c))
            } else if "=!<>".contains(c) {
                flush()
                var op = String(c)
                if i + 1 < iterator.count, iterator[i + 1] == "=" {
                    op.append("=")
                    i += 1
                }
                tokens.append(op)
            } else {
                current.append(c)
            }
            i += 1
        }
        flush()
        iterator = []
        return tokens
    }

    /// A value (literal or path) as C#, and whether it is a JSON token (`JToken`, may be null).
    mutating func value(_ text: String, at offset: Int) throws(Failure) -> (code: String, json: Bool) {
        if text.hasPrefix("\"") || text.hasPrefix("'") {
            return (Self.literal(String(text.dropFirst().dropLast())), false)
        }
        if text == "nil" || text == "null" { return ("(string)null", false) }
        if text == "true" || text == "false" { return (text, false) }
        if let number = Double(text), number.isFinite, text.first.map({ $0.isNumber || $0 == "-" }) == true { return (Self.literal(text), false) }
        // A path: root, then `.member`, `["key"]` or `[n]`.
        var segments: [(name: String?, key: String?)] = []
        var rest = Substring(text)
        func takeName() -> String {
            let name = rest.prefix { $0 == "_" || $0.isLetter || $0.isNumber }
            rest = rest.dropFirst(name.count)
            return String(name)
        }
        let root = takeName()
        guard !root.isEmpty else { throw Failure(message: "liquid: '\(text)' is not a value", templateOffset: offset) }
        while let first = rest.first {
            if first == "." {
                rest = rest.dropFirst()
                let name = takeName()
                guard !name.isEmpty else { throw Failure(message: "liquid: expected a member name in '\(text)'", templateOffset: offset) }
                segments.append((name, nil))
            } else if first == "[" {
                guard let close = rest.firstIndex(of: "]") else { throw Failure(message: "liquid: '[' is not closed in '\(text)'", templateOffset: offset) }
                let key = String(rest[rest.index(after: rest.startIndex)..<close])
                rest = rest[rest.index(after: close)...]
                if key.hasPrefix("\"") || key.hasPrefix("'") {
                    guard key.count >= 2 else { throw Failure(message: "liquid: bad key in '\(text)'", templateOffset: offset) }
                    segments.append((nil, Self.literal(String(key.dropFirst().dropLast()))))
                } else if let number = Int(key), number >= 0 {
                    segments.append((nil, String(number)))
                } else {
                    throw Failure(message: "liquid: only literal keys are supported in '\(text)'", templateOffset: offset)
                }
            } else {
                throw Failure(message: "liquid: unexpected '\(first)' in '\(text)'", templateOffset: offset)
            }
        }
        var json: Bool
        var code: String
        if root == "context" {
            code = "context"
            json = false
        } else if root == "body" {
            code = "__body"
            usesBody = true
            json = true
        } else if let loop = loops.last(where: { $0.name == root }) {
            code = "__l_" + root
            json = loop.json
        } else {
            throw Failure(message: "liquid: unknown variable '\(root)' (context, body and loop variables are known)", templateOffset: offset)
        }
        var remaining = segments[...]
        if root == "context", segments.count >= 2, segments[0].name == "Variables", let key = segments[1].key, key.hasPrefix("\"") {
            // A variable holds any object: as JSON (Json.NET's `JToken.FromObject`), so that members
            // and keys of a JObject (or of anything serializable) can be reached, as Liquid does.
            let lookup = "context.Variables.GetValueOrDefault(\(key))"
            code = "(\(lookup) == null ? (JToken)null : JToken.FromObject(\(lookup)))"
            json = true
            remaining = segments.dropFirst(2)
        }
        for segment in remaining {
            if json {
                code = "(\(code))?[\(segment.name.map(Self.literal) ?? segment.key ?? "")]"
            } else if let name = segment.name {
                code += "." + name
            } else if let key = segment.key {
                code += key.hasPrefix("\"") ? ".GetValueOrDefault(\(key))" : "[\(key)]"
            }
        }
        return (code, json)
    }

    /// Statements that set the string variable `name` to the rendered value (null for nil).
    mutating func render(_ value: (code: String, json: Bool), into name: String) -> String {
        temporaries += 1
        let t = "__t\(temporaries)"
        if value.json {
            return "string \(name) = null; { JToken \(t) = \(value.code); if (\(t) != null && \(t).Type != JTokenType.Null) \(name) = \(t).Type == JTokenType.String ? (string)\(t) : \(t).ToString(Formatting.None); }\n"
        }
        return "string \(name) = null; { object \(t) = \(value.code); if (\(t) is string[] \(t)a) \(name) = string.Join(\",\", \(t)a); else if (\(t) != null) \(name) = \(t).ToString(); }\n"
    }

    mutating func output(_ inner: String, at offset: Int) throws(Failure) {
        guard let tokens = Self.tokens(inner), let first = tokens.first else {
            throw Failure(message: "liquid: empty or unterminated output '{{ \(inner) }}'", templateOffset: offset)
        }
        temporaries += 1
        let s = "__s\(temporaries)"
        var statements = try render(value(first, at: offset), into: s)
        var i = 1
        while i < tokens.count {
            guard tokens[i] == "|", i + 1 < tokens.count else {
                throw Failure(message: "liquid: expected '| Filter' in '{{ \(inner) }}'", templateOffset: offset)
            }
            let filter = tokens[i + 1]
            i += 2
            var arguments: [String] = []
            if i < tokens.count, tokens[i] == ":" {
                i += 1
                while i < tokens.count, tokens[i] != "|" {
                    if tokens[i] != "," {
                        let argument = try value(tokens[i], at: offset)
                        guard !argument.json, !argument.code.hasPrefix("context"), !argument.code.hasPrefix("__l_") else {
                            throw Failure(message: "liquid: filter arguments must be literals", templateOffset: offset)
                        }
                        arguments.append(argument.code)
                    }
                    i += 1
                }
            }
            statements += try Self.filter(filter, arguments, on: s, at: offset) + "\n"
        }
        code += "{ " + statements + "__o.Append(\(s) ?? \"\"); }\n"
    }

    static func filter(_ name: String, _ arguments: [String], on s: String, at offset: Int) throws(Failure) -> String {
        func needs(_ count: Int) throws(Failure) {
            guard arguments.count == count else {
                throw Failure(message: "liquid: the filter '\(name)' takes \(count) argument\(count == 1 ? "" : "s")", templateOffset: offset)
            }
        }
        switch name.lowercased() {
        case "upcase": try needs(0); return "if (\(s) != null) \(s) = \(s).ToUpperInvariant();"
        case "downcase": try needs(0); return "if (\(s) != null) \(s) = \(s).ToLowerInvariant();"
        case "capitalize": try needs(0); return "if (!string.IsNullOrEmpty(\(s))) \(s) = \(s).Substring(0, 1).ToUpperInvariant() + \(s).Substring(1);"
        case "strip": try needs(0); return "if (\(s) != null) \(s) = \(s).Trim();"
        case "size": try needs(0); return "\(s) = (\(s) ?? \"\").Length.ToString();"
        case "urlencode": try needs(0); return "if (\(s) != null) \(s) = System.Net.WebUtility.UrlEncode(\(s));"
        case "escape": try needs(0); return "if (\(s) != null) \(s) = System.Net.WebUtility.HtmlEncode(\(s));"
        case "append": try needs(1); return "\(s) = (\(s) ?? \"\") + \(arguments[0]);"
        case "prepend": try needs(1); return "\(s) = \(arguments[0]) + (\(s) ?? \"\");"
        case "default": try needs(1); return "if (string.IsNullOrEmpty(\(s)) || \(s) == \"False\") \(s) = \(arguments[0]);"
        case "replace": try needs(2); return "if (\(s) != null && \(arguments[0]).Length > 0) \(s) = \(s).Replace(\(arguments[0]), \(arguments[1]));"
        case "remove": try needs(1); return "if (\(s) != null && \(arguments[0]).Length > 0) \(s) = \(s).Replace(\(arguments[0]), \"\");"
        default:
            throw Failure(message: "liquid: the filter '\(name)' is not supported", templateOffset: offset)
        }
    }

    // MARK: Conditions

    /// A condition as a C# boolean expression; the statements computing its operands are emitted first.
    mutating func condition(_ text: String, at offset: Int) throws(Failure) -> String {
        guard let tokens = Self.tokens(text), !tokens.isEmpty else { throw Failure(message: "liquid: a condition is missing", templateOffset: offset) }
        // Liquid groups `and`/`or` from the right: `a or b and c` is `a or (b and c)`.
        var parts: [[String]] = [[]]
        var joins: [String] = []
        for token in tokens {
            if token == "and" || token == "or" {
                joins.append(token == "and" ? "&&" : "||")
                parts.append([])
            } else {
                parts[parts.count - 1].append(token)
            }
        }
        var comparisons: [String] = []
        for part in parts { comparisons.append(try comparison(part, at: offset)) }
        var result = comparisons[comparisons.count - 1]
        for index in stride(from: comparisons.count - 2, through: 0, by: -1) {
            result = "(\(comparisons[index]) \(joins[index]) \(result))"
        }
        return result
    }

    mutating func comparison(_ tokens: [String], at offset: Int) throws(Failure) -> String {
        switch tokens.count {
        case 1:
            temporaries += 1
            let a = "__c\(temporaries)"
            if tokens[0] == "true" || tokens[0] == "false" { return tokens[0] }
            code += render(try value(tokens[0], at: offset), into: a)
            // nil and false are false (a .NET bool renders "False", a JSON one "false"; a text
            // "false" is therefore false too, unlike Liquid).
            return "(\(a) != null && \(a) != \"False\" && \(a) != \"false\")"
        case 3:
            temporaries += 1
            let a = "__c\(temporaries)a", b = "__c\(temporaries)b"
            code += render(try value(tokens[0], at: offset), into: a)
            code += render(try value(tokens[2], at: offset), into: b)
            switch tokens[1] {
            case "==": return "(\(a) == \(b))"
            case "!=", "<>": return "(\(a) != \(b))"
            case "<", ">", "<=", ">=":
                let n = "__n\(temporaries)"
                return "(double.TryParse(\(a), out var \(n)a) && double.TryParse(\(b), out var \(n)b) && \(n)a \(tokens[1]) \(n)b)"
            case "contains": return "(\(a) != null && \(b) != null && \(a).Contains(\(b)))"
            default: throw Failure(message: "liquid: unknown operator '\(tokens[1])'", templateOffset: offset)
            }
        default:
            throw Failure(message: "liquid: expected 'value', or 'value operator value' in a condition", templateOffset: offset)
        }
    }
}
