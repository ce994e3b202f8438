import Foundation

/// Newtonsoft.Json.Linq model: JObject (ordered properties), JArray, JValue, JProperty.
/// Reference semantics like Newtonsoft (`obj["a"]["b"] = 1` mutates in place).
public final class JToken: @unchecked Sendable {
    public enum Primitive: Sendable, Equatable {
        case null
        case bool(Bool)
        case integer(Int64)
        case float(Double)
        case string(String)
        case date(DateTimeValue)
        case guid(UUID)
        case timeSpan(TimeSpanValue)
        case bytes([UInt8])
    }

    public enum Storage {
        case object([(String, JToken)])
        case array([JToken])
        case value(Primitive)
        case property(String, JToken)
    }

    public var storage: Storage
    /// For a property handed out by `JObject.Property(name)`/`Properties()`: the object it belongs to
    /// (Newtonsoft's `Parent`), so that `JProperty.Remove()` can take it out. Weak: a view must not
    /// keep its object alive (nor form a cycle).
    weak var owner: JToken?

    public init(_ storage: Storage) { self.storage = storage }

    /// A property view of `object`'s `name` (owned by it, for `Remove()`).
    static func ownedProperty(_ name: String, _ value: JToken, of object: JToken) -> JToken {
        let made = JToken(.property(name, value))
        made.owner = object
        return made
    }

    /// `JProperty.Remove()`: takes the property out of its object; Newtonsoft's error without one.
    func removeFromOwner() throws {
        guard case .property(let name, let value) = storage, let object = owner, case .object(var properties) = object.storage,
              let index = properties.firstIndex(where: { $0.0 == name && $0.1 === value })
        else { throw ExpressionRuntimeError.invalidOperation("The parent is missing.") }
        properties.remove(at: index)
        object.storage = .object(properties)
        owner = nil
    }

    deinit {
        switch storage {
        case .value: return
        default:
            var pending: [JToken] = []
            moveChildren(into: &pending)
            var values = pending.map(Value.json)
            pending = []
            Teardown.release(&values)
        }
    }

    /// Detaches the children (for `Teardown`, which releases deep trees without recursion).
    func moveChildren(into pending: inout [JToken]) {
        switch storage {
        case .object(let properties): pending.append(contentsOf: properties.map { $0.1 })
        case .array(let items): pending.append(contentsOf: items)
        case .property(_, let value): pending.append(value)
        case .value: return
        }
        storage = .value(.null)
    }
    public convenience init(value: Primitive) { self.init(.value(value)) }
    public static func object(_ properties: [(String, JToken)] = []) -> JToken { JToken(.object(properties)) }
    public static func array(_ items: [JToken] = []) -> JToken { JToken(.array(items)) }

    /// `JToken.Parse(text)` (Newtonsoft rules, dates parsed), for hosts that rebuild a token from JSON
    /// text (the policy cache keeps JSON tokens as text). Throws `ExpressionRuntimeError` on bad JSON.
    public static func parse(json text: String) throws -> JToken { try JsonReader.parse(text) }

    var kind: ExpressionType.JsonKind {
        switch storage {
        case .object: return .object
        case .array: return .array
        case .value: return .value
        case .property: return .property
        }
    }

    var typeName: String {
        switch storage {
        case .object: return "Object"
        case .array: return "Array"
        case .property: return "Property"
        case .value(let p):
            switch p {
            case .null: return "Null"
            case .bool: return "Boolean"
            case .integer: return "Integer"
            case .float: return "Float"
            case .string: return "String"
            case .date: return "Date"
            case .guid: return "Guid"
            case .timeSpan: return "TimeSpan"
            case .bytes: return "Bytes"
            }
        }
    }

    /// `JTokenType` raw value.
    var tokenType: Int32 {
        (EnumType.jTokenType.members.first { $0.0 == typeName }?.1) ?? 0
    }

    func property(_ name: String) -> JToken? {
        guard case .object(let properties) = storage else { return nil }
        return properties.first { $0.0 == name }?.1
    }

    func setProperty(_ name: String, _ value: JToken) {
        guard case .object(var properties) = storage else { return }
        if let index = properties.firstIndex(where: { $0.0 == name }) {
            properties[index].1 = value
        } else {
            properties.append((name, value))
        }
        storage = .object(properties)
    }

    @discardableResult
    func removeProperty(_ name: String) -> Bool {
        guard case .object(var properties) = storage, let index = properties.firstIndex(where: { $0.0 == name }) else { return false }
        properties.remove(at: index)
        storage = .object(properties)
        return true
    }

