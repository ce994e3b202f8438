import SwiftASN1

/// The Issuing Distribution Point CRL extension (RFC 5280 §5.2.5): the scope of a CRL.
public struct IssuingDistributionPoint: Sendable, Hashable {
    public var distributionPoint: DistributionPointName?
    public var onlyContainsUserCerts = false
    public var onlyContainsCACerts = false
    public var onlySomeReasons: RevocationReasonFlags?
    public var indirectCRL = false
    public var onlyContainsAttributeCerts = false

    init(extensionValue: ArraySlice<UInt8>) throws {
        let root = try DER.parse(extensionValue)
        guard root.identifier == .sequence else { throw CRLError.malformed("issuingDistributionPoint is not a SEQUENCE") }
        for field in try root.children("issuingDistributionPoint") {
            guard field.identifier.tagClass == .contextSpecific else {
                throw CRLError.malformed("unexpected field in issuingDistributionPoint")
            }
            switch field.identifier.tagNumber {
            case 0:
                guard let inner = try field.children("distributionPoint").first else {
                    throw CRLError.malformed("empty IDP distributionPoint")
                }
                distributionPoint = try DistributionPointName(node: inner)
            case 1: onlyContainsUserCerts = try Self.boolean(field)
            case 2: onlyContainsCACerts = try Self.boolean(field)
            case 3: onlySomeReasons = try RevocationReasonFlags(bitString: field)
            case 4: indirectCRL = try Self.boolean(field)
            case 5: onlyContainsAttributeCerts = try Self.boolean(field)
            default: throw CRLError.malformed("unknown issuingDistributionPoint field [\(field.identifier.tagNumber)]")
            }
        }
    }

    private static func boolean(_ node: ASN1Node) throws -> Bool {
        let bytes = try node.primitiveBytes("IDP boolean")
        guard bytes.count == 1 else { throw CRLError.malformed("IDP BOOLEAN must be one byte") }
        return bytes.first == 0xFF
    }
}
