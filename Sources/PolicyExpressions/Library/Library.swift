import Foundation

/// Shared runtime helpers of the standard library (parsing and formatting with .NET rules).
enum Library {
    static func string(_ value: Value) throws -> String {
        switch value {
        case .string(let s): return s
        case .null: throw ExpressionRuntimeError.nullReference()
        default: return Formatting.toString(value)
        }
    }

    static func optionalString(_ value: Value) -> String? {
        if case .string(let s) = value { return s }
        return nil
    }

    static func int(_ value: Value) throws -> Int {
        switch value {
        case .int(let i): return Int(i)
        case .long(let l): return Int(l)
        case .char(let c): return Int(c)
        case .null: throw ExpressionRuntimeError.nullReference()
        default: return Int(try Conversions.toInt64(value))
        }
    }

    static func double(_ value: Value) throws -> Double { try Conversions.toDouble(value) }

    // MARK: Size limits
    //
    // An expression may grow values without bound (`s = s + s` in a loop, `list.AddRange(list)`,
    // `Replace` with a longer value, `SelectMany`…), and a Swift allocation failure kills the whole
    // gateway. Every string an expression builds is capped at `maximumSize` (16 MiB: UTF-16 code units
    // when counted before allocating, UTF-8 bytes when a built string is checked), every collection at
    // `maximumCount` elements; going past either raises `OutOfMemoryException`, which the policy
    // engine turns into an on-error/500 like any other expression exception.
    // Central places: the string `+` operator and interpolation (Binder), the result of every library
    // call that returns a string or a collection (`Binder.plan`), and pre-checks in the helpers that
    // can grow by more than a constant factor in one call (Replace, Join/Concat, Format, PadLeft,
    // `new string`, StringBuilder, Regex.Replace, Enumerable.Range/Repeat, AddRange, SelectMany).

    /// Upper bound on strings (and byte arrays) an expression may create, so hostile input cannot exhaust memory.
    static let maximumSize = 16 * 1024 * 1024
    /// Upper bound on the elements of a collection an expression may create.
    static let maximumCount = 4 * 1024 * 1024

    static func outOfMemory(_ what: String = "") -> ExpressionRuntimeError {
        ExpressionRuntimeError("OutOfMemoryException", "Insufficient memory to continue the execution of the program." + (what.isEmpty ? "" : " (\(what))"))
    }

    /// A string of `count` units (or a byte array of `count` bytes) about to be allocated.
    static func checkSize(_ count: Int) throws {
        if count > maximumSize { throw outOfMemory("a string longer than \(maximumSize) characters") }
    }

    /// A collection of `count` elements about to be created.
    static func checkCount(_ count: Int) throws {
        if count > maximumCount { throw outOfMemory("a collection of more than \(maximumCount) elements") }
    }

    /// A string that has been built (its UTF-8 length is O(1) for native strings).
    @inline(__always)
    static func checked(_ s: String) throws -> String {
        if s.utf8.count > maximumSize { throw outOfMemory("a string longer than \(maximumSize) bytes") }
        return s
    }

    /// `a + b`, refused before allocating when the result would pass the limit.
    @inline(__always)
    static func concat(_ a: String, _ b: String) throws -> String {
        let (total, overflow) = a.utf8.count.addingReportingOverflow(b.utf8.count)
        if overflow || total > maximumSize { throw outOfMemory("a string longer than \(maximumSize) bytes") }
        return a + b
    }

    /// The size check for a value returned by a library call or an operator.
    static func checkValue(_ value: Value) throws {
        switch value {
        case .string(let s): if s.utf8.count > maximumSize { throw outOfMemory("a string longer than \(maximumSize) bytes") }
        case .list(let box): try checkCount(box.items.count)
        case .byteArray(let b): try checkSize(b.count)
        case .dictionary(let d): try checkCount(d.count)
        default: break
        }
    }

    /// `string.Join`/`Concat`: the joined length is known before joining.
    static func joined(_ parts: [String], separator: String = "") throws -> String {
        var total = parts.isEmpty ? 0 : separator.utf8.count * (parts.count - 1)
        if total > maximumSize { throw outOfMemory("a string longer than \(maximumSize) bytes") }
        for part in parts {
            total += part.utf8.count
            if total > maximumSize { throw outOfMemory("a string longer than \(maximumSize) bytes") }
        }
        return parts.joined(separator: separator)
    }

    static func bool(_ value: Value) -> Bool { value.boolValue ?? false }

    static func list(_ value: Value) throws -> [Value] {
        switch value {
        case .list(let box): return box.items
        case .byteArray(let b): return b.map { .int(Int32($0)) }
        case .null: throw ExpressionRuntimeError.argumentNull("source")
        default: return try Sequences.items(value)
        }
    }

    static func chars(_ value: Value) throws -> [UInt16] {
        switch value {
        case .char(let c): return [c]
        case .list(let box): return box.items.compactMap { if case .char(let c) = $0 { return c }; return nil }
        case .null: return []
        default: return []
        }
    }

