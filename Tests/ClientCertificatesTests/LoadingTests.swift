import ClientCertificates
import SwiftASN1
import Testing
import X509

@Suite struct LoadingTests {
    @Test func loadsManyPEMBlocksInOrder() throws {
        let root = try TestPKI.root()
        let ica = try TestPKI.intermediate("ICA", issuer: root)
        let pem = [root.der, ica.der].map { PEMDocument(type: "CERTIFICATE", derBytes: $0).pemString }.joined(separator: "\n")
        let loaded = try CertificateLoader.load(Array(pem.utf8))
        #expect(loaded.map(\.subject) == ["O=Drawbridge Tests, CN=Test Root", "O=Drawbridge Tests, CN=ICA"])
    }

    @Test func loadsPKCS7Bundle() throws {
        let root = try TestPKI.root()
        let ica = try TestPKI.intermediate("ICA", issuer: root)
        // ContentInfo { signedData, [0] { SignedData { 1, {}, { data }, [0] { certs } , {} } } }
        var serializer = DER.Serializer()
        try serializer.appendConstructedNode(identifier: .sequence) { info in
            try info.serialize(ASN1ObjectIdentifier("1.2.840.113549.1.7.2"))
            try info.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) { explicit in
                try explicit.appendConstructedNode(identifier: .sequence) { signed in
                    try signed.serialize(1)
                    signed.appendConstructedNode(identifier: .set) { _ in }
                    try signed.appendConstructedNode(identifier: .sequence) { try $0.serialize(ASN1ObjectIdentifier("1.2.840.113549.1.7.1")) }
                    signed.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) { certs in
                        certs.serializeRawBytes(root.der)
                        certs.serializeRawBytes(ica.der)
                    }
                    signed.appendConstructedNode(identifier: .set) { _ in }
                }
            }
        }
        let loaded = try CertificateLoader.load(serializer.serializedBytes)
        #expect(loaded.count == 2)
        #expect(loaded[1].subject == "O=Drawbridge Tests, CN=ICA")
    }

    @Test func emptyInputIsEmptyError() {
        #expect(throws: CertificateLoadingError.empty) { try CertificateLoader.load([]) }
        #expect(throws: CertificateLoadingError.empty) { try CertificateLoader.load(Array("  \n".utf8)) }
    }

    @Test func truncatedDERIsTruncatedError() throws {
        let der = try TestPKI.root().der
        #expect(throws: CertificateLoadingError.self) { try CertificateLoader.load(Array(der.prefix(der.count / 2))) }
        do {
            _ = try CertificateLoader.load(Array(der.prefix(der.count - 10)))
            Issue.record("truncated data loaded")
        } catch let error as CertificateLoadingError {
            guard case .truncated = error else { Issue.record("expected .truncated, got \(error)"); return }
        }
    }

    @Test func privateKeyWhereCertificateExpected() throws {
        let key = P256KeyPEM.make()
        do {
            _ = try CertificateLoader.load(Array(key.utf8))
            Issue.record("a private key loaded as a certificate")
        } catch let error as CertificateLoadingError {
            guard case .privateKeyInsteadOfCertificate = error else { Issue.record("got \(error)"); return }
        }
        let der = try PEMDocument(pemString: key).derBytes
        do {
            _ = try CertificateLoader.load(der)
            Issue.record("a DER private key loaded as a certificate")
        } catch let error as CertificateLoadingError {
            guard case .privateKeyInsteadOfCertificate = error else { Issue.record("got \(error)"); return }
        }
    }

    @Test func garbageIsUnrecognized() {
        do {
            _ = try CertificateLoader.load(Array("definitely not a certificate".utf8))
            Issue.record("garbage loaded")
        } catch let error as CertificateLoadingError {
            switch error {
            case .unrecognizedFormat, .truncated: break
            default: Issue.record("got \(error)")
            }
        } catch { Issue.record("unexpected \(error)") }
    }

    @Test func wrongPKCS12PasswordOrDamagedFileIsSpecific() {
        // A PFX header (version 3) followed by nothing usable.
        let bogus: [UInt8] = [0x30, 0x0A, 0x02, 0x01, 0x03, 0x30, 0x05, 0x06, 0x03, 0x2A, 0x03, 0x04]
        do {
            _ = try CertificateLoader.loadPKCS12(bogus, password: "x")
            Issue.record("bogus PFX loaded")
        } catch let error as CertificateLoadingError {
            switch error {
            case .invalidPKCS12, .wrongPassword: break
            default: Issue.record("got \(error)")
            }
        } catch { Issue.record("unexpected \(error)") }
    }
}

import Crypto

enum P256KeyPEM {
    static func make() -> String { P256.Signing.PrivateKey().pemRepresentation }
}
