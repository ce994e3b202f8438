import Foundation

/// Instance members of `string` (UTF-16 semantics, ordinal unless a culture is implied).
enum StringMembers {
    static let comparison = ExpressionType.enumeration(.stringComparison)
    static let splitOptions = ExpressionType.enumeration(.stringSplitOptions)

    static let properties: [String: PropertyImpl] = [
        "Length": PropertyImpl(.int) { v in .int(Int32(clamping: try str(v).utf16.count)) },
    ]

    static func substring(_ s: String, _ start: Int, _ length: Int?) throws -> String {
        let u = StringOps.units(s)
        guard start >= 0 else { throw ExpressionRuntimeError.argumentOutOfRange("startIndex", "StartIndex cannot be less than zero.") }
        guard start <= u.count else { throw ExpressionRuntimeError.argumentOutOfRange("startIndex", "startIndex cannot be larger than length of string.") }
        let count = length ?? (u.count - start)
        guard count >= 0 else { throw ExpressionRuntimeError.argumentOutOfRange("length", "Length cannot be less than zero.") }
        guard count <= u.count - start else { throw ExpressionRuntimeError.argumentOutOfRange("length", "Index and length must refer to a location within the string.") }
        return StringOps.string(u[start..<start + count])
    }

    static func index(_ s: Value, _ needle: Value, from: Value?, comparison: Value?, last: Bool) throws -> Value {
        let haystack = StringOps.units(try str(s))
        let n: [UInt16]
        if case .char(let c) = needle { n = [c] } else { n = StringOps.units(try argStr(needle, "value")) }
        let ignoreCase = comparison.map { StringOps.ignoresCase(enumRaw($0)) } ?? false
        if last { return .int(Int32(StringOps.lastIndexOf(haystack, n, ignoreCase: ignoreCase))) }
        let start = try from.map(int) ?? 0
        guard start >= 0, start <= haystack.count else { throw ExpressionRuntimeError.argumentOutOfRange("startIndex", "Index was out of range. Must be non-negative and less than or equal to the size of the collection.") }
        return .int(Int32(StringOps.indexOf(haystack, n, from: start, ignoreCase: ignoreCase)))
    }

    static func separators(_ v: Value) throws -> [[UInt16]] {
        switch v {
        case .char(let c): return [[c]]
        case .string(let s): return [StringOps.units(s)]
        case .null: return []
        case .list(let box):
            return box.items.compactMap { item in
                switch item {
                case .char(let c): return [c]
                case .string(let s): return StringOps.units(s)
                default: return nil
                }
            }
        default: return []
        }
    }

