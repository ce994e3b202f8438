import Foundation

/// Instance members of built-in types, resolved at compile time from the receiver's static type.
enum InstanceMembers {
    static func property(of type: ExpressionType, _ name: String) -> PropertyImpl? {
        switch type {
        case .string: return StringMembers.properties[name]
        case .dateTime: return TemporalMembers.dateTimeProperties[name]
        case .dateTimeOffset: return TemporalMembers.dateTimeOffsetProperties[name]
        case .timeSpan: return TemporalMembers.timeSpanProperties[name]
        case .nullable(let inner):
            switch name {
            case "HasValue": return PropertyImpl(.bool) { .bool(!$0.isNull) }
            case "Value": return PropertyImpl(inner) { v in
                if v.isNull { throw ExpressionRuntimeError.invalidOperation("Nullable object must have a value.") }
                return v
            }
            default: return nil
            }
        case .pair(let k, let v):
            switch name {
            case "Key": return PropertyImpl(k) { if case .pair(let p) = $0 { return p.key }; return .null }
            case "Value": return PropertyImpl(v) { if case .pair(let p) = $0 { return p.value }; return .null }
            default: return nil
            }
        case .json(let kind): return JsonMembers.property(kind, name)
        case .grouping(let k, _):
            return name == "Key" ? PropertyImpl(k) { if case .pair(let p) = $0 { return p.key }; return .null } : nil
        case .type:
            switch name {
            case "Name": return PropertyImpl(.string) { v in
                guard case .type(let t) = v else { return .null }
                return .string(String(t.dotNetName.split(separator: ".").last ?? ""))
            }
            case "FullName": return PropertyImpl(.string) { v in
                guard case .type(let t) = v else { return .null }
                return .string(t.dotNetName)
            }
            default: return nil
            }
        case .array, .list, .hashSet, .enumerable, .dictionary:
            return Collections.property(of: type, name)
        default:
            return nil
        }
    }

    static func hasMethod(of type: ExpressionType, _ name: String) -> Bool {
        methods(of: type, name) != nil || specialNames.contains(name)
    }

    static let specialNames: Set<String> = ["GetValueOrDefault", "Value", "Values", "ToObject", "ForEach", "Find", "FindAll", "Exists", "RemoveAll", "TrueForAll", "FindIndex", "ConvertAll"]

    static let toStringOverload = m0(.string) { .string(Formatting.toString($0)) }
    static let formatOverload = m1(.string, .string) { v, f in .string(try Library.format(v, Library.optionalString(f))) }
    static let equalsOverload = m1(.object, .bool) { v, o in .bool(Arithmetic.equals(v, o)) }
    static let getTypeOverload = m0(.type) { v in .type(staticType(of: v)) }
    static let hashOverload = m0(.int) { v in .int(Int32(truncatingIfNeeded: Formatting.toString(v).hashValue)) }

    static func staticType(of v: Value) -> ExpressionType {
        switch v {
        case .string: return .string
        case .int: return .int
        case .long: return .long
        case .double: return .double
        case .bool: return .bool
        case .decimal: return .decimal
        case .char: return .char
        case .dateTime: return .dateTime
        case .timeSpan: return .timeSpan
        case .guid: return .guid
        case .byteArray: return .byteArray
        case .json(let t): return .json(t.kind)
        case .object(let o): return .host(o.hostType)
        default: return .object
        }
    }

    static func common(_ name: String, _ type: ExpressionType) -> [Overload]? {
        switch name {
        case "ToString":
            switch type.underlyingNonNullable {
            case .int, .long, .ulong, .double, .float, .decimal, .byte, .short, .uint, .dateTime, .dateTimeOffset, .timeSpan, .guid, .enumeration:
                return [toStringOverload, formatOverload]
            default: return [toStringOverload]
            }
        case "Equals": return [equalsOverload]
        case "GetHashCode": return [hashOverload]
        case "GetType": return [getTypeOverload]
        case "CompareTo":
            guard type.isValueType || type == .string else { return nil }
            return [m1(type, .int) { a, b in .int(Int32(try Arithmetic.compare(a, b))) }]
        default: return nil
        }
    }

