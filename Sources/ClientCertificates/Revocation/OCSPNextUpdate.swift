import Foundation
import SwiftASN1

/// Reads the earliest `nextUpdate` of the single responses in a DER OCSPResponse (RFC 6960 §4.2.1),
/// only to decide how long a verdict may be cached: the response itself is checked by
/// swift-certificates' `OCSPVerifierPolicy`. Anything unexpected gives nil (cache briefly).
enum OCSPNextUpdate {
    static func earliest(in response: [UInt8]) -> Date? {
        do {
            guard case .constructed(let outer) = try DER.parse(response).content else { return nil }
            var parts = outer.makeIterator()
            guard parts.next() != nil,  // responseStatus
                let bytes = parts.next(), bytes.identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific),
                case .constructed(let explicit) = bytes.content, let responseBytes = explicit.first(where: { _ in true }),
                case .constructed(let typed) = responseBytes.content
            else { return nil }
            var typedParts = typed.makeIterator()
            guard typedParts.next() != nil, let octets = typedParts.next() else { return nil }
            let basicDER = try ASN1OctetString(derEncoded: octets).bytes
            guard case .constructed(let basic) = try DER.parse(Array(basicDER)).content,
                let tbs = basic.first(where: { _ in true }), case .constructed(let fields) = tbs.content
            else { return nil }
            // version [0]?, responderID [1]|[2], producedAt, responses, extensions [1]?
            guard let responses = fields.first(where: { $0.identifier == .sequence }), case .constructed(let list) = responses.content else {
                return nil
            }
            var earliest: Date?
            for single in list {
                guard case .constructed(let singleFields) = single.content else { continue }
                for field in singleFields where field.identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific) {
                    guard case .constructed(let wrapped) = field.content, let timeNode = wrapped.first(where: { _ in true }) else { continue }
                    let time = try GeneralizedTime(derEncoded: timeNode)
                    guard let date = date(time) else { continue }
                    earliest = min(earliest ?? date, date)
                }
            }
            return earliest
        } catch {
            return nil
        }
    }

    private static func date(_ time: GeneralizedTime) -> Date? {
        var components = DateComponents()
        components.calendar = Calendar(identifier: .gregorian)
        components.timeZone = TimeZone(secondsFromGMT: 0)
        components.year = time.year
        components.month = time.month
        components.day = time.day
        components.hour = time.hours
        components.minute = time.minutes
        components.second = time.seconds
        return components.date
    }
}
