import Foundation

/// .NET `ToString()` rules. Culture: APIM's gateway formats with en-US (`M/d/yyyy h:mm:ss tt`),
/// observed in APIM traces; invariant-culture forms (`o`, `s`, `u`, `R`) are culture-free anyway.
enum Formatting {
    static func toString(_ value: Value) -> String {
        switch value {
        case .null: return ""
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .long(let l): return String(l)
        case .ulong(let u): return String(u)
        case .double(let d): return double(d)
        case .decimal(let d): return decimal(d)
        case .string(let s): return s
        case .char(let c): return String(utf16CodeUnits: [c], count: 1)
        case .dateTime(let dt): return dateTime(dt, format: "G")
        case .dateTimeOffset(let dto): return dateTimeOffset(dto, format: "G")
        case .timeSpan(let ts): return ts.description
        case .guid(let g): return g.uuidString.lowercased()
        case .byteArray: return "System.Byte[]"
        case .list: return "System.Collections.Generic.List`1[System.Object]"
        case .dictionary: return "System.Collections.Generic.Dictionary`2[System.String,System.Object]"
        case .pair(let p): return "[\(toString(p.key)), \(toString(p.value))]"
        case .json(let token): return JsonWriter.tokenToString(token)
        case .enumeration(let raw, let type): return type.name(of: raw)
        case .object(let object): return object.hostType.toString?(object) ?? object.hostType.name
        case .type(let type): return type.dotNetName
        }
    }

    // MARK: double

    /// Shortest round-trip digits (what .NET Core 3.0+ prints for `double.ToString()`),
    /// scientific when the decimal exponent is < -4 or >= 15, exponent with sign and ≥ 2 digits.
    static func double(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
        if d == 0 { return d.sign == .minus ? "-0" : "0" }
        let (negative, digits, exponent) = decompose(d.description)
        var text = negative ? "-" : ""
        if exponent < -4 || exponent >= 15 {
            text += String(digits.first ?? "0")
            if digits.count > 1 { text += "." + digits.dropFirst() }
            text += "E" + (exponent < 0 ? "-" : "+") + pad(abs(exponent), 2)
            return text
        }
        text += fixed(digits: digits, exponent: exponent)
        return text
    }

    static func float(_ f: Float) -> String {
        if f.isNaN { return "NaN" }
        if f.isInfinite { return f < 0 ? "-Infinity" : "Infinity" }
        if f == 0 { return "0" }
        let (negative, digits, exponent) = decompose(f.description)
        var text = negative ? "-" : ""
        if exponent < -4 || exponent >= 7 {
            text += String(digits.first ?? "0")
            if digits.count > 1 { text += "." + digits.dropFirst() }
            return text + "E" + (exponent < 0 ? "-" : "+") + pad(abs(exponent), 2)
        }
        return text + fixed(digits: digits, exponent: exponent)
    }

    /// Splits Swift's shortest representation into significant digits and the decimal exponent of the first digit.
    static func decompose(_ description: String) -> (Bool, String, Int) {
        var text = Substring(description)
        let negative = text.hasPrefix("-")
        if negative { text = text.dropFirst() }
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(text[text.index(after: e)...]) ?? 0
            text = text[..<e]
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        let integer = String(parts[0])
        let fraction = parts.count > 1 ? String(parts[1]) : ""
        var digits = integer + fraction
        var pointPosition = integer.count + exponent
        while digits.hasPrefix("0") && digits.count > 1 {
            digits.removeFirst()
            pointPosition -= 1
        }
        while digits.hasSuffix("0") && digits.count > 1 { digits.removeLast() }
        return (negative, digits, pointPosition - 1)
    }

    static func fixed(digits: String, exponent: Int) -> String {
        if exponent < 0 { return "0." + String(repeating: "0", count: -exponent - 1) + digits }
        if digits.count <= exponent + 1 { return digits + String(repeating: "0", count: exponent + 1 - digits.count) }
        let split = digits.index(digits.startIndex, offsetBy: exponent + 1)
        return String(digits[..<split]) + "." + String(digits[split...])
    }

    static func decimal(_ d: Decimal) -> String {
        var value = d
        return NSDecimalString(&value, Locale(identifier: "en_US_POSIX"))
    }

    // MARK: Numeric format strings ("N2", "F0", "D5", "X8", "0.00", "#,##0")