    static func methods(of type: ExpressionType, _ name: String) -> [Overload]? {
        var specific: [Overload]?
        switch type {
        case .string: specific = StringMembers.methods[name]
        case .dateTime: specific = TemporalMembers.dateTimeMethods[name]
        case .dateTimeOffset: specific = TemporalMembers.dateTimeOffsetMethods[name]
        case .timeSpan: specific = TemporalMembers.timeSpanMethods[name]
        case .nullable(let inner):
            if name == "GetValueOrDefault" {
                let fallback = Binder.defaultValue(of: inner)
                specific = [m0(inner) { $0.isNull ? fallback : $0 }, m1(inner, inner) { v, d in v.isNull ? d : v }]
            }
            if name == "ToString" { specific = [m0(.string) { .string(Formatting.toString($0)) }] }
        case .guid:
            // .NET's layout: the first three fields little-endian, the last eight bytes as they are.
            if name == "ToByteArray" {
                specific = [m0(.byteArray) { v in
                    guard case .guid(let g) = v else { throw ExpressionRuntimeError.nullReference() }
                    let u = g.uuid
                    return .bytes([u.3, u.2, u.1, u.0, u.5, u.4, u.7, u.6, u.8, u.9, u.10, u.11, u.12, u.13, u.14, u.15])
                }]
            }
        case .enumeration:
            if name == "HasFlag" { specific = [m1(type, .bool) { v, f in .bool(enumRaw(v) & enumRaw(f) == enumRaw(f)) }] }
        case .json(let kind): specific = JsonMembers.methods(kind, name)
        case .array(.byte) where SymmetricCrypto.methods[name] != nil: specific = SymmetricCrypto.methods[name]
        case .array, .list, .hashSet, .enumerable, .dictionary: specific = Collections.methods(of: type, name)
        default: break
        }
        if let specific { return specific }
        return common(name, type)
    }

    /// Generic or lambda-taking instance methods that tables cannot express.
    static func bindSpecial(_ binder: Binder, _ receiver: Bound, _ name: String, typeArguments: [ExpressionType],
                            _ args: [Binder.BoundArgument], at offset: Int) throws -> Bound? {
        switch receiver.type {
        case .dictionary:
            return try Collections.bindDictionarySpecial(binder, receiver, name, typeArguments: typeArguments, args, at: offset)
        case .json:
            return try JsonMembers.bindSpecial(binder, receiver, name, typeArguments: typeArguments, args, at: offset)
        case .list(let element):
            return try Collections.bindListSpecial(binder, receiver, element, name, args, at: offset)
        default:
            return nil
        }
    }
}

/// DateTime, DateTimeOffset and TimeSpan members.
enum TemporalMembers {
    static let dateTimeProperties: [String: PropertyImpl] = [
        "Year": PropertyImpl(.int) { .int(Int32(try dt($0).year)) },
        "Month": PropertyImpl(.int) { .int(Int32(try dt($0).month)) },
        "Day": PropertyImpl(.int) { .int(Int32(try dt($0).day)) },
        "Hour": PropertyImpl(.int) { .int(Int32(try dt($0).hour)) },
        "Minute": PropertyImpl(.int) { .int(Int32(try dt($0).minute)) },
        "Second": PropertyImpl(.int) { .int(Int32(try dt($0).second)) },
        "Millisecond": PropertyImpl(.int) { .int(Int32(try dt($0).millisecond)) },
        "DayOfYear": PropertyImpl(.int) { .int(Int32(try dt($0).dayOfYear)) },
        "DayOfWeek": PropertyImpl(.enumeration(.dayOfWeek)) { .enumeration(Int32(try dt($0).dayOfWeek), .dayOfWeek) },
        "Ticks": PropertyImpl(.long) { .long(try dt($0).ticks) },
        "Date": PropertyImpl(.dateTime) { .dateTime(try dt($0).datePart) },
        "TimeOfDay": PropertyImpl(.timeSpan) { .timeSpan(try dt($0).timeOfDay) },
        "Kind": PropertyImpl(.enumeration(.dateTimeKind)) { .enumeration(try dt($0).kind.rawValue, .dateTimeKind) },
    ]

