import Foundation

/// C# conversion rules (static) and their runtime effect on `Value`s.
enum Conversions {
    /// Position in the implicit numeric conversion lattice (C# spec §10.2.3), simplified to our types.
    private static func numericRank(_ type: ExpressionType) -> Int? {
        switch type {
        case .byte: return 0
        case .short: return 1
        case .char: return 1
        case .int: return 2
        case .uint: return 3
        case .long: return 4
        case .ulong: return 5
        case .float: return 6
        case .double: return 7
        case .decimal: return 8
        default: return nil
        }
    }

    static func implicitNumeric(from: ExpressionType, to: ExpressionType) -> Bool {
        if from == to { return true }
        switch (from, to) {
        case (.char, .short), (.short, .char), (.double, .decimal), (.float, .decimal), (.decimal, .double), (.decimal, .float): return false
        case (.short, .uint), (.short, .ulong), (.int, .uint), (.int, .ulong), (.long, .ulong), (.uint, .int), (.ulong, .long): return false
        default: break
        }
        guard let a = numericRank(from), let b = numericRank(to) else { return false }
        return a < b
    }

    /// Cost of an implicit conversion (0 = identity), or nil when there is none.
    static func implicitScore(from: ExpressionType, to: ExpressionType) -> Int? {
        if from == to { return 0 }
        if from == .int, [.byte, .short, .uint, .ulong].contains(to) { return nil }
        if to == .object { return from == .void || from == .lambda ? nil : 3 }
        if from == .null {
            return to.isValueType ? nil : 1
        }
        if implicitNumeric(from: from, to: to) { return 1 + (numericRank(to) ?? 0) - (numericRank(from) ?? 0) > 0 ? 2 : 1 }
        switch (from, to) {
        case (_, .nullable(let inner)):
            if from == inner { return 1 }
            if case .nullable(let source) = from { return implicitNumeric(from: source, to: inner) ? 2 : nil }
            return implicitNumeric(from: from, to: inner) ? 2 : nil
        case (.json(let a), .json(let b)):
            return b == .token && a != .token ? 1 : nil
        case (_, .json(.token)), (_, .json(.value)):
            // Newtonsoft's implicit operators from primitives to JToken/JValue.
            switch from.underlyingNonNullable {
            case .string, .bool, .int, .long, .double, .float, .decimal, .dateTime, .dateTimeOffset, .guid, .timeSpan, .byte, .short, .uint, .ulong, .char:
                return 4
            case .array(.byte): return 4
            default: return nil
            }
        case (.host(let a), .host(let b)):
            return a.isAssignable(to: b) ? 1 : nil
        case (.string, .enumerable(.char)):
            return 2
        case (.dateTime, .dateTimeOffset):
            // .NET's implicit operator: `new DateTimeOffset(dateTime)` (UTC: offset 0; else local).
            return 2
        case (.dictionary(let k, let v), .enumerable(.pair(let k2, let v2))):
            return k == k2 && v == v2 ? 2 : nil
        case (.json(.object), .enumerable(.pair(.string, .json(.token)))), (.json(.array), .enumerable(.json(.token))):
            return 2
        default:
            break
        }
        if let fromElement = sequenceElement(from), let toElement = sequenceTarget(to) {
            if fromElement == toElement { return 2 }
            // Covariance of reference element types (IEnumerable<string> → IEnumerable<object>); value-type
            // sequences reach `.enumerable(.object)` as the non-generic IEnumerable (and generic `Join<T>`).
            if toElement == .object, case .enumerable = to { return 2 }
            if !fromElement.isValueType, toElement == .object { return 3 }
            if case .json = fromElement, toElement == .json(.token) { return 3 }
        }
        return nil
    }

    private static func sequenceElement(_ type: ExpressionType) -> ExpressionType? {
        switch type {
        case .array(let e), .list(let e), .hashSet(let e), .enumerable(let e): return e
        default: return nil
        }
    }

    /// Interfaces an array/list/set can be converted to implicitly (we model IList/ICollection as list).
    private static func sequenceTarget(_ type: ExpressionType) -> ExpressionType? {
        switch type {
        case .enumerable(let e): return e
        case .list(let e): return e
        default: return nil
        }
    }

