import Foundation

/// `DateTime.Parse` / `TimeSpan.Parse` for the forms policies use: ISO 8601 (with `Z` or an offset,
/// which .NET converts to local time with Kind=Local), `yyyy-MM-dd[ HH:mm:ss]`, en-US `M/d/yyyy [h:mm:ss tt]`,
/// and RFC 1123 (`ddd, dd MMM yyyy HH:mm:ss GMT`).
enum DateParsing {
    static func failure(_ s: String) -> ExpressionRuntimeError {
        .format("String '\(s)' was not recognized as a valid DateTime.")
    }

    static func parse(_ text: String) throws -> DateTimeValue {
        guard let result = tryParse(text) else { throw failure(text) }
        return result
    }

    static func tryParse(_ text: String) -> DateTimeValue? {
        let s = Library.trimWhite(text)
        if let iso = parseISO(s) { return iso }
        if let rfc = parseRFC1123(s) { return rfc }
        if let us = parseUS(s) { return us }
        return nil
    }

    /// Returns (DateTime, offset ticks?) for ISO forms; the DateTime is converted per .NET rules.
    static func parseISO(_ s: String, adjustToLocal: Bool = true) -> DateTimeValue? {
        guard let (clock, offset) = parseISOParts(s) else { return nil }
        guard let offset else { return clock }
        // .NET fails to parse when the UTC instant falls outside 0001…9999.
        guard let utc = try? DateTimeValue.checked(ticks: clock.ticks - offset, kind: .utc) else { return nil }
        return adjustToLocal ? utc.toLocal() : utc
    }

    /// Clock time (Kind unspecified) plus the UTC offset in ticks if a zone designator was present.
    static func parseISOParts(_ s: String) -> (DateTimeValue, Int64?)? {
        let chars = Array(s)
        var i = 0
        func number(_ count: Int) -> Int? {
            guard i + count <= chars.count else { return nil }
            var value = 0
            for c in chars[i..<i + count] {
                guard let d = c.wholeNumberValue, c.isASCII else { return nil }
                value = value * 10 + d
            }
            i += count
            return value
        }
        func expect(_ c: Character) -> Bool {
            guard i < chars.count, chars[i] == c else { return false }
            i += 1
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2) else { return nil }
        var hour = 0, minute = 0, second = 0
        var fraction: Int64 = 0
        if i < chars.count && (chars[i] == "T" || chars[i] == " ") {
            i += 1
            guard let h = number(2), expect(":"), let m = number(2) else { return nil }
            hour = h; minute = m
            if expect(":") {
                guard let sec = number(2) else { return nil }
                second = sec
                if expect(".") {
                    var digits = 0
                    while i < chars.count, let d = chars[i].wholeNumberValue, chars[i].isASCII {
                        if digits < 7 { fraction = fraction * 10 + Int64(d) }
                        digits += 1
                        i += 1
                    }
                    guard digits > 0 else { return nil }
                    for _ in 0..<max(0, 7 - digits) { fraction *= 10 }
                }
            }
        }
        var offset: Int64?
        if i < chars.count {
            if chars[i] == "Z" || chars[i] == "z" {
                offset = 0
                i += 1
            } else if chars[i] == "+" || chars[i] == "-" {
                let sign: Int64 = chars[i] == "-" ? -1 : 1
                i += 1
                guard let oh = number(2) else { return nil }
                _ = expect(":")
                let om = number(2) ?? 0
                guard oh * 60 + om <= 14 * 60, om < 60 else { return nil }  // offsets are within ±14:00
                offset = sign * (Int64(oh) * DateTimeValue.ticksPerHour + Int64(om) * DateTimeValue.ticksPerMinute)
            }
        }
        guard i == chars.count else { return nil }
        guard let clock = try? DateTimeValue(year: year, month: month, day: day, hour: hour, minute: minute, second: second) else { return nil }
        return (DateTimeValue(ticks: clock.ticks + fraction, kind: .unspecified), offset)
    }

    static func parseRFC1123(_ s: String) -> DateTimeValue? {
        // ddd, dd MMM yyyy HH:mm:ss GMT
        let parts = s.replacingOccurrences(of: ",", with: "").split(separator: " ").map(String.init)
        guard parts.count == 6, parts[5] == "GMT" || parts[5] == "UTC",
              let day = Int(parts[1]), let year = Int(parts[3]),
              let monthIndex = Formatting.monthNames.firstIndex(where: { $0.prefix(3).lowercased() == parts[2].lowercased() }) else { return nil }
        let time = parts[4].split(separator: ":").compactMap { Int($0) }
        guard time.count == 3, let value = try? DateTimeValue(year: year, month: monthIndex + 1, day: day, hour: time[0], minute: time[1], second: time[2], kind: .utc) else { return nil }
        return value.toLocal()
    }

