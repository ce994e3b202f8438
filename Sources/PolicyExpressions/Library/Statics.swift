import Foundation

enum StringStatics {
    static let comparison = ExpressionType.enumeration(.stringComparison)

    static func join(_ separator: Value, _ values: Value) throws -> Value {
        let sep = Library.optionalString(separator) ?? (separator.isNull ? "" : Formatting.toString(separator))
        if values.isNull { throw ExpressionRuntimeError.argumentNull("values") }
        return .string(try Library.joined(try Library.list(values).map { Formatting.toString($0) }, separator: sep))
    }

    static let methods: [String: [Overload]] = [
        "IsNullOrEmpty": [m1(.string, .bool) { _, s in .bool(Library.optionalString(s)?.isEmpty ?? true) }],
        "IsNullOrWhiteSpace": [m1(.string, .bool) { _, s in
            .bool(Library.optionalString(s).map { $0.utf16.allSatisfy(StringOps.isWhiteSpace) } ?? true)
        }],
        "Join": [
            Overload([.string, .array(.string)], .string, isParams: true, .a2 { _, sep, v in try join(sep, v) }),
            Overload([.string, .array(.object)], .string, isParams: true, .a2 { _, sep, v in try join(sep, v) }),
            m2(.string, .enumerable(.string), .string) { _, sep, v in try join(sep, v) },
            m2(.string, .enumerable(.object), .string) { _, sep, v in try join(sep, v) },
            Overload([.char, .array(.string)], .string, isParams: true, .a2 { _, sep, v in try join(sep, v) }),
            Overload([.char, .array(.object)], .string, isParams: true, .a2 { _, sep, v in try join(sep, v) }),
            m2(.char, .enumerable(.string), .string) { _, sep, v in try join(sep, v) },
        ],
        "Concat": [
            m2(.string, .string, .string) { _, a, b in .string(try Library.joined([Formatting.toString(a), Formatting.toString(b)])) },
            m3(.string, .string, .string, .string) { _, a, b, c in .string(try Library.joined([Formatting.toString(a), Formatting.toString(b), Formatting.toString(c)])) },
            Overload([.array(.string)], .string, isParams: true, .a1 { _, v in .string(try Library.joined(try Library.list(v).map { Formatting.toString($0) })) }),
            Overload([.array(.object)], .string, isParams: true, .a1 { _, v in .string(try Library.joined(try Library.list(v).map { Formatting.toString($0) })) }),
            m1(.enumerable(.string), .string) { _, v in .string(try Library.joined(try Library.list(v).map { Formatting.toString($0) })) },
        ],
        "Format": [
            Overload([.string, .array(.object)], .string, isParams: true, .a2 { _, f, v in
                .string(try StringOps.format(try argStr(f, "format"), try Library.list(v)))
            }),
        ],
        "Equals": [
            m2(.string, .string, .bool) { _, a, b in .bool(Library.optionalString(a) == Library.optionalString(b)) },
            m3(.string, .string, comparison, .bool) { _, a, b, c in
                guard let x = Library.optionalString(a), let y = Library.optionalString(b) else { return .bool(a.isNull && b.isNull) }
                return .bool(StringOps.ignoresCase(enumRaw(c)) ? StringOps.equalsIgnoreCase(x, y) : x == y)
            },
        ],
        "Compare": [
            m2(.string, .string, .int) { _, a, b in .int(Int32(StringOps.compare(Library.optionalString(a), Library.optionalString(b), comparison: 0))) },
            m3(.string, .string, .bool, .int) { _, a, b, i in
                .int(Int32(StringOps.compare(Library.optionalString(a), Library.optionalString(b), comparison: i.boolValue == true ? 1 : 0)))
            },
            m3(.string, .string, comparison, .int) { _, a, b, c in
                .int(Int32(StringOps.compare(Library.optionalString(a), Library.optionalString(b), comparison: enumRaw(c))))
            },
        ],
        "CompareOrdinal": [m2(.string, .string, .int) { _, a, b in .int(Int32(StringOps.compare(Library.optionalString(a), Library.optionalString(b), comparison: 4))) }],
        "Copy": [m1(.string, .string) { _, s in .string(try argStr(s, "str")) }],
    ]
}

