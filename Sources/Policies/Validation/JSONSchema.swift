import Foundation

/// JSON schemas compiled at load (the OpenAPI schema object of 3.0, JSON Schema 2020-12 as OpenAPI 3.1
/// uses it, Swagger 2.0's subset) into a graph of nodes; `$ref`s are edges, so recursive schemas
/// compile once and validate within the depth bound. Hand-written: no package in the mirror validates
/// JSON instances (OpenAPIKit reads documents only).
///
/// Keywords: `type` (one or a list; `integer` is a number without fraction), `nullable` (3.0),
/// `enum`, `const`, `minimum`/`maximum`, `exclusiveMinimum`/`exclusiveMaximum` (3.0's booleans and
/// 3.1's numbers), `multipleOf`, `minLength`/`maxLength` (in Unicode scalars), `pattern` (see
/// `SchemaRegex`), `format` (`date-time`, `date`, `time`, `uuid`, `email`, `ipv4`; others are
/// annotations), `items` (a schema), `prefixItems`, `minItems`/`maxItems`, `uniqueItems`,
/// `properties`, `patternProperties`, `additionalProperties` (boolean or schema), `required`,
/// `minProperties`/`maxProperties`, `allOf`/`anyOf`/`oneOf`/`not`, `$ref` to a local JSON pointer
/// (`#/components/schemas/Pet`, `#/definitions/Pet`, `#/$defs/x`), boolean schemas. Everything else
/// (`discriminator`, `readOnly`, `writeOnly`, `dependentRequired`, `if`/`then`/`else`,
/// `unevaluatedProperties`, `contains`, remote `$ref`s) is not checked; remote `$ref`s are refused at load.
public final class SchemaGraph: Sendable {
    let nodes: [SchemaNode]
    init(nodes: [SchemaNode]) { self.nodes = nodes }
    static let empty = SchemaGraph(nodes: [])
}

struct SchemaTypes: OptionSet, Sendable {
    let rawValue: UInt8
    static let null = SchemaTypes(rawValue: 1)
    static let boolean = SchemaTypes(rawValue: 2)
    static let integer = SchemaTypes(rawValue: 4)
    static let number = SchemaTypes(rawValue: 8)
    static let string = SchemaTypes(rawValue: 16)
    static let array = SchemaTypes(rawValue: 32)
    static let object = SchemaTypes(rawValue: 64)

    static let names: [(String, SchemaTypes)] = [
        ("string", .string), ("number", .number), ("integer", .integer), ("boolean", .boolean), ("object", .object), ("array", .array), ("null", .null),
    ]

    var description: String {
        Self.names.filter { contains($0.1) }.map { $0.0.prefix(1).uppercased() + $0.0.dropFirst() }.joined(separator: ", ")
    }

    func admits(_ node: JSONNode) -> Bool {
        switch node.kind {
        case .null: contains(.null)
        case .bool: contains(.boolean)
        case .number(let value): contains(.number) || (contains(.integer) && JSONNode.isIntegral(value))
        case .string: contains(.string)
        case .array: contains(.array)
        case .object: contains(.object)
        }
    }
}

enum SchemaFormat: String, Sendable {
    case dateTime = "date-time", date, time, uuid, email, ipv4
}

struct SchemaNode: Sendable {
    var ref: Int?
    var alwaysFails = false
    var types: SchemaTypes?
    var nullable = false
    var enumValues: [JSONNode]?
    var constValue: JSONNode?
    var minimum: Double?
    var maximum: Double?
    var exclusiveMinimum: Double?
    var exclusiveMaximum: Double?
    var multipleOf: Double?
    var minLength: Int?
    var maxLength: Int?
    var pattern: SchemaRegex?
    var format: SchemaFormat?
    var items: Int?
    var prefixItems: [Int] = []
    var minItems: Int?
    var maxItems: Int?
    var uniqueItems = false
    var properties: [String: Int] = [:]
    var lowercasedProperties: [String: Int] = [:]
    var patternProperties: [(SchemaRegex, Int)] = []
    /// nil: any additional property; `.some(nil)`: none (`false`); `.some(i)`: each must match node i.
    var additionalProperties: Int??
    var required: [String] = []
    var minProperties: Int?
    var maxProperties: Int?
    var allOf: [Int] = []
    var anyOf: [Int] = []
    var oneOf: [Int] = []
    var not: Int?
    /// Whether the schema speaks of objects (`type: object` or `properties`): where
    /// `allow-additional-properties="false"` applies.
    var describesObjects = false
}

