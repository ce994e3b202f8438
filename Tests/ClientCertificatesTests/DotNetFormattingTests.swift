import ClientCertificates
import Crypto
import SwiftASN1
import Testing
import X509

typealias Attribute = RelativeDistinguishedName.Attribute

func rdn(_ attributes: Attribute...) -> RelativeDistinguishedName { RelativeDistinguishedName(attributes) }
func utf8(_ oid: ASN1ObjectIdentifier, _ value: String) -> Attribute { Attribute(type: oid, utf8String: value) }

struct NameCase: Sendable, CustomTestStringConvertible {
    let title: String
    let rdns: [RelativeDistinguishedName]
    let expected: String
    var testDescription: String { title }
}

let nameCases: [NameCase] = [
    NameCase(
        title: "reverse order, short names",
        rdns: [
            rdn(try! Attribute(type: .RDNAttributeType.countryName, printableString: "US")),
            rdn(utf8(.RDNAttributeType.organizationName, "Contoso")),
            rdn(utf8(.RDNAttributeType.organizationalUnitName, "Payments")),
            rdn(utf8(.RDNAttributeType.commonName, "client.contoso.com")),
        ],
        expected: "CN=client.contoso.com, OU=Payments, O=Contoso, C=US"),
    NameCase(
        title: "multi-valued RDN joined with +",
        rdns: [
            rdn(utf8(.RDNAttributeType.organizationName, "Org")),
            rdn(utf8(.RDNAttributeType.commonName, "ab"), utf8(.RDNAttributeType.organizationalUnitName, "cd")),
        ],
        expected: "CN=ab + OU=cd, O=Org"),
    NameCase(
        title: "comma quoted",
        rdns: [rdn(utf8(.RDNAttributeType.organizationName, "Contoso, Inc.")), rdn(utf8(.RDNAttributeType.commonName, "x"))],
        expected: "CN=x, O=\"Contoso, Inc.\""),
    NameCase(
        title: "embedded quote doubled",
        rdns: [rdn(utf8(.RDNAttributeType.commonName, "say \"hi\""))],
        expected: "CN=\"say \"\"hi\"\"\""),
    NameCase(
        title: "plus, equals, hash, semicolon, angle brackets quoted",
        rdns: [
            rdn(utf8(.RDNAttributeType.commonName, "a+b")), rdn(utf8(.RDNAttributeType.organizationalUnitName, "k=v")),
            rdn(utf8(.RDNAttributeType.organizationName, "#1")), rdn(utf8(.RDNAttributeType.localityName, "x;y")),
            rdn(utf8(.RDNAttributeType.stateOrProvinceName, "<s>")),
        ],
        expected: "S=\"<s>\", L=\"x;y\", O=\"#1\", OU=\"k=v\", CN=\"a+b\""),
    NameCase(
        title: "leading and trailing spaces quoted",
        rdns: [rdn(utf8(.RDNAttributeType.commonName, " padded "))],
        expected: "CN=\" padded \""),
    NameCase(
        title: "UTF-8 kept as is",
        rdns: [rdn(utf8(.RDNAttributeType.commonName, "Zoë Ünïcødé 日本語"))],
        expected: "CN=Zoë Ünïcødé 日本語"),
    NameCase(
        title: "e-mail attribute is E",
        rdns: [
            rdn(utf8(.RDNAttributeType.commonName, "Alice")),
            rdn(try! Attribute(type: .RDNAttributeType.emailAddress, ia5String: "alice@example.com")),
        ],
        expected: "E=alice@example.com, CN=Alice"),
    NameCase(
        title: "unusual OIDs print as OID.x",
        rdns: [rdn(utf8([1, 2, 3, 4, 5], "custom")), rdn(utf8([0, 9, 2342, 19_200_300, 100, 1, 1], "uid1"))],
        expected: "OID.0.9.2342.19200300.100.1.1=uid1, OID.1.2.3.4.5=custom"),
    NameCase(
        title: ".NET short names for DC, STREET, SERIALNUMBER, G, SN, T, I",
        rdns: [
            rdn(try! Attribute(type: .RDNAttributeType.domainComponent, ia5String: "com")),
            rdn(utf8(.RDNAttributeType.streetAddress, "1 Main St")),
            rdn(try! Attribute(type: [2, 5, 4, 5], printableString: "12345")),
            rdn(utf8([2, 5, 4, 42], "Ada")), rdn(utf8([2, 5, 4, 4], "Lovelace")),
            rdn(utf8([2, 5, 4, 12], "Dr")), rdn(utf8([2, 5, 4, 43], "AL")),
        ],
        expected: "I=AL, T=Dr, SN=Lovelace, G=Ada, SERIALNUMBER=12345, STREET=1 Main St, DC=com"),
]

@Suite struct DotNetFormattingTests {
    @Test(arguments: nameCases)
    func subjectAndIssuerText(_ testCase: NameCase) throws {
        let root = try TestPKI.root()
        let leaf = try TestPKI.leaf(subject: DistinguishedName(testCase.rdns), issuer: root)
        let certificate = leaf.wrapped
        #expect(certificate.subject == testCase.expected)
        #expect(certificate.subjectName.name == testCase.expected)
        #expect(certificate.issuer == "O=Drawbridge Tests, CN=Test Root")
    }

