import Crypto
import Foundation

/// An API's OpenAPI description (3.0, 3.1, or Swagger 2.0), compiled at load into what the validation
/// policies need: operations by method and path template, their parameters (with schemas and
/// `required`), request bodies and responses per content type and status code, response headers. The
/// configuration reads the file (YAML or JSON) into a `JSONNode` tree and calls `compile`.
///
/// Not OpenAPIKit (in the mirror at 6.4.0): the validators need the raw schema keywords (3.0's
/// `nullable` and boolean `exclusiveMinimum`, 3.1's type lists, `$ref`s to any local pointer) compiled
/// into one graph with source positions, which a generic tree gives directly; OpenAPIKit decodes into
/// typed models (refusing documents APIM imports, e.g. with vendor keys in odd places) that would have
/// to be turned back into keywords, and would add a large package to a two-core build.
public final class APIDescription: Sendable, Equatable {
    public enum Location: String, Sendable { case query, header, path, cookie }

    struct Parameter: Sendable {
        let name: String
        let location: Location
        let required: Bool
        let schema: Int?
        /// Swagger 2.0 `collectionFormat` / OpenAPI `style`+`explode` for arrays: the separator of one value.
        let separator: Character
        /// OpenAPI 3's `content` form: the value is a JSON document (`application/json`).
        var json = false
    }

    struct Media: Sendable {
        /// Lower-cased media type (`application/json`, `application/*`, `*/*`).
        let contentType: String
        let schema: Int?
        /// The definition's name in messages: the `$ref`'s last component, or where it is written.
        let definition: String
    }

    struct Response: Sendable {
        let contents: [Media]
        let headers: [Parameter]
    }

    struct Operation: Sendable {
        let method: String
        let template: String
        let segments: [[Piece]]
        let literalSegments: Int
        let parameters: [Parameter]
        let requestContents: [Media]
        /// `"200"`, `"2XX"`, `"default"`.
        let responses: [String: Response]
    }

    enum Piece: Sendable, Equatable {
        case literal(String)
        case parameter(String)
    }

    /// "3.0.3", "3.1.0", "2.0".
    public let version: String
    public let operationCount: Int
    let graph: SchemaGraph
    let operations: [Operation]
    /// Operation indices by method and segment count (what a request can match at all).
    let candidates: [String: [Int]]
    let fingerprint: [UInt8]

    init(version: String, graph: SchemaGraph, operations: [Operation], fingerprint: [UInt8]) {
        self.version = version
        self.graph = graph
        self.operations = operations
        self.fingerprint = fingerprint
        operationCount = operations.count
        var candidates: [String: [Int]] = [:]
        for (index, operation) in operations.enumerated() { candidates["\(operation.method) \(operation.segments.count)", default: []].append(index) }
        self.candidates = candidates
    }

    public static func == (lhs: APIDescription, rhs: APIDescription) -> Bool { lhs.fingerprint == rhs.fingerprint }