    /// The runtime change an implicit conversion needs, or nil when the representation is unchanged.
    static func implicitConverter(from: ExpressionType, to: ExpressionType) -> (@Sendable (Value) throws -> Value)? {
        if from == to || from == .null { return nil }
        let target = to.underlyingNonNullable
        if target.isNumeric, from.underlyingNonNullable != target {
            return { value in value.isNull ? .null : try numericCast(value, to: target, checked: false) }
        }
        if case .json = to {
            if case .json = from { return nil }
            return { value in value.isNull ? .null : .json(toJValue(value)) }
        }
        if target == .dateTimeOffset, from.underlyingNonNullable == .dateTime {
            return { value in
                guard case .dateTime(let dateTime) = value else { return value }
                let made = DateTimeOffsetValue(dateTime: dateTime)
                return .dateTimeOffset(try DateTimeOffsetValue.checked(clockTicks: made.clockTicks, offsetMinutes: Int64(made.offsetMinutes)))
            }
        }
        if case .list(let element) = to, case .array(.byte) = from {
            _ = element
            return { value in if case .byteArray(let b) = value { return .list(ListBox(b.map { .int(Int32($0)) })) }; return value }
        }
        return nil
    }

    /// Static legality of an explicit cast `(T)x`.
    static func explicitAllowed(from: ExpressionType, to: ExpressionType) -> Bool {
        if implicitScore(from: from, to: to) != nil { return true }
        let source = from.underlyingNonNullable
        let target = to.underlyingNonNullable
        if source.isNumeric && target.isNumeric { return true }
        if from == .object { return true }
        if case .enumeration = source, target.isNumeric { return true }
        if case .enumeration = target, source.isNumeric { return true }
        switch (source, target) {
        case (.json, _):
            switch target {
            case .string, .bool, .int, .long, .double, .float, .decimal, .dateTime, .dateTimeOffset, .guid, .timeSpan, .byte, .short, .uint, .ulong, .char, .json, .array(.byte):
                return true
            default: return false
            }
        case (.host(let a), .host(let b)): return b.isAssignable(to: a) || a.isAssignable(to: b)
        case (.enumerable, _), (.list, _): return sequenceElement(target) != nil
        default: return false
        }
    }

    /// Runtime effect of `(T)x` (explicit conversion), including unboxing checks from `object`.
    static func explicitConverter(from: ExpressionType, to: ExpressionType) -> @Sendable (Value) throws -> Value {
        let source = from.underlyingNonNullable
        let target = to.underlyingNonNullable
        let targetNullable = to.isNullableValue || !to.isValueType
        if case .json = source, !isJson(target) {
            return { value in try fromJToken(value, to: target, nullable: to.isNullableValue) }
        }
        if source == .object || (isJson(source) && isJson(target)) || isHost(source) || sequenceElement(source) != nil {
            // Unboxing / downcast: the runtime value must already be of the target type.
            return { value in
                if value.isNull {
                    if targetNullable { return .null }
                    throw ExpressionRuntimeError.nullReference()
                }
                guard isInstance(value, of: target) else {
                    throw ExpressionRuntimeError.invalidCast(from: runtimeTypeName(value), to: to.dotNetName)
                }
                return value
            }
        }
        if source.isNumeric || isEnum(source), target.isNumeric || isEnum(target) {
            return { value in
                if value.isNull {
                    if to.isNullableValue { return .null }
                    throw ExpressionRuntimeError.invalidOperation("Nullable object must have a value.")
                }
                if case .enumeration(let type) = target { return .enumeration(Int32(truncatingIfNeeded: try toInt64(value)), type) }
                return try numericCast(value, to: target, checked: false)
            }
        }
        if let implicit = implicitConverter(from: from, to: to) { return implicit }
        if from.isNullableValue && !to.isNullableValue {
            return { value in
                if value.isNull { throw ExpressionRuntimeError.invalidOperation("Nullable object must have a value.") }
                return value
            }
        }
        return { $0 }
    }

    static func isZero(_ value: Value) -> Bool {
        switch value {
        case .int(let i): return i == 0
        case .long(let l): return l == 0
        case .decimal(let d): return d == 0
        default: return false
        }
    }

    static func isJson(_ type: ExpressionType) -> Bool { if case .json = type { return true }; return false }
    static func isHost(_ type: ExpressionType) -> Bool { if case .host = type { return true }; return false }
    static func isEnum(_ type: ExpressionType) -> Bool { if case .enumeration = type { return true }; return false }

