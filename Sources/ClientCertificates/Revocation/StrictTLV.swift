/// A strict DER TLV walker for large structures (a CRL can list millions of serials): no tree is
/// built, lengths are bounds-checked and must be definite and minimal, tags single-byte. Small
/// pieces are handed to SwiftASN1 for full decoding.
struct StrictTLV {
    struct Element {
        let tag: UInt8
        let content: ArraySlice<UInt8>
        let encoded: ArraySlice<UInt8>
    }

    private var bytes: ArraySlice<UInt8>

    init(_ bytes: ArraySlice<UInt8>) { self.bytes = bytes }

    var isAtEnd: Bool { bytes.isEmpty }

    mutating func next() throws -> Element? {
        guard !bytes.isEmpty else { return nil }
        guard bytes.count >= 2 else { throw CRLError.malformed("truncated DER element") }
        let start = bytes.startIndex
        var index = start
        let tag = bytes[index]
        guard tag & 0x1F != 0x1F else { throw CRLError.malformed("multi-byte DER tags are not expected here") }
        index += 1
        var length = Int(bytes[index])
        index += 1
        if length & 0x80 != 0 {
            let count = length & 0x7F
            guard count >= 1, count <= 4 else { throw CRLError.malformed("unsupported DER length form") }
            guard bytes.endIndex - index >= count else { throw CRLError.malformed("truncated DER length") }
            guard bytes[index] != 0 else { throw CRLError.malformed("non-minimal DER length") }
            length = 0
            for _ in 0..<count {
                length = length << 8 | Int(bytes[index])
                index += 1
            }
            guard length >= 0x80 else { throw CRLError.malformed("non-minimal DER length") }
        }
        guard bytes.endIndex - index >= length else { throw CRLError.malformed("DER element longer than its container") }
        let end = index + length
        let element = Element(tag: tag, content: bytes[index..<end], encoded: bytes[start..<end])
        bytes = bytes[end...]
        return element
    }
}

extension ASN1Time {
    /// UTCTime `YYMMDDhhmmssZ` / GeneralizedTime `YYYYMMDDhhmmssZ` read directly; any other form
    /// (or an invalid value) goes through SwiftASN1, which validates and reports it.
    static func fastDate(_ element: StrictTLV.Element) throws -> Date {
        func digits(_ offset: Int, _ count: Int) -> Int? {
            var value = 0
            for index in 0..<count {
                let byte = element.content[element.content.startIndex + offset + index]
                guard byte >= 0x30, byte <= 0x39 else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            return value
        }
        let content = element.content
        let yearDigits: Int
        switch (element.tag, content.count) {
        case (0x17, 13): yearDigits = 2
        case (0x18, 15): yearDigits = 4
        default: return try date(from: try DER.parse(element.encoded))
        }
        guard content.last == UInt8(ascii: "Z"), var year = digits(0, yearDigits),
            let month = digits(yearDigits, 2), let day = digits(yearDigits + 2, 2), let hour = digits(yearDigits + 4, 2),
            let minute = digits(yearDigits + 6, 2), let second = digits(yearDigits + 8, 2),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 60
        else { return try date(from: try DER.parse(element.encoded)) }
        if yearDigits == 2 { year += year < 50 ? 2000 : 1900 }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let monthDays = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard day <= monthDays[month - 1] else { throw CRLError.malformed("invalid calendar date in a CRL time") }
        return make(year, month, day, hour, minute, second, 0)
    }
}

import Foundation
import SwiftASN1