    /// Exact decimal digits of `value` rounded half away from zero at `decimals` places (.NET Core 3.0+ is exact).
    static func roundedFixed(_ value: Double, decimals: Int) -> (negative: Bool, integer: String, fraction: String) {
        let exact = String(format: "%.\(decimals + 30)f", value.magnitude)
        let parts = exact.split(separator: ".")
        var digits = Array(parts[0] + (parts.count > 1 ? parts[1] : ""))
        let integerCount = parts[0].count
        let keep = integerCount + decimals
        let roundUp = keep < digits.count && digits[keep] >= "5"
        digits = Array(digits[0..<keep])
        if roundUp {
            var i = digits.count - 1
            var carry = true
            while carry && i >= 0 {
                if digits[i] == "9" { digits[i] = "0"; i -= 1 } else {
                    digits[i] = Character(String((digits[i].wholeNumberValue ?? 0) + 1))
                    carry = false
                }
            }
            if carry { digits.insert("1", at: 0) }
        }
        let intCount = digits.count - decimals
        var integer = String(digits[0..<intCount])
        while integer.count > 1 && integer.hasPrefix("0") { integer.removeFirst() }
        let fraction = String(digits[intCount...])
        let isZero = !digits.contains { $0 != "0" }
        return (value < 0 && !isZero, integer.isEmpty ? "0" : integer, fraction)
    }

    static func group(_ integer: String) -> String {
        var result = ""
        for (i, c) in integer.enumerated() {
            if i > 0 && (integer.count - i) % 3 == 0 { result += "," }
            result.append(c)
        }
        return result
    }

