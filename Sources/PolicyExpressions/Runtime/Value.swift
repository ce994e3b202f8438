import Foundation

/// A runtime value with .NET semantics. Value types (`int`, `DateTime`, ...) are stored inline;
/// .NET reference types with identity (lists, dictionaries, JSON tokens, host objects) are boxed.
public enum Value: Sendable {
    case null
    case bool(Bool)
    /// `int`; also carries `byte`, `sbyte`, `short`, `ushort` (the static type tells them apart).
    case int(Int32)
    /// `long`; also carries `uint`.
    case long(Int64)
    case ulong(UInt64)
    /// `double`; also carries `float`.
    case double(Double)
    case decimal(Decimal)
    case string(String)
    /// A UTF-16 code unit, like .NET `char`.
    case char(UInt16)
    case dateTime(DateTimeValue)
    case dateTimeOffset(DateTimeOffsetValue)
    case timeSpan(TimeSpanValue)
    case guid(UUID)
    /// `byte[]`: a mutable array with identity, as in .NET (`bytes[0] = 1`, `Array.Copy` into it,
    /// two names for one array see the same elements). Build one with `Value.bytes(_:)`.
    case byteArray(ByteArrayBox)
    /// Arrays, `List<T>`, `HashSet<T>`, queues, stacks and materialised `IEnumerable<T>`.
    case list(ListBox)
    case dictionary(DictionaryBox)
    case pair(PairBox)
    case json(JToken)
    /// An enum member such as `StringComparison.OrdinalIgnoreCase` (raw value plus type name).
    case enumeration(Int32, EnumType)
    /// Host objects (`context`, `X509Certificate2`, ...) and library objects (`Match`, `Jwt`, ...).
    case object(any HostObject)
    /// `System.Type` from `typeof(T)`.
    case type(ExpressionType)

    public var isNull: Bool { if case .null = self { return true }; return false }

    /// A new `byte[]` holding `bytes`.
    public static func bytes(_ bytes: [UInt8]) -> Value { .byteArray(ByteArrayBox(bytes)) }

    /// The elements of a `byte[]` (a copy of them as they are now), nil for other values.
    public var bytesValue: [UInt8]? { if case .byteArray(let box) = self { return box.bytes }; return nil }

    /// What .NET's `ToString()` gives for this value (null → ""), e.g. to put a result in a header.
    public var dotNetString: String { Formatting.toString(self) }

    /// A JSON rendering (Newtonsoft `JsonConvert.SerializeObject` rules).
    public var json: String { JsonConvertOps.serialize(self, indented: false) }

    /// The JSON rendering with the limits checked first (depth, size, a value containing itself);
    /// throws `ExpressionRuntimeError` instead of recursing without end.
    public func checkedJSON() throws -> String { try JsonConvertOps.checkedSerialize(self, indented: false) }

    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    public var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }
    public var intValue: Int32? { if case .int(let i) = self { return i }; return nil }
}

/// .NET enums used by the library (`StringComparison`, `Formatting`, ...).
public enum EnumType: String, Sendable, CaseIterable {
    case stringComparison = "StringComparison"
    case stringSplitOptions = "StringSplitOptions"
    case formatting = "Formatting"
    case regexOptions = "RegexOptions"
    case dateTimeKind = "DateTimeKind"
    case dayOfWeek = "DayOfWeek"
    case midpointRounding = "MidpointRounding"
    case jTokenType = "JTokenType"
    case uriPartial = "UriPartial"
    case x509NameType = "X509NameType"
    case uriKind = "UriKind"
    /// `HashAlgorithmName` (a struct in .NET; its static properties are the members here).
    case hashAlgorithmName = "HashAlgorithmName"
    /// `RSASignaturePadding` (a class in .NET: `Pkcs1`, `Pss`).
    case rsaSignaturePadding = "RSASignaturePadding"

