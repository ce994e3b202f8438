import ClientCertificates
import Crypto
import Foundation
import SwiftASN1
import X509

/// Builds certificates and CRLs in memory with swift-certificates (P-256 keys, fast).
struct TestPKI {
    struct Issued {
        let certificate: Certificate
        let key: P256.Signing.PrivateKey
        var wrapped: X509Certificate2 { (try? X509Certificate2(derEncoded: der))! }
        var der: [UInt8] { (try? DER.Serializer.serialized(certificate)) ?? [] }
    }

    static let now = Date(timeIntervalSince1970: 1_780_000_000)  // 2026-05-28
    static let day: TimeInterval = 86_400

    static func keyIdentifier(_ key: P256.Signing.PrivateKey) -> [UInt8] {
        Array(Insecure.SHA1.hash(data: key.publicKey.x963Representation))
    }

    static func name(_ cn: String) throws -> DistinguishedName {
        try DistinguishedName { CommonName(cn); OrganizationName("Drawbridge Tests") }
    }

    static func root(_ cn: String = "Test Root", notBefore: Date = now - 365 * day, notAfter: Date = now + 365 * day) throws -> Issued {
        let key = P256.Signing.PrivateKey()
        let subject = try name(cn)
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey), notValidBefore: notBefore,
            notValidAfter: notAfter, issuer: subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(keyIdentifier: ArraySlice(keyIdentifier(key)))
            }, issuerPrivateKey: .init(key))
        return Issued(certificate: certificate, key: key)
    }

    static func intermediate(_ cn: String, issuer: Issued, pathLength: Int? = nil) throws -> Issued {
        let key = P256.Signing.PrivateKey()
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey), notValidBefore: now - 30 * day,
            notValidAfter: now + 300 * day, issuer: issuer.certificate.subject, subject: try name(cn),
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: pathLength))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(keyIdentifier: ArraySlice(keyIdentifier(key)))
                AuthorityKeyIdentifier(keyIdentifier: ArraySlice(keyIdentifier(issuer.key)))
            }, issuerPrivateKey: .init(issuer.key))
        return Issued(certificate: certificate, key: key)
    }

    static func leaf(
        subject: DistinguishedName? = nil, issuer: Issued, serial: Certificate.SerialNumber = .init(),
        notBefore: Date = now - day, notAfter: Date = now + 90 * day, usage: ExtendedKeyUsage.Usage = .clientAuth,
        sans: [GeneralName] = [], crlURL: String? = nil
    ) throws -> Issued {
        let key = P256.Signing.PrivateKey()
        var extensions = try Certificate.Extensions {
            Critical(BasicConstraints.notCertificateAuthority)
            Critical(KeyUsage(digitalSignature: true))
            try ExtendedKeyUsage([usage])
            AuthorityKeyIdentifier(keyIdentifier: ArraySlice(keyIdentifier(issuer.key)))
        }
        if !sans.isEmpty { try extensions.append(try SubjectAlternativeNames(sans).makeCertificateExtension()) }
        if let crlURL { try extensions.append(try cdpExtension(crlURL)) }
        let certificate = try Certificate(
            version: .v3, serialNumber: serial, publicKey: .init(key.publicKey), notValidBefore: notBefore,
            notValidAfter: notAfter, issuer: issuer.certificate.subject, subject: try subject ?? name("client.example"),
            signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions, issuerPrivateKey: .init(issuer.key))
        return Issued(certificate: certificate, key: key)
    }

    /// CRLDistributionPoints with one URI full name.
    static func cdpExtension(_ url: String) throws -> Certificate.Extension {
        var serializer = DER.Serializer()
        try serializer.appendConstructedNode(identifier: .sequence) { points in
            try points.appendConstructedNode(identifier: .sequence) { point in
                try point.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) { dpName in
                    try dpName.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) { names in
                        try names.serialize(GeneralName.uniformResourceIdentifier(url))
                    }
                }
            }
        }
        return Certificate.Extension(oid: [2, 5, 29, 31], critical: false, value: ArraySlice(serializer.serializedBytes))
    }

    /// A v2 CRL signed by `issuer` (or by `signer` to forge a bad signature).
    static func crl(
        issuer: Issued, revoked: [Certificate.SerialNumber], thisUpdate: Date = now - day,
        nextUpdate: Date = now + 7 * day, signer: P256.Signing.PrivateKey? = nil
    ) throws -> [UInt8] {
        func time(_ date: Date) throws -> GeneralizedTime {
            let c = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: date)
            return try GeneralizedTime(
                year: c.year!, month: c.month!, day: c.day!, hours: c.hour!, minutes: c.minute!, seconds: c.second!,
                fractionalSeconds: 0)
        }
        let algorithm: (inout DER.Serializer) throws -> Void = { coder in
            try coder.appendConstructedNode(identifier: .sequence) { try $0.serialize(ASN1ObjectIdentifier("1.2.840.10045.4.3.2")) }
        }
        var tbs = DER.Serializer()
        try tbs.appendConstructedNode(identifier: .sequence) { coder in
            try coder.serialize(1)
            try algorithm(&coder)
            try coder.serialize(issuer.certificate.subject)
            try coder.serialize(try time(thisUpdate))
            try coder.serialize(try time(nextUpdate))
            if !revoked.isEmpty {
                try coder.appendConstructedNode(identifier: .sequence) { list in
                    for serial in revoked {
                        try list.appendConstructedNode(identifier: .sequence) { entry in
                            try entry.serialize(serial.bytes)
                            try entry.serialize(try time(thisUpdate))
                        }
                    }
                }
            }
            try coder.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) { wrapper in
                try wrapper.appendConstructedNode(identifier: .sequence) { extensions in
                    try extensions.appendConstructedNode(identifier: .sequence) { ext in
                        try ext.serialize(ASN1ObjectIdentifier("2.5.29.20"))
                        var number = DER.Serializer()
                        try number.serialize(7)
                        try ext.serialize(ASN1OctetString(contentBytes: ArraySlice(number.serializedBytes)))
                    }
                }
            }
        }
        let tbsBytes = tbs.serializedBytes
        let signature = try (signer ?? issuer.key).signature(for: tbsBytes)
        var outer = DER.Serializer()
        try outer.appendConstructedNode(identifier: .sequence) { coder in
            coder.serializeRawBytes(tbsBytes)
            try algorithm(&coder)
            try coder.serialize(ASN1BitString(bytes: ArraySlice(signature.derRepresentation)))
        }
        return outer.serializedBytes
    }
}

extension DER.Serializer {
    static func serialized(_ element: some DERSerializable) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(element)
        return serializer.serializedBytes
    }
}