    static func add(_ scale: Int64) -> Overload {
        m1(.double, .dateTime) { d, v in .dateTime(try dt(d).adding(try dbl(v), scaleTicks: scale)) }
    }

    static let dateTimeMethods: [String: [Overload]] = [
        "AddDays": [add(DateTimeValue.ticksPerDay)],
        "AddHours": [add(DateTimeValue.ticksPerHour)],
        "AddMinutes": [add(DateTimeValue.ticksPerMinute)],
        "AddSeconds": [add(DateTimeValue.ticksPerSecond)],
        "AddMilliseconds": [add(DateTimeValue.ticksPerMillisecond)],
        "AddTicks": [m1(.long, .dateTime) { d, v in .dateTime(try dt(d).adding(ticks: try Conversions.toInt64(v))) }],
        "AddMonths": [m1(.int, .dateTime) { d, v in .dateTime(try dt(d).addingMonths(try int(v))) }],
        "AddYears": [m1(.int, .dateTime) { d, v in
            let years = try int(v)
            guard abs(years) <= 10_000 else { throw ExpressionRuntimeError.argumentOutOfRange("years") }
            return .dateTime(try dt(d).addingMonths(years * 12))
        }],
        "Add": [m1(.timeSpan, .dateTime) { d, t in .dateTime(try dt(d).adding(ticks: try ts(t).ticks)) }],
        "Subtract": [
            m1(.dateTime, .timeSpan) { a, b in .timeSpan(TimeSpanValue(ticks: try dt(a).ticks - dt(b).ticks)) },
            m1(.timeSpan, .dateTime) { d, t in .dateTime(try dt(d).adding(ticks: try ts(t).negated().ticks)) },
        ],
        "ToUniversalTime": [m0(.dateTime) { .dateTime(try dt($0).toUniversal()) }],
        "ToLocalTime": [m0(.dateTime) { .dateTime(try dt($0).toLocal()) }],
        "ToShortDateString": [m0(.string) { .string(Formatting.dateTime(try dt($0), format: "d")) }],
        "ToShortTimeString": [m0(.string) { .string(Formatting.dateTime(try dt($0), format: "t")) }],
        "ToLongDateString": [m0(.string) { .string(Formatting.dateTime(try dt($0), format: "D")) }],
        "ToLongTimeString": [m0(.string) { .string(Formatting.dateTime(try dt($0), format: "T")) }],
        "IsDaylightSavingTime": [m0(.bool) { v in
            let d = try dt(v)
            return .bool(d.kind != .utc && TimeZone.current.isDaylightSavingTime(for: d.date))
        }],
        "ToFileTimeUtc": [m0(.long) {
            let fileTime = try dt($0).toUniversal().ticks - 504_911_232_000_000_000
            guard fileTime >= 0 else { throw ExpressionRuntimeError.argumentOutOfRange("", "Not a valid Win32 FileTime.") }
            return .long(fileTime)
        }],
    ]

    static func dto(_ v: Value) throws -> DateTimeOffsetValue {
        if case .dateTimeOffset(let d) = v { return d }
        throw ExpressionRuntimeError.nullReference()
    }

    static let dateTimeOffsetProperties: [String: PropertyImpl] = [
        "DateTime": PropertyImpl(.dateTime) { .dateTime(try dto($0).clock) },
        "UtcDateTime": PropertyImpl(.dateTime) { .dateTime(try dto($0).utcDateTime) },
        "LocalDateTime": PropertyImpl(.dateTime) { .dateTime(try dto($0).utcDateTime.toLocal()) },
        "Offset": PropertyImpl(.timeSpan) { .timeSpan(TimeSpanValue(ticks: Int64(try dto($0).offsetMinutes) * DateTimeValue.ticksPerMinute)) },
        "Year": PropertyImpl(.int) { .int(Int32(try dto($0).clock.year)) },
        "Month": PropertyImpl(.int) { .int(Int32(try dto($0).clock.month)) },
        "Day": PropertyImpl(.int) { .int(Int32(try dto($0).clock.day)) },
        "Hour": PropertyImpl(.int) { .int(Int32(try dto($0).clock.hour)) },
        "Minute": PropertyImpl(.int) { .int(Int32(try dto($0).clock.minute)) },
        "Second": PropertyImpl(.int) { .int(Int32(try dto($0).clock.second)) },
        "Ticks": PropertyImpl(.long) { .long(try dto($0).clockTicks) },
        "UtcTicks": PropertyImpl(.long) { .long(try dto($0).utcTicks) },
    ]