enum CharStatics {
    static func c(_ v: Value) -> UInt16 { if case .char(let u) = v { return u }; return 0 }
    static func scalar(_ v: Value) -> Unicode.Scalar { Unicode.Scalar(c(v)) ?? "\u{FFFD}" }
    static func test(_ f: @escaping @Sendable (Unicode.Scalar) -> Bool) -> [Overload] {
        [m1(.char, .bool) { _, v in .bool(f(scalar(v))) }, m2(.string, .int, .bool) { _, s, i in
            let u = StringOps.units(try argStr(s, "s"))
            let n = try int(i)
            guard n >= 0, n < u.count else { throw ExpressionRuntimeError.argumentOutOfRange("index") }
            return .bool(f(Unicode.Scalar(u[n]) ?? "\u{FFFD}"))
        }]
    }

    static let methods: [String: [Overload]] = [
        "IsDigit": test { $0.properties.numericType == .decimal },
        "IsLetter": test { $0.properties.isAlphabetic },
        "IsLetterOrDigit": test { $0.properties.isAlphabetic || $0.properties.numericType == .decimal },
        "IsWhiteSpace": test { StringOps.isWhiteSpace(UInt16(truncatingIfNeeded: $0.value)) },
        "IsUpper": test { $0.properties.isUppercase },
        "IsLower": test { $0.properties.isLowercase },
        "IsPunctuation": test { ["Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po"].contains($0.properties.generalCategory.shortName) },
        "IsControl": test { $0.properties.generalCategory == .control },
        "ToUpper": [m1(.char, .char) { _, v in .char(StringOps.units(String(scalar(v)).uppercased()).first ?? c(v)) }],
        "ToLower": [m1(.char, .char) { _, v in .char(StringOps.units(String(scalar(v)).lowercased()).first ?? c(v)) }],
        "ToUpperInvariant": [m1(.char, .char) { _, v in .char(StringOps.units(String(scalar(v)).uppercased()).first ?? c(v)) }],
        "ToLowerInvariant": [m1(.char, .char) { _, v in .char(StringOps.units(String(scalar(v)).lowercased()).first ?? c(v)) }],
        "Parse": [m1(.string, .char) { _, s in
            let u = StringOps.units(try argStr(s, "s"))
            guard u.count == 1 else { throw ExpressionRuntimeError.format("String must be exactly one character long.") }
            return .char(u[0])
        }],
        "GetNumericValue": [m1(.char, .double) { _, v in .double(scalar(v).properties.numericValue ?? -1) }],
    ]
}

private extension Unicode.GeneralCategory {
    var shortName: String {
        switch self {
        case .connectorPunctuation: return "Pc"
        case .dashPunctuation: return "Pd"
        case .openPunctuation: return "Ps"
        case .closePunctuation: return "Pe"
        case .initialPunctuation: return "Pi"
        case .finalPunctuation: return "Pf"
        case .otherPunctuation: return "Po"
        default: return ""
        }
    }
}

enum TemporalStatics {
    static func span(_ scale: Int64) -> [Overload] {
        [m1(.double, .timeSpan) { _, v in .timeSpan(try TimeSpanValue.from(try dbl(v), scaleTicks: scale)) }]
    }

