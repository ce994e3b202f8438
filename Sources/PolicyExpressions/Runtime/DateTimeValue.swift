import Foundation

/// .NET `DateTime`: 100-ns ticks since 0001-01-01 00:00 plus a `Kind` (Unspecified, Utc, Local).
/// Comparisons use ticks only, as .NET does.
public struct DateTimeValue: Sendable, Hashable {
    public enum Kind: Int32, Sendable { case unspecified = 0, utc = 1, local = 2 }

    public static let ticksPerMillisecond: Int64 = 10_000
    public static let ticksPerSecond: Int64 = 10_000_000
    public static let ticksPerMinute: Int64 = 600_000_000
    public static let ticksPerHour: Int64 = 36_000_000_000
    public static let ticksPerDay: Int64 = 864_000_000_000
    /// Ticks at 1970-01-01T00:00:00.
    public static let unixEpochTicks: Int64 = 621_355_968_000_000_000
    public static let maxTicks: Int64 = 3_155_378_975_999_999_999

    public var ticks: Int64
    public var kind: Kind

    public init(ticks: Int64, kind: Kind) {
        self.ticks = ticks
        self.kind = kind
    }

    /// A `DateTime` from ticks that may be out of range (client-controlled arithmetic):
    /// `ArgumentOutOfRangeException` instead of an unrepresentable value.
    static func checked(ticks: Int64, kind: Kind, parameter: String = "ticks") throws -> DateTimeValue {
        guard ticks >= 0, ticks <= maxTicks else {
            throw ExpressionRuntimeError.argumentOutOfRange(parameter, "Ticks must be between DateTime.MinValue.Ticks and DateTime.MaxValue.Ticks.")
        }
        return DateTimeValue(ticks: ticks, kind: kind)
    }

    /// Seconds since 1970-01-01 (Unix time) → `DateTime`, range-checked without overflowing.
    static func fromUnixSeconds(_ seconds: Int64, kind: Kind, parameter: String = "seconds") throws -> DateTimeValue {
        // DateTime covers 0001-01-01 … 9999-12-31T23:59:59 (.NET's Min/MaxSeconds for Unix time).
        guard seconds >= -62_135_596_800, seconds <= 253_402_300_799 else {
            throw ExpressionRuntimeError.argumentOutOfRange(parameter, "Valid values are between -62135596800 and 253402300799, inclusive.")
        }
        return DateTimeValue(ticks: unixEpochTicks + seconds * ticksPerSecond, kind: kind)
    }

    public init(date: Date, kind: Kind = .utc) {
        let utcTicks = DateTimeValue.unixEpochTicks + Int64((date.timeIntervalSince1970 * 10_000_000).rounded())
        if kind == .local {
            let offset = Int64(TimeZone.current.secondsFromGMT(for: date)) * DateTimeValue.ticksPerSecond
            self.init(ticks: utcTicks + offset, kind: .local)
        } else {
            self.init(ticks: utcTicks, kind: kind)
        }
    }

    /// Validating component initialiser (`new DateTime(y, M, d, h, m, s, ms)`).
    public init(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0, millisecond: Int = 0, kind: Kind = .unspecified) throws {
        guard (1...9999).contains(year), (1...12).contains(month),
              (1...DateTimeValue.daysInMonth(year: year, month: month)).contains(day) else {
            throw ExpressionRuntimeError.argumentOutOfRange("year", "Year, Month, and Day parameters describe an un-representable DateTime.")
        }
        guard (0..<24).contains(hour), (0..<60).contains(minute), (0..<60).contains(second) else {
            throw ExpressionRuntimeError.argumentOutOfRange("hour", "Hour, Minute, and Second parameters describe an un-representable DateTime.")
        }
        guard (0..<1000).contains(millisecond) else { throw ExpressionRuntimeError.argumentOutOfRange("millisecond") }
        let days = Int64(DateTimeValue.daysFromCivil(year: year, month: month, day: day))
        ticks = days * DateTimeValue.ticksPerDay + Int64(hour) * DateTimeValue.ticksPerHour
            + Int64(minute) * DateTimeValue.ticksPerMinute + Int64(second) * DateTimeValue.ticksPerSecond
            + Int64(millisecond) * DateTimeValue.ticksPerMillisecond
        self.kind = kind
    }