    static func addOffset(_ scale: Int64) -> Overload {
        m1(.double, .dateTimeOffset) { d, v in
            let o = try dto(d)
            let moved = try o.clock.adding(try dbl(v), scaleTicks: scale)
            return .dateTimeOffset(try DateTimeOffsetValue.checked(clockTicks: moved.ticks, offsetMinutes: Int64(o.offsetMinutes)))
        }
    }

    static let dateTimeOffsetMethods: [String: [Overload]] = [
        "ToUnixTimeSeconds": [m0(.long) { .long(try dto($0).unixSeconds) }],
        "ToUnixTimeMilliseconds": [m0(.long) { v in
            let ticks = try dto(v).utcTicks - DateTimeValue.unixEpochTicks
            return .long(Int64((Double(ticks) / Double(DateTimeValue.ticksPerMillisecond)).rounded(.down)))
        }],
        "AddDays": [addOffset(DateTimeValue.ticksPerDay)],
        "AddHours": [addOffset(DateTimeValue.ticksPerHour)],
        "AddMinutes": [addOffset(DateTimeValue.ticksPerMinute)],
        "AddSeconds": [addOffset(DateTimeValue.ticksPerSecond)],
        "AddMilliseconds": [addOffset(DateTimeValue.ticksPerMillisecond)],
        "ToUniversalTime": [m0(.dateTimeOffset) { .dateTimeOffset(DateTimeOffsetValue(clockTicks: try dto($0).utcTicks, offsetMinutes: 0)) }],
        "ToLocalTime": [m0(.dateTimeOffset) { .dateTimeOffset(DateTimeOffsetValue(dateTime: try dto($0).utcDateTime.toLocal())) }],
    ]

    static let timeSpanProperties: [String: PropertyImpl] = [
        "Days": PropertyImpl(.int) { .int(try ts($0).days) },
        "Hours": PropertyImpl(.int) { .int(try ts($0).hours) },
        "Minutes": PropertyImpl(.int) { .int(try ts($0).minutes) },
        "Seconds": PropertyImpl(.int) { .int(try ts($0).seconds) },
        "Milliseconds": PropertyImpl(.int) { .int(try ts($0).milliseconds) },
        "Ticks": PropertyImpl(.long) { .long(try ts($0).ticks) },
        "TotalDays": PropertyImpl(.double) { .double(try ts($0).totalDays) },
        "TotalHours": PropertyImpl(.double) { .double(try ts($0).totalHours) },
        "TotalMinutes": PropertyImpl(.double) { .double(try ts($0).totalMinutes) },
        "TotalSeconds": PropertyImpl(.double) { .double(try ts($0).totalSeconds) },
        "TotalMilliseconds": PropertyImpl(.double) { .double(try ts($0).totalMilliseconds) },
    ]

    static let timeSpanMethods: [String: [Overload]] = [
        "Add": [m1(.timeSpan, .timeSpan) { a, b in .timeSpan(try ts(a).adding(try ts(b))) }],
        "Subtract": [m1(.timeSpan, .timeSpan) { a, b in .timeSpan(try ts(a).adding(try ts(b), subtract: true)) }],
        "Negate": [m0(.timeSpan) { .timeSpan(try ts($0).negated()) }],
        "Duration": [m0(.timeSpan) { .timeSpan(try ts($0).duration()) }],
    ]
}