    static let dateTime: [String: [Overload]] = [
        "Parse": [
            m1(.string, .dateTime) { _, s in .dateTime(try DateParsing.parse(try argStr(s, "s"))) },
        ],
        "TryParse": [mout([.string], out: .dateTime, .bool) { _, a in
            guard case .string(let s) = a[0], let d = DateParsing.tryParse(s) else { return (.bool(false), Binder.defaultValue(of: .dateTime)) }
            return (.bool(true), .dateTime(d))
        }],
        // The provider argument is accepted for source compatibility (pass null); parsing is culture-invariant.
        "ParseExact": [m3(.string, .string, .object, .dateTime) { _, s, f, _ in
            .dateTime(try DateParsing.parseExact(try argStr(s, "s"), try argStr(f, "format")))
        }],
        "SpecifyKind": [m2(.dateTime, .enumeration(.dateTimeKind), .dateTime) { _, d, k in
            .dateTime(DateTimeValue(ticks: try dt(d).ticks, kind: DateTimeValue.Kind(rawValue: enumRaw(k)) ?? .unspecified))
        }],
        "DaysInMonth": [m2(.int, .int, .int) { _, y, m in
            let year = try int(y), month = try int(m)
            guard (1...12).contains(month) else { throw ExpressionRuntimeError.argumentOutOfRange("month", "Month must be between one and twelve.") }
            return .int(Int32(DateTimeValue.daysInMonth(year: year, month: month)))
        }],
        "IsLeapYear": [m1(.int, .bool) { _, y in .bool(DateTimeValue.isLeapYear(try int(y))) }],
        "Compare": [m2(.dateTime, .dateTime, .int) { _, a, b in .int(Int32(try Arithmetic.compare(a, b))) }],
        "FromFileTimeUtc": [m1(.long, .dateTime) { _, t in
            // Ticks since 1601-01-01; .NET rejects negatives and anything past DateTime.MaxValue.
            let fileTime = try Conversions.toInt64(t)
            guard fileTime >= 0, fileTime <= DateTimeValue.maxTicks - 504_911_232_000_000_000 else {
                throw ExpressionRuntimeError.argumentOutOfRange("fileTime", "Not a valid Win32 FileTime.")
            }
            return .dateTime(DateTimeValue(ticks: fileTime + 504_911_232_000_000_000, kind: .utc))
        }],
    ]

    static let dateTimeOffset: [String: [Overload]] = [
        "Parse": [m1(.string, .dateTimeOffset) { _, s in .dateTimeOffset(try DateParsing.parseOffset(try argStr(s, "input"))) }],
        "TryParse": [mout([.string], out: .dateTimeOffset, .bool) { _, a in
            guard case .string(let s) = a[0], let d = try? DateParsing.parseOffset(s) else { return (.bool(false), Binder.defaultValue(of: .dateTimeOffset)) }
            return (.bool(true), .dateTimeOffset(d))
        }],
        "FromUnixTimeSeconds": [m1(.long, .dateTimeOffset) { _, s in
            let d = try DateTimeValue.fromUnixSeconds(try Conversions.toInt64(s), kind: .utc, parameter: "seconds")
            return .dateTimeOffset(DateTimeOffsetValue(clockTicks: d.ticks, offsetMinutes: 0))
        }],
        "FromUnixTimeMilliseconds": [m1(.long, .dateTimeOffset) { _, s in
            let ms = try Conversions.toInt64(s)
            guard ms >= -62_135_596_800_000, ms <= 253_402_300_799_999 else {
                throw ExpressionRuntimeError.argumentOutOfRange("milliseconds", "Valid values are between -62135596800000 and 253402300799999, inclusive.")
            }
            return .dateTimeOffset(DateTimeOffsetValue(clockTicks: DateTimeValue.unixEpochTicks + ms * DateTimeValue.ticksPerMillisecond, offsetMinutes: 0))
        }],
    ]

    static let timeSpan: [String: [Overload]] = [
        "FromDays": span(DateTimeValue.ticksPerDay),
        "FromHours": span(DateTimeValue.ticksPerHour),
        "FromMinutes": span(DateTimeValue.ticksPerMinute),
        "FromSeconds": span(DateTimeValue.ticksPerSecond),
        "FromMilliseconds": span(DateTimeValue.ticksPerMillisecond),
        "FromTicks": [m1(.long, .timeSpan) { _, t in .timeSpan(TimeSpanValue(ticks: try Conversions.toInt64(t))) }],
        "Parse": [m1(.string, .timeSpan) { _, s in .timeSpan(try DateParsing.parseTimeSpan(try argStr(s, "input"))) }],
        "TryParse": [mout([.string], out: .timeSpan, .bool) { _, a in
            guard case .string(let s) = a[0], let t = DateParsing.tryParseTimeSpan(s) else { return (.bool(false), .timeSpan(TimeSpanValue(ticks: 0))) }
            return (.bool(true), .timeSpan(t))
        }],
    ]
}