    // MARK: Runtime type tests

    static func isInstance(_ value: Value, of type: ExpressionType) -> Bool {
        switch (value, type) {
        case (.null, _): return false
        case (_, .object): return true
        case (_, .nullable(let inner)): return isInstance(value, of: inner)
        case (.string, .string), (.bool, .bool), (.int, .int), (.long, .long), (.double, .double), (.decimal, .decimal),
             (.char, .char), (.dateTime, .dateTime), (.dateTimeOffset, .dateTimeOffset), (.timeSpan, .timeSpan), (.guid, .guid),
             (.int, .byte), (.int, .short), (.long, .uint), (.double, .float), (.ulong, .ulong), (.pair, .pair), (.type, .type):
            return true
        case (.byteArray, .array(.byte)), (.byteArray, .enumerable(.byte)), (.byteArray, .list(.byte)): return true
        case (.list, .array), (.list, .list), (.list, .enumerable), (.list, .hashSet): return true
        case (.string, .enumerable(.char)): return true
        case (.dictionary, .dictionary), (.dictionary, .enumerable(.pair)): return true
        case (.json, .json(.token)): return true
        case (.json(let token), .json(let kind)): return token.kind == kind
        case (.json(let token), .enumerable):
            if case .value = token.storage { return false }
            return true
        case (.enumeration(_, let a), .enumeration(let b)): return a == b
        case (.object(let object), .host(let host)): return object.hostType.isAssignable(to: host)
        default: return false
        }
    }

    static func runtimeTypeName(_ value: Value) -> String {
        switch value {
        case .null: return "null"
        case .bool: return "System.Boolean"
        case .int: return "System.Int32"
        case .long: return "System.Int64"
        case .ulong: return "System.UInt64"
        case .double: return "System.Double"
        case .decimal: return "System.Decimal"
        case .string: return "System.String"
        case .char: return "System.Char"
        case .dateTime: return "System.DateTime"
        case .dateTimeOffset: return "System.DateTimeOffset"
        case .timeSpan: return "System.TimeSpan"
        case .guid: return "System.Guid"
        case .byteArray: return "System.Byte[]"
        case .list: return "System.Collections.Generic.List`1[System.Object]"
        case .dictionary: return "System.Collections.Generic.Dictionary`2[System.String,System.Object]"
        case .pair: return "System.Collections.Generic.KeyValuePair`2"
        case .json(let token): return "Newtonsoft.Json.Linq." + token.kind.rawValue
        case .enumeration(_, let type): return type.rawValue
        case .object(let object): return object.hostType.name
        case .type: return "System.RuntimeType"
        }
    }

    // MARK: Numbers

    static func toInt64(_ value: Value) throws -> Int64 {
        switch value {
        case .int(let i): return Int64(i)
        case .long(let l): return l
        case .ulong(let u): return Int64(truncatingIfNeeded: u)
        case .char(let c): return Int64(c)
        case .enumeration(let raw, _): return Int64(raw)
        case .double(let d): return saturatingInt64(d)
        case .decimal(let d):
            let truncated = NSDecimalNumber(decimal: d).int64Value
            return truncated
        case .null: throw ExpressionRuntimeError.nullReference()
        default: throw ExpressionRuntimeError.invalidCast(from: runtimeTypeName(value), to: "System.Int64")
        }
    }

    static func toDouble(_ value: Value) throws -> Double {
        switch value {
        case .int(let i): return Double(i)
        case .long(let l): return Double(l)
        case .ulong(let u): return Double(u)
        case .double(let d): return d
        case .char(let c): return Double(c)
        case .decimal(let d): return NSDecimalNumber(decimal: d).doubleValue
        case .null: throw ExpressionRuntimeError.nullReference()
        default: throw ExpressionRuntimeError.invalidCast(from: runtimeTypeName(value), to: "System.Double")
        }
    }

    static func toDecimal(_ value: Value) throws -> Decimal {
        switch value {
        case .int(let i): return Decimal(Int(i))
        case .long(let l): return Decimal(l)
        case .ulong(let u): return Decimal(u)
        case .char(let c): return Decimal(Int(c))
        case .decimal(let d): return d
        case .double(let d):
            guard d.isFinite, abs(d) < 7.9e28 else { throw ExpressionRuntimeError.overflow("Value was either too large or too small for a Decimal.") }
            // .NET rounds double → decimal to 15 significant digits.
            return Decimal(string: String(format: "%.15g", d)) ?? Decimal(d)
        case .null: throw ExpressionRuntimeError.nullReference()
        default: throw ExpressionRuntimeError.invalidCast(from: runtimeTypeName(value), to: "System.Decimal")
        }
    }