public struct SchemaError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public let line: Int
    public let column: Int
    public var description: String { line > 0 ? "\(message) (line \(line), column \(column))" : message }
}

/// Compiles the schemas of one document; `$ref`s resolve against `root`.
struct SchemaCompiler {
    let root: JSONNode
    var nodes: [SchemaNode] = []
    private var byPointer: [String: Int] = [:]
    static let maximumNodes = 200_000
    static let maximumDepth = 100

    init(root: JSONNode) { self.root = root }

    func error(_ message: String, _ at: JSONNode) -> SchemaError { SchemaError(message: message, line: at.line, column: at.column) }

    var graph: SchemaGraph { SchemaGraph(nodes: nodes) }

    /// The node at a local JSON pointer (`#/a/b~1c`).
    func resolve(_ reference: String, from: JSONNode) throws(SchemaError) -> JSONNode {
        guard reference.hasPrefix("#") else { throw error("only local $refs ('#/…') are supported, got '\(reference)'", from) }
        var current = root
        let pointer = reference.dropFirst()
        guard !pointer.isEmpty else { return root }
        guard pointer.hasPrefix("/") else { throw error("the $ref '\(reference)' is not a JSON pointer", from) }
        for raw in pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            let token = (String(raw).removingPercentEncoding ?? String(raw)).replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            switch current.kind {
            case .object: guard let next = current[token] else { throw error("the $ref '\(reference)' points to nothing", from) }; current = next
            case .array(let items):
                guard let index = Int(token), index >= 0, index < items.count else { throw error("the $ref '\(reference)' points to nothing", from) }
                current = items[index]
            default: throw error("the $ref '\(reference)' points to nothing", from)
            }
        }
        return current
    }

    /// Compiles the schema at `pointer` (memoised, so cycles through `$ref` end).
    mutating func compile(reference: String, from: JSONNode, depth: Int) throws(SchemaError) -> Int {
        if let known = byPointer[reference] { return known }
        let target = try resolve(reference, from: from)
        return try compile(target, pointer: reference, depth: depth + 1)
    }

    mutating func compile(_ schema: JSONNode, pointer: String?, depth: Int) throws(SchemaError) -> Int {
        if let pointer, let known = byPointer[pointer] { return known }
        guard depth <= Self.maximumDepth else { throw error("the schema is nested more than \(Self.maximumDepth) levels deep", schema) }
        guard nodes.count < Self.maximumNodes else { throw error("the schemas have more than \(Self.maximumNodes) nodes", schema) }
        let index = nodes.count
        nodes.append(SchemaNode())
        if let pointer { byPointer[pointer] = index }
        var node = SchemaNode()
        func child(_ value: JSONNode, _ key: String) throws(SchemaError) -> Int {
            try compile(value, pointer: pointer.map { $0 + "/" + key }, depth: depth + 1)
        }
        switch schema.kind {
        case .bool(let value):
            node.alwaysFails = !value
            nodes[index] = node
            return index
        case .object: break
        default: throw error("a schema must be an object or a boolean", schema)
        }
        func integer(_ key: String) throws(SchemaError) -> Int? {
            guard let value = schema[key] else { return nil }
            guard let number = value.number, JSONNode.isIntegral(number), number >= 0, number < 1e9 else {
                throw error("'\(key)' must be a non-negative integer", value)
            }
            return Int(number)
        }
        func number(_ key: String) throws(SchemaError) -> Double? {
            guard let value = schema[key] else { return nil }
            guard let number = value.number else { throw error("'\(key)' must be a number", value) }
            return number
        }
        func list(_ key: String) throws(SchemaError) -> [Int] {
            guard let value = schema[key] else { return [] }
            guard let items = value.array, !items.isEmpty else { throw error("'\(key)' must be a non-empty array of schemas", value) }
            var result: [Int] = []
            for (i, item) in items.enumerated() { result.append(try child(item, "\(key)/\(i)")) }
            return result
        }
        if let ref = schema["$ref"] {
            guard let text = ref.string else { throw error("'$ref' must be a string", ref) }
            node.ref = try compile(reference: text, from: ref, depth: depth)
        }
        if let type = schema["type"] {
            var types: SchemaTypes = []
            let names = type.array ?? [type]
            for name in names {
                guard let text = name.string, let known = SchemaTypes.names.first(where: { $0.0 == text }) else {
                    throw error("unknown type \(name.string.map { "'\($0)'" } ?? "value") (expected string, number, integer, boolean, object, array or null)", name)
                }
                types.insert(known.1)
            }
            node.types = types
            node.describesObjects = types.contains(.object)
        }
        if let nullable = schema["nullable"]?.bool { node.nullable = nullable }
        if let values = schema["enum"] {
            guard let items = values.array else { throw error("'enum' must be an array", values) }
            node.enumValues = items
        }
        node.constValue = schema["const"]
        node.minimum = try number("minimum")
        node.maximum = try number("maximum")
        // 3.0 (and draft 4): booleans turning minimum/maximum exclusive; 3.1: the bounds themselves.
        if let exclusive = schema["exclusiveMinimum"] {
            if let flag = exclusive.bool { if flag { node.exclusiveMinimum = node.minimum; node.minimum = nil } } else { node.exclusiveMinimum = try number("exclusiveMinimum") }
        }
        if let exclusive = schema["exclusiveMaximum"] {
            if let flag = exclusive.bool { if flag { node.exclusiveMaximum = node.maximum; node.maximum = nil } } else { node.exclusiveMaximum = try number("exclusiveMaximum") }
        }
        if let multiple = try number("multipleOf") {
            guard multiple > 0 else { throw error("'multipleOf' must be greater than 0", schema["multipleOf"] ?? schema) }
            node.multipleOf = multiple
        }
        node.minLength = try integer("minLength")
        node.maxLength = try integer("maxLength")
        if let pattern = schema["pattern"] {
            guard let text = pattern.string else { throw error("'pattern' must be a string", pattern) }
            do { node.pattern = try SchemaRegex(text) } catch { throw self.error("the pattern '\(text)' is not supported: \(error.message)", pattern) }
        }
        if let format = schema["format"]?.string { node.format = SchemaFormat(rawValue: format) }
        if let items = schema["items"] {
            if let tuple = items.array {  // draft 4's tuple form
                for (i, item) in tuple.enumerated() { node.prefixItems.append(try child(item, "items/\(i)")) }
                if let additional = schema["additionalItems"] { node.items = try child(additional, "additionalItems") }
            } else {
                node.items = try child(items, "items")
            }
        }
        if schema["prefixItems"] != nil { node.prefixItems = try list("prefixItems") }
        node.minItems = try integer("minItems")
        node.maxItems = try integer("maxItems")
        node.uniqueItems = schema["uniqueItems"]?.bool ?? false
        if let properties = schema["properties"] {
            guard let members = properties.members else { throw error("'properties' must be an object", properties) }
            for (name, value) in members {
                let compiled = try child(value, "properties/" + name.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1"))
                node.properties[name] = compiled
                node.lowercasedProperties[name.lowercased()] = compiled
            }
            node.describesObjects = true
        }
        if let patterns = schema["patternProperties"] {
            guard let members = patterns.members else { throw error("'patternProperties' must be an object", patterns) }
            for (text, value) in members {
                let regex: SchemaRegex
                do { regex = try SchemaRegex(text) } catch { throw self.error("the pattern '\(text)' is not supported: \(error.message)", value) }
                node.patternProperties.append((regex, try child(value, "patternProperties/" + text)))
            }
        }
        if let additional = schema["additionalProperties"] {
            if let flag = additional.bool { node.additionalProperties = flag ? nil : .some(nil) } else {
                node.additionalProperties = .some(try child(additional, "additionalProperties"))
            }
        }
        // `required` is an array of names in a schema (a boolean in a Swagger 2.0 parameter, ignored here).
        if let required = schema["required"]?.array {
            node.required = required.compactMap(\.string)
        }
        node.minProperties = try integer("minProperties")
        node.maxProperties = try integer("maxProperties")
        node.allOf = try list("allOf")
        node.anyOf = try list("anyOf")
        node.oneOf = try list("oneOf")
        if let not = schema["not"] { node.not = try child(not, "not") }
        nodes[index] = node
        return index
    }
}

