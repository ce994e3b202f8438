import Foundation
import Testing

@testable import Policies

/// The validator against JSON Schema's documented behaviour (the keyword definitions of JSON Schema
/// Validation and OpenAPI 3.0's schema object), one keyword at a time.
@Suite struct JSONSchemaValidatorTests {
    static func json(_ text: String) throws -> JSONNode { try StrictJSON.parse(Array(text.utf8)) }

    /// Whether `instance` is valid against `schema`, and the first violation.
    static func check(_ schema: String, _ instance: String, allowAdditional: Bool? = nil) throws -> (Bool, String?) {
        let root = try json(schema)
        var compiler = SchemaCompiler(root: root)
        let index = try compiler.compile(root, pointer: "#", depth: 0)
        var validation = SchemaValidation(graph: compiler.graph)
        validation.allowAdditionalProperties = allowAdditional
        var path: [SchemaValidation.PathPart] = []
        let valid = validation.validate(try json(instance), index, path: &path)
        return (valid, validation.violations.first.map { "\($0.message) Path '\($0.path)'." })
    }

    @Test("keywords", arguments: [
        // type; integer is a number without a fractional part (1.0 is an integer)
        (#"{"type":"integer"}"#, "1.0", true), (#"{"type":"integer"}"#, "1.5", false), (#"{"type":"number"}"#, "3", true),
        (#"{"type":["string","null"]}"#, "null", true), (#"{"type":"string"}"#, "null", false),
        (#"{"type":"string","nullable":true}"#, "null", true),
        // enum and const compare structurally (numbers by value, objects regardless of member order)
        (#"{"enum":[1,"a",{"x":[1,2]}]}"#, #"{"x":[1,2.0]}"#, true), (#"{"enum":[1,"a"]}"#, #""b""#, false),
        (#"{"const":{"a":1,"b":2}}"#, #"{"b":2,"a":1}"#, true),
        // numeric bounds: inclusive, 3.0 boolean exclusive, 3.1 numeric exclusive; multipleOf with decimals
        (#"{"minimum":5}"#, "5", true), (#"{"minimum":5,"exclusiveMinimum":true}"#, "5", false), (#"{"exclusiveMaximum":5}"#, "5", false),
        (#"{"exclusiveMaximum":5}"#, "4.99", true), (#"{"multipleOf":0.01}"#, "19.99", true), (#"{"multipleOf":2}"#, "7", false),
        // strings: lengths count code points (an emoji is one); pattern is an unanchored search
        (#"{"maxLength":2}"#, #""😀😀""#, true), (#"{"minLength":3}"#, #""ab""#, false), (#"{"pattern":"b+"}"#, #""abbbc""#, true),
        (#"{"pattern":"^\\d{3}-\\d{4}$"}"#, #""555-1234""#, true), (#"{"pattern":"^\\d{3}-\\d{4}$"}"#, #""555-12345""#, false),
        (#"{"pattern":"^(?:[a-z]|_){2,3}$"}"#, #""a_b""#, true), (#"{"pattern":"^[^@\\s]+@[^@\\s]+$"}"#, #""a b@c""#, false),
        // formats
        (#"{"format":"date-time"}"#, #""2026-02-29T10:00:00Z""#, false), (#"{"format":"date-time"}"#, #""2024-02-29T10:00:00.5+01:00""#, true),
        (#"{"format":"uuid"}"#, #""0f8fad5b-d9cb-469f-a165-70867728950e""#, true), (#"{"format":"email"}"#, #""nobody""#, false),
        (#"{"format":"unknown-format"}"#, #""anything""#, true), (#"{"format":"date-time"}"#, "5", true),
        // arrays
        (#"{"items":{"type":"integer"},"minItems":1}"#, "[1,2]", true), (#"{"items":{"type":"integer"}}"#, #"[1,"2"]"#, false),
        (#"{"uniqueItems":true}"#, #"[1,{"a":1},{"a":1.0}]"#, false), (#"{"maxItems":1}"#, "[1,2]", false),
        (#"{"prefixItems":[{"type":"string"}],"items":{"type":"integer"}}"#, #"["a",1,2]"#, true),
        // objects
        (#"{"required":["a"]}"#, #"{"b":1}"#, false), (#"{"properties":{"a":{"type":"string"}},"additionalProperties":false}"#, #"{"a":"x","b":1}"#, false),
        (#"{"additionalProperties":{"type":"integer"}}"#, #"{"a":1,"b":"2"}"#, false), (#"{"patternProperties":{"^x-":{"type":"string"}},"additionalProperties":false}"#, #"{"x-a":"1"}"#, true),
        (#"{"minProperties":2}"#, #"{"a":1}"#, false), (#"{"maxProperties":1}"#, #"{"a":1}"#, true),
        // composition
        (#"{"allOf":[{"type":"integer"},{"minimum":3}]}"#, "2", false), (#"{"anyOf":[{"type":"string"},{"type":"integer"}]}"#, "1", true),
        (#"{"oneOf":[{"type":"integer"},{"minimum":0}]}"#, "1", false), (#"{"oneOf":[{"type":"integer"},{"minimum":0}]}"#, "1.5", true),
        (#"{"not":{"type":"string"}}"#, "1", true), (#"{"not":{"type":"string"}}"#, #""s""#, false),
        // $ref, recursion, boolean schemas
        (##"{"$defs":{"n":{"type":"object","properties":{"next":{"$ref":"#/$defs/n"}},"additionalProperties":false}},"$ref":"#/$defs/n"}"##, #"{"next":{"next":{"x":1}}}"#, false),
        (##"{"$defs":{"n":{"type":"object","properties":{"next":{"$ref":"#/$defs/n"}}}},"$ref":"#/$defs/n"}"##, #"{"next":{"next":{}}}"#, true),
        (#"{"properties":{"a":false}}"#, #"{"a":1}"#, false), (#"{"properties":{"a":true}}"#, #"{"a":1}"#, true),
    ] as [(String, String, Bool)])
    func keyword(schema: String, instance: String, valid: Bool) throws {
        let (result, message) = try Self.check(schema, instance)
        #expect(result == valid, "\(schema) / \(instance): \(message ?? "valid")")
    }

    @Test("messages as Json.NET Schema words them", arguments: [
        (#"{"type":"object","properties":{"a":{"type":"integer"}}}"#, #"{"a":"x"}"#, "Invalid type. Expected Integer but got String. Path 'a'."),
        (#"{"required":["a","b"]}"#, "{}", "Required properties are missing from object: a, b. Path ''."),
        (#"{"items":{"maximum":3}}"#, "[1,4]", "Integer 4 exceeds maximum value of 3. Path '[1]'."),
        (#"{"properties":{"a b":{"enum":["x"]}}}"#, #"{"a b":"y"}"#, #"Value "y" is not defined in enum. Path '['a b']'."#),
        (#"{"anyOf":[{"type":"string"},{"type":"null"}]}"#, "1", "JSON does not match any schemas from 'anyOf'. Path ''."),
        (#"{"oneOf":[{"type":"number"},{"type":"integer"}]}"#, "1", "JSON is valid against more than one schema from 'oneOf'. Valid schema indexes: 0, 1. Path ''."),
    ] as [(String, String, String)])
    func messages(schema: String, instance: String, expected: String) throws {
        #expect(try Self.check(schema, instance).1 == expected)
    }

    @Test func allowAdditionalPropertiesOverridesTheSchema() throws {
        let closed = #"{"type":"object","properties":{"a":{}},"additionalProperties":false}"#
        #expect(try Self.check(closed, #"{"a":1,"b":2}"#, allowAdditional: true).0)
        let open = #"{"type":"object","properties":{"a":{}}}"#
        #expect(try !Self.check(open, #"{"a":1,"b":2}"#, allowAdditional: false).0)
    }

    @Test func catastrophicPatternsRunInLinearTime() throws {
        // `^(a+)+$` against "aaa…ab" backtracks exponentially in a backtracking engine.
        let regex = try SchemaRegex("^(a+)+$")
        var budget = 10_000_000
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            #expect(regex.test(String(repeating: "a", count: 5000) + "b", budget: &budget) == false)
        }
        #expect(elapsed < .seconds(5))
        var small = 100
        #expect(regex.test(String(repeating: "a", count: 5000), budget: &small) == nil)  // out of budget: not validated
    }

    @Test("ECMA-262 search semantics", arguments: [
        ("a|bc", "xbcx", true), ("^a|b$", "cab", true), ("^(?:ab)+?$", "abab", true), ("^a$", "a\n", false),
        ("\\bcat\\b", "a cat!", true), ("\\bcat\\b", "concat", false), ("^[\\w.-]+$", "a.b-c_1", true), ("^[^0-9]*$", "ab1", false),
        ("^x{2,3}$", "xxxx", false), ("^x{2,}$", "xxxx", true), ("\\u00e9", "caf\u{e9}", true), ("^.$", "\u{1F600}", true), ("a.c", "a\nc", false),
    ] as [(String, String, Bool)])
    func search(pattern: String, text: String, matches: Bool) throws {
        var budget = 1_000_000
        #expect(try SchemaRegex(pattern).test(text, budget: &budget) == matches, "\(pattern) / \(text)")
    }

    @Test("patterns outside the linear subset are refused at load", arguments: [#"(a)\1"#, "(?=a)", "(?<!a)b", "a{2000}", "[z-a]", "(a"])
    func refusedPatterns(pattern: String) {
        #expect(throws: SchemaRegex.SyntaxError.self) { try SchemaRegex(pattern) }
    }

    @Test func schemaErrorsAtLoadNameTheirPlace() throws {
        let root = try Self.json("{\n \"type\": \"strin\"\n}")
        var compiler = SchemaCompiler(root: root)
        #expect(throws: SchemaError.self) { try compiler.compile(root, pointer: "#", depth: 0) }
        let remote = try Self.json(#"{"$ref":"https://example.com/s.json"}"#)
        var second = SchemaCompiler(root: remote)
        do {
            _ = try second.compile(remote, pointer: "#", depth: 0)
            Issue.record("a remote $ref compiled")
        } catch {
            #expect(error.message.contains("only local $refs"))
        }
    }

    @Test func hostileJSONIsBounded() {
        let deep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        #expect(throws: StrictJSON.ParseError.self) { try StrictJSON.parse(Array(deep.utf8)) }
        #expect(throws: StrictJSON.ParseError.self) { try StrictJSON.parse(Array(#"{"a":1,}"#.utf8)) }
        #expect(throws: StrictJSON.ParseError.self) { try StrictJSON.parse(Array("\"\u{01}\"".utf8)) }
        #expect(throws: StrictJSON.ParseError.self) { try StrictJSON.parse(Array("1e999".utf8)) }
        #expect((try? StrictJSON.parse(Array(#""\ud83d\ude00""#.utf8)))?.string == "😀")
    }

    @Test func openAPIDocumentsCompileWithTheirRefsAndSwagger2() throws {
        let description = try compiledDescription()
        #expect(description.operationCount == 3)
        #expect(description.match(method: "GET", path: "/items/42")?.parameters.first?.1 == "42")
        #expect(description.match(method: "GET", path: "/items/mine")?.operation.template == "/items/mine")
        #expect(description.match(method: "DELETE", path: "/items/42") == nil)
        let swagger = """
            {"swagger":"2.0","paths":{"/a/{n}":{"post":{"consumes":["application/json"],
              "parameters":[{"name":"n","in":"path","required":true,"type":"integer","maximum":9},
                            {"name":"body","in":"body","schema":{"$ref":"#/definitions/A"}}],
              "responses":{"200":{"description":"ok","schema":{"type":"string"},"headers":{"X-N":{"type":"integer"}}}}}}},
             "definitions":{"A":{"type":"object"}}}
            """
        let two = try compiledDescription(swagger)
        let operation = try #require(two.match(method: "POST", path: "/a/3")?.operation)
        #expect(operation.requestContents.first?.definition == "A")
        #expect(two.violation(of: ["10"], for: try #require(operation.parameters.first)) != nil)
        #expect(APIDescription.response(operation, status: 200)?.headers.first?.name == "X-N")
        #expect(throws: SchemaError.self) { try compiledDescription(#"{"info":{}}"#) }
    }
}
