import Foundation
import Policies
import Yams

/// Reads OpenAPI descriptions (`apis[].openapi`) and JSON schemas (`policies.schemas`) — YAML or JSON
/// (JSON is YAML's flow style) — into the `JSONNode` trees the validation policies compile at load.
/// YAML's plain scalars become JSON's nulls, booleans and numbers by the YAML 1.2 core schema; quoted
/// scalars stay strings (so `"5"` and `5` differ, as in JSON).
public enum SchemaDocumentReader {
    static let maximumBytes = 16 << 20
    static let maximumNodes = 1_000_000

    static func read(_ path: String) throws -> (root: JSONNode, bytes: [UInt8]) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(file: path, message: "cannot read the file")
        }
        guard data.count <= maximumBytes else { throw ConfigurationError(file: path, message: "the file is larger than 16 MiB") }
        let bytes = Array(data)
        guard let text = String(validating: bytes, as: UTF8.self) else { throw ConfigurationError(file: path, message: "the file is not valid UTF-8") }
        let node: Node
        do {
            guard let composed = try Yams.compose(yaml: text, Resolver.basic) else { throw ConfigurationError(file: path, message: "the file is empty") }
            node = composed
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw ConfigurationError(file: path, message: "not valid YAML or JSON: \(error)")
        }
        var count = 0
        return (try convert(node, path: path, count: &count, depth: 0), bytes)
    }

    static func convert(_ node: Node, path: String, count: inout Int, depth: Int) throws -> JSONNode {
        count += 1
        let line = node.mark?.line ?? 0, column = node.mark?.column ?? 0
        func error(_ message: String) -> ConfigurationError { ConfigurationError(file: path, line: line, column: column, message: message) }
        // Aliases are expanded: a count bound keeps "billion laughs" documents out.
        guard count <= maximumNodes else { throw error("the document has more than \(maximumNodes) values (aliases expanded)") }
        guard depth <= 256 else { throw error("the document is nested more than 256 levels deep") }
        switch node {
        case .mapping(let mapping):
            var members: [(String, JSONNode)] = []
            var names = Set<String>()
            for (key, value) in mapping {
                guard let name = key.scalar?.string else { throw error("mapping keys must be strings") }
                guard names.insert(name).inserted else {
                    throw ConfigurationError(file: path, line: key.mark?.line, column: key.mark?.column, message: "duplicate key '\(name)'")
                }
                members.append((name, try convert(value, path: path, count: &count, depth: depth + 1)))
            }
            return JSONNode(.object(members), line: line, column: column)
        case .sequence(let sequence):
            var items: [JSONNode] = []
            for item in sequence { items.append(try convert(item, path: path, count: &count, depth: depth + 1)) }
            return JSONNode(.array(items), line: line, column: column)
        case .scalar(let scalar):
            return JSONNode(resolve(scalar), line: line, column: column)
        case .alias:
            throw error("unresolved YAML alias")
        }
    }

    /// YAML 1.2 core schema for plain scalars.
    static func resolve(_ scalar: Node.Scalar) -> JSONNode.Kind {
        let text = scalar.string
        guard scalar.style == .plain || scalar.style == .any else { return .string(text) }
        switch text {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        default: break
        }
        let body = text.hasPrefix("-") || text.hasPrefix("+") ? text.dropFirst() : Substring(text)
        if body.hasPrefix("0x"), let value = Int64(body.dropFirst(2), radix: 16) { return .number(Double(value) * (text.hasPrefix("-") ? -1 : 1)) }
        if body.hasPrefix("0o"), let value = Int64(body.dropFirst(2), radix: 8) { return .number(Double(value) * (text.hasPrefix("-") ? -1 : 1)) }
        let numeric = !body.isEmpty && body.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "+") }
            && body.utf8.first.map { ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: ".") } == true
        if numeric, let value = Double(text), value.isFinite { return .number(value) }
        return .string(text)
    }

    /// An OpenAPI description, compiled.
    public static func openAPI(_ path: String) throws -> APIDescription {
        let (root, bytes) = try read(path)
        do {
            return try APIDescription.compile(root, source: bytes)
        } catch {
            throw ConfigurationError(file: path, line: error.line > 0 ? error.line : nil, column: error.column > 0 ? error.column : nil,
                                     message: "OpenAPI description: \(error.message)")
        }
    }

    /// A schema for `validate-content schema-id`: XML (`.xsd`, `.xml`, or text starting with `<`) is compiled
    /// as an XML schema (XSD); anything else is read as a JSON schema and compiled.
    public static func namedSchema(id: String, path: String) throws -> NamedSchema {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(file: path, message: "cannot read schema '\(id)'")
        }
        let lower = path.lowercased()
        let firstByte = data.first { ![0x20, 0x09, 0x0A, 0x0D, 0xEF, 0xBB, 0xBF].contains($0) }
        if lower.hasSuffix(".xsd") || lower.hasSuffix(".xml") || firstByte == UInt8(ascii: "<") {
            do {
                return try NamedSchema(id: id, xml: Array(data))
            } catch {
                throw ConfigurationError(file: path, message: "XML schema '\(id)': \(error.message)")
            }
        }
        let (root, bytes) = try read(path)
        do {
            return try NamedSchema(id: id, json: root, source: bytes)
        } catch {
            throw ConfigurationError(file: path, line: error.line > 0 ? error.line : nil, column: error.column > 0 ? error.column : nil,
                                     message: "schema '\(id)': \(error.message)")
        }
    }
}
