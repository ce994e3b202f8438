import Foundation

/// JSON in and out of the admin API and the store: objects only at the top, parsed with a clear 400
/// on anything else; written with sorted keys (stable entity tags, readable line numbers).
enum JSONDocument {
    typealias Object = [String: JSONValue]

    static func object(_ bytes: [UInt8], what: String) throws -> Object {
        guard !bytes.isEmpty else { throw AdminError.badRequest("\(what): the request body is empty (a JSON object is expected)") }
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
        } catch {
            throw AdminError.badRequest("\(what): the body is not valid JSON")
        }
        guard let object = value.objectValue else { throw AdminError.badRequest("\(what): a JSON object is expected") }
        return object
    }

    /// A stored document (written by this module, so valid; an unreadable one reads as empty).
    static func object(_ data: Data) -> Object {
        (try? JSONDecoder().decode(JSONValue.self, from: data))?.objectValue ?? [:]
    }

    static func data(_ value: JSONValue, pretty: Bool = false) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted] : [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)) ?? Data("{}".utf8)
    }

    static func data(_ object: Object, pretty: Bool = false) -> Data { data(.object(object), pretty: pretty) }

    static func string(_ object: Object, _ key: String, what: String) throws -> String? {
        guard let value = object[key] else { return nil }
        guard let text = value.stringValue else { throw AdminError.badRequest("\(what): '\(key)' must be a string") }
        return text
    }

    static func bool(_ object: Object, _ key: String, what: String) throws -> Bool? {
        guard let value = object[key] else { return nil }
        guard let flag = value.boolValue else { throw AdminError.badRequest("\(what): '\(key)' must be true or false") }
        return flag
    }

    static func allowOnly(_ object: Object, _ keys: Set<String>, what: String) throws {
        if let unknown = object.keys.sorted().first(where: { !keys.contains($0) }) {
            throw AdminError.badRequest("\(what): unknown field '\(unknown)' (allowed: \(keys.sorted().joined(separator: ", ")))")
        }
    }
}