enum MathStatics {
    static func unary(_ f: @escaping @Sendable (Double) -> Double) -> [Overload] {
        [m1(.double, .double) { _, x in .double(f(try dbl(x))) }]
    }

    static func round(_ d: Double, _ digits: Int, awayFromZero: Bool) throws -> Double {
        guard (0...15).contains(digits) else { throw ExpressionRuntimeError.argumentOutOfRange("digits", "Rounding digits must be between 0 and 15, inclusive.") }
        let scale = pow(10.0, Double(digits))
        let scaled = d * scale
        let rounded = awayFromZero ? scaled.rounded(.toNearestOrAwayFromZero) : scaled.rounded(.toNearestOrEven)
        return digits == 0 ? rounded : rounded / scale
    }

    static func roundDecimal(_ d: Decimal, _ digits: Int, awayFromZero: Bool) throws -> Decimal {
        guard (0...28).contains(digits) else { throw ExpressionRuntimeError.argumentOutOfRange("decimals", "Rounding digits must be between 0 and 28, inclusive.") }
        var value = d
        var result = Decimal()
        NSDecimalRound(&result, &value, digits, awayFromZero ? .plain : .bankers)
        return result
    }

    static let midpoint = ExpressionType.enumeration(.midpointRounding)

    static let methods: [String: [Overload]] = [
        "Floor": [m1(.double, .double) { _, x in .double(try dbl(x).rounded(.down)) },
                  m1(.decimal, .decimal) { _, x in .decimal(roundDecimalDirection(try Conversions.toDecimal(x), .down)) }],
        "Ceiling": [m1(.double, .double) { _, x in .double(try dbl(x).rounded(.up)) },
                    m1(.decimal, .decimal) { _, x in .decimal(roundDecimalDirection(try Conversions.toDecimal(x), .up)) }],
        "Truncate": [m1(.double, .double) { _, x in .double(try dbl(x).rounded(.towardZero)) }],
        "Round": [
            m1(.double, .double) { _, x in .double(try round(try dbl(x), 0, awayFromZero: false)) },
            m2(.double, .int, .double) { _, x, n in .double(try round(try dbl(x), try int(n), awayFromZero: false)) },
            m2(.double, midpoint, .double) { _, x, m in .double(try round(try dbl(x), 0, awayFromZero: enumRaw(m) == 1)) },
            m3(.double, .int, midpoint, .double) { _, x, n, m in .double(try round(try dbl(x), try int(n), awayFromZero: enumRaw(m) == 1)) },
            m1(.decimal, .decimal) { _, x in .decimal(try roundDecimal(try Conversions.toDecimal(x), 0, awayFromZero: false)) },
            m2(.decimal, .int, .decimal) { _, x, n in .decimal(try roundDecimal(try Conversions.toDecimal(x), try int(n), awayFromZero: false)) },
            m3(.decimal, .int, midpoint, .decimal) { _, x, n, m in .decimal(try roundDecimal(try Conversions.toDecimal(x), try int(n), awayFromZero: enumRaw(m) == 1)) },
        ],
        "Pow": [m2(.double, .double, .double) { _, x, y in .double(pow(try dbl(x), try dbl(y))) }],
        "Sqrt": unary { $0.squareRoot() },
        "Exp": unary { Foundation.exp($0) },
        "Log": unary { Foundation.log($0) } + [m2(.double, .double, .double) { _, x, b in .double(Foundation.log(try dbl(x)) / Foundation.log(try dbl(b))) }],
        "Log10": unary { Foundation.log10($0) },
        "Log2": unary { Foundation.log2($0) },
        "Sin": unary { Foundation.sin($0) },
        "Cos": unary { Foundation.cos($0) },
        "Tan": unary { Foundation.tan($0) },
        "Atan": unary { Foundation.atan($0) },
        "Atan2": [m2(.double, .double, .double) { _, y, x in .double(Foundation.atan2(try dbl(y), try dbl(x))) }],
        "Sign": [
            m1(.int, .int) { _, x in .int(Int32(try int(x).signum())) },
            m1(.long, .int) { _, x in .int(Int32(try Conversions.toInt64(x).signum())) },
            m1(.double, .int) { _, x in
                let d = try dbl(x)
                if d.isNaN { throw ExpressionRuntimeError.arithmetic("Function does not accept floating point Not-a-Number values.") }
                return .int(d > 0 ? 1 : d < 0 ? -1 : 0)
            },
            m1(.decimal, .int) { _, x in let d = try Conversions.toDecimal(x); return .int(d > 0 ? 1 : d < 0 ? -1 : 0) },
        ],
        "Clamp": [
            m3(.int, .int, .int, .int) { _, v, lo, hi in
                let x = try int(v), a = try int(lo), b = try int(hi)
                guard a <= b else { throw ExpressionRuntimeError.argument("'\(a)' cannot be greater than \(b).") }
                return .int(Int32(min(max(x, a), b)))
            },
            m3(.double, .double, .double, .double) { _, v, lo, hi in
                let x = try dbl(v), a = try dbl(lo), b = try dbl(hi)
                guard a <= b else { throw ExpressionRuntimeError.argument("'\(Formatting.double(a))' cannot be greater than \(Formatting.double(b)).") }
                return .double(min(max(x, a), b))
            },
        ],
        "Abs": [m1(.double, .double) { _, x in .double(abs(try dbl(x))) }],
        "Max": [m2(.double, .double, .double) { _, a, b in .double(max(try dbl(a), try dbl(b))) }],
        "Min": [m2(.double, .double, .double) { _, a, b in .double(min(try dbl(a), try dbl(b))) }],
    ]