    @Test func identityFieldsMatchDotNet() throws {
        let root = try TestPKI.root()
        let serial = Certificate.SerialNumber(bytes: [0x79, 0x0C, 0xE8, 0xEE, 0xE5, 0xF0, 0x19, 0x97])
        let issued = try TestPKI.leaf(
            issuer: root, serial: serial,
            sans: [.dnsName("api.contoso.com"), .rfc822Name("ops@contoso.com"), .uniformResourceIdentifier("https://contoso.com/id")],
            crlURL: "http://crl.contoso.com/root.crl")
        let certificate = issued.wrapped
        let sha1 = Insecure.SHA1.hash(data: issued.der).map { String(format: "%02X", $0) }.joined()
        #expect(certificate.thumbprint == sha1)
        #expect(certificate.getCertHashString() == sha1)
        #expect(certificate.thumbprint.uppercased() == certificate.thumbprint)
        #expect(certificate.serialNumber == "790CE8EEE5F01997")
        #expect(certificate.version == 3)
        #expect(certificate.signatureAlgorithm.friendlyName == "sha256ECDSA")
        #expect(certificate.signatureAlgorithm.value == "1.2.840.10045.4.3.2")
        #expect(certificate.publicKey.oid.friendlyName == "ECC")
        #expect(certificate.publicKey.keySizeInBits == 256)
        #expect(certificate.rawData == issued.der)
        #expect(certificate.getNameInfo(.simpleName, forIssuer: false) == "client.example")
        #expect(certificate.getNameInfo(.simpleName, forIssuer: true) == "Test Root")
        #expect(certificate.getNameInfo(.dnsName, forIssuer: false) == "api.contoso.com")
        #expect(certificate.getNameInfo(.emailName, forIssuer: false) == "ops@contoso.com")
        #expect(certificate.getNameInfo(.urlName, forIssuer: false) == "https://contoso.com/id")
        #expect(certificate.getNameInfo(.upnName, forIssuer: false) == "")
        #expect(certificate.enhancedKeyUsages?.map(\.value) == ["1.3.6.1.5.5.7.3.2"])
        #expect(certificate.enhancedKeyUsages?.first?.friendlyName == "Client Authentication")
        #expect(certificate.crlDistributionPointURLs == ["http://crl.contoso.com/root.crl"])
        #expect(certificate.subjectAlternativeNames.contains(.dnsName("api.contoso.com")))
        #expect(certificate.toString().hasPrefix("[Subject]\n  O=Drawbridge Tests, CN=client.example\n\n[Issuer]\n"))
        #expect(certificate.toString().contains("[Thumbprint]\n  \(sha1)\n"))
        #expect(certificate.spkiSHA256.count == 44)
    }

    @Test func serialWithHighBitKeepsLeadingZeroLikeDotNet() throws {
        let root = try TestPKI.root()
        let leaf = try TestPKI.leaf(issuer: root, serial: Certificate.SerialNumber(bytes: [0x00, 0x9A, 0x01]))
        #expect(leaf.wrapped.serialNumber == "009A01")
    }

    @Test func byteArrayConstructorAcceptsDERAndPEM() throws {
        let root = try TestPKI.root()
        let leaf = try TestPKI.leaf(issuer: root)
        let fromDER = try X509Certificate2(leaf.der)
        let pem = PEMDocument(type: "CERTIFICATE", derBytes: leaf.der).pemString
        let fromPEM = try X509Certificate2(Array(pem.utf8))
        #expect(fromDER.thumbprint == fromPEM.thumbprint)
    }
}

import _CryptoExtras
import Foundation

@Suite struct UnsupportedKeyTests {
    @Test func aCertificateSwiftCertificatesCannotRepresentStillLoadsButDoesNotVerify() async throws {
        let root = try TestPKI.root()
        let weakKey = try _RSA.Signing.PrivateKey(unsafeKeySize: .init(bitCount: 1024))
        let leaf = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(weakKey.publicKey),
            notValidBefore: TestPKI.now - TestPKI.day, notValidAfter: TestPKI.now + TestPKI.day,
            issuer: root.certificate.subject, subject: try TestPKI.name("legacy-1024"),
            signatureAlgorithm: .ecdsaWithSHA256, extensions: Certificate.Extensions(), issuerPrivateKey: .init(root.key))
        let der = try DER.Serializer.serialized(leaf)
        let certificate = try X509Certificate2(derEncoded: der)
        #expect(certificate.certificate == nil)
        #expect(certificate.unsupportedReason != nil)
        #expect(certificate.subject == "O=Drawbridge Tests, CN=legacy-1024")
        #expect(certificate.publicKey.keySizeInBits == 1024)
        #expect(certificate.publicKey.oid.friendlyName == "RSA")
        let result = await certificate.verify(with: VerificationContext(
            trustStore: TrustStore(version: 1, roots: [root.wrapped]),
            options: VerificationOptions(validationTime: TestPKI.now, checkRevocation: false)))
        #expect(result.failure?.kind == .invalidCertificate)
    }
}