    var members: [(String, Int32)] {
        switch self {
        case .stringComparison:
            return [("CurrentCulture", 0), ("CurrentCultureIgnoreCase", 1), ("InvariantCulture", 2),
                    ("InvariantCultureIgnoreCase", 3), ("Ordinal", 4), ("OrdinalIgnoreCase", 5)]
        case .stringSplitOptions: return [("None", 0), ("RemoveEmptyEntries", 1), ("TrimEntries", 2)]
        case .formatting: return [("None", 0), ("Indented", 1)]
        case .regexOptions:
            return [("None", 0), ("IgnoreCase", 1), ("Multiline", 2), ("ExplicitCapture", 4), ("Compiled", 8),
                    ("Singleline", 16), ("IgnorePatternWhitespace", 32), ("RightToLeft", 64), ("ECMAScript", 256),
                    ("CultureInvariant", 512)]
        case .dateTimeKind: return [("Unspecified", 0), ("Utc", 1), ("Local", 2)]
        case .dayOfWeek:
            return [("Sunday", 0), ("Monday", 1), ("Tuesday", 2), ("Wednesday", 3), ("Thursday", 4), ("Friday", 5), ("Saturday", 6)]
        case .midpointRounding: return [("ToEven", 0), ("AwayFromZero", 1), ("ToZero", 2), ("ToNegativeInfinity", 3), ("ToPositiveInfinity", 4)]
        case .jTokenType:
            return [("None", 0), ("Object", 1), ("Array", 2), ("Constructor", 3), ("Property", 4), ("Comment", 5),
                    ("Integer", 6), ("Float", 7), ("String", 8), ("Boolean", 9), ("Null", 10), ("Undefined", 11),
                    ("Date", 12), ("Raw", 13), ("Bytes", 14), ("Guid", 15), ("Uri", 16), ("TimeSpan", 17)]
        case .uriPartial: return [("Scheme", 0), ("Authority", 1), ("Path", 2), ("Query", 3)]
        case .x509NameType:
            return [("SimpleName", 0), ("EmailName", 1), ("UpnName", 2), ("DnsName", 3), ("DnsFromAlternativeName", 4), ("UrlName", 5)]
        case .uriKind: return [("RelativeOrAbsolute", 0), ("Absolute", 1), ("Relative", 2)]
        case .hashAlgorithmName: return [("MD5", 0), ("SHA1", 1), ("SHA256", 2), ("SHA384", 3), ("SHA512", 4)]
        case .rsaSignaturePadding: return [("Pkcs1", 0), ("Pss", 1)]
        }
    }

    var isFlags: Bool { self == .regexOptions || self == .stringSplitOptions }

    func name(of raw: Int32) -> String {
        if let match = members.first(where: { $0.1 == raw }) { return match.0 }
        if isFlags {
            let names = members.filter { $0.1 != 0 && raw & $0.1 == $0.1 }.map(\.0)
            if !names.isEmpty { return names.joined(separator: ", ") }
        }
        return String(raw)
    }
}

/// A `byte[]`: its elements, mutable in place (reference semantics like .NET). Not synchronised,
/// like `ListBox`: an array is created and mutated within one evaluation; whatever leaves a request
/// (the cache) keeps a copy of the elements.
public final class ByteArrayBox: RandomAccessCollection, @unchecked Sendable {
    public var bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public var startIndex: Int { 0 }
    public var endIndex: Int { bytes.count }
    public subscript(position: Int) -> UInt8 { bytes[position] }
}

/// A mutable .NET collection (array, `List<T>`, `HashSet<T>`, ...). Reference semantics like .NET.
/// Not synchronised: a box is created and mutated within one evaluation, or by the engine under its own lock.
public final class ListBox: @unchecked Sendable {
    public var items: [Value]
    /// Sort keys left by `OrderBy` so that `ThenBy` can refine the order.
    var sortKeys: [[Value]]?
    var sortDescending: [Bool] = []
    public init(_ items: [Value]) { self.items = items }

    deinit {
        if !items.isEmpty { Teardown.release(&items) }
    }
}

/// Releases nested lists and JSON tokens iteratively. An expression can build a chain 100,000 deep
/// (`l = new List<object> { l }` in a loop); Swift releases such a chain recursively, one stack frame
/// per level, and overflows the stack. Each container's `deinit` hands its children to this loop,
/// which empties every child it holds the last reference to before letting it go, so no release recurses.
enum Teardown {
    static func release(_ items: inout [Value]) {
        var lists: [ListBox] = []
        var tokens: [JToken] = []
        collect(items, &lists, &tokens)
        items = []
        while !lists.isEmpty || !tokens.isEmpty {
            // Typed arrays (not `Value`s): a `switch` over an enum keeps a hidden copy of the
            // payload, so the reference would never look unique.
            if var box = lists.popLast() {
                if isKnownUniquelyReferenced(&box) {
                    collect(box.items, &lists, &tokens)
                    box.items = []
                }
            } else if var token = tokens.popLast() {
                if isKnownUniquelyReferenced(&token) { token.moveChildren(into: &tokens) }
            }
        }
    }