    static func roundDecimalDirection(_ d: Decimal, _ mode: NSDecimalNumber.RoundingMode) -> Decimal {
        var value = d
        var result = Decimal()
        NSDecimalRound(&result, &value, 0, mode)
        return result
    }
}

extension ExpressionRuntimeError {
    static func arithmetic(_ message: String) -> Self { .init("ArithmeticException", message) }
}

enum ConvertStatics {
    static func to(_ type: ExpressionType) -> [Overload] {
        [
            m1(.object, type) { _, v in try Library.convertNumber(v, to: type) },
            m1(.string, type) { _, v in try Library.convertNumber(v, to: type) },
        ]
    }

    static func toBase(_ type: ExpressionType) -> Overload {
        m2(.string, .int, type) { _, s, b in
            guard case .string(let text) = s else { return Binder.defaultValue(of: type) }
            let base = try int(b)
            guard [2, 8, 10, 16].contains(base) else { throw ExpressionRuntimeError.argument("Invalid Base.") }
            var digits = Library.trimWhite(text)
            if base == 16, digits.lowercased().hasPrefix("0x") { digits = String(digits.dropFirst(2)) }
            guard !digits.isEmpty, let value = UInt64(digits, radix: base) else {
                throw ExpressionRuntimeError.format("Could not find any recognizable digits.")
            }
            if type == .int {
                guard value <= UInt64(UInt32.max) else { throw ExpressionRuntimeError.overflow("Value was either too large or too small for an Int32.") }
                return .int(Int32(truncatingIfNeeded: value))
            }
            return .long(Int64(bitPattern: value))
        }
    }