    public static func utcNow() -> DateTimeValue { DateTimeValue(date: Date(), kind: .utc) }
    public static func now() -> DateTimeValue { DateTimeValue(date: Date(), kind: .local) }

    public var date: Date {
        let utc = kind == .local ? toUniversal().ticks : ticks
        return Date(timeIntervalSince1970: Double(utc - DateTimeValue.unixEpochTicks) / 10_000_000)
    }

    // MARK: Calendar arithmetic (proleptic Gregorian, days since 0001-01-01)

    static func isLeapYear(_ year: Int) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let cumulative = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334]
        let y = year - 1
        var days = y * 365 + y / 4 - y / 100 + y / 400 + cumulative[month - 1] + day - 1
        if month > 2 && isLeapYear(year) { days += 1 }
        return days
    }

    var components: (year: Int, month: Int, day: Int, dayOfYear: Int) {
        var n = Int(ticks / DateTimeValue.ticksPerDay)
        let y400 = n / 146_097; n -= y400 * 146_097
        var y100 = n / 36_524; if y100 == 4 { y100 = 3 }; n -= y100 * 36_524
        let y4 = n / 1_461; n -= y4 * 1_461
        var y1 = n / 365; if y1 == 4 { y1 = 3 }; n -= y1 * 365
        let year = y400 * 400 + y100 * 100 + y4 * 4 + y1 + 1
        let dayOfYear = n + 1
        var month = 1
        var remaining = n
        while remaining >= DateTimeValue.daysInMonth(year: year, month: month) {
            remaining -= DateTimeValue.daysInMonth(year: year, month: month)
            month += 1
        }
        return (year, month, remaining + 1, dayOfYear)
    }

    public var year: Int { components.year }
    public var month: Int { components.month }
    public var day: Int { components.day }
    public var dayOfYear: Int { components.dayOfYear }
    public var hour: Int { Int((ticks / DateTimeValue.ticksPerHour) % 24) }
    public var minute: Int { Int((ticks / DateTimeValue.ticksPerMinute) % 60) }
    public var second: Int { Int((ticks / DateTimeValue.ticksPerSecond) % 60) }
    public var millisecond: Int { Int((ticks / DateTimeValue.ticksPerMillisecond) % 1000) }
    /// 0 = Sunday.
    public var dayOfWeek: Int { Int((ticks / DateTimeValue.ticksPerDay + 1) % 7) }
    public var datePart: DateTimeValue { DateTimeValue(ticks: ticks - ticks % DateTimeValue.ticksPerDay, kind: kind) }
    public var timeOfDay: TimeSpanValue { TimeSpanValue(ticks: ticks % DateTimeValue.ticksPerDay) }

    func adding(ticks delta: Int64) throws -> DateTimeValue {
        let (sum, overflow) = ticks.addingReportingOverflow(delta)
        guard !overflow, sum >= 0, sum <= DateTimeValue.maxTicks else {
            throw ExpressionRuntimeError.argumentOutOfRange("value", "The added or subtracted value results in an un-representable DateTime.")
        }
        return DateTimeValue(ticks: sum, kind: kind)
    }

    /// `AddDays(double)` etc.: .NET rounds the scaled value to the nearest millisecond (pre-.NET 7 behaviour).
    func adding(_ value: Double, scaleTicks: Int64) throws -> DateTimeValue {
        let milliseconds = (value * Double(scaleTicks) / Double(DateTimeValue.ticksPerMillisecond)).rounded(.toNearestOrAwayFromZero)
        guard milliseconds.isFinite, abs(milliseconds) < 315_537_897_600_000 else {
            throw ExpressionRuntimeError.argumentOutOfRange("value", "Value to add was out of range.")
        }
        return try adding(ticks: Int64(milliseconds) * DateTimeValue.ticksPerMillisecond)
    }

    func addingMonths(_ months: Int) throws -> DateTimeValue {
        guard abs(months) <= 120_000 else { throw ExpressionRuntimeError.argumentOutOfRange("months") }
        let c = components
        var total = c.year * 12 + (c.month - 1) + months
        let year = total / 12
        total -= year * 12
        let month = total + 1
        guard (1...9999).contains(year) else {
            throw ExpressionRuntimeError.argumentOutOfRange("months", "The added or subtracted value results in an un-representable DateTime.")
        }
        let day = min(c.day, DateTimeValue.daysInMonth(year: year, month: month))
        let days = Int64(DateTimeValue.daysFromCivil(year: year, month: month, day: day))
        return DateTimeValue(ticks: days * DateTimeValue.ticksPerDay + ticks % DateTimeValue.ticksPerDay, kind: kind)
    }

    func localOffsetTicks(forUniversal universal: Int64) -> Int64 {
        let date = Date(timeIntervalSince1970: Double(universal - DateTimeValue.unixEpochTicks) / 10_000_000)
        return Int64(TimeZone.current.secondsFromGMT(for: date)) * DateTimeValue.ticksPerSecond
    }

    /// `ToUniversalTime()`: Unspecified is treated as local, like .NET.
    public func toUniversal() -> DateTimeValue {
        if kind == .utc { return self }
        let guess = ticks - localOffsetTicks(forUniversal: ticks)
        return DateTimeValue(ticks: DateTimeValue.clamp(ticks - localOffsetTicks(forUniversal: guess)), kind: .utc)
    }

    /// .NET's `ToUniversalTime`/`ToLocalTime` clamp to `MinValue`/`MaxValue` rather than fail.
    static func clamp(_ ticks: Int64) -> Int64 { min(max(ticks, 0), maxTicks) }

    /// `ToLocalTime()`: Unspecified is treated as UTC, like .NET.
    public func toLocal() -> DateTimeValue {
        if kind == .local { return self }
        return DateTimeValue(ticks: DateTimeValue.clamp(ticks + localOffsetTicks(forUniversal: ticks)), kind: .local)
    }

    /// The UTC offset shown by `K`/`zzz` for a local value.
    var localOffset: Int64 {
        let guess = ticks - localOffsetTicks(forUniversal: ticks)
        return localOffsetTicks(forUniversal: guess)
    }
}