    static func parseUS(_ s: String) -> DateTimeValue? {
        let pieces = s.split(separator: " ").map(String.init)
        guard let datePart = pieces.first else { return nil }
        let dateFields = datePart.split(separator: "/").compactMap { Int($0) }
        guard dateFields.count == 3 else { return nil }
        var hour = 0, minute = 0, second = 0
        if pieces.count >= 2 {
            let timeFields = pieces[1].split(separator: ":").compactMap { Int($0) }
            guard timeFields.count >= 2 else { return nil }
            hour = timeFields[0]; minute = timeFields[1]; second = timeFields.count > 2 ? timeFields[2] : 0
            if pieces.count == 3 {
                let designator = pieces[2].uppercased()
                guard designator == "AM" || designator == "PM", (1...12).contains(hour) else { return nil }
                if designator == "PM" && hour != 12 { hour += 12 }
                if designator == "AM" && hour == 12 { hour = 0 }
            } else if pieces.count > 3 {
                return nil
            }
        }
        return try? DateTimeValue(year: dateFields[2], month: dateFields[0], day: dateFields[1], hour: hour, minute: minute, second: second)
    }

    /// `DateTime.ParseExact(s, format, provider)` for custom patterns (`yyyy`, `MM`, `dd`, `HH`, `hh`, `mm`, `ss`,
    /// `f…`, `tt`, `MMM`, `K`/`zzz`, quoted literals) and the standard `o`, `s`, `u`, `R` patterns.
    static func parseExact(_ text: String, _ format: String) throws -> DateTimeValue {
        let pattern = format.count == 1 ? (Formatting.standardPattern(format) ?? format) : format
        let fmt = Array(pattern), input = Array(text)
        var i = 0, j = 0
        var year = 1, month = 1, day = 1, hour = 0, minute = 0, second = 0
        var fraction: Int64 = 0
        var pm: Bool?
        var offset: Int64?
        var utc = false
        let failure = ExpressionRuntimeError.format("String '\(text)' was not recognized as a valid DateTime.")
        func digits(_ minCount: Int, _ maxCount: Int) throws -> Int {
            var value = 0, count = 0
            while count < maxCount, j < input.count, let d = input[j].wholeNumberValue, input[j].isASCII {
                // A long run of digits (e.g. `yyyyyyyyyyyyyyyyyyyy`) must fail to parse, not overflow.
                let (scaled, overflow) = value.multipliedReportingOverflow(by: 10)
                guard !overflow, scaled <= Int.max - d else { throw failure }
                value = scaled + d
                j += 1
                count += 1
            }
            guard count >= minCount else { throw failure }
            return value
        }
        while i < fmt.count {
            let c = fmt[i]
            var n = 1
            while i + n < fmt.count && fmt[i + n] == c { n += 1 }
            switch c {
            case "y": year = try digits(n, n <= 2 ? 2 : max(n, 4)); if n <= 2 { year += 2000 }
            case "M":
                if n >= 3 {
                    guard let index = Formatting.monthNames.firstIndex(where: { name in
                        let candidate = n == 3 ? String(name.prefix(3)) : name
                        return String(input[min(j, input.count)...].prefix(candidate.count)).lowercased() == candidate.lowercased()
                    }) else { throw failure }
                    j += n == 3 ? 3 : Formatting.monthNames[index].count
                    month = index + 1
                } else { month = try digits(n, 2) }
            case "d":
                if n >= 3 {
                    guard let name = Formatting.dayNames.first(where: { name in
                        let candidate = n == 3 ? String(name.prefix(3)) : name
                        return String(input[min(j, input.count)...].prefix(candidate.count)).lowercased() == candidate.lowercased()
                    }) else { throw failure }
                    j += n == 3 ? 3 : name.count
                } else { day = try digits(n, 2) }
            case "H", "h": hour = try digits(n, 2)
            case "m": minute = try digits(n, 2)
            case "s": second = try digits(n, 2)
            case "f", "F":
                guard n <= 7 else { throw failure }  // .NET allows at most seven fraction digits
                let start = j
                let value = try digits(c == "f" ? n : 0, n)
                var scaled = Int64(value)
                for _ in 0..<(7 - (j - start)) { scaled *= 10 }
                fraction = scaled
            case "t":
                let designator = String(input[min(j, input.count)...].prefix(n == 1 ? 1 : 2)).uppercased()
                // `t` reads one letter of AM/PM, `tt` both; a shorter input is not a match.
                guard designator.count == (n == 1 ? 1 : 2), designator.hasPrefix("A") || designator.hasPrefix("P"),
                      n == 1 || designator.hasSuffix("M") else { throw failure }
                pm = designator.hasPrefix("P")
                j += designator.count
            case "K", "z":
                if j < input.count, input[j] == "Z" { utc = true; j += 1; break }
                guard j < input.count, input[j] == "+" || input[j] == "-" else {
                    if c == "K" { break }
                    throw failure
                }
                let sign: Int64 = input[j] == "-" ? -1 : 1
                j += 1
                let h = try digits(1, 2)
                var m = 0
                if j < input.count, input[j] == ":" { j += 1; m = try digits(2, 2) }
                guard h * 60 + m <= 14 * 60, m < 60 else { throw failure }
                offset = sign * (Int64(h) * DateTimeValue.ticksPerHour + Int64(m) * DateTimeValue.ticksPerMinute)
            case "'", "\"":
                var k = i + 1
                while k < fmt.count && fmt[k] != c {
                    guard j < input.count, input[j] == fmt[k] else { throw failure }
                    j += 1
                    k += 1
                }
                n = k - i + 1
            case "\\":
                guard i + 1 < fmt.count, j < input.count, input[j] == fmt[i + 1] else { throw failure }
                j += 1
                n = 2
            default:
                for _ in 0..<n {
                    guard j < input.count, input[j] == c else { throw failure }
                    j += 1
                }
            }
            i += n
        }
        guard j == input.count else { throw failure }
        if let pm {
            guard (1...12).contains(hour) else { throw failure }
            if pm && hour != 12 { hour += 12 }
            if !pm && hour == 12 { hour = 0 }
        }
        guard let clock = try? DateTimeValue(year: year, month: month, day: day, hour: hour, minute: minute, second: second) else { throw failure }
        let ticks = clock.ticks + fraction
        if utc { return DateTimeValue(ticks: ticks, kind: .utc).toLocal() }
        if let offset {
            guard let universal = try? DateTimeValue.checked(ticks: ticks - offset, kind: .utc) else { throw failure }
            return universal.toLocal()
        }
        return DateTimeValue(ticks: ticks, kind: .unspecified)
    }