    static let methods: [String: [Overload]] = [
        "ToBase64String": [
            m1(.byteArray, .string) { _, b in .string(Library.toBase64(try bytes(b))) },
            m3(.byteArray, .int, .int, .string) { _, b, o, n in
                let data = try bytes(b), offset = try int(o), count = try int(n)
                guard offset >= 0, count >= 0, offset + count <= data.count else { throw ExpressionRuntimeError.argumentOutOfRange("offset", "Offset and length must refer to a position in the string.") }
                return .string(Library.toBase64(Array(data[offset..<offset + count])))
            },
        ],
        "FromBase64String": [m1(.string, .byteArray) { _, s in .bytes(try Library.fromBase64(try argStr(s, "s"))) }],
        "ToHexString": [m1(.byteArray, .string) { _, b in .string(Hex.encode(try bytes(b))) }],
        "FromHexString": [m1(.string, .byteArray) { _, s in
            guard let b = Hex.decode(try argStr(s, "s")) else { throw ExpressionRuntimeError.format("The input is not a valid hex string as it contains a non-hex character.") }
            return .bytes(b)
        }],
        "ToInt32": to(.int) + [toBase(.int)],
        "ToInt64": to(.long) + [toBase(.long)],
        "ToInt16": to(.short),
        "ToByte": to(.byte),
        "ToUInt32": to(.uint),
        "ToUInt64": to(.ulong),
        "ToDouble": to(.double),
        "ToSingle": to(.float),
        "ToDecimal": to(.decimal),
        "ToBoolean": [
            m1(.string, .bool) { _, s in s.isNull ? .bool(false) : .bool(try Library.parseBool(try str(s))) },
            m1(.object, .bool) { _, v in
                switch v {
                case .null: return .bool(false)
                case .bool: return v
                case .string(let s): return .bool(try Library.parseBool(s))
                default: return .bool(try Conversions.toDouble(v) != 0)
                }
            },
        ],
        "ToString": [
            m1(.object, .string) { _, v in .string(Formatting.toString(v)) },
            m2(.int, .int, .string) { _, v, b in .string(try radix(try Conversions.toInt64(v), try int(b), bits: 32)) },
            m2(.long, .int, .string) { _, v, b in .string(try radix(try Conversions.toInt64(v), try int(b), bits: 64)) },
        ],
        "ToChar": [m1(.int, .char) { _, v in try Conversions.numericCast(v, to: .char, checked: true) }],
        "ToDateTime": [m1(.string, .dateTime) { _, s in s.isNull ? Binder.defaultValue(of: .dateTime) : .dateTime(try DateParsing.parse(try str(s))) }],
    ]

    static func radix(_ v: Int64, _ base: Int, bits: Int) throws -> String {
        guard [2, 8, 10, 16].contains(base) else { throw ExpressionRuntimeError.argument("Invalid Base.") }
        if base == 10 { return String(v) }
        let pattern = bits == 32 ? UInt64(UInt32(truncatingIfNeeded: v)) : UInt64(bitPattern: v)
        return String(pattern, radix: base)
    }

    static let bitConverter: [String: [Overload]] = [
        "ToString": [
            m1(.byteArray, .string) { _, b in .string(Hex.encode(try bytes(b, "value"), separator: "-")) },
            m3(.byteArray, .int, .int, .string) { _, b, o, n in
                let data = try bytes(b, "value"), offset = try int(o), count = try int(n)
                guard offset >= 0, count >= 0, offset + count <= data.count else { throw ExpressionRuntimeError.argumentOutOfRange("startIndex") }
                return .string(Hex.encode(Array(data[offset..<offset + count]), separator: "-"))
            },
        ],
        "GetBytes": [
            m1(.int, .byteArray) { _, v in .bytes(withUnsafeBytes(of: Int32(try int(v)).littleEndian, Array.init)) },
            m1(.long, .byteArray) { _, v in .bytes(withUnsafeBytes(of: try Conversions.toInt64(v).littleEndian, Array.init)) },
            m1(.double, .byteArray) { _, v in .bytes(withUnsafeBytes(of: try dbl(v).bitPattern.littleEndian, Array.init)) },
            m1(.bool, .byteArray) { _, v in .bytes([v.boolValue == true ? 1 : 0]) },
        ],
        "ToInt32": [m2(.byteArray, .int, .int) { _, b, o in
            let data = try bytes(b, "value"), offset = try int(o)
            guard offset >= 0, offset + 4 <= data.count else { throw ExpressionRuntimeError.argumentOutOfRange("startIndex") }
            return .int(data[offset..<offset + 4].enumerated().reduce(Int32(0)) { $0 | Int32($1.element) << (8 * Int32($1.offset)) })
        }],
        "ToInt64": [m2(.byteArray, .int, .long) { _, b, o in
            let data = try bytes(b, "value"), offset = try int(o)
            guard offset >= 0, offset + 8 <= data.count else { throw ExpressionRuntimeError.argumentOutOfRange("startIndex") }
            return .long(data[offset..<offset + 8].enumerated().reduce(Int64(0)) { $0 | Int64($1.element) << (8 * Int64($1.offset)) })
        }],
    ]
}
