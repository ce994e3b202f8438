import Foundation

/// ISO 8601 timestamps in UTC (`2026-12-05T02:14:00Z`, optionally with milliseconds), computed from
/// the Unix time with the civil-from-days algorithm.
///
/// Written by hand because `ISO8601DateFormatter` goes through CoreFoundation's calendar, which opens
/// ICU's time-zone data: the first call alone makes ≈ 6.5 MB of ICU resident in every gateway process
/// (measured with /proc/PID/smaps), and each formatter costs microseconds — too much for a log line.
public enum UTCTimestamp {
    /// `YYYY-MM-DDThh:mm:ssZ`, or `YYYY-MM-DDThh:mm:ss.mmmZ` with `milliseconds`. Dates outside the
    /// years 0001–9999 are clamped to them (certificates and logs never need more).
    public static func iso8601(_ date: Date, milliseconds: Bool = false) -> String {
        let interval = date.timeIntervalSince1970
        // 0001-01-01T00:00:00Z … 9999-12-31T23:59:59.999Z, and NaN to the epoch.
        let clamped = interval.isNaN ? 0 : min(max(interval, -62_135_596_800), 253_402_300_799.999)
        let totalMilliseconds = Int64((clamped * 1000).rounded(.down))
        var seconds = totalMilliseconds / 1000
        var millis = totalMilliseconds % 1000
        if millis < 0 { millis += 1000; seconds -= 1 }
        var days = seconds / 86_400
        var secondOfDay = seconds % 86_400
        if secondOfDay < 0 { secondOfDay += 86_400; days -= 1 }
        let (year, month, day) = civil(daysSinceEpoch: days)
        var out = [UInt8]()
        out.reserveCapacity(24)
        digits(year, 4, &out); out.append(UInt8(ascii: "-"))
        digits(month, 2, &out); out.append(UInt8(ascii: "-"))
        digits(day, 2, &out); out.append(UInt8(ascii: "T"))
        digits(secondOfDay / 3600, 2, &out); out.append(UInt8(ascii: ":"))
        digits(secondOfDay / 60 % 60, 2, &out); out.append(UInt8(ascii: ":"))
        digits(secondOfDay % 60, 2, &out)
        if milliseconds { out.append(UInt8(ascii: ".")); digits(millis, 3, &out) }
        out.append(UInt8(ascii: "Z"))
        return String(decoding: out, as: UTF8.self)
    }

    /// Year, month and day of a day count from 1970-01-01 (proleptic Gregorian calendar).
    static func civil(daysSinceEpoch: Int64) -> (Int64, Int64, Int64) {
        let z = daysSinceEpoch + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private static func digits(_ value: Int64, _ width: Int, _ out: inout [UInt8]) {
        var divisor: Int64 = 1
        for _ in 1..<width { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            out.append(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest / divisor))
            rest %= divisor
            divisor /= 10
        }
    }
}
