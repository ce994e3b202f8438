import Foundation
import SwiftASN1

/// UTCTime / GeneralizedTime to Date (RFC 5280 §4.1.2.5 encodings), without Calendar lookups.
enum ASN1Time {
    static func date(from node: ASN1Node) throws -> Date {
        switch node.identifier {
        case .utcTime:
            let t = try UTCTime(derEncoded: node)
            return make(t.year, t.month, t.day, t.hours, t.minutes, t.seconds, 0)
        case .generalizedTime:
            let t = try GeneralizedTime(derEncoded: node)
            return make(t.year, t.month, t.day, t.hours, t.minutes, t.seconds, t.fractionalSeconds)
        default:
            throw CertificateParsingError.malformed("expected UTCTime or GeneralizedTime")
        }
    }

    static func isTime(_ node: ASN1Node) -> Bool {
        node.identifier == .utcTime || node.identifier == .generalizedTime
    }

    /// Days from 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's days_from_civil).
    static func make(_ y: Int, _ m: Int, _ d: Int, _ h: Int, _ min: Int, _ s: Int, _ fraction: Double) -> Date {
        let year = m <= 2 ? y - 1 : y
        let era = (year >= 0 ? year : year - 399) / 400
        let yoe = year - era * 400
        let mp = (m + 9) % 12
        let doy = (153 * mp + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146097 + doe - 719468
        let seconds = Double(days * 86400 + h * 3600 + min * 60 + s) + fraction
        return Date(timeIntervalSince1970: seconds)
    }
}