    var children: [JToken] {
        switch storage {
        case .object(let properties): return properties.map { JToken(.property($0.0, $0.1)) }
        case .array(let items): return items
        case .property(_, let value): return [value]
        case .value: return []
        }
    }

    /// `DeepClone()`. Expressions can build tokens that contain themselves (`a.Add(a)`), nest very deeply or
    /// share subtrees (`new JArray(j, j)` repeated): the walk is bounded in depth and in nodes.
    func deepClone() throws -> JToken {
        var budget = Library.maximumCount
        return try deepClone(depth: 0, budget: &budget)
    }

    private func deepClone(depth: Int, budget: inout Int) throws -> JToken {
        try JsonLimits.enter(depth, &budget)
        switch storage {
        case .object(let properties): return JToken(.object(try properties.map { ($0.0, try $0.1.deepClone(depth: depth + 1, budget: &budget)) }))
        case .array(let items): return JToken(.array(try items.map { try $0.deepClone(depth: depth + 1, budget: &budget) }))
        case .property(let name, let value): return JToken(.property(name, try value.deepClone(depth: depth + 1, budget: &budget)))
        case .value(let p): return JToken(value: p)
        }
    }

    /// `JToken.DeepEquals` (bounded like `deepClone`).
    static func deepEquals(_ a: JToken?, _ b: JToken?) throws -> Bool {
        var budget = Library.maximumCount
        return try deepEquals(a, b, depth: 0, budget: &budget)
    }

    private static func deepEquals(_ a: JToken?, _ b: JToken?, depth: Int, budget: inout Int) throws -> Bool {
        guard let a, let b else { return a == nil && b == nil }
        try JsonLimits.enter(depth, &budget)
        switch (a.storage, b.storage) {
        case (.object(let x), .object(let y)):
            guard x.count == y.count else { return false }
            for (key, value) in x where !(try deepEquals(value, y.first { $0.0 == key }?.1, depth: depth + 1, budget: &budget)) { return false }
            return true
        case (.array(let x), .array(let y)):
            guard x.count == y.count else { return false }
            for (p, q) in zip(x, y) where !(try deepEquals(p, q, depth: depth + 1, budget: &budget)) { return false }
            return true
        case (.property(let n1, let v1), .property(let n2, let v2)):
            return try n1 == n2 && deepEquals(v1, v2, depth: depth + 1, budget: &budget)
        case (.value(let p), .value(let q)):
            switch (p, q) {
            case (.integer(let i), .float(let d)), (.float(let d), .integer(let i)): return Double(i) == d
            default: return p == q
            }
        default:
            return false
        }
    }
}

/// Strict JSON reader with Newtonsoft's number typing (integers → Int64, others → double).
struct JsonReader {
    private let scalars: [Unicode.Scalar]
    private var position = 0
    private var depth = 0
    private let parsesDates: Bool

    init(_ text: String, parsesDates: Bool = true) {
        scalars = Array(text.unicodeScalars)
        self.parsesDates = parsesDates
    }

    static func parse(_ text: String, parsesDates: Bool = true) throws -> JToken {
        var reader = JsonReader(text, parsesDates: parsesDates)
        reader.skipWhitespace()
        let token = try reader.readValue()
        reader.skipWhitespace()
        if reader.position < reader.scalars.count {
            throw reader.error("Additional text encountered after finished reading JSON content: \(reader.scalars[reader.position]).")
        }
        return token
    }

    private func error(_ message: String) -> ExpressionRuntimeError {
        let prefix = String(String.UnicodeScalarView(scalars[..<min(position, scalars.count)]))
        let line = prefix.filter { $0 == "\n" }.count + 1
        let column = prefix.count - (prefix.lastIndex(of: "\n").map { prefix.distance(from: prefix.startIndex, to: $0) + 1 } ?? 0)
        return ExpressionRuntimeError("JsonReaderException", "\(message) Path '', line \(line), position \(column).")
    }

    private mutating func skipWhitespace() {
        while position < scalars.count {
            let c = scalars[position]
            if c == " " || c == "\t" || c == "\n" || c == "\r" { position += 1; continue }
            if c == "/" && position + 1 < scalars.count && scalars[position + 1] == "/" {
                while position < scalars.count && scalars[position] != "\n" { position += 1 }
                continue
            }
            if c == "/" && position + 1 < scalars.count && scalars[position + 1] == "*" {
                position += 2
                while position + 1 < scalars.count && !(scalars[position] == "*" && scalars[position + 1] == "/") { position += 1 }
                position += 2
                continue
            }
            return
        }
    }