    static let methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]

    /// Compiles a parsed document. `source` (the file's bytes) identifies it (reloads compare it).
    public static func compile(_ root: JSONNode, source: [UInt8]) throws(SchemaError) -> APIDescription {
        var compiler = SchemaCompiler(root: root)
        func error(_ message: String, _ at: JSONNode) -> SchemaError { SchemaError(message: message, line: at.line, column: at.column) }
        let version: String
        let swagger2: Bool
        if let openapi = root["openapi"] {
            guard let text = openapi.string ?? openapi.number.map({ String($0) }), text.hasPrefix("3.") else {
                throw error("'openapi' must be a 3.x version (3.0 or 3.1)", openapi)
            }
            version = text
            swagger2 = false
        } else if let swagger = root["swagger"] {
            guard swagger.string == "2.0" || swagger.number == 2 else { throw error("'swagger' must be \"2.0\"", swagger) }
            version = "2.0"
            swagger2 = true
        } else {
            throw error("not an OpenAPI description: no 'openapi' (3.x) or 'swagger' (2.0) field", root)
        }
        let globalConsumes = root["consumes"]?.array?.compactMap(\.string) ?? ["application/json"]
        let globalProduces = root["produces"]?.array?.compactMap(\.string) ?? ["application/json"]

        /// Follows `$ref`s of non-schema objects (parameters, request bodies, responses, headers).
        func dereferenced(_ node: JSONNode) throws(SchemaError) -> JSONNode {
            var current = node
            var hops = 0
            while let ref = current["$ref"]?.string {
                hops += 1
                guard hops <= 32 else { throw error("the $ref chain from here is longer than 32 (a cycle?)", node) }
                current = try compiler.resolve(ref, from: current)
            }
            return current
        }
        func definitionName(_ schema: JSONNode, _ fallback: String) -> String {
            if let ref = schema["$ref"]?.string, let last = ref.split(separator: "/").last { return String(last) }
            return fallback
        }
        func media(_ content: JSONNode?, _ fallback: String) throws(SchemaError) -> [Media] {
            guard let members = content?.members else { return [] }
            var result: [Media] = []
            for (type, value) in members {
                let schema = try value["schema"].map { schema throws(SchemaError) in try compiler.compile(schema, pointer: nil, depth: 0) }
                result.append(Media(contentType: type.lowercased(), schema: schema,
                                    definition: value["schema"].map { definitionName($0, fallback) } ?? fallback))
            }
            return result
        }
        func parameter(_ raw: JSONNode, header name: String? = nil) throws(SchemaError) -> Parameter? {
            let node = try dereferenced(raw)
            let location: Location
            let parameterName: String
            if let name {
                location = .header
                parameterName = name
            } else {
                guard let text = node["name"]?.string else { throw error("a parameter needs a 'name'", node) }
                guard let where_ = node["in"]?.string else { throw error("parameter '\(text)' needs 'in'", node) }
                if where_ == "body" || where_ == "formData" { return nil }  // Swagger 2.0 bodies: see below
                guard let known = Location(rawValue: where_) else { throw error("parameter '\(text)': unknown 'in' value '\(where_)'", node) }
                location = known
                parameterName = text
            }
            var schema: Int?
            var json = false
            if let given = node["schema"] {
                schema = try compiler.compile(given, pointer: nil, depth: 0)
            } else if let content = node["content"]?.members?.first {
                // `content: { application/json: { schema } }`: the value is serialised as that media type.
                json = content.0.lowercased().hasSuffix("json")
                schema = try content.1["schema"].map { given throws(SchemaError) in try compiler.compile(given, pointer: nil, depth: 0) }
            } else if swagger2 || node["type"] != nil {
                // Swagger 2.0: the parameter (or header) object itself carries the schema keywords.
                schema = try compiler.compile(node, pointer: nil, depth: 0)
            }
            var separator: Character = ","
            switch node["collectionFormat"]?.string ?? node["style"]?.string {
            case "ssv", "spaceDelimited": separator = " "
            case "tsv": separator = "\t"
            case "pipes", "pipeDelimited": separator = "|"
            default: break
            }
            return Parameter(name: parameterName, location: location, required: node["required"]?.bool ?? (location == .path),
                             schema: schema, separator: separator, json: json)
        }

        var operations: [Operation] = []
        if let paths = root["paths"], paths.members == nil { throw error("'paths' must be an object", paths) }
        for (template, rawItem) in root["paths"]?.members ?? [] {
            guard template.hasPrefix("/") else { throw error("the path '\(template)' must start with '/'", rawItem) }
            let item = try dereferenced(rawItem)
            var shared: [Parameter] = []
            for raw in item["parameters"]?.array ?? [] { if let made = try parameter(raw) { shared.append(made) } }
            let segments = try Self.segments(template, at: rawItem)
            for method in methods {
                guard let operation = item[method] else { continue }
                guard operation.members != nil else { throw error("the operation \(method.uppercased()) \(template) must be an object", operation) }
                let where_ = "\(method.uppercased()) \(template)"
                var parameters = shared
                var bodyContents: [Media] = []
                for raw in operation["parameters"]?.array ?? [] {
                    let node = try dereferenced(raw)
                    if swagger2, node["in"]?.string == "body" {
                        let consumes = operation["consumes"]?.array?.compactMap(\.string) ?? globalConsumes
                        let schema = try node["schema"].map { schema throws(SchemaError) in try compiler.compile(schema, pointer: nil, depth: 0) }
                        let name = node["schema"].map { definitionName($0, "request body of \(where_)") } ?? "request body of \(where_)"
                        bodyContents = consumes.map { Media(contentType: $0.lowercased(), schema: schema, definition: name) }
                        continue
                    }
                    guard let made = try parameter(raw) else { continue }
                    parameters.removeAll { $0.name == made.name && $0.location == made.location }
                    parameters.append(made)
                }
                if let body = operation["requestBody"] {
                    bodyContents = try media(try dereferenced(body)["content"], "request body of \(where_)")
                }
                var responses: [String: Response] = [:]
                for (code, rawResponse) in operation["responses"]?.members ?? [] {
                    let response = try dereferenced(rawResponse)
                    var headers: [Parameter] = []
                    for (name, header) in response["headers"]?.members ?? [] {
                        if let made = try parameter(header, header: name) { headers.append(made) }
                    }
                    var contents: [Media]
                    if swagger2 {
                        let produces = operation["produces"]?.array?.compactMap(\.string) ?? globalProduces
                        let schema = try response["schema"].map { schema throws(SchemaError) in try compiler.compile(schema, pointer: nil, depth: 0) }
                        let name = response["schema"].map { definitionName($0, "response \(code) of \(where_)") } ?? "response \(code) of \(where_)"
                        contents = response["schema"] == nil ? [] : produces.map { Media(contentType: $0.lowercased(), schema: schema, definition: name) }
                    } else {
                        contents = try media(response["content"], "response \(code) of \(where_)")
                    }
                    responses[code.uppercased() == "DEFAULT" ? "default" : code.uppercased()] = Response(contents: contents, headers: headers)
                }
                operations.append(Operation(
                    method: method.uppercased(), template: template, segments: segments,
                    literalSegments: segments.filter { $0.count == 1 && { if case .literal = $0[0] { true } else { false } }($0) }.count,
                    parameters: parameters, requestContents: bodyContents, responses: responses))
            }
        }
        return APIDescription(version: version, graph: compiler.graph, operations: operations, fingerprint: Array(SHA256.hash(data: source)))
    }

    static func segments(_ template: String, at: JSONNode) throws(SchemaError) -> [[Piece]] {
        var result: [[Piece]] = []
        for segment in template.split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
            var pieces: [Piece] = []
            var rest = Substring(segment)
            while !rest.isEmpty {
                if let open = rest.firstIndex(of: "{") {
                    if open > rest.startIndex { pieces.append(.literal(String(rest[..<open]))) }
                    guard let close = rest[open...].firstIndex(of: "}") else {
                        throw SchemaError(message: "the path '\(template)' has an unclosed '{'", line: at.line, column: at.column)
                    }
                    pieces.append(.parameter(String(rest[rest.index(after: open)..<close])))
                    rest = rest[rest.index(after: close)...]
                } else {
                    pieces.append(.literal(String(rest)))
                    rest = ""
                }
            }
            result.append(pieces)
        }
        return result
    }

    /// The operation for a request (method and path relative to the API), with the path parameters'
    /// raw values; templates with more literal segments win (`/pets/mine` before `/pets/{id}`).
    func match(method: String, path: String) -> (operation: Operation, parameters: [(String, String)])? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        guard parts.count <= 256 else { return nil }
        var best: (operation: Operation, parameters: [(String, String)])?
        for index in candidates["\(method) \(max(parts.count, 1))"] ?? [] {
            let operation = operations[index]
            var values: [(String, String)] = []
            var matches = true
            for (pieces, part) in zip(operation.segments, parts.isEmpty ? [""] : Array(parts)) {
                guard Self.match(pieces[...], Substring(part), into: &values) else { matches = false; break }
            }
            guard matches else { continue }
            if let current = best, operation.literalSegments <= current.operation.literalSegments { continue }
            best = (operation, values)
        }
        return best
    }

    private static func match(_ pieces: ArraySlice<Piece>, _ text: Substring, into values: inout [(String, String)]) -> Bool {
        guard let first = pieces.first else { return text.isEmpty }
        switch first {
        case .literal(let literal):
            guard text.hasPrefix(literal) else { return false }
            return match(pieces.dropFirst(), text.dropFirst(literal.count), into: &values)
        case .parameter(let name):
            // The value runs to the next literal piece (or the segment's end); it is never empty.
            if pieces.count == 1 {
                guard !text.isEmpty else { return false }
                values.append((name, String(text)))
                return true
            }
            guard case .literal(let next)? = pieces.dropFirst().first, let range = text.dropFirst().range(of: next) else { return false }
            values.append((name, String(text[..<range.lowerBound])))
            return match(pieces.dropFirst(), text[range.lowerBound...], into: &values)
        }
    }

    /// The response description for a status: exact, then `2XX`, then `default`.
    static func response(_ operation: Operation, status: Int) -> Response? {
        operation.responses[String(status)] ?? operation.responses["\(status / 100)XX"] ?? operation.responses["default"]
    }

    /// The described media type a message's content type matches: exact, then `type/*`, then `*/*`.
    static func media(_ contents: [Media], for contentType: String) -> Media? {
        if let exact = contents.first(where: { $0.contentType == contentType }) { return exact }
        if let slash = contentType.firstIndex(of: "/"), let wildcard = contents.first(where: { $0.contentType == contentType[..<slash] + "/*" }) {
            return wildcard
        }
        return contents.first { $0.contentType == "*/*" }
    }
}

