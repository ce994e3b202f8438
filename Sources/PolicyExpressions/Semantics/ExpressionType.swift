/// A static (compile-time) C# type. The binder computes one for every expression; `object` means
/// the C# static type `object` (only `ToString`/`Equals`/`GetHashCode`/`GetType` and casts apply).
public indirect enum ExpressionType: Sendable, Hashable, CustomStringConvertible {
    case object, void, null
    case bool, int, long, ulong, double, float, decimal, string, char, byte, short, uint
    case dateTime, dateTimeOffset, timeSpan, guid
    case nullable(ExpressionType)
    case array(ExpressionType)
    case list(ExpressionType)
    case enumerable(ExpressionType)
    case hashSet(ExpressionType)
    case dictionary(ExpressionType, ExpressionType)
    case pair(ExpressionType, ExpressionType)
    /// `IGrouping<K, E>` from `GroupBy` (runtime: a pair of key and list).
    case grouping(ExpressionType, ExpressionType)
    case json(JsonKind)
    case enumeration(EnumType)
    case host(HostType)
    case type
    /// A lambda during binding (parameter count known, types inferred from the call).
    case lambda

    public enum JsonKind: String, Sendable, Hashable {
        case token = "JToken", object = "JObject", array = "JArray", value = "JValue", property = "JProperty"
    }

    public static var byteArray: ExpressionType { .array(.byte) }
    public static var stringArray: ExpressionType { .array(.string) }
    /// `IReadOnlyDictionary<string, string[]>` (headers, query).
    public static var headerDictionary: ExpressionType { .dictionary(.string, .array(.string)) }
    /// `IReadOnlyDictionary<string, object>` (`context.Variables`).
    public static var variableDictionary: ExpressionType { .dictionary(.string, .object) }

    public var description: String {
        switch self {
        case .object: return "object"
        case .void: return "void"
        case .null: return "<null>"
        case .bool: return "bool"
        case .int: return "int"
        case .long: return "long"
        case .ulong: return "ulong"
        case .double: return "double"
        case .float: return "float"
        case .decimal: return "decimal"
        case .string: return "string"
        case .char: return "char"
        case .byte: return "byte"
        case .short: return "short"
        case .uint: return "uint"
        case .dateTime: return "DateTime"
        case .dateTimeOffset: return "DateTimeOffset"
        case .timeSpan: return "TimeSpan"
        case .guid: return "Guid"
        case .nullable(let inner): return "\(inner)?"
        case .array(let element): return "\(element)[]"
        case .list(let element): return "List<\(element)>"
        case .enumerable(let element): return "IEnumerable<\(element)>"
        case .hashSet(let element): return "HashSet<\(element)>"
        case .dictionary(let key, let value): return "Dictionary<\(key), \(value)>"
        case .pair(let key, let value): return "KeyValuePair<\(key), \(value)>"
        case .grouping(let key, let element): return "IGrouping<\(key), \(element)>"
        case .json(let kind): return kind.rawValue
        case .enumeration(let type): return type.rawValue
        case .host(let type): return type.name
        case .type: return "Type"
        case .lambda: return "lambda expression"
        }
    }

    /// .NET runtime type name, used in `InvalidCastException` messages.
    var dotNetName: String {
        switch self {
        case .object: return "System.Object"
        case .bool: return "System.Boolean"
        case .int: return "System.Int32"
        case .long: return "System.Int64"
        case .ulong: return "System.UInt64"
        case .double: return "System.Double"
        case .float: return "System.Single"
        case .decimal: return "System.Decimal"
        case .string: return "System.String"
        case .char: return "System.Char"
        case .byte: return "System.Byte"
        case .short: return "System.Int16"
        case .uint: return "System.UInt32"
        case .dateTime: return "System.DateTime"
        case .dateTimeOffset: return "System.DateTimeOffset"
        case .timeSpan: return "System.TimeSpan"
        case .guid: return "System.Guid"
        case .nullable(let inner): return inner.dotNetName
        case .array(let element): return element.dotNetName + "[]"
        case .json(let kind): return "Newtonsoft.Json.Linq." + kind.rawValue
        default: return description
        }
    }

    var isNumeric: Bool {
        switch self {
        case .int, .long, .ulong, .double, .float, .decimal, .byte, .short, .uint, .char: return true
        default: return false
        }
    }

    var isIntegral: Bool {
        switch self {
        case .int, .long, .ulong, .byte, .short, .uint, .char: return true
        default: return false
        }
    }

    /// C# value types (cannot be null unless wrapped in `Nullable`).
    var isValueType: Bool {
        switch self {
        case .bool, .int, .long, .ulong, .double, .float, .decimal, .char, .byte, .short, .uint,
             .dateTime, .dateTimeOffset, .timeSpan, .guid, .pair, .enumeration:
            return true
        default:
            return false
        }
    }

    var underlyingNonNullable: ExpressionType {
        if case .nullable(let inner) = self { return inner }
        return self
    }

    var isNullableValue: Bool { if case .nullable = self { return true }; return false }

    /// Host objects and dictionaries read from `context` can be cached per evaluation.
    var isCacheableHostValue: Bool {
        switch self {
        case .host, .dictionary: return true
        default: return false
        }
    }

    /// The element type when the value can be enumerated (`foreach`, LINQ).
    var elementType: ExpressionType? {
        switch self {
        case .array(let e), .list(let e), .enumerable(let e), .hashSet(let e), .grouping(_, let e): return e
        case .dictionary(let k, let v): return .pair(k, v)
        case .string: return .char
        case .json(.object): return .pair(.string, .json(.token))
        case .json(.array), .json(.token): return .json(.token)
        case .host(let type): return type.elementType
        default: return nil
        }
    }
}