    private mutating func readValue() throws -> JToken {
        guard position < scalars.count else { throw error("Unexpected end of content while loading JObject.") }
        depth += 1
        defer { depth -= 1 }
        if depth > 64 { throw error("The reader's MaxDepth of 64 has been exceeded.") }
        let c = scalars[position]
        switch c {
        case "{":
            position += 1
            var properties: [(String, JToken)] = []
            skipWhitespace()
            if position < scalars.count && scalars[position] == "}" { position += 1; return .object(properties) }
            while true {
                skipWhitespace()
                guard position < scalars.count, scalars[position] == "\"" || scalars[position] == "'" else {
                    throw error("Invalid property identifier character: \(position < scalars.count ? String(scalars[position]) : "EOF").")
                }
                let name = try readString()
                skipWhitespace()
                guard position < scalars.count, scalars[position] == ":" else { throw error("Invalid character after parsing property name. Expected ':'.") }
                position += 1
                skipWhitespace()
                let value = try readValue()
                if let index = properties.firstIndex(where: { $0.0 == name }) {
                    throw error("Can not add property \(name) to Newtonsoft.Json.Linq.JObject. Property with the same name already exists on object.")
                        .withIndexHint(index)
                }
                properties.append((name, value))
                skipWhitespace()
                guard position < scalars.count else { throw error("Unexpected end of content while loading JObject.") }
                if scalars[position] == "," { position += 1; continue }
                if scalars[position] == "}" { position += 1; return .object(properties) }
                throw error("After parsing a value an unexpected character was encountered: \(scalars[position]).")
            }
        case "[":
            position += 1
            var items: [JToken] = []
            skipWhitespace()
            if position < scalars.count && scalars[position] == "]" { position += 1; return .array(items) }
            while true {
                skipWhitespace()
                items.append(try readValue())
                skipWhitespace()
                guard position < scalars.count else { throw error("Unexpected end of content while loading JArray.") }
                if scalars[position] == "," { position += 1; continue }
                if scalars[position] == "]" { position += 1; return .array(items) }
                throw error("After parsing a value an unexpected character was encountered: \(scalars[position]).")
            }
        case "\"", "'":
            let text = try readString()
            // Newtonsoft's default DateParseHandling.DateTime turns ISO 8601 date-times into Date tokens.
            if parsesDates, let date = JsonReader.isoDate(text) { return JToken(value: .date(date)) }
            return JToken(value: .string(text))
        case "t": return try literal("true", .bool(true))
        case "f": return try literal("false", .bool(false))
        case "n": return try literal("null", .null)
        default:
            if c == "-" || ("0"..."9").contains(c) { return try readNumber() }
            throw error("Unexpected character encountered while parsing value: \(c).")
        }
    }

    /// `yyyy-MM-ddTHH:mm:ss[.f…][Z|±hh:mm]`: Z → Utc, an offset → Local (converted), none → Unspecified.
    static func isoDate(_ text: String) -> DateTimeValue? {
        guard text.count >= 19, text.count <= 40, text.utf8.count > 10, Array(text.utf8)[10] == UInt8(ascii: "T"),
              let (clock, offset) = DateParsing.parseISOParts(text) else { return nil }
        guard let offset else { return clock }
        if offset == 0 && (text.hasSuffix("Z") || text.hasSuffix("z")) { return DateTimeValue(ticks: clock.ticks, kind: .utc) }
        return DateTimeValue(ticks: clock.ticks - offset, kind: .utc).toLocal()
    }

    private mutating func literal(_ word: String, _ value: JToken.Primitive) throws -> JToken {
        for expected in word.unicodeScalars {
            guard position < scalars.count, scalars[position] == expected else { throw error("Error parsing \(word) value.") }
            position += 1
        }
        return JToken(value: value)
    }

    private mutating func readNumber() throws -> JToken {
        let start = position
        if scalars[position] == "-" { position += 1 }
        var isFloat = false
        while position < scalars.count {
            let c = scalars[position]
            if ("0"..."9").contains(c) { position += 1 }
            else if c == "." || c == "e" || c == "E" || ((c == "+" || c == "-") && isFloat) { isFloat = true; position += 1 }
            else { break }
        }
        let text = String(String.UnicodeScalarView(scalars[start..<position]))
        if !isFloat, let integer = Int64(text) { return JToken(value: .integer(integer)) }
        guard let double = Double(text), text.last.map({ $0.isNumber }) == true else { throw error("Input string '\(text)' is not a valid number.") }
        return JToken(value: .float(double))
    }

