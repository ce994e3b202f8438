import Foundation
import GraphQL
import OrderedCollections
import PolicyExpressions

/// A GraphQL request as it arrives over HTTP (GraphQL over HTTP): `POST` with a JSON body
/// `{"query", "operationName", "variables"}` (or `application/graphql`, the body being the document), or
/// `GET ?query=…&operationName=…&variables=…`. Read with bounded parsers: the JSON reader of the
/// expression library (depth- and count-limited), and the nesting of the document checked before the
/// GraphQL parser (which recurses per level) ever sees it.
struct GraphQLOperationRequest {
    var query: String
    var operationName: String?
    /// The `variables` object as JSON (nil: none).
    var variables: JToken?
    /// Whether the request came as a JSON body (a rewritten query is written back the same way).
    var form: Form

    enum Form { case json, graphQLBody, queryString }

    /// The most nesting (`{`, `(`, `[`) a document may have before it is parsed at all: the parser recurses
    /// per level, and a 100 KB document of `{` would otherwise take the stack.
    static let maximumNesting = 128
    /// The largest document parsed (APIM's `max-size` ceiling is 100 KB): the parser keeps every token in a
    /// linked list, and the executor would otherwise take documents as large as the body limit.
    static let maximumDocumentBytes = 128 << 10

    struct Problem: Error { let message: String }

    /// Reads the request; `Problem` says why it is not a GraphQL request.
    static func read(method: String, query parameters: [(name: String, value: String)], contentType: String?, body: [UInt8])
        throws(Problem) -> GraphQLOperationRequest
    {
        let upper = method.uppercased()
        if upper == "GET" {
            guard let query = parameters.first(where: { $0.name == "query" })?.value, !query.isEmpty else {
                throw Problem(message: "A GraphQL GET request must carry the document in the 'query' parameter.")
            }
            var variables: JToken? = nil
            if let text = parameters.first(where: { $0.name == "variables" })?.value, !text.isEmpty {
                variables = try Self.variables(text)
            }
            let name = parameters.first(where: { $0.name == "operationName" })?.value
            return GraphQLOperationRequest(query: query, operationName: name?.isEmpty == true ? nil : name, variables: variables, form: .queryString)
        }
        guard upper == "POST" else { throw Problem(message: "A GraphQL request is a GET or a POST, not a \(upper).") }
        let mediaType = (contentType ?? "").split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        if mediaType == "application/graphql" {
            return GraphQLOperationRequest(query: String(decoding: body, as: UTF8.self), operationName: nil, variables: nil, form: .graphQLBody)
        }
        guard mediaType.isEmpty || mediaType == "application/json" || mediaType.hasSuffix("+json") else {
            throw Problem(message: "A GraphQL POST request has a JSON body (application/json), not '\(mediaType)'.")
        }
        let root: JToken
        do { root = try JToken.parse(json: String(decoding: body, as: UTF8.self)) } catch {
            throw Problem(message: "The request body is not JSON: \(Self.describe(error))")
        }
        guard case .object(let properties) = root.storage else { throw Problem(message: "The request body must be a JSON object.") }
        var query: String? = nil
        var name: String? = nil
        var variables: JToken? = nil
        for (key, value) in properties {
            switch (key, value.storage) {
            case ("query", .value(.string(let text))): query = text
            case ("operationName", .value(.string(let text))): name = text
            case ("operationName", .value(.null)): break
            case ("variables", .object): variables = value
            case ("variables", .value(.null)): break
            case ("query", _): throw Problem(message: "'query' must be a string.")
            case ("operationName", _): throw Problem(message: "'operationName' must be a string.")
            case ("variables", _): throw Problem(message: "'variables' must be an object.")
            default: break  // extensions and others are passed on untouched
            }
        }
        guard let query, !query.isEmpty else { throw Problem(message: "The request has no 'query'.") }
        return GraphQLOperationRequest(query: query, operationName: name, variables: variables, form: .json)
    }

    private static func variables(_ text: String) throws(Problem) -> JToken {
        let token: JToken
        do { token = try JToken.parse(json: text) } catch { throw Problem(message: "'variables' is not JSON: \(Self.describe(error))") }
        guard case .object = token.storage else { throw Problem(message: "'variables' must be a JSON object.") }
        return token
    }

    static func describe(_ error: any Error) -> String {
        (error as? ExpressionRuntimeError)?.message ?? "\(error)"
    }