    /// .NET 9+ saturating float → integer conversion (NaN → 0).
    static func saturatingInt64(_ d: Double) -> Int64 {
        if d.isNaN { return 0 }
        if d >= 9.223372036854775807e18 { return Int64.max }
        if d <= -9.223372036854775808e18 { return Int64.min }
        return Int64(d.rounded(.towardZero))
    }

    /// `(T)x` between numeric types, unchecked (wraps) unless `checked` (Convert.* style overflow).
    static func numericCast(_ value: Value, to target: ExpressionType, checked: Bool) throws -> Value {
        switch target {
        case .double, .float:
            let d = try toDouble(value)
            return .double(target == .float ? Double(Float(d)) : d)
        case .decimal:
            return .decimal(try toDecimal(value))
        default:
            break
        }
        var wide: Int64
        var fromFloating = false
        switch value {
        case .double(let d):
            fromFloating = true
            wide = saturatingInt64(d)
            if case .int = target { wide = Int64(d.isNaN ? 0 : max(Double(Int32.min), min(Double(Int32.max), d.rounded(.towardZero)))) }
        case .decimal(let d):
            let rounded = NSDecimalNumber(decimal: d).rounding(accordingToBehavior: NSDecimalNumberHandler(
                roundingMode: d < 0 ? .up : .down, scale: 0, raiseOnExactness: false, raiseOnOverflow: false,
                raiseOnUnderflow: false, raiseOnDivideByZero: false))
            // Exact bounds (a double comparison let 9.25e18m through, and int64Value then wrapped);
            // above long.MaxValue only ulong can hold it.
            let exact = rounded.decimalValue
            if case .ulong = target, exact >= 0, exact <= Decimal(UInt64.max) { return .ulong(rounded.uint64Value) }
            guard exact >= Decimal(Int64.min), exact <= Decimal(Int64.max) else {
                throw ExpressionRuntimeError.overflow("Value was either too large or too small for \(target == .ulong ? "a UInt64" : "an Int64").")
            }
            wide = rounded.int64Value
            fromFloating = true
        default:
            wide = try toInt64(value)
        }
        func overflow(_ name: String) -> ExpressionRuntimeError { .overflow("Value was either too large or too small for \(name).") }
        switch target {
        case .int:
            if (checked || fromFloating && value.isDecimal), wide < Int64(Int32.min) || wide > Int64(Int32.max) { throw overflow("an Int32") }
            return .int(Int32(truncatingIfNeeded: wide))
        case .long:
            if case .ulong(let u) = value, checked, u > UInt64(Int64.max) { throw overflow("an Int64") }
            return .long(wide)
        case .ulong:
            if checked, wide < 0 { throw overflow("a UInt64") }
            if case .ulong = value { return value }
            return .ulong(UInt64(bitPattern: wide))
        case .uint:
            if checked, wide < 0 || wide > Int64(UInt32.max) { throw overflow("a UInt32") }
            return .long(Int64(UInt32(truncatingIfNeeded: wide)))
        case .short:
            if checked, wide < Int64(Int16.min) || wide > Int64(Int16.max) { throw overflow("an Int16") }
            return .int(Int32(Int16(truncatingIfNeeded: wide)))
        case .byte:
            if checked, wide < 0 || wide > 255 { throw overflow("an unsigned byte") }
            return .int(Int32(UInt8(truncatingIfNeeded: wide)))
        case .char:
            if checked, wide < 0 || wide > 65535 { throw overflow("a character") }
            return .char(UInt16(truncatingIfNeeded: wide))
        default:
            return value
        }
    }

    // MARK: JSON conversions

