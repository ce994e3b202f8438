import Foundation
import PolicyExpressions

/// A cached value, detached from the request that stored it: value types as they are, JSON tokens
/// (mutable reference objects in expressions) as their JSON text, read back into a fresh token for
/// each lookup, so no two requests ever share a mutable object.
public enum PolicyCacheItem: Sendable {
    /// A value with no shared state (null, booleans, numbers, strings, chars, dates, GUIDs).
    case value(Value)
    /// A `byte[]` (mutable in expressions): its elements as they were stored, a new array for each lookup.
    case bytes([UInt8])
    /// A JSON token (`JObject`, `JArray`, `JValue`) as JSON text.
    case json(String)
    /// A response `cache-store` kept for `cache-lookup`.
    case response(CachedResponse)

    /// What the cache counts against its byte budget (content plus a fixed per-entry overhead).
    public var byteCount: Int {
        switch self {
        case .json(let text): return text.utf8.count + 16
        case .bytes(let bytes): return bytes.count + 16
        case .response(let response): return response.byteCount
        case .value(let value):
            switch value {
            case .string(let text): return text.utf8.count + 16
            default: return 32
            }
        }
    }

    /// The item for a value an expression produced, or nil for values that cannot be cached
    /// (lists, dictionaries and host objects: they have no stable serialised form here).
    public init?(_ value: Value) {
        switch value {
        case .null, .bool, .int, .long, .ulong, .double, .decimal, .string, .char, .dateTime, .dateTimeOffset, .timeSpan, .guid,
            .enumeration:
            self = .value(value)
        case .byteArray(let array):
            self = .bytes(array.bytes)
        case .json(let token):
            // Checked: a token that contains itself cannot be cached (and must not recurse).
            guard let text = try? Value.json(token).checkedJSON() else { return nil }
            self = .json(text)
        case .list, .dictionary, .pair, .object, .type:
            return nil
        }
    }

    /// The value a lookup hands to the expression (a new token each time for JSON).
    public func value() -> Value {
        switch self {
        case .value(let value): return value
        case .bytes(let bytes): return .bytes(bytes)
        case .json(let text): return (try? JToken.parse(json: text)).map(Value.json) ?? .string(text)
        case .response: return .null
        }
    }
}