    /// The deepest nesting of brackets outside strings and comments (stops counting past `limit`).
    static func nesting(_ text: String, limit: Int) -> Int {
        var depth = 0
        var deepest = 0
        var inString = false
        var inComment = false
        var escaped = false
        for byte in text.utf8 {
            if inComment {
                if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") { inComment = false }
                continue
            }
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "#"): inComment = true
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "("), UInt8(ascii: "["):
                depth += 1
                deepest = max(deepest, depth)
                if deepest > limit { return deepest }
            case UInt8(ascii: "}"), UInt8(ascii: ")"), UInt8(ascii: "]"): depth = max(0, depth - 1)
            default: break
            }
        }
        return deepest
    }

    /// Parses the document (after the nesting check).
    func document() throws(Problem) -> Document {
        guard query.utf8.count <= Self.maximumDocumentBytes else {
            throw Problem(message: "The query is larger than \(Self.maximumDocumentBytes) bytes.")
        }
        guard Self.nesting(query, limit: Self.maximumNesting) <= Self.maximumNesting else {
            throw Problem(message: "The query is nested deeper than \(Self.maximumNesting) levels.")
        }
        do { return try parse(source: query) } catch let error as GraphQLError {
            throw Problem(message: error.message)
        } catch {
            throw Problem(message: "The query cannot be parsed: \(error)")
        }
    }

    /// The request as JSON again, with `query` replaced (for a request whose fields were removed).
    func json(query newQuery: String) -> String {
        var text = "{\"query\":\"\(ErrorBody.escape(newQuery))\""
        if let operationName { text += ",\"operationName\":\"\(ErrorBody.escape(operationName))\"" }
        if let variables { text += ",\"variables\":\(GraphQLJSON.text(GraphQLJSON.value(variables)))" }
        return text + "}"
    }

    /// The variables as the executor takes them.
    var variableValues: [String: Map] {
        guard let variables, case .object(let properties) = variables.storage else { return [:] }
        var result: [String: Map] = [:]
        for (key, value) in properties { result[key] = GraphQLJSON.map(GraphQLJSON.value(value)) }
        return result
    }
}

/// The operation a request runs: the one named, or the only one.
enum GraphQLOperations {
    static func select(_ document: Document, name: String?) -> OperationDefinition? {
        let operations = document.definitions.compactMap { $0 as? OperationDefinition }
        if let name { return operations.first { $0.name?.value == name } }
        return operations.count == 1 ? operations[0] : nil
    }

    static func fragments(_ document: Document) -> [String: FragmentDefinition] {
        var result: [String: FragmentDefinition] = [:]
        for case let fragment as FragmentDefinition in document.definitions { result[fragment.name.value] = fragment }
        return result
    }

    /// The depth of an operation: `{ a }` is 1, `{ a { b } }` is 2; fragments count where they are spread.
    /// Stops once past `limit` (the walk never goes further than that).
    static func depth(_ operation: OperationDefinition, fragments: [String: FragmentDefinition], limit: Int) -> Int {
        var deepest = 0
        var budget = 100_000
        func walk(_ selections: [Selection], level: Int, spreading: Set<String>) {
            guard deepest <= limit, budget > 0 else { return }
            budget -= 1
            for selection in selections {
                switch selection {
                case let field as Field:
                    deepest = max(deepest, level)
                    if let nested = field.selectionSet, level <= limit { walk(nested.selections, level: level + 1, spreading: spreading) }
                case let inline as InlineFragment:
                    walk(inline.selectionSet.selections, level: level, spreading: spreading)
                case let spread as FragmentSpread:
                    let name = spread.name.value
                    guard !spreading.contains(name), let fragment = fragments[name] else { continue }
                    walk(fragment.selectionSet.selections, level: level, spreading: spreading.union([name]))
                default: continue
                }
            }
        }
        walk(operation.selectionSet.selections, level: 1, spreading: [])
        return deepest
    }
}

/// JSON values as Swift values the GraphQL executor completes (objects `[String: (any Sendable)?]`, lists
/// `[(any Sendable)?]`, `String`, `Int`, `Double`, `Bool`, nil), and back to JSON text.
enum GraphQLJSON {
    typealias Object = [String: (any Sendable)?]

    static func value(_ token: JToken) -> (any Sendable)? {
        switch token.storage {
        case .object(let properties):
            var object: Object = [:]
            for (key, value) in properties { object[key] = .some(Self.value(value)) }
            return object
        case .array(let items): return items.map { Self.value($0) }
        case .property(_, let value): return Self.value(value)
        case .value(let primitive):
            switch primitive {
            case .null: return nil
            case .bool(let flag): return flag
            case .integer(let number): return Int(number)
            case .float(let number): return number
            case .string(let text): return text
            case .date(let date): return String(describing: date)
            case .guid(let guid): return guid.uuidString.lowercased()
            case .timeSpan(let span): return String(describing: span)
            case .bytes(let bytes): return Data(bytes).base64EncodedString()
            }
        }
    }