/// .NET `TimeSpan`: signed 100-ns ticks.
public struct TimeSpanValue: Sendable, Hashable, Comparable {
    public var ticks: Int64
    public init(ticks: Int64) { self.ticks = ticks }

    public static func < (lhs: TimeSpanValue, rhs: TimeSpanValue) -> Bool { lhs.ticks < rhs.ticks }

    static func from(_ value: Double, scaleTicks: Int64) throws -> TimeSpanValue {
        guard !value.isNaN else { throw ExpressionRuntimeError.argument("TimeSpan does not accept floating point Not-a-Number values.") }
        let ticks = (value * Double(scaleTicks)).rounded(.toNearestOrAwayFromZero)
        guard abs(ticks) <= 9.2e18 else { throw ExpressionRuntimeError.overflow("TimeSpan overflowed because the duration is too long.") }
        return TimeSpanValue(ticks: Int64(ticks))
    }

    /// `new TimeSpan(d, h, m, s, ms)`: .NET sums the parts in milliseconds (no overflow for int parts)
    /// and throws `ArgumentOutOfRangeException` when the total is beyond `TimeSpan`'s range.
    static func fromParts(days: Int64, hours: Int64, minutes: Int64, seconds: Int64, milliseconds: Int64) throws -> TimeSpanValue {
        // Each part is an Int32, so this stays far inside Int64 (|total| < 2^31 · 86_400_000 · 2).
        guard [days, hours, minutes, seconds, milliseconds].allSatisfy({ $0 >= Int64(Int32.min) && $0 <= Int64(Int32.max) }) else {
            throw ExpressionRuntimeError.argumentOutOfRange("", "TimeSpan overflowed because the duration is too long.")
        }
        let totalMilliseconds = ((days * 86_400 + hours * 3_600 + minutes * 60 + seconds) * 1_000) + milliseconds
        let limit = Int64.max / DateTimeValue.ticksPerMillisecond
        guard totalMilliseconds <= limit, totalMilliseconds >= -limit else {
            throw ExpressionRuntimeError.argumentOutOfRange("", "TimeSpan overflowed because the duration is too long.")
        }
        return TimeSpanValue(ticks: totalMilliseconds * DateTimeValue.ticksPerMillisecond)
    }