    private mutating func readString() throws -> String {
        let quote = scalars[position]
        position += 1
        var units: [UInt16] = []
        while true {
            guard position < scalars.count else { throw error("Unterminated string. Expected delimiter: \(quote).") }
            let c = scalars[position]
            position += 1
            if c == quote { break }
            if c == "\\" {
                guard position < scalars.count else { throw error("Unterminated string. Expected delimiter: \(quote).") }
                let e = scalars[position]
                position += 1
                switch e {
                case "\"": units.append(0x22)
                case "'": units.append(0x27)
                case "\\": units.append(0x5C)
                case "/": units.append(0x2F)
                case "b": units.append(8)
                case "f": units.append(12)
                case "n": units.append(10)
                case "r": units.append(13)
                case "t": units.append(9)
                case "u":
                    guard position + 4 <= scalars.count, let code = UInt16(String(String.UnicodeScalarView(scalars[position..<position + 4])), radix: 16) else {
                        throw error("Invalid Unicode escape sequence.")
                    }
                    units.append(code)
                    position += 4
                default: throw error("Bad JSON escape sequence: \\\(e).")
                }
                continue
            }
            units += String(c).utf16
        }
        return String(decoding: units, as: UTF16.self)
    }
}

private extension ExpressionRuntimeError {
    func withIndexHint(_: Int) -> ExpressionRuntimeError { ExpressionRuntimeError("ArgumentException", message) }
}

/// Newtonsoft's JSON writer: `Formatting.Indented` uses two spaces and CRLF (Environment.NewLine on
/// Windows, where managed APIM runs); strings escape only `"`, `\`, control characters, U+0085, U+2028/9.
enum JsonWriter {
    static let newline = "\r\n"

    static func tokenToString(_ token: JToken) -> String {
        // Non-throwing (Formatting.toString); the expression-facing paths use `checkedTokenToString`.
        // JValue.ToString() is the raw value (JValue overrides ToString); containers are indented JSON.
        if case .value(let primitive) = token.storage { return primitiveToString(primitive) }
        return write(token, indented: true)
    }

    static func primitiveToString(_ primitive: JToken.Primitive) -> String {
        switch primitive {
        case .null: return ""
        case .bool(let b): return b ? "True" : "False"
        case .integer(let i): return String(i)
        case .float(let d): return Formatting.double(d)
        case .string(let s): return s
        case .date(let d): return Formatting.dateTime(d, format: "G")
        case .guid(let g): return g.uuidString.lowercased()
        case .timeSpan(let t): return t.description
        case .bytes(let b): return Data(b).base64EncodedString()
        }
    }

    /// Non-throwing form for the host (`Value.json`, the CLI); results of `evaluate` have already passed
    /// `JsonLimits.validate`, so this only yields "" for tokens that never came out of an evaluation.
    static func write(_ token: JToken, indented: Bool) -> String {
        (try? checkedWrite(token, indented: indented)) ?? ""
    }

    /// Serialises within the JSON depth limit and the string size limit, so a self-containing,
    /// very deep or exponentially shared token raises an exception instead of overflowing the stack
    /// or memory.
    static func checkedWrite(_ token: JToken, indented: Bool) throws -> String {
        var output = ""
        var budget = Library.maximumCount
        try write(token, indented: indented, level: 0, budget: &budget, into: &output)
        return output
    }

    /// `ToString()` of a JToken from an expression: like `tokenToString`, but bounded and throwing.
    static func checkedTokenToString(_ token: JToken) throws -> String {
        if case .value(let primitive) = token.storage { return primitiveToString(primitive) }
        return try checkedWrite(token, indented: true)
    }

    private static func write(_ token: JToken, indented: Bool, level: Int, budget: inout Int, into output: inout String) throws {
        try JsonLimits.enter(level, &budget)
        if output.utf8.count > Library.maximumSize { throw Library.outOfMemory("JSON text longer than \(Library.maximumSize) bytes") }
        let indent = { (n: Int) in String(repeating: "  ", count: n) }
        switch token.storage {
        case .object(let properties):
            if properties.isEmpty { output += "{}"; return }
            output += "{"
            for (i, (name, value)) in properties.enumerated() {
                if i > 0 { output += "," }
                if indented { output += newline + indent(level + 1) }
                output += quote(name) + (indented ? ": " : ":")
                try write(value, indented: indented, level: level + 1, budget: &budget, into: &output)
            }
            if indented { output += newline + indent(level) }
            output += "}"
        case .array(let items):
            if items.isEmpty { output += "[]"; return }
            output += "["
            for (i, item) in items.enumerated() {
                if i > 0 { output += "," }
                if indented { output += newline + indent(level + 1) }
                try write(item, indented: indented, level: level + 1, budget: &budget, into: &output)
            }
            if indented { output += newline + indent(level) }
            output += "]"
        case .property(let name, let value):
            output += quote(name) + (indented ? ": " : ":")
            try write(value, indented: indented, level: level + 1, budget: &budget, into: &output)
        case .value(let primitive):
            output += primitiveJSON(primitive)
        }
    }