    /// Parses JSON text into executor values (nil when it is not JSON).
    static func parse(_ text: String) -> (any Sendable)?? {
        guard let token = try? JToken.parse(json: text) else { return nil }
        return .some(value(token))
    }

    static func map(_ value: (any Sendable)?) -> Map {
        guard let value else { return .null }
        switch value {
        case let object as Object:
            var result = OrderedDictionary<String, Map>()
            for key in object.keys.sorted() { result[key] = map(object[key] ?? nil) }
            return .dictionary(result)
        case let list as [(any Sendable)?]: return .array(list.map { map($0) })
        case let text as String: return .string(text)
        case let flag as Bool: return .bool(flag)
        case let number as Int: return .number(Number(number))
        case let number as Double: return .number(Number(number))
        case let mapped as Map: return mapped
        default: return .string("\(value)")
        }
    }

    static func value(_ map: Map) -> (any Sendable)? {
        switch map {
        case .undefined, .null: return nil
        case .bool(let flag): return flag
        case .number(let number):
            let double = number.doubleValue
            if double.rounded() == double, abs(double) < 9.0e15 { return Int(double) }
            return double
        case .string(let text): return text
        case .array(let items): return items.map { value($0) }
        case .dictionary(let entries):
            var object: Object = [:]
            for (key, item) in entries { object[key] = .some(value(item)) }
            return object
        }
    }

    /// Compact JSON text (objects with sorted keys), bounded in depth.
    static func text(_ value: (any Sendable)?, depth: Int = 0) -> String {
        guard depth < 64 else { return "null" }
        guard let value else { return "null" }
        switch value {
        case let object as Object:
            return "{" + object.keys.sorted().map { "\"\(ErrorBody.escape($0))\":\(text(object[$0] ?? nil, depth: depth + 1))" }.joined(separator: ",") + "}"
        case let list as [(any Sendable)?]: return "[" + list.map { text($0, depth: depth + 1) }.joined(separator: ",") + "]"
        case let string as String: return "\"\(ErrorBody.escape(string))\""
        case let flag as Bool: return flag ? "true" : "false"
        case let number as Int: return String(number)
        case let number as Double: return number.isFinite ? (number.rounded() == number && abs(number) < 1e15 ? String(Int(number)) : String(number)) : "null"
        case let mapped as Map: return text(Self.value(mapped), depth: depth)
        default: return "\"\(ErrorBody.escape("\(value)"))\""
        }
    }

    /// A `Map` as compact JSON, in its own key order (a result's fields in the query's order), bounded in depth.
    static func text(map: Map, depth: Int = 0) -> String {
        guard depth < 256 else { return "null" }
        switch map {
        case .undefined, .null: return "null"
        case .bool(let flag): return flag ? "true" : "false"
        case .number: return text(value(map))
        case .string(let string): return "\"\(ErrorBody.escape(string))\""
        case .array(let items): return "[" + items.map { text(map: $0, depth: depth + 1) }.joined(separator: ",") + "]"
        case .dictionary(let entries):
            return "{" + entries.map { "\"\(ErrorBody.escape($0.key))\":\(text(map: $0.value, depth: depth + 1))" }.joined(separator: ",") + "}"
        }
    }

    /// `{"errors":[{"message":…,"locations":[…],"path":[…]}]}` (and `data` when given).
    static func errorsDocument(_ errors: [GraphQLError]) -> String {
        "{\"errors\":[" + errors.map(errorText).joined(separator: ",") + "]}"
    }

    static func errorText(_ error: GraphQLError) -> String {
        var text = "{\"message\":\"\(ErrorBody.escape(error.message))\""
        if !error.locations.isEmpty {
            text += ",\"locations\":[" + error.locations.map { "{\"line\":\($0.line),\"column\":\($0.column)}" }.joined(separator: ",") + "]"
        }
        if !error.path.elements.isEmpty {
            text += ",\"path\":[" + error.path.elements.map { element -> String in
                switch element {
                case .index(let index): return String(index)
                case .key(let key): return "\"\(ErrorBody.escape(key))\""
                }
            }.joined(separator: ",") + "]"
        }
        return text + "}"
    }
}