    static let methods: [String: [Overload]] = [
        "Substring": [
            m1(.int, .string) { s, a in .string(try substring(try str(s), try int(a), nil)) },
            m2(.int, .int, .string) { s, a, b in .string(try substring(try str(s), try int(a), try int(b))) },
        ],
        "IndexOf": [
            m1(.string, .int) { s, a in try index(s, a, from: nil, comparison: nil, last: false) },
            m1(.char, .int) { s, a in try index(s, a, from: nil, comparison: nil, last: false) },
            m2(.string, .int, .int) { s, a, b in try index(s, a, from: b, comparison: nil, last: false) },
            m2(.char, .int, .int) { s, a, b in try index(s, a, from: b, comparison: nil, last: false) },
            m2(.string, comparison, .int) { s, a, c in try index(s, a, from: nil, comparison: c, last: false) },
        ],
        "LastIndexOf": [
            m1(.string, .int) { s, a in try index(s, a, from: nil, comparison: nil, last: true) },
            m1(.char, .int) { s, a in try index(s, a, from: nil, comparison: nil, last: true) },
            m2(.string, comparison, .int) { s, a, c in try index(s, a, from: nil, comparison: c, last: true) },
        ],
        "IndexOfAny": [
            m1(.array(.char), .int) { s, a in
                let u = StringOps.units(try str(s))
                let set = Set(try Library.chars(a))
                return .int(Int32(u.firstIndex { set.contains($0) } ?? -1))
            },
        ],
        "Contains": [
            m1(.string, .bool) { s, a in .bool(try index(s, a, from: nil, comparison: nil, last: false).intValue ?? -1 >= 0) },
            m1(.char, .bool) { s, a in .bool(try index(s, a, from: nil, comparison: nil, last: false).intValue ?? -1 >= 0) },
            m2(.string, comparison, .bool) { s, a, c in .bool(try index(s, a, from: nil, comparison: c, last: false).intValue ?? -1 >= 0) },
        ],
        "StartsWith": [
            m1(.string, .bool) { s, a in .bool(try str(s).utf16.starts(with: try argStr(a, "value").utf16)) },
            m1(.char, .bool) { s, a in
                guard case .char(let c) = a else { return .bool(false) }
                return .bool(try str(s).utf16.first == c)
            },
            m2(.string, comparison, .bool) { s, a, c in
                let x = try str(s), y = try argStr(a, "value")
                if StringOps.ignoresCase(enumRaw(c)) { return .bool(StringOps.fold(StringOps.units(x)).starts(with: StringOps.fold(StringOps.units(y)))) }
                return .bool(x.utf16.starts(with: y.utf16))
            },
        ],
        "EndsWith": [
            m1(.string, .bool) { s, a in .bool(try str(s).utf16.reversed().starts(with: try argStr(a, "value").utf16.reversed())) },
            m1(.char, .bool) { s, a in
                guard case .char(let c) = a else { return .bool(false) }
                return .bool(try str(s).utf16.last == c)
            },
            m2(.string, comparison, .bool) { s, a, c in
                let x = StringOps.units(try str(s)), y = StringOps.units(try argStr(a, "value"))
                if StringOps.ignoresCase(enumRaw(c)) { return .bool(StringOps.fold(x).reversed().starts(with: StringOps.fold(y).reversed())) }
                return .bool(x.reversed().starts(with: y.reversed()))
            },
        ],
        "Replace": [
            m2(.string, .string, .string) { s, a, b in
                .string(try StringOps.replace(try str(s), try argStr(a, "oldValue"), Library.optionalString(b) ?? ""))
            },
            m2(.char, .char, .string) { s, a, b in
                guard case .char(let x) = a, case .char(let y) = b else { return s }
                return .string(StringOps.string(StringOps.units(try str(s)).map { $0 == x ? y : $0 }))
            },
            m3(.string, .string, comparison, .string) { s, a, b, c in
                .string(try StringOps.replace(try str(s), try argStr(a, "oldValue"), Library.optionalString(b) ?? "", ignoreCase: StringOps.ignoresCase(enumRaw(c))))
            },
        ],
        "Split": [
            Overload([.array(.char)], .array(.string), isParams: true, .a1 { s, a in
                .list(ListBox(StringOps.split(try str(s), separators: try separators(a), options: 0).map(Value.string)))
            }),
            m2(.char, splitOptions, .array(.string)) { s, a, o in
                .list(ListBox(StringOps.split(try str(s), separators: try separators(a), options: enumRaw(o)).map(Value.string)))
            },
            m2(.array(.char), splitOptions, .array(.string)) { s, a, o in
                .list(ListBox(StringOps.split(try str(s), separators: try separators(a), options: enumRaw(o)).map(Value.string)))
            },
            m2(.array(.char), .int, .array(.string)) { s, a, n in
                .list(ListBox(StringOps.split(try str(s), separators: try separators(a), options: 0, count: try int(n)).map(Value.string)))
            },
            m2(.char, .int, .array(.string)) { s, a, n in
                .list(ListBox(StringOps.split(try str(s), separators: try separators(a), options: 0, count: try int(n)).map(Value.string)))
            },
            m1(.string, .array(.string)) { s, a in
                .list(ListBox(StringOps.split(try str(s), separators: try separators(a), options: 0).map(Value.string)))
            },
            m2(.string, splitOptions, .array(.string)) { s, a, o in
                .list(ListBox(StringOps.split(try str(s), separators: try separators(a), options: enumRaw(o)).map(Value.string)))
            },
            m2(.array(.string), splitOptions, .array(.string)) { s, a, o in
                .list(ListBox(StringOps.split(try str(s), separators: try separators(a), options: enumRaw(o)).map(Value.string)))
            },
        ],
        "Trim": [
            m0(.string) { s in .string(StringOps.trim(try str(s), chars: nil, start: true, end: true)) },
            Overload([.array(.char)], .string, isParams: true, .a1 { s, a in .string(StringOps.trim(try str(s), chars: try Library.chars(a), start: true, end: true)) }),
        ],
        "TrimStart": [
            m0(.string) { s in .string(StringOps.trim(try str(s), chars: nil, start: true, end: false)) },
            Overload([.array(.char)], .string, isParams: true, .a1 { s, a in .string(StringOps.trim(try str(s), chars: try Library.chars(a), start: true, end: false)) }),
        ],
        "TrimEnd": [
            m0(.string) { s in .string(StringOps.trim(try str(s), chars: nil, start: false, end: true)) },
            Overload([.array(.char)], .string, isParams: true, .a1 { s, a in .string(StringOps.trim(try str(s), chars: try Library.chars(a), start: false, end: true)) }),
        ],
        "ToUpper": [m0(.string) { s in .string(try str(s).uppercased()) }],
        "ToLower": [m0(.string) { s in .string(try str(s).lowercased()) }],
        "ToUpperInvariant": [m0(.string) { s in .string(try str(s).uppercased()) }],
        "ToLowerInvariant": [m0(.string) { s in .string(try str(s).lowercased()) }],
        "PadLeft": [
            m1(.int, .string) { s, n in try pad(s, n, .char(0x20), left: true) },
            m2(.int, .char, .string) { s, n, c in try pad(s, n, c, left: true) },
        ],
        "PadRight": [
            m1(.int, .string) { s, n in try pad(s, n, .char(0x20), left: false) },
            m2(.int, .char, .string) { s, n, c in try pad(s, n, c, left: false) },
        ],
        "Equals": [
            m1(.string, .bool) { s, a in .bool(try str(s) == Library.optionalString(a)) },
            m2(.string, comparison, .bool) { s, a, c in
                guard let other = Library.optionalString(a) else { _ = try str(s); return .bool(false) }
                let mine = try str(s)
                return .bool(StringOps.ignoresCase(enumRaw(c)) ? StringOps.equalsIgnoreCase(mine, other) : mine == other)
            },
            m1(.object, .bool) { s, a in .bool(Arithmetic.equals(.string(try str(s)), a)) },
        ],
        "CompareTo": [m1(.string, .int) { s, a in .int(Int32(StringOps.compare(try str(s), Library.optionalString(a), comparison: 0))) }],
        "Insert": [
            m2(.int, .string, .string) { s, i, v in
                var u = StringOps.units(try str(s))
                let at = try int(i)
                guard at >= 0, at <= u.count else { throw ExpressionRuntimeError.argumentOutOfRange("startIndex", "Index was out of range. Must be non-negative and less than or equal to the size of the collection.") }
                u.insert(contentsOf: StringOps.units(try argStr(v, "value")), at: at)
                return .string(StringOps.string(u))
            },
        ],
        "Remove": [
            m1(.int, .string) { s, i in
                let u = StringOps.units(try str(s))
                let at = try int(i)
                guard at >= 0 else { throw ExpressionRuntimeError.argumentOutOfRange("startIndex", "StartIndex cannot be less than zero.") }
                guard at < u.count || (at == u.count && at == 0) else { throw ExpressionRuntimeError.argumentOutOfRange("startIndex", "startIndex must be less than length of string.") }
                return .string(StringOps.string(u[..<at]))
            },
            m2(.int, .int, .string) { s, i, n in
                var u = StringOps.units(try str(s))
                let at = try int(i), count = try int(n)
                guard at >= 0, count >= 0, at <= u.count, count <= u.count - at else { throw ExpressionRuntimeError.argumentOutOfRange("count", "Index and count must refer to a location within the string.") }
                u.removeSubrange(at..<at + count)
                return .string(StringOps.string(u))
            },
        ],
        "ToCharArray": [m0(.array(.char)) { s in .list(ListBox(try str(s).utf16.map { Value.char($0) })) }],
        "ToString": [m0(.string) { s in .string(try str(s)) }],
        "GetHashCode": [m0(.int) { s in .int(Int32(truncatingIfNeeded: try str(s).hashValue)) }],
        "Normalize": [m0(.string) { s in .string(try str(s).precomposedStringWithCanonicalMapping) }],
        "AsJwt": [m0(.host(LibraryTypes.jwt)) { s in
            guard case .string(let text) = s else { return .null }
            return JwtObject.parse(text).map { .object($0) } ?? .null
        }],
        "TryParseJwt": [mout([], out: .host(LibraryTypes.jwt), .bool) { s, _ in
            guard case .string(let text) = s, let jwt = JwtObject.parse(text) else { return (.bool(false), .null) }
            return (.bool(true), .object(jwt))
        }],
        "AsBasic": [m0(.host(LibraryTypes.basicCredentials)) { s in
            guard case .string(let text) = s else { return .null }
            return BasicCredentialsObject.parse(text).map { .object($0) } ?? .null
        }],
        "TryParseBasic": [mout([], out: .host(LibraryTypes.basicCredentials), .bool) { s, _ in
            guard case .string(let text) = s, let credentials = BasicCredentialsObject.parse(text) else { return (.bool(false), .null) }
            return (.bool(true), .object(credentials))
        }],
    ]

    static func pad(_ s: Value, _ n: Value, _ c: Value, left: Bool) throws -> Value {
        let text = try str(s)
        let width = try int(n)
        guard width >= 0 else { throw ExpressionRuntimeError.argumentOutOfRange("totalWidth", "Non-negative number required.") }
        try Library.checkSize(width)
        let fill: UInt16
        if case .char(let ch) = c { fill = ch } else { fill = 0x20 }
        let u = StringOps.units(text)
        guard u.count < width else { return .string(text) }
        let padding = [UInt16](repeating: fill, count: width - u.count)
        return .string(StringOps.string(left ? padding + u : u + padding))
    }
}