    private static func collect(_ values: [Value], _ lists: inout [ListBox], _ tokens: inout [JToken]) {
        for value in values {
            switch value {
            case .list(let box): lists.append(box)
            case .json(let token): tokens.append(token)
            default: break
            }
        }
    }
}

/// `KeyValuePair<K, V>` (immutable).
public final class PairBox: Sendable {
    public let key: Value
    public let value: Value
    public init(key: Value, value: Value) {
        self.key = key
        self.value = value
    }
}

/// Hashable projection of a dictionary key.
enum KeyHash: Hashable {
    case string(String)
    case integer(Int64)
    case other(String)
    case null
}

/// A .NET dictionary with insertion order (like `Dictionary<K,V>` without removals), ordinal or
/// ordinal-ignore-case string keys (headers are case-insensitive).
public final class DictionaryBox: @unchecked Sendable {
    public private(set) var keys: [Value] = []
    public private(set) var values: [Value] = []
    private var positions: [KeyHash: Int] = [:]
    public let ignoresCase: Bool
    /// Entries as `KeyValuePair` values, maintained eagerly so that shared read-only dictionaries
    /// (e.g. `context.Deployment.Certificates`) iterate from many threads without allocating or racing.
    private(set) var pairs: [Value] = []

    public init(ignoresCase: Bool = false) { self.ignoresCase = ignoresCase }

    public convenience init(_ entries: [(String, Value)], ignoresCase: Bool = false) {
        self.init(ignoresCase: ignoresCase)
        for (key, value) in entries { set(.string(key), value) }
    }

    /// Headers and query parameters: `IReadOnlyDictionary<string, string[]>`, case-insensitive keys.
    public convenience init(multiValued entries: [(String, [String])], ignoresCase: Bool = true) {
        self.init(ignoresCase: ignoresCase)
        for (key, list) in entries {
            if let existing = self[.string(key)], case .list(let box) = existing {
                box.items += list.map(Value.string)
            } else {
                set(.string(key), .list(ListBox(list.map(Value.string))))
            }
        }
    }

    func hash(_ key: Value) -> KeyHash {
        switch key {
        case .string(let s): return .string(ignoresCase ? s.lowercased() : s)
        case .int(let i): return .integer(Int64(i))
        case .long(let l): return .integer(l)
        case .char(let c): return .integer(Int64(c))
        case .null: return .null
        default: return .other(Formatting.toString(key))
        }
    }

    public var count: Int { keys.count }

    public subscript(key: Value) -> Value? {
        guard let position = positions[hash(key)] else { return nil }
        return values[position]
    }

    func value(forHash hash: KeyHash) -> Value? {
        guard let position = positions[hash] else { return nil }
        return values[position]
    }

    public func set(_ key: Value, _ value: Value) {
        let h = hash(key)
        if let position = positions[h] {
            values[position] = value
            pairs[position] = .pair(PairBox(key: keys[position], value: value))
        } else {
            positions[h] = keys.count
            keys.append(key)
            values.append(value)
            pairs.append(.pair(PairBox(key: key, value: value)))
        }
    }

    /// Returns false when the key already exists (`Dictionary.Add` throws; `TryAdd` returns false).
    @discardableResult
    public func add(_ key: Value, _ value: Value) -> Bool {
        if positions[hash(key)] != nil { return false }
        set(key, value)
        return true
    }

    @discardableResult
    public func remove(_ key: Value) -> Bool {
        guard let position = positions[hash(key)] else { return false }
        keys.remove(at: position)
        values.remove(at: position)
        pairs.remove(at: position)
        positions = [:]
        for (index, key) in keys.enumerated() { positions[hash(key)] = index }
        return true
    }

    public func removeAll() {
        keys = []
        values = []
        positions = [:]
        pairs = []
    }

    func copy(ignoresCase: Bool? = nil) -> DictionaryBox {
        let result = DictionaryBox(ignoresCase: ignoresCase ?? self.ignoresCase)
        for (key, value) in zip(keys, values) { result.set(key, value) }
        return result
    }
}