    /// `Negate()` / unary minus: `OverflowException` for `TimeSpan.MinValue`, like .NET.
    func negated() throws -> TimeSpanValue {
        guard ticks != Int64.min else { throw ExpressionRuntimeError.overflow("Negating the minimum value of a twos complement number is invalid.") }
        return TimeSpanValue(ticks: -ticks)
    }

    /// `Duration()`: `OverflowException` for `TimeSpan.MinValue`, like .NET.
    func duration() throws -> TimeSpanValue {
        guard ticks != Int64.min else {
            throw ExpressionRuntimeError.overflow("The duration cannot be returned for TimeSpan.MinValue because the absolute value of TimeSpan.MinValue exceeds the value of TimeSpan.MaxValue.")
        }
        return TimeSpanValue(ticks: ticks < 0 ? -ticks : ticks)
    }

    /// `Add`/`Subtract`/`+`/`-`: `OverflowException` when the result leaves the range, like .NET.
    func adding(_ other: TimeSpanValue, subtract: Bool = false) throws -> TimeSpanValue {
        let (sum, overflow) = subtract ? ticks.subtractingReportingOverflow(other.ticks) : ticks.addingReportingOverflow(other.ticks)
        if overflow { throw ExpressionRuntimeError.overflow("TimeSpan overflowed because the duration is too long.") }
        return TimeSpanValue(ticks: sum)
    }

    public var days: Int32 { Int32(ticks / DateTimeValue.ticksPerDay) }
    public var hours: Int32 { Int32((ticks / DateTimeValue.ticksPerHour) % 24) }
    public var minutes: Int32 { Int32((ticks / DateTimeValue.ticksPerMinute) % 60) }
    public var seconds: Int32 { Int32((ticks / DateTimeValue.ticksPerSecond) % 60) }
    public var milliseconds: Int32 { Int32((ticks / DateTimeValue.ticksPerMillisecond) % 1000) }
    public var totalDays: Double { Double(ticks) / Double(DateTimeValue.ticksPerDay) }
    public var totalHours: Double { Double(ticks) / Double(DateTimeValue.ticksPerHour) }
    public var totalMinutes: Double { Double(ticks) / Double(DateTimeValue.ticksPerMinute) }
    public var totalSeconds: Double { Double(ticks) / Double(DateTimeValue.ticksPerSecond) }
    public var totalMilliseconds: Double { Double(ticks) / Double(DateTimeValue.ticksPerMillisecond) }

    /// Constant ("c") format: `[-][d.]hh:mm:ss[.fffffff]`.
    public var description: String {
        var text = ticks < 0 ? "-" : ""
        let magnitude = ticks.magnitude
        let days = magnitude / UInt64(DateTimeValue.ticksPerDay)
        if days > 0 { text += "\(days)." }
        let hours = (magnitude / UInt64(DateTimeValue.ticksPerHour)) % 24
        let minutes = (magnitude / UInt64(DateTimeValue.ticksPerMinute)) % 60
        let seconds = (magnitude / UInt64(DateTimeValue.ticksPerSecond)) % 60
        let fraction = magnitude % UInt64(DateTimeValue.ticksPerSecond)
        text += pad(hours, 2) + ":" + pad(minutes, 2) + ":" + pad(seconds, 2)
        if fraction > 0 { text += "." + pad(fraction, 7) }
        return text
    }
}