    static func number(_ value: Value, format: String) throws -> String {
        if format.isEmpty { return toString(value) }
        let first = format.first ?? "G"
        let rest = format.dropFirst()
        // A precision is unsigned digits (.NET allows up to 999,999,999); more than a string may hold fails.
        let digitsOnly = !rest.isEmpty && rest.allSatisfy({ $0.isASCII && $0.isNumber })
        if first.isLetter && digitsOnly && rest.count > 9 { throw ExpressionRuntimeError.format("Format specifier was invalid.") }
        let precision = digitsOnly ? Int(rest) : nil
        let isStandard = first.isLetter && (rest.isEmpty || precision != nil)
        guard isStandard else { return try custom(value, format: format) }
        if let precision { try Library.checkSize(precision) }
        // NaN and ±Infinity print as themselves whatever the format (there are no digits to lay out).
        if case .double(let d) = value, !d.isFinite { return toString(value) }
        let integral: Int64? = {
            switch value {
            case .int(let i): return Int64(i)
            case .long(let l): return l
            case .char(let c): return Int64(c)
            default: return nil
            }
        }()
        let asDouble: Double = {
            switch value {
            case .double(let d): return d
            case .decimal(let d): return NSDecimalNumber(decimal: d).doubleValue
            case .ulong(let u): return Double(u)
            default: return Double(integral ?? 0)
            }
        }()
        switch first {
        case "D", "d":
            guard let integral else { throw ExpressionRuntimeError.format("Format specifier was invalid.") }
            let digits = pad(integral.magnitude, precision ?? 1)
            return (integral < 0 ? "-" : "") + digits
        case "X", "x":
            guard let integral else { throw ExpressionRuntimeError.format("Format specifier was invalid.") }
            var bits = UInt64(bitPattern: integral)
            if case .int(let i) = value { bits = UInt64(UInt32(bitPattern: i)) }
            let hex = String(bits, radix: 16, uppercase: first == "X")
            return String(repeating: "0", count: max(0, (precision ?? 0) - hex.count)) + hex
        case "F", "f", "N", "n", "P", "p", "C", "c":
            let decimals = precision ?? 2
            var number = asDouble
            if first == "P" || first == "p" { number *= 100 }
            if integral != nil, first != "P", first != "p" {
                let magnitude = integral.map { String($0.magnitude) } ?? "0"
                let grouped = (first == "F" || first == "f") ? magnitude : group(magnitude)
                let body = grouped + (decimals > 0 ? "." + String(repeating: "0", count: decimals) : "")
                let negative = (integral ?? 0) < 0
                if first == "C" || first == "c" { return negative ? "($" + body + ")" : "$" + body }
                return (negative ? "-" : "") + body
            }
            let parts = roundedFixed(number, decimals: decimals)
            let integer = (first == "F" || first == "f") ? parts.integer : group(parts.integer)
            let body = integer + (decimals > 0 ? "." + parts.fraction : "")
            switch first {
            case "P", "p": return (parts.negative ? "-" : "") + body + " %"
            case "C", "c": return parts.negative ? "($" + body + ")" : "$" + body
            default: return (parts.negative ? "-" : "") + body
            }
        case "G", "g", "R", "r":
            if let precision, precision > 0, case .double(let d) = value {
                let text = String(format: "%.\(precision)G", d)
                return text.replacingOccurrences(of: "e", with: "E")
            }
            return toString(value)
        case "E", "e":
            let text = String(format: "%.\(precision ?? 6)\(first)", asDouble)
            // .NET uses at least three exponent digits: 1.234560E+003.
            guard let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) else { return text }
            let mantissa = text[..<e]
            let exponentText = text[text.index(after: e)...]
            let sign = exponentText.first ?? "+"
            let digits = exponentText.dropFirst()
            return mantissa + String(first) + String(sign) + pad(Int(digits) ?? 0, 3)
        default:
            throw ExpressionRuntimeError.format("Format specifier was invalid.")
        }
    }

    /// Custom numeric formats with `0`, `#`, `.` and `,` (the forms seen in policies).
    static func custom(_ value: Value, format: String) throws -> String {
        let number: Double
        switch value {
        case .int(let i): number = Double(i)
        case .long(let l): number = Double(l)
        case .double(let d): number = d
        case .decimal(let d): number = NSDecimalNumber(decimal: d).doubleValue
        default: number = 0
        }
        if !number.isFinite { return toString(value) }
        try Library.checkSize(format.utf8.count)
        let chars = Array(format)
        guard chars.allSatisfy({ "0#.,".contains($0) }) else {
            // Literal text around placeholders is rare in policies; keep the value's default form.
            return toString(value)
        }
        let pointIndex = chars.firstIndex(of: ".")
        let integerPart = pointIndex.map { Array(chars[..<$0]) } ?? chars
        let fractionPart = pointIndex.map { Array(chars[chars.index(after: $0)...]) } ?? []
        let minimumFraction = fractionPart.filter { $0 == "0" }.count
        let maximumFraction = fractionPart.filter { $0 == "0" || $0 == "#" }.count
        let minimumInteger = integerPart.filter { $0 == "0" }.count
        let grouping = integerPart.contains(",")
        let parts = roundedFixed(number, decimals: maximumFraction)
        var fraction = parts.fraction
        while fraction.count > minimumFraction && fraction.hasSuffix("0") { fraction.removeLast() }
        var integer = parts.integer == "0" ? "" : parts.integer
        if integer.count < minimumInteger { integer = String(repeating: "0", count: minimumInteger - integer.count) + integer }
        if grouping { integer = group(integer) }
        var text = integer + (fraction.isEmpty ? "" : "." + fraction)
        if text.isEmpty { text = "0" }
        return (parts.negative ? "-" : "") + text
    }

    // MARK: DateTime

    static let monthNames = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
    static let dayNames = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]

    /// Standard formats expand to en-US custom patterns (.NET `DateTimeFormatInfo` for en-US);
    /// `o`, `s`, `u`, `R` are culture-invariant. Note: `u` and `R` do not convert a DateTime to UTC.
    static func standardPattern(_ format: String) -> String? {
        switch format {
        case "d": return "M/d/yyyy"
        case "D": return "dddd, MMMM d, yyyy"
        case "t": return "h:mm tt"
        case "T": return "h:mm:ss tt"
        case "f": return "dddd, MMMM d, yyyy h:mm tt"
        case "F": return "dddd, MMMM d, yyyy h:mm:ss tt"
        case "g": return "M/d/yyyy h:mm tt"
        case "G": return "M/d/yyyy h:mm:ss tt"
        case "M", "m": return "MMMM d"
        case "Y", "y": return "MMMM yyyy"
        case "s": return "yyyy'-'MM'-'dd'T'HH':'mm':'ss"
        case "u": return "yyyy'-'MM'-'dd HH':'mm':'ss'Z'"
        case "R", "r": return "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'"
        case "o", "O": return "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK"
        default: return nil
        }
    }

    static func dateTime(_ value: DateTimeValue, format: String) -> String {
        let pattern = format.isEmpty ? "M/d/yyyy h:mm:ss tt" : (format.count == 1 ? standardPattern(format) : format)
        guard let pattern else { return dateTime(value, format: "G") }
        let offset: Int64? = value.kind == .utc ? 0 : value.kind == .local ? value.localOffset : nil
        return custom(value, pattern: pattern, offsetTicks: offset, kindSpecifier: value.kind)
    }

    static func dateTimeOffset(_ value: DateTimeOffsetValue, format: String) -> String {
        var pattern = format.isEmpty ? "M/d/yyyy h:mm:ss tt zzz" : (format.count == 1 ? standardPattern(format) : format)
        var clock = value.clock
        if format == "G" { pattern = "M/d/yyyy h:mm:ss tt zzz" }
        if format == "u" || format == "R" || format == "r" { clock = DateTimeValue(ticks: value.utcTicks, kind: .utc) }
        if format == "o" || format == "O" { pattern = "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffzzz" }
        let offsetTicks = Int64(value.offsetMinutes) * DateTimeValue.ticksPerMinute
        return custom(clock, pattern: pattern ?? "M/d/yyyy h:mm:ss tt zzz", offsetTicks: offsetTicks, kindSpecifier: .local)
    }

    static func offsetText(_ ticks: Int64, minutes: Bool, padHours: Bool = true) -> String {
        let sign = ticks < 0 ? "-" : "+"
        let total = abs(ticks) / DateTimeValue.ticksPerMinute
        let hours = padHours ? pad(total / 60, 2) : String(total / 60)
        return sign + hours + (minutes ? ":" + pad(total % 60, 2) : "")
    }

    static func custom(_ value: DateTimeValue, pattern: String, offsetTicks: Int64?, kindSpecifier: DateTimeValue.Kind) -> String {
        let chars = Array(pattern)
        var result = ""
        var i = 0
        let c = value.components
        func run(_ ch: Character) -> Int {
            var n = 1
            while i + n < chars.count && chars[i + n] == ch { n += 1 }
            return n
        }
        let single = chars.count == 1
        while i < chars.count {
            let ch = chars[i]
            switch ch {
            case "y":
                let n = run(ch)
                if n <= 2 { result += n == 1 ? String(c.year % 100) : pad(c.year % 100, 2) } else { result += pad(c.year, n) }
                i += n
            case "M":
                let n = run(ch)
                switch n {
                case 1: result += String(c.month)
                case 2: result += pad(c.month, 2)
                case 3: result += String(monthNames[c.month - 1].prefix(3))
                default: result += monthNames[c.month - 1]
                }
                i += n
            case "d":
                let n = run(ch)
                switch n {
                case 1: result += String(c.day)
                case 2: result += pad(c.day, 2)
                case 3: result += String(dayNames[value.dayOfWeek].prefix(3))
                default: result += dayNames[value.dayOfWeek]
                }
                i += n
            case "H":
                let n = run(ch)
                result += n == 1 ? String(value.hour) : pad(value.hour, 2)
                i += n
            case "h":
                let n = run(ch)
                let hour12 = value.hour % 12 == 0 ? 12 : value.hour % 12
                result += n == 1 ? String(hour12) : pad(hour12, 2)
                i += n
            case "m":
                let n = run(ch)
                result += n == 1 ? String(value.minute) : pad(value.minute, 2)
                i += n
            case "s":
                let n = run(ch)
                result += n == 1 ? String(value.second) : pad(value.second, 2)
                i += n
            case "f", "F":
                let n = min(run(ch), 7)
                let fraction = pad(value.ticks % DateTimeValue.ticksPerSecond, 7)
                var digits = String(fraction.prefix(n))
                if ch == "F" {
                    while digits.hasSuffix("0") { digits.removeLast() }
                    if digits.isEmpty && result.hasSuffix(".") { result.removeLast() }
                }
                result += digits
                i += run(ch)
            case "t":
                let n = run(ch)
                let designator = value.hour < 12 ? "AM" : "PM"
                result += n == 1 ? String(designator.prefix(1)) : designator
                i += n
            case "K":
                switch kindSpecifier {
                case .utc: result += "Z"
                case .local: result += offsetText(offsetTicks ?? 0, minutes: true)
                case .unspecified: break
                }
                i += 1
            case "z":
                let n = run(ch)
                let offset = offsetTicks ?? value.localOffset
                switch n {
                case 1: result += offsetText(offset, minutes: false, padHours: false)
                case 2: result += offsetText(offset, minutes: false)
                default: result += offsetText(offset, minutes: true)
                }
                i += n
            case "'", "\"":
                i += 1
                while i < chars.count && chars[i] != ch { result.append(chars[i]); i += 1 }
                i += 1
            case "\\":
                if i + 1 < chars.count { result.append(chars[i + 1]) }
                i += 2
            case "%":
                i += 1
            case ":", "/":
                result.append(ch)
                i += 1
            default:
                result.append(ch)
                i += 1
            }
            _ = single
        }
        return result
    }
}