    static func primitiveJSON(_ primitive: JToken.Primitive) -> String {
        switch primitive {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .integer(let i): return String(i)
        case .float(let d):
            if d.isNaN { return "\"NaN\"" }
            if d.isInfinite { return d < 0 ? "\"-Infinity\"" : "\"Infinity\"" }
            let text = Formatting.double(d)
            // Newtonsoft keeps a float recognisable: 1.0 is written "1.0" (JsonConvert.EnsureDecimalPlace).
            return text.contains(".") || text.contains("E") ? text : text + ".0"
        case .string(let s): return quote(s)
        case .date(let d): return quote(Formatting.dateTime(d, format: d.kind == .unspecified ? "yyyy-MM-ddTHH:mm:ss.FFFFFFF" : "yyyy-MM-ddTHH:mm:ss.FFFFFFFK"))
        case .guid(let g): return quote(g.uuidString.lowercased())
        case .timeSpan(let t): return quote(t.description)
        case .bytes(let b): return quote(Data(b).base64EncodedString())
        }
    }

    static func quote(_ text: String) -> String {
        var output = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case "\u{08}": output += "\\b"
            case "\u{0C}": output += "\\f"
            default:
                if scalar.value < 0x20 || scalar.value == 0x85 || scalar.value == 0x2028 || scalar.value == 0x2029 {
                    output += "\\u" + pad(String(scalar.value, radix: 16), 4)
                } else {
                    output.unicodeScalars.append(scalar)
                }
            }
        }
        return output + "\""
    }
}

private func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
}

/// Bounds on walking JSON tokens (and the CLR values `JsonConvert` turns into tokens). A parsed document
/// is at most 64 deep (the reader's MaxDepth), but an expression can nest tokens or lists further, make
/// one contain itself, or share a subtree many times; every recursive walk goes through `enter`.
enum JsonLimits {
    /// Deeper than any document the reader accepts (64), shallow enough for a small thread stack.
    static let maximumDepth = 128

    static func enter(_ depth: Int, _ budget: inout Int) throws {
        if depth > maximumDepth {
            throw ExpressionRuntimeError("JsonException", "The JSON value is nested more than \(maximumDepth) levels deep, or contains itself (self referencing loop detected).")
        }
        budget -= 1
        if budget < 0 { throw Library.outOfMemory("a JSON value of more than \(Library.maximumCount) nodes") }
    }

    /// Checks a value about to leave an evaluation (or to be turned into JSON): its JSON tokens and
    /// nested collections are within the depth and node limits, so the host can serialise it safely.
    static func validate(_ value: Value) throws {
        var budget = Library.maximumCount
        try validate(value, depth: 0, budget: &budget)
    }

    static func validate(_ value: Value, depth: Int, budget: inout Int) throws {
        switch value {
        case .json(let token): try validate(token, depth: depth, budget: &budget)
        case .list(let box):
            try enter(depth, &budget)
            for item in box.items { try validate(item, depth: depth + 1, budget: &budget) }
        case .dictionary(let box):
            try enter(depth, &budget)
            for item in box.values { try validate(item, depth: depth + 1, budget: &budget) }
        case .pair(let pair):
            try enter(depth, &budget)
            try validate(pair.key, depth: depth + 1, budget: &budget)
            try validate(pair.value, depth: depth + 1, budget: &budget)
        case .object(let object as AnonymousObject):
            try enter(depth, &budget)
            for item in object.values { try validate(item, depth: depth + 1, budget: &budget) }
        default: break
        }
    }

    static func validate(_ token: JToken, depth: Int, budget: inout Int) throws {
        try enter(depth, &budget)
        switch token.storage {
        case .object(let properties): for (_, value) in properties { try validate(value, depth: depth + 1, budget: &budget) }
        case .array(let items): for item in items { try validate(item, depth: depth + 1, budget: &budget) }
        case .property(_, let value): try validate(value, depth: depth + 1, budget: &budget)
        case .value: break
        }
    }
}
