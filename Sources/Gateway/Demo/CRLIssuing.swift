import Crypto
import Foundation
import SwiftASN1
import X509

/// Issues what the demo's (and the tests') revocation checking needs: a CRL Distribution Points
/// extension and v2 CRLs signed with ECDSA P-256 (RFC 5280 §5). swift-certificates builds no CRLs.
public enum CRLIssuing {
    /// cRLDistributionPoints with one distribution point whose full name is `url`.
    static func distributionPoint(_ url: String) throws -> Certificate.Extension {
        var serializer = DER.Serializer()
        try serializer.appendConstructedNode(identifier: .sequence) { points in
            try points.appendConstructedNode(identifier: .sequence) { point in
                try point.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) { name in
                    try name.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) { fullName in
                        try fullName.serialize(GeneralName.uniformResourceIdentifier(url))
                    }
                }
            }
        }
        return Certificate.Extension(oid: [2, 5, 29, 31], critical: false, value: ArraySlice(serializer.serializedBytes))
    }

    /// A DER CRL from `issuer` listing `revoked` serial numbers, valid from an hour ago for `days`.
    public static func crl(issuer: IssuedCertificate, revoked: [Certificate.SerialNumber], number: Int = 1, days: Double = 7) throws -> [UInt8] {
        let thisUpdate = Date().addingTimeInterval(-3600)
        let nextUpdate = thisUpdate.addingTimeInterval(days * 86_400)
        let ecdsaWithSHA256 = try ASN1ObjectIdentifier(dotRepresentation: "1.2.840.10045.4.3.2")
        var tbs = DER.Serializer()
        try tbs.appendConstructedNode(identifier: .sequence) { body in
            try body.serialize(1)  // v2
            try body.appendConstructedNode(identifier: .sequence) { try $0.serialize(ecdsaWithSHA256) }
            try body.serialize(issuer.certificate.subject)
            try body.serialize(try generalizedTime(thisUpdate))
            try body.serialize(try generalizedTime(nextUpdate))
            if !revoked.isEmpty {
                try body.appendConstructedNode(identifier: .sequence) { list in
                    for serial in revoked {
                        try list.appendConstructedNode(identifier: .sequence) { entry in
                            try entry.serialize(ArraySlice(serial.bytes))
                            try entry.serialize(try generalizedTime(thisUpdate))
                        }
                    }
                }
            }
            try body.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) { wrapper in
                try wrapper.appendConstructedNode(identifier: .sequence) { extensions in
                    try extensions.appendConstructedNode(identifier: .sequence) { crlNumber in
                        try crlNumber.serialize(try ASN1ObjectIdentifier(dotRepresentation: "2.5.29.20"))
                        var value = DER.Serializer()
                        try value.serialize(number)
                        try crlNumber.serialize(ASN1OctetString(contentBytes: ArraySlice(value.serializedBytes)))
                    }
                }
            }
        }
        let tbsBytes = tbs.serializedBytes
        let signature = try issuer.privateKey.signature(for: tbsBytes)
        var crl = DER.Serializer()
        try crl.appendConstructedNode(identifier: .sequence) { outer in
            outer.serializeRawBytes(tbsBytes)
            try outer.appendConstructedNode(identifier: .sequence) { try $0.serialize(ecdsaWithSHA256) }
            try outer.serialize(ASN1BitString(bytes: ArraySlice(signature.derRepresentation)))
        }
        return crl.serializedBytes
    }

    private static func generalizedTime(_ date: Date) throws -> GeneralizedTime {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 0) ?? calendar.timeZone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return try GeneralizedTime(year: c.year ?? 1970, month: c.month ?? 1, day: c.day ?? 1, hours: c.hour ?? 0,
                                   minutes: c.minute ?? 0, seconds: c.second ?? 0, fractionalSeconds: 0)
    }
}