/// .NET `DateTimeOffset`: local clock ticks plus an offset in minutes.
public struct DateTimeOffsetValue: Sendable, Hashable {
    public var clockTicks: Int64
    public var offsetMinutes: Int32

    public init(clockTicks: Int64, offsetMinutes: Int32) {
        self.clockTicks = clockTicks
        self.offsetMinutes = offsetMinutes
    }

    /// Validating initialiser with .NET's rules: the offset is within ±14 hours and both the clock time
    /// and the UTC time it represents are valid `DateTime`s; otherwise `ArgumentOutOfRangeException`.
    static func checked(clockTicks: Int64, offsetMinutes: Int64) throws -> DateTimeOffsetValue {
        guard offsetMinutes >= -840, offsetMinutes <= 840 else {
            throw ExpressionRuntimeError.argumentOutOfRange("offset", "Offset must be within plus or minus 14 hours.")
        }
        guard clockTicks >= 0, clockTicks <= DateTimeValue.maxTicks else {
            throw ExpressionRuntimeError.argumentOutOfRange("dateTime", "The UTC time represented when the offset is applied must be between year 0 and 10,000.")
        }
        let utc = clockTicks - offsetMinutes * DateTimeValue.ticksPerMinute
        guard utc >= 0, utc <= DateTimeValue.maxTicks else {
            throw ExpressionRuntimeError.argumentOutOfRange("offset", "The UTC time represented when the offset is applied must be between year 0 and 10,000.")
        }
        return DateTimeOffsetValue(clockTicks: clockTicks, offsetMinutes: Int32(offsetMinutes))
    }

    /// `new DateTimeOffset(dateTime, offset)`: whole minutes only, then the checks above.
    static func checked(clockTicks: Int64, offset: TimeSpanValue) throws -> DateTimeOffsetValue {
        guard offset.ticks % DateTimeValue.ticksPerMinute == 0 else {
            throw ExpressionRuntimeError.argument("Offset must be specified in whole minutes. (Parameter 'offset')")
        }
        return try checked(clockTicks: clockTicks, offsetMinutes: offset.ticks / DateTimeValue.ticksPerMinute)
    }

    /// `dto + timeSpan`, `dto.Add…`: the moved clock time must stay representable.
    func adding(ticks delta: Int64) throws -> DateTimeOffsetValue {
        let (sum, overflow) = clockTicks.addingReportingOverflow(delta)
        guard !overflow, sum >= 0, sum <= DateTimeValue.maxTicks else {
            throw ExpressionRuntimeError.argumentOutOfRange("value", "The added or subtracted value results in an un-representable DateTime.")
        }
        return try DateTimeOffsetValue.checked(clockTicks: sum, offsetMinutes: Int64(offsetMinutes))
    }

    public var utcTicks: Int64 { clockTicks - Int64(offsetMinutes) * DateTimeValue.ticksPerMinute }
    public var clock: DateTimeValue { DateTimeValue(ticks: clockTicks, kind: .unspecified) }
    public var utcDateTime: DateTimeValue { DateTimeValue(ticks: utcTicks, kind: .utc) }

    public init(dateTime: DateTimeValue) {
        switch dateTime.kind {
        case .utc: self.init(clockTicks: dateTime.ticks, offsetMinutes: 0)
        default:
            self.init(clockTicks: dateTime.ticks, offsetMinutes: Int32(dateTime.localOffset / DateTimeValue.ticksPerMinute))
        }
    }

    public static func utcNow() -> DateTimeOffsetValue { DateTimeOffsetValue(dateTime: .utcNow()) }
    public static func now() -> DateTimeOffsetValue { DateTimeOffsetValue(dateTime: .now()) }

    public var unixSeconds: Int64 { Int64((Double(utcTicks - DateTimeValue.unixEpochTicks) / Double(DateTimeValue.ticksPerSecond)).rounded(.down)) }
}

func pad<T: BinaryInteger>(_ value: T, _ width: Int) -> String {
    let text = String(value)
    return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
}