/// A schema added to the gateway for `validate-content schema-id` (APIM's global schemas): a JSON schema
/// or an XML schema (XSD, the subset `XMLSchemaSet` describes), compiled when read.
public final class NamedSchema: Sendable, Equatable {
    public enum Kind: Sendable { case json, xml }
    public let id: String
    public let kind: Kind
    /// The JSON document (for `schema-ref` pointers into it), nil for XML.
    let document: JSONNode?
    let graph: SchemaGraph?
    let root: Int?
    /// The compiled XML schema (nil for JSON).
    let xmlSchema: XMLSchemaSet?
    let fingerprint: [UInt8]

    public static func == (lhs: NamedSchema, rhs: NamedSchema) -> Bool { lhs.id == rhs.id && lhs.fingerprint == rhs.fingerprint }

    /// A JSON schema document, compiled now (its root; `schema-ref` pointers compile when a policy names them).
    public init(id: String, json document: JSONNode, source: [UInt8]) throws(SchemaError) {
        var compiler = SchemaCompiler(root: document)
        root = try compiler.compile(document, pointer: "#", depth: 0)
        graph = compiler.graph
        self.id = id
        kind = .json
        self.document = document
        xmlSchema = nil
        fingerprint = Array(SHA256.hash(data: source))
    }

    /// An XML schema (XSD), compiled now (see `XMLSchemaSet` for the subset; anything outside it is an error).
    public init(id: String, xml source: [UInt8]) throws(SchemaError) {
        self.id = id
        kind = .xml
        document = nil
        graph = nil
        root = nil
        xmlSchema = try XMLSchemaSet.compile(source)
        fingerprint = Array(SHA256.hash(data: source))
    }

    /// The graph and root for `schema-ref` (a pointer such as `#/components/schemas/address`).
    func compiled(reference: String?) throws(SchemaError) -> (SchemaGraph, Int)? {
        guard let document, let graph, let root else { return nil }
        guard let reference else { return (graph, root) }
        var compiler = SchemaCompiler(root: document)
        let index = try compiler.compile(reference: reference, from: document, depth: 0)
        return (compiler.graph, index)
    }
}