    /// `DateTimeOffset.Parse`: keeps the offset (local offset when none is given).
    static func parseOffset(_ text: String) throws -> DateTimeOffsetValue {
        let s = Library.trimWhite(text)
        if let (clock, offset) = parseISOParts(s) {
            if let offset { return try DateTimeOffsetValue.checked(clockTicks: clock.ticks, offsetMinutes: offset / DateTimeValue.ticksPerMinute) }
            return try checkedOffset(DateTimeOffsetValue(dateTime: DateTimeValue(ticks: clock.ticks, kind: .local)))
        }
        if let value = tryParse(s) { return try checkedOffset(DateTimeOffsetValue(dateTime: value.kind == .unspecified ? DateTimeValue(ticks: value.ticks, kind: .local) : value)) }
        throw ExpressionRuntimeError.format("The string '\(text)' was not recognized as a valid DateTime.")
    }

    static func checkedOffset(_ value: DateTimeOffsetValue) throws -> DateTimeOffsetValue {
        try DateTimeOffsetValue.checked(clockTicks: value.clockTicks, offsetMinutes: Int64(value.offsetMinutes))
    }

    /// `TimeSpan.Parse`: `[-][d.]hh:mm[:ss[.fffffff]]` or `d`.
    static func parseTimeSpan(_ text: String) throws -> TimeSpanValue {
        guard let value = tryParseTimeSpan(text) else {
            throw ExpressionRuntimeError.format("String '\(text)' was not recognized as a valid TimeSpan.")
        }
        return value
    }

    static func tryParseTimeSpan(_ text: String) -> TimeSpanValue? {
        var s = Substring(Library.trimWhite(text))
        var negative = false
        if s.hasPrefix("-") { negative = true; s = s.dropFirst() }
        var days: Int64 = 0
        var clock = s
        // Every field is unsigned digits (`Int64("-5")` would accept a sign) and days stay within TimeSpan's range.
        func unsigned(_ text: Substring) -> Int64? {
            guard !text.isEmpty, text.count <= 18, text.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            return Int64(text)
        }
        if let dot = s.firstIndex(of: "."), let colon = s.firstIndex(of: ":"), dot < colon {
            guard let d = unsigned(s[..<dot]), d <= 10_675_199 else { return nil }
            days = d
            clock = s[s.index(after: dot)...]
        } else if !s.contains(":") {
            guard let d = unsigned(s), d <= 10_675_199 else { return nil }
            let ticks = d * DateTimeValue.ticksPerDay
            return TimeSpanValue(ticks: negative ? -ticks : ticks)
        }
        let fields = clock.split(separator: ":", omittingEmptySubsequences: false)
        guard fields.count == 2 || fields.count == 3 else { return nil }
        guard let hours = unsigned(fields[0]), let minutes = unsigned(fields[1]), hours < 24, minutes < 60 else { return nil }
        var seconds: Int64 = 0
        var fraction: Int64 = 0
        if fields.count == 3 {
            let secondParts = fields[2].split(separator: ".", omittingEmptySubsequences: false)
            guard let sec = unsigned(secondParts[0]), sec < 60 else { return nil }
            seconds = sec
            if secondParts.count == 2 {
                let digits = secondParts[1]
                guard digits.count <= 7, let f = unsigned(digits) else { return nil }
                fraction = f
                for _ in 0..<(7 - digits.count) { fraction *= 10 }
            }
        }
        // days ≤ 10_675_199 keeps each product within Int64, but the sum can still pass TimeSpan.MaxValue.
        var ticks = days * DateTimeValue.ticksPerDay
        for part in [hours * DateTimeValue.ticksPerHour, minutes * DateTimeValue.ticksPerMinute, seconds * DateTimeValue.ticksPerSecond, fraction] {
            let (sum, overflow) = ticks.addingReportingOverflow(part)
            if overflow { return nil }
            ticks = sum
        }
        return TimeSpanValue(ticks: negative ? -ticks : ticks)
    }
}