    /// Formats a value for string concatenation or interpolation (null → empty).
    static func formatter(for type: ExpressionType, format: String?) throws -> @Sendable (Value) throws -> String {
        guard let format else {
            return { value in
                // A JToken in `+`/interpolation is its JSON text: bounded, so a cyclic token fails cleanly.
                if case .json(let token) = value { return try JsonWriter.checkedTokenToString(token) }
                return Formatting.toString(value)
            }
        }
        return { value in try Library.format(value, format) }
    }

    static func format(_ value: Value, _ format: String?) throws -> String {
        guard let format, !format.isEmpty else { return Formatting.toString(value) }
        switch value {
        case .int, .long, .ulong, .double, .decimal: return try Formatting.number(value, format: format)
        case .dateTime(let d): return Formatting.dateTime(d, format: format)
        case .dateTimeOffset(let d): return Formatting.dateTimeOffset(d, format: format)
        case .timeSpan(let t): return try timeSpanFormat(t, format)
        case .guid(let g): return try guidFormat(g, format)
        case .enumeration(let raw, let type):
            switch format {
            case "D", "d": return String(raw)
            case "X", "x": return pad(String(UInt32(bitPattern: raw), radix: 16, uppercase: true), 8)
            default: return type.name(of: raw)
            }
        default: return Formatting.toString(value)
        }
    }

    static func timeSpanFormat(_ t: TimeSpanValue, _ format: String) throws -> String {
        switch format {
        case "c", "t", "T": return t.description
        case "g":
            let magnitude = TimeSpanValue(ticks: abs(t.ticks))
            var text = t.ticks < 0 ? "-" : ""
            if magnitude.days > 0 { text += "\(magnitude.days):" }
            text += "\(magnitude.hours):" + pad(String(magnitude.minutes), 2) + ":" + pad(String(magnitude.seconds), 2)
            let fraction = magnitude.ticks % DateTimeValue.ticksPerSecond
            if fraction > 0 {
                var digits = pad(String(fraction), 7)
                while digits.hasSuffix("0") { digits.removeLast() }
                text += "." + digits
            }
            return text
        default:
            // Custom: d, hh, mm, ss, fff with `\` escapes and quoted literals.
            let chars = Array(format)
            var out = ""
            var i = 0
            let m = TimeSpanValue(ticks: abs(t.ticks))
            while i < chars.count {
                let c = chars[i]
                var n = 1
                while i + n < chars.count && chars[i + n] == c { n += 1 }
                switch c {
                case "d": out += pad(String(m.days), n)
                case "h": out += pad(String(m.hours), min(n, 2))
                case "m": out += pad(String(m.minutes), min(n, 2))
                case "s": out += pad(String(m.seconds), min(n, 2))
                case "f", "F": out += String(pad(String(m.ticks % DateTimeValue.ticksPerSecond), 7).prefix(n))
                case "\\":
                    if i + 1 < chars.count { out.append(chars[i + 1]) }
                    n = 2
                case "'", "\"":
                    var j = i + 1
                    while j < chars.count && chars[j] != c { out.append(chars[j]); j += 1 }
                    n = j - i + 1
                default:
                    throw ExpressionRuntimeError.format("Input string was not in a correct format.")
                }
                i += n
            }
            return out
        }
    }

    static func guidFormat(_ g: UUID, _ format: String) throws -> String {
        let d = g.uuidString.lowercased()
        switch format {
        case "D", "d": return d
        case "N", "n": return d.replacingOccurrences(of: "-", with: "")
        case "B", "b": return "{" + d + "}"
        case "P", "p": return "(" + d + ")"
        default: throw ExpressionRuntimeError.format("Format string can be only \"D\", \"d\", \"N\", \"n\", \"P\", \"p\", \"B\", \"b\", \"X\" or \"x\".")
        }
    }

    // MARK: Parsing

    static func parseBool(_ s: String) throws -> Bool {
        switch s.trimmingCharacters(in: .whitespaces).lowercased() {
        case "true": return true
        case "false": return false
        default: throw ExpressionRuntimeError.format("String '\(s)' was not recognized as a valid Boolean.")
        }
    }

