import Foundation
import PolicyExpressions
import Testing

@testable import Policies

/// Hostile input for the validation machinery (a fixed seed): random bodies over JSON's significant
/// characters, random patterns over ECMA-262's, random schemas and XSDs — each parsed, compiled and
/// run, refused with an error or answered, never a trap or an unbounded run.
@Suite struct ValidationFuzzTests {
    typealias Generator = LiquidFuzzTests.Generator

    static func text(_ pieces: [String], _ random: inout Generator, count: ClosedRange<Int> = 1...40) -> String {
        var text = ""
        for _ in 0..<Int.random(in: count, using: &random) { text += pieces.randomElement(using: &random) ?? "" }
        return text
    }

    @Test func randomJSONAgainstARecursiveSchema() throws {
        let pieces = ["{", "}", "[", "]", ",", ":", "\"", "\"a\"", "\"name\"", "\"price\"", "\"children\"", "1", "-", "0", ".5", "e9",
                      "true", "null", "\\", "\\u", "d83d", " ", "\n", "1e400", "\"\\ud800\"", "\u{7F}", "é"]
        let description = try compiledDescription()
        let schema = try #require(description.operations.first { $0.method == "PUT" }?.requestContents.first?.schema)
        var random = Generator(state: 0x15ed)
        var parsed = 0
        for _ in 0..<4000 {
            let body = Self.text(pieces, &random)
            guard let instance = try? StrictJSON.parse(Array(body.utf8)) else { continue }
            parsed += 1
            var validation = SchemaValidation(graph: description.graph)
            var path: [SchemaValidation.PathPart] = []
            _ = validation.validate(instance, schema, path: &path)
            #expect(validation.violations.count <= SchemaValidation.maximumViolations)
        }
        #expect(parsed > 20)
        // Well-formed random documents of the schema's names and every value type.
        func value(_ depth: Int) -> String {
            switch Int.random(in: 0...(depth > 3 ? 4 : 6), using: &random) {
            case 0: return "null"
            case 1: return ["1", "-0.5", "0", "1e3", "12345678901234567890"].randomElement(using: &random) ?? "1"
            case 2: return ["\"\"", "\"pen\"", "\"\\u00e9\"", "true"].randomElement(using: &random) ?? "true"
            case 3, 4: return "false"
            case 5: return "[" + (0..<Int.random(in: 0...3, using: &random)).map { _ in value(depth + 1) }.joined(separator: ",") + "]"
            default:
                let names = ["name", "price", "note", "children", "extra"].shuffled(using: &random).prefix(Int.random(in: 0...5, using: &random))
                return "{" + names.map { "\"\($0)\":" + value(depth + 1) }.joined(separator: ",") + "}"
            }
        }
        var valid = 0
        for _ in 0..<2000 {
            let instance = try StrictJSON.parse(Array(value(0).utf8))
            var validation = SchemaValidation(graph: description.graph)
            var path: [SchemaValidation.PathPart] = []
            if validation.validate(instance, schema, path: &path) { valid += 1 } else { #expect(!validation.violations.isEmpty || validation.exhausted) }
        }
        #expect(valid < 2000)
    }

    @Test func randomPatternsCompileOrFailAndRunBounded() {
        let pieces = ["a", "b", "(", ")", "(?:", "(?<n>", "(?=", "[", "]", "^", "$", "-", "\\", "\\d", "\\w", "\\b", "\\1", ".", "*", "+", "?",
                      "{", "}", "{2,", "3}", ",", "|", "\\u00", "\\x4", "z-a"]
        var random = Generator(state: 0xbeef)
        var compiled = 0
        for _ in 0..<4000 {
            let pattern = Self.text(pieces, &random, count: 1...16)
            guard let regex = try? SchemaRegex(pattern) else { continue }
            compiled += 1
            var budget = 100_000
            _ = regex.test(Self.text(["a", "b", "ab", " ", "1"], &random, count: 0...64), budget: &budget)
        }
        #expect(compiled > 100)
    }

    @Test func randomSchemasCompileOrFail() {
        let pieces = ["{", "}", "[", "]", ",", ":", "\"type\"", "\"string\"", "\"integer\"", "\"$ref\"", "\"#\"", "\"#/a\"", "\"a\"", "\"items\"",
                      "\"properties\"", "\"allOf\"", "\"pattern\"", "\"(\"", "\"minimum\"", "1", "-1", "true", "false", "\"required\"", "\"not\""]
        var random = Generator(state: 0xcafe)
        for _ in 0..<4000 {
            let text = Self.text(pieces, &random)
            guard let root = try? StrictJSON.parse(Array(text.utf8)) else { continue }
            var compiler = SchemaCompiler(root: root)
            guard let index = try? compiler.compile(root, pointer: "#", depth: 0) else { continue }
            var validation = SchemaValidation(graph: compiler.graph)
            var path: [SchemaValidation.PathPart] = []
            _ = validation.validate(root, index, path: &path)  // the document against itself
        }
    }

    @Test func randomXMLAgainstAnXSD() throws {
        let set = try XMLSchemaSet.compile(Array(ValidateContentRuntimeTests.ordersXSD.utf8))
        let pieces = ["<Order xmlns=\"urn:orders\">", "</Order>", "<Sku>", "</Sku>", "ABC-1", "<Quantity>", "</Quantity>", "3", "x", "<Line n=\"1\"/>",
                      "<Line/>", "<Note>", "</Note>", " ", "<Foo/>", "&amp;", "<!-- c -->"]
        var random = Generator(state: 0xd00d)
        var validated = 0
        for _ in 0..<4000 {
            guard let nodes = try? StrictXML.parse(Array(Self.text(pieces, &random).utf8)), !nodes.isEmpty else { continue }
            var validation = XMLSchemaSet.Validation(set: set, nodes: nodes)
            validation.validateGlobal(0)
            validated += 1
        }
        #expect(validated > 10)
    }

    @Test func aLargeBodyIsValidatedQuickly() throws {
        // ~100 KB of nested items (APIM's max-size) against the recursive Item schema.
        let item = #"{"name":"pen","price":1.5,"note":null,"children":[{"name":"cap","price":0.25}]}"#
        let body = "{\"name\":\"box\",\"price\":9,\"children\":[" + Array(repeating: item, count: 1200).joined(separator: ",") + "]}"
        let description = try compiledDescription()
        let schema = try #require(description.operations.first { $0.method == "PUT" }?.requestContents.first?.schema)
        let clock = ContinuousClock()
        var valid = false
        let elapsed = try clock.measure {
            let instance = try StrictJSON.parse(Array(body.utf8))
            var validation = SchemaValidation(graph: description.graph)
            var path: [SchemaValidation.PathPart] = []
            valid = validation.validate(instance, schema, path: &path)
        }
        #expect(body.utf8.count > 90_000)
        #expect(valid)
        #expect(elapsed < .seconds(2))
    }
}