    static func toJValue(_ value: Value) -> JToken {
        switch value {
        case .json(let token): return token
        case .null: return JToken(value: .null)
        case .bool(let b): return JToken(value: .bool(b))
        case .int(let i): return JToken(value: .integer(Int64(i)))
        case .long(let l): return JToken(value: .integer(l))
        case .ulong(let u): return JToken(value: u <= UInt64(Int64.max) ? .integer(Int64(u)) : .float(Double(u)))
        case .double(let d): return JToken(value: .float(d))
        case .decimal(let d): return JToken(value: .float(NSDecimalNumber(decimal: d).doubleValue))
        case .string(let s): return JToken(value: .string(s))
        case .char(let c): return JToken(value: .string(String(utf16CodeUnits: [c], count: 1)))
        case .dateTime(let d): return JToken(value: .date(d))
        case .dateTimeOffset(let d): return JToken(value: .date(d.utcDateTime))
        case .guid(let g): return JToken(value: .guid(g))
        case .timeSpan(let t): return JToken(value: .timeSpan(t))
        case .byteArray(let b): return JToken(value: .bytes(b.bytes))
        default: return JToken(value: .string(Formatting.toString(value)))
        }
    }

    /// Newtonsoft's explicit operators from JToken to CLR primitives.
    static func fromJToken(_ value: Value, to target: ExpressionType, nullable: Bool) throws -> Value {
        guard case .json(let token) = value else {
            if value.isNull {
                if nullable || !target.isValueType { return .null }
                throw ExpressionRuntimeError.argument("Can not convert Null to \(clrName(target)).")
            }
            return value
        }
        guard case .value(let primitive) = token.storage else {
            throw ExpressionRuntimeError.argument("Can not convert \(token.typeName) to \(clrName(target)).")
        }
        if case .null = primitive {
            if nullable || !target.isValueType { return .null }
            throw ExpressionRuntimeError.argument("Can not convert Null to \(clrName(target)).")
        }
        let asValue: Value
        switch primitive {
        case .null: asValue = .null
        case .bool(let b): asValue = .bool(b)
        case .integer(let i): asValue = .long(i)
        case .float(let d): asValue = .double(d)
        case .string(let s): asValue = .string(s)
        case .date(let d): asValue = .dateTime(d)
        case .guid(let g): asValue = .guid(g)
        case .timeSpan(let t): asValue = .timeSpan(t)
        case .bytes(let b): asValue = .bytes(b)
        }
        switch target {
        case .string:
            if case .byteArray(let b) = asValue { return .string(Data(b).base64EncodedString()) }
            // Newtonsoft's (string) operator uses Convert.ToString(value, CultureInfo.InvariantCulture).
            if case .dateTime(let d) = asValue { return .string(Formatting.dateTime(d, format: "MM/dd/yyyy HH:mm:ss")) }
            return .string(JsonWriter.primitiveToString(primitive))
        case .bool:
            switch asValue {
            case .bool: return asValue
            case .long(let l): return .bool(l != 0)
            case .double(let d): return .bool(d != 0)
            case .string(let s): return .bool(try Library.parseBool(s))
            default: break
            }
        case .int, .long, .short, .byte, .uint, .ulong, .double, .float, .decimal, .char:
            switch asValue {
            case .long, .double: return try Library.convertNumber(asValue, to: target)
            case .bool(let b): return try numericCast(.int(b ? 1 : 0), to: target, checked: true)
            case .string(let s): return try Library.parseNumber(s, as: target)
            default: break
            }
        case .dateTime:
            if case .string(let s) = asValue { return .dateTime(try DateParsing.parse(s)) }
            if case .dateTime = asValue { return asValue }
        case .guid:
            if case .string(let s) = asValue {
                guard let g = Library.parseGuid(s) else { throw ExpressionRuntimeError.format("Unrecognized Guid format.") }
                return .guid(g)
            }
            if case .guid = asValue { return asValue }
        case .timeSpan:
            if case .timeSpan = asValue { return asValue }
            if case .string(let s) = asValue { return .timeSpan(try DateParsing.parseTimeSpan(s)) }
        case .array(.byte):
            if case .byteArray = asValue { return asValue }
            if case .string(let s) = asValue { return .bytes(try Library.fromBase64(s)) }
        default: break
        }
        throw ExpressionRuntimeError.argument("Can not convert \(token.typeName) to \(clrName(target)).")
    }

    static func clrName(_ type: ExpressionType) -> String {
        let full = type.dotNetName
        return full.split(separator: ".").last.map(String.init) ?? full
    }
}

extension Value {
    var isDecimal: Bool { if case .decimal = self { return true }; return false }
}