    /// `int.Parse`/`long.Parse`/`double.Parse` with NumberStyles.Integer / Float|AllowThousands (en-US).
    static func parseNumber(_ text: String, as type: ExpressionType) throws -> Value {
        let s = trimWhite(text)
        let formatError = ExpressionRuntimeError.format("Input string was not in a correct format.")
        switch type {
        case .double, .float, .decimal:
            var cleaned = s.replacingOccurrences(of: ",", with: "")
            if cleaned.hasPrefix("+") { cleaned.removeFirst() }
            guard !cleaned.isEmpty, cleaned.allSatisfy({ "0123456789.eE+-".contains($0) }) else {
                switch s {
                case "NaN": return .double(.nan)
                case "Infinity", "∞": return .double(.infinity)
                case "-Infinity", "-∞": return .double(-.infinity)
                default: throw formatError
                }
            }
            if type == .decimal {
                guard let d = Decimal(string: cleaned, locale: Locale(identifier: "en_US_POSIX")),
                      cleaned.first.map({ $0.isNumber || $0 == "-" || $0 == "." }) == true else { throw formatError }
                return .decimal(d)
            }
            guard let d = Double(cleaned) else { throw formatError }
            if type == .float { return .double(Double(Float(d))) }
            return .double(d)
        default:
            var digits = Substring(s)
            var negative = false
            if digits.hasPrefix("-") { negative = true; digits = digits.dropFirst() }
            else if digits.hasPrefix("+") { digits = digits.dropFirst() }
            guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { throw formatError }
            let magnitude = digits.drop { $0 == "0" }
            guard magnitude.count <= 20, let value = UInt64(magnitude.isEmpty ? "0" : String(magnitude)) else {
                throw ExpressionRuntimeError.overflow("Value was either too large or too small for \(article(type)).")
            }
            let bounds: (Int64, UInt64)
            switch type {
            case .int: bounds = (Int64(Int32.min), UInt64(Int32.max))
            case .short: bounds = (Int64(Int16.min), UInt64(Int16.max))
            case .byte: bounds = (0, 255)
            case .uint: bounds = (0, UInt64(UInt32.max))
            case .ulong: bounds = (0, UInt64.max)
            default: bounds = (Int64.min, UInt64(Int64.max))
            }
            if negative {
                // `bounds.0.magnitude` is 0 for unsigned types (only "-0" parses), 2^31 for int, 2^63 for long.
                guard value <= bounds.0.magnitude else { throw ExpressionRuntimeError.overflow("Value was either too large or too small for \(article(type)).") }
                if value == 0 { return try Conversions.numericCast(.long(0), to: type, checked: false) }
                return try Conversions.numericCast(.long(value == UInt64(Int64.max) + 1 ? Int64.min : -Int64(value)), to: type, checked: false)
            }
            guard value <= bounds.1 else { throw ExpressionRuntimeError.overflow("Value was either too large or too small for \(article(type)).") }
            if type == .ulong { return .ulong(value) }
            return try Conversions.numericCast(.long(Int64(value)), to: type, checked: false)
        }
    }

    static func article(_ type: ExpressionType) -> String {
        switch type {
        case .int: return "an Int32"
        case .long: return "an Int64"
        case .short: return "an Int16"
        case .byte: return "an unsigned byte"
        case .uint: return "a UInt32"
        case .ulong: return "a UInt64"
        default: return "a " + Conversions.clrName(type)
        }
    }

    static func trimWhite(_ s: String) -> String { StringOps.trim(s, chars: nil, start: true, end: true) }

    /// `Convert.ToInt32(double)` etc.: rounds to even, checks range.
    static func convertNumber(_ value: Value, to type: ExpressionType) throws -> Value {
        switch value {
        case .double(let d) where type.isIntegral:
            // Int64(exactly:) rejects NaN, ±Infinity and 2^63 (which `Int64(_:)` would trap on).
            guard let whole = Int64(exactly: d.rounded(.toNearestOrEven)) else {
                throw ExpressionRuntimeError.overflow("Value was either too large or too small for \(article(type)).")
            }
            return try Conversions.numericCast(.long(whole), to: type, checked: true)
        case .decimal(let d) where type.isIntegral:
            var source = d
            var rounded = Decimal()
            NSDecimalRound(&rounded, &source, 0, .bankers)
            return try Conversions.numericCast(.decimal(rounded), to: type, checked: true)
        case .string(let s):
            return try parseNumber(s, as: type)
        case .bool(let b):
            return try Conversions.numericCast(.int(b ? 1 : 0), to: type, checked: true)
        case .null:
            return Binder.defaultValue(of: type)
        default:
            return try Conversions.numericCast(value, to: type, checked: true)
        }
    }

    static func parseGuid(_ text: String) -> UUID? {
        var s = trimWhite(text)
        if (s.hasPrefix("{") && s.hasSuffix("}")) || (s.hasPrefix("(") && s.hasSuffix(")")) { s = String(s.dropFirst().dropLast()) }
        if s.count == 32, s.allSatisfy(\.isHexDigit) {
            let chars = Array(s)
            s = String(chars[0..<8]) + "-" + String(chars[8..<12]) + "-" + String(chars[12..<16]) + "-" + String(chars[16..<20]) + "-" + String(chars[20...])
        }
        guard s.count == 36 else { return nil }
        return UUID(uuidString: s)
    }

    /// `Convert.FromBase64String`: whitespace ignored, padding required, strict alphabet.
    static func fromBase64(_ text: String) throws -> [UInt8] {
        let cleaned = text.filter { !" \t\r\n".contains($0) }
        let error = ExpressionRuntimeError.format("The input is not a valid Base-64 string as it contains a non-base 64 character, more than two padding characters, or an illegal character among the padding characters.")
        guard cleaned.count % 4 == 0 else {
            throw ExpressionRuntimeError.format("Invalid length for a Base-64 char array or string.")
        }
        guard let data = Data(base64Encoded: cleaned) else { throw error }
        return [UInt8](data)
    }

    static func toBase64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }
}

private func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
}
