import Foundation
import Testing

@testable import ClientCertificates

@Suite("UTC timestamps without ICU")
struct UTCTimestampTests {
    @Test("documented instants", arguments: [
        (0.0, "1970-01-01T00:00:00Z"),
        (951_782_400, "2000-02-29T00:00:00Z"),
        (-1, "1969-12-31T23:59:59Z"),
        (1_795_486_440, "2026-11-24T02:14:00Z"),
        (253_402_300_799, "9999-12-31T23:59:59Z"),
        (-62_135_596_800, "0001-01-01T00:00:00Z"),
    ])
    func documented(seconds: Double, expected: String) {
        #expect(UTCTimestamp.iso8601(Date(timeIntervalSince1970: seconds)) == expected)
    }

    @Test("milliseconds, also before the epoch")
    func milliseconds() {
        #expect(UTCTimestamp.iso8601(Date(timeIntervalSince1970: 1.5), milliseconds: true) == "1970-01-01T00:00:01.500Z")
        #expect(UTCTimestamp.iso8601(Date(timeIntervalSince1970: -0.25), milliseconds: true) == "1969-12-31T23:59:59.750Z")
    }

    @Test("out-of-range and NaN dates are clamped, never trap")
    func clamped() {
        #expect(UTCTimestamp.iso8601(Date(timeIntervalSince1970: 1e300)) == "9999-12-31T23:59:59Z")
        #expect(UTCTimestamp.iso8601(Date(timeIntervalSince1970: -1e300)) == "0001-01-01T00:00:00Z")
        #expect(UTCTimestamp.iso8601(Date(timeIntervalSince1970: .nan)) == "1970-01-01T00:00:00Z")
    }

    @Test("agrees with Foundation's ISO8601DateFormatter over four centuries")
    func agreesWithFoundation() {
        let formatter = ISO8601DateFormatter()
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let seconds = Double(Int64.random(in: -2_208_988_800...10_000_000_000, using: &generator))
            let date = Date(timeIntervalSince1970: seconds)
            #expect(UTCTimestamp.iso8601(date) == formatter.string(from: date))
        }
    }
}