/// One way an instance breaks its schema, as Json.NET Schema words it.
public struct SchemaViolation: Sendable {
    public let message: String
    /// Json.NET's path (`items[0].name`).
    public let path: String
    public let line: Int
    public let column: Int
}

/// One validation of an instance: bounded work (a step per keyword and value, regex steps), bounded
/// depth, at most `maximumViolations` reported.
struct SchemaValidation {
    let graph: SchemaGraph
    /// `allow-additional-properties`: true ignores `additionalProperties: false`, false forbids
    /// properties a schema does not name; nil follows the schema.
    var allowAdditionalProperties: Bool?
    var caseInsensitivePropertyNames = false
    var budget = 2_000_000
    var violations: [SchemaViolation] = []
    var exhausted = false
    static let maximumViolations = 20
    static let maximumDepth = 128

    enum PathPart { case name(String), index(Int) }

    init(graph: SchemaGraph) { self.graph = graph }

    static func pathText(_ parts: [PathPart]) -> String {
        var text = ""
        for part in parts {
            switch part {
            case .name(let name):
                let plain = !name.isEmpty && name.unicodeScalars.allSatisfy { ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_") }
                if plain { text += (text.isEmpty ? "" : ".") + name } else { text += "['" + name.replacingOccurrences(of: "'", with: "\\'") + "']" }
            case .index(let index): text += "[\(index)]"
            }
        }
        return text
    }

    /// Validates `value` against node `index`; reports violations only when `report`.
    mutating func validate(_ value: JSONNode, _ index: Int, path: inout [PathPart], depth: Int = 0, report: Bool = true) -> Bool {
        budget -= 1
        guard budget > 0, depth < Self.maximumDepth else { exhausted = true; return false }
        guard index >= 0, index < graph.nodes.count else { return false }
        let node = graph.nodes[index]
        var valid = true
        func fail(_ message: @autoclosure () -> String, at: JSONNode? = nil) {
            valid = false
            guard report, violations.count < Self.maximumViolations else { return }
            let where_ = at ?? value
            violations.append(SchemaViolation(message: message(), path: Self.pathText(path), line: where_.line, column: where_.column))
        }
        if node.alwaysFails { fail("Schema always fails validation."); return false }
        if let ref = node.ref, !validate(value, ref, path: &path, depth: depth + 1, report: report) { valid = false }
        if case .null = value.kind, node.nullable {
            // 3.0's nullable: null is allowed whatever the type says (enum aside).
        } else if let types = node.types, !types.admits(value) {
            fail("Invalid type. Expected \(types.description)\(node.nullable ? ", Null" : "") but got \(value.typeName).")
            return false
        }
        if let values = node.enumValues, !values.contains(where: { $0.equals(value) }), !(node.nullable && value.kind.isNull) {
            fail("Value \(Self.quoted(value)) is not defined in enum.")
        }
        if let constant = node.constValue, !constant.equals(value) { fail("Value \(Self.quoted(value)) does not match const.") }
        switch value.kind {
        case .number(let number):
            let kind = JSONNode.isIntegral(number) ? "Integer" : "Float"
            let shown = JSONNode.format(number)
            if let minimum = node.minimum, number < minimum { fail("\(kind) \(shown) is less than minimum value of \(JSONNode.format(minimum)).") }
            if let maximum = node.maximum, number > maximum { fail("\(kind) \(shown) exceeds maximum value of \(JSONNode.format(maximum)).") }
            if let minimum = node.exclusiveMinimum, number <= minimum {
                fail("\(kind) \(shown) is less than or equal to exclusive minimum value of \(JSONNode.format(minimum)).")
            }
            if let maximum = node.exclusiveMaximum, number >= maximum {
                fail("\(kind) \(shown) is greater than or equal to exclusive maximum value of \(JSONNode.format(maximum)).")
            }
            if let multiple = node.multipleOf {
                let quotient = number / multiple
                if !quotient.isFinite || abs(quotient - quotient.rounded()) > 1e-9 * max(1, abs(quotient)) {
                    fail("\(kind) \(shown) is not a multiple of \(JSONNode.format(multiple)).")
                }
            }
        case .string(let text):
            if node.minLength != nil || node.maxLength != nil {
                let length = text.unicodeScalars.count
                budget -= length / 64
                if let minimum = node.minLength, length < minimum { fail("String '\(Self.cut(text))' is less than minimum length of \(minimum).") }
                if let maximum = node.maxLength, length > maximum { fail("String '\(Self.cut(text))' exceeds maximum length of \(maximum).") }
            }
            if let pattern = node.pattern {
                switch pattern.test(text, budget: &budget) {
                case true?: break
                case false?: fail("String '\(Self.cut(text))' does not match regex pattern '\(pattern.pattern)'.")
                case nil: exhausted = true; return false
                }
            }
            if let format = node.format, !Self.conforms(text, to: format) {
                fail("String '\(Self.cut(text))' does not validate against format '\(format.rawValue)'.")
            }
        case .array(let items):
            if let minimum = node.minItems, items.count < minimum { fail("Array item count \(items.count) is less than minimum count of \(minimum).") }
            if let maximum = node.maxItems, items.count > maximum { fail("Array item count \(items.count) exceeds maximum count of \(maximum).") }
            if node.uniqueItems {
                budget -= items.count * items.count / 8
                if budget <= 0 { exhausted = true; return false }
                outer: for i in items.indices.dropFirst() {
                    for j in 0..<i where items[i].equals(items[j]) {
                        fail("Non-unique array item at index \(i).", at: items[i])
                        break outer
                    }
                }
            }
            for (i, item) in items.enumerated() {
                let schema = i < node.prefixItems.count ? node.prefixItems[i] : node.items
                guard let schema else { continue }
                path.append(.index(i))
                if !validate(item, schema, path: &path, depth: depth + 1, report: report) { valid = false }
                path.removeLast()
                if exhausted { return false }
            }
        case .object(let members):
            if let minimum = node.minProperties, members.count < minimum {
                fail("Object property count \(members.count) is less than minimum count of \(minimum).")
            }
            if let maximum = node.maxProperties, members.count > maximum {
                fail("Object property count \(members.count) exceeds maximum count of \(maximum).")
            }
            if !node.required.isEmpty {
                let missing = node.required.filter { name in
                    caseInsensitivePropertyNames
                        ? !members.contains { $0.0.caseInsensitiveCompare(name) == .orderedSame } : !members.contains { $0.0 == name }
                }
                if !missing.isEmpty { fail("Required properties are missing from object: \(missing.joined(separator: ", ")).") }
            }
            for (name, member) in members {
                let declared = caseInsensitivePropertyNames ? node.lowercasedProperties[name.lowercased()] : node.properties[name]
                path.append(.name(name))
                defer { path.removeLast() }
                var matched = false
                if let declared {
                    matched = true
                    if !validate(member, declared, path: &path, depth: depth + 1, report: report) { valid = false }
                }
                for (regex, schema) in node.patternProperties {
                    switch regex.test(name, budget: &budget) {
                    case true?:
                        matched = true
                        if !validate(member, schema, path: &path, depth: depth + 1, report: report) { valid = false }
                    case false?: break
                    case nil: exhausted = true; return false
                    }
                }
                if exhausted { return false }
                guard !matched else { continue }
                let forbidden: Bool
                switch allowAdditionalProperties {
                case true?: forbidden = false
                case false?: forbidden = node.describesObjects
                case nil: if case .some(.none) = node.additionalProperties { forbidden = true } else { forbidden = false }
                }
                if forbidden {
                    fail("Property '\(name)' has not been defined and the schema does not allow additional properties.", at: member)
                } else if allowAdditionalProperties != true, case .some(.some(let schema)) = node.additionalProperties {
                    if !validate(member, schema, path: &path, depth: depth + 1, report: report) { valid = false }
                }
            }
        default: break
        }
        for schema in node.allOf where !validate(value, schema, path: &path, depth: depth + 1, report: report) { valid = false }
        if exhausted { return false }
        if !node.anyOf.isEmpty {
            var any = false
            for schema in node.anyOf where validate(value, schema, path: &path, depth: depth + 1, report: false) { any = true; break }
            if exhausted { return false }
            if !any { fail("JSON does not match any schemas from 'anyOf'.") }
        }
        if !node.oneOf.isEmpty {
            var matching: [Int] = []
            for (i, schema) in node.oneOf.enumerated() where validate(value, schema, path: &path, depth: depth + 1, report: false) { matching.append(i) }
            if exhausted { return false }
            if matching.isEmpty { fail("JSON is valid against no schemas from 'oneOf'.") }
            if matching.count > 1 {
                fail("JSON is valid against more than one schema from 'oneOf'. Valid schema indexes: \(matching.map(String.init).joined(separator: ", ")).")
            }
        }
        if let not = node.not {
            let matches = validate(value, not, path: &path, depth: depth + 1, report: false)
            if exhausted { return false }
            if matches { fail("JSON is valid against schema from 'not'.") }
        }
        return valid
    }

    static func cut(_ text: String) -> String { text.count <= 64 ? text : String(text.prefix(61)) + "..." }

    static func quoted(_ value: JSONNode) -> String {
        if case .string(let text) = value.kind { return "\"\(cut(text))\"" }
        return value.shortDescription
    }

    // MARK: Formats

    static func conforms(_ text: String, to format: SchemaFormat) -> Bool {
        let bytes = Array(text.utf8)
        switch format {
        case .dateTime:
            guard let t = bytes.firstIndex(where: { $0 == UInt8(ascii: "T") || $0 == UInt8(ascii: "t") }) else { return false }
            return isDate(bytes[..<t]) && isTime(bytes[(t + 1)...], requireOffset: true)
        case .date: return isDate(bytes[...])
        case .time: return isTime(bytes[...], requireOffset: true)
        case .uuid:
            guard bytes.count == 36 else { return false }
            return bytes.enumerated().allSatisfy { i, b in [8, 13, 18, 23].contains(i) ? b == UInt8(ascii: "-") : isHex(b) }
        case .email:
            let parts = text.split(separator: "@", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, parts[0].count <= 64, parts[1].count <= 253, parts[1].contains("."),
                  !parts[1].hasPrefix("."), !parts[1].hasSuffix("."), !parts[0].hasPrefix("."), !parts[0].hasSuffix(".") else { return false }
            return text.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value != 0x7F && !"()<>[]\\,;:\"".unicodeScalars.contains($0) || $0 == "@" }
        case .ipv4:
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            return parts.count == 4 && parts.allSatisfy { part in
                !part.isEmpty && part.count <= 3 && part.allSatisfy(\.isASCII) && part.allSatisfy(\.isNumber)
                    && (part.count == 1 || part.first != "0") && (Int(part) ?? 256) <= 255
            }
        }
    }

    static func isHex(_ b: UInt8) -> Bool { (0x30...0x39).contains(b) || (0x41...0x46).contains(b) || (0x61...0x66).contains(b) }

    static func digits(_ bytes: ArraySlice<UInt8>, _ from: Int, _ count: Int) -> Int? {
        guard from >= bytes.startIndex, from + count <= bytes.endIndex else { return nil }
        var value = 0
        for b in bytes[from..<(from + count)] {
            guard (0x30...0x39).contains(b) else { return nil }
            value = value * 10 + Int(b - 0x30)
        }
        return value
    }

    static func isDate(_ bytes: ArraySlice<UInt8>) -> Bool {
        let s = bytes.startIndex
        guard bytes.count == 10, bytes[s + 4] == UInt8(ascii: "-"), bytes[s + 7] == UInt8(ascii: "-"),
              let year = digits(bytes, s, 4), let month = digits(bytes, s + 5, 2), let day = digits(bytes, s + 8, 2),
              (1...12).contains(month), day >= 1 else { return false }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        return day <= days
    }

    static func isTime(_ bytes: ArraySlice<UInt8>, requireOffset: Bool) -> Bool {
        let s = bytes.startIndex
        guard bytes.count >= 8, bytes[s + 2] == UInt8(ascii: ":"), bytes[s + 5] == UInt8(ascii: ":"),
              let hour = digits(bytes, s, 2), let minute = digits(bytes, s + 3, 2), let second = digits(bytes, s + 6, 2),
              hour <= 23, minute <= 59, second <= 60 else { return false }
        var i = s + 8
        if i < bytes.endIndex, bytes[i] == UInt8(ascii: ".") {
            i += 1
            let start = i
            while i < bytes.endIndex, (0x30...0x39).contains(bytes[i]) { i += 1 }
            guard i > start else { return false }
        }
        guard i < bytes.endIndex else { return !requireOffset }
        if bytes[i] == UInt8(ascii: "Z") || bytes[i] == UInt8(ascii: "z") { return i + 1 == bytes.endIndex }
        guard bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-"), bytes.endIndex - i == 6, bytes[i + 3] == UInt8(ascii: ":"),
              let oh = digits(bytes, i + 1, 2), let om = digits(bytes, i + 4, 2), oh <= 23, om <= 59 else { return false }
        return true
    }
}

extension JSONNode.Kind {
    var isNull: Bool { if case .null = self { true } else { false } }
}
