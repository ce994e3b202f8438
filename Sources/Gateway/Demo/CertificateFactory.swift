import Crypto
import Foundation
import SwiftASN1
import X509

/// Issues small ECDSA P-256 certificate hierarchies: the embedded demo's PKI and the tests' PKIs.
/// Keys never leave the files they are written to; nothing here logs key material.
public struct IssuedCertificate: Sendable {
    public let certificate: Certificate
    public let privateKey: P256.Signing.PrivateKey

    public var certificatePEM: String {
        get throws { try certificate.serializeAsPEM().pemString }
    }
    public var privateKeyPEM: String { privateKey.pemRepresentation }
    public var derBytes: [UInt8] {
        get throws {
            var serializer = DER.Serializer()
            try serializer.serialize(certificate)
            return serializer.serializedBytes
        }
    }
}

public enum CertificateFactory {
    public static func name(commonName: String, organization: String = "Drawbridge Demo") throws -> DistinguishedName {
        try DistinguishedName {
            CountryName("NL")
            OrganizationName(organization)
            CommonName(commonName)
        }
    }

    /// A self-signed root CA.
    public static func rootCA(commonName: String, notBefore: Date = Date().addingTimeInterval(-3600), days: Double = 3650) throws -> IssuedCertificate {
        let key = P256.Signing.PrivateKey()
        let subject = try name(commonName: commonName)
        let certificate = try Certificate(
            version: .v3,
            serialNumber: .init(),
            publicKey: .init(key.publicKey),
            notValidBefore: notBefore,
            notValidAfter: notBefore.addingTimeInterval(days * 86_400),
            issuer: subject,
            subject: subject,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: .init(key.publicKey))
            },
            issuerPrivateKey: .init(key))
        return IssuedCertificate(certificate: certificate, privateKey: key)
    }

    /// An intermediate CA signed by `issuer`; `crlURL` names where its issuer publishes revocations.
    public static func intermediateCA(commonName: String, issuer: IssuedCertificate, days: Double = 1825,
                                      crlURL: String? = nil) throws -> IssuedCertificate {
        let key = P256.Signing.PrivateKey()
        let notBefore = Date().addingTimeInterval(-3600)
        var extensions = try Certificate.Extensions {
            Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
            Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            SubjectKeyIdentifier(hash: .init(key.publicKey))
            try AuthorityKeyIdentifier(keyIdentifier: issuerKeyIdentifier(issuer))
        }
        if let crlURL { try extensions.append(try CRLIssuing.distributionPoint(crlURL)) }
        let certificate = try Certificate(
            version: .v3,
            serialNumber: .init(),
            publicKey: .init(key.publicKey),
            notValidBefore: notBefore,
            notValidAfter: notBefore.addingTimeInterval(days * 86_400),
            issuer: issuer.certificate.subject,
            subject: try name(commonName: commonName),
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: extensions,
            issuerPrivateKey: .init(issuer.privateKey))
        return IssuedCertificate(certificate: certificate, privateKey: key)
    }

    public enum LeafUsage: Sendable { case server, client }

    /// An end-entity certificate. Servers get `serverAuth` and DNS/IP SANs; clients get `clientAuth`.
    public static func leaf(
        commonName: String,
        usage: LeafUsage,
        issuer: IssuedCertificate,
        dnsNames: [String] = [],
        ipAddresses: [[UInt8]] = [],
        notBefore: Date = Date().addingTimeInterval(-3600),
        notAfter: Date? = nil,
        crlURL: String? = nil
    ) throws -> IssuedCertificate {
        let key = P256.Signing.PrivateKey()
        var extensions = try Certificate.Extensions {
            Critical(BasicConstraints.notCertificateAuthority)
            Critical(KeyUsage(digitalSignature: true))
            try ExtendedKeyUsage([usage == .server ? .serverAuth : .clientAuth])
            try AuthorityKeyIdentifier(keyIdentifier: issuerKeyIdentifier(issuer))
            if !dnsNames.isEmpty || !ipAddresses.isEmpty {
                SubjectAlternativeNames(
                    dnsNames.map { GeneralName.dnsName($0) }
                        + ipAddresses.map { GeneralName.ipAddress(ASN1OctetString(contentBytes: $0[...])) })
            }
        }
        if let crlURL { try extensions.append(try CRLIssuing.distributionPoint(crlURL)) }
        let certificate = try Certificate(
            version: .v3,
            serialNumber: .init(),
            publicKey: .init(key.publicKey),
            notValidBefore: notBefore,
            notValidAfter: notAfter ?? notBefore.addingTimeInterval(825 * 86_400),
            issuer: issuer.certificate.subject,
            subject: try name(commonName: commonName),
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: extensions,
            issuerPrivateKey: .init(issuer.privateKey))
        return IssuedCertificate(certificate: certificate, privateKey: key)
    }

    private static func issuerKeyIdentifier(_ issuer: IssuedCertificate) -> ArraySlice<UInt8> {
        SubjectKeyIdentifier(hash: .init(issuer.privateKey.publicKey)).keyIdentifier
    }
}
