import ClientCertificates
import Foundation
import SwiftASN1
import Testing
import X509

/// Malformed input must give an error, never a crash or a hang: deterministic mutations and
/// truncations of a valid certificate, PKCS#7-free PEM and CRL.
@Suite struct HostileInputTests {
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    func mutations(of bytes: [UInt8], count: Int, seed: UInt64) -> [[UInt8]] {
        var random = SplitMix(state: seed)
        var result: [[UInt8]] = (0..<bytes.count).filter { $0 % 13 == 0 }.map { Array(bytes.prefix($0)) }
        for _ in 0..<count {
            var copy = bytes
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let index = Int.random(in: 0..<copy.count, using: &random)
                copy[index] = UInt8.random(in: 0...255, using: &random)
            }
            result.append(copy)
        }
        return result
    }

    @Test func mutatedCertificatesNeverCrash() throws {
        let root = try TestPKI.root()
        let leaf = try TestPKI.leaf(issuer: root, sans: [.dnsName("a.example")], crlURL: "http://crl.example/a.crl")
        var parsed = 0
        for bytes in mutations(of: leaf.der, count: 250, seed: 1) {
            if let certificate = try? X509Certificate2(derEncoded: bytes) {
                parsed += 1
                _ = certificate.subject + certificate.issuer + certificate.toString()
                _ = X509NameType.allCases.map { certificate.getNameInfo($0, forIssuer: false) }
            }
            _ = try? CertificateLoader.load(bytes)
        }
        #expect(parsed < 250)  // most mutations are rejected
    }

    @Test func mutatedCRLsNeverCrash() throws {
        let root = try TestPKI.root()
        let crl = try TestPKI.crl(issuer: root, revoked: [1, 2, 3])
        var rejected = 0
        for bytes in mutations(of: crl, count: 250, seed: 2) {
            do {
                let parsed = try CertificateRevocationList(bytes: bytes)
                _ = parsed.entry(forSerial: [1])
                _ = parsed.isSignatureValid(publicKey: root.certificate.publicKey)
            } catch {
                rejected += 1
            }
        }
        #expect(rejected > 0)
    }

    @Test func mutatedPFXsNeverCrash() {
        var loaded = 0
        for bytes in mutations(of: PFXFixture.bytes, count: 40, seed: 3) + mutations(of: PartialPFXFixture.bytes(PartialPFXFixture.keyOnly), count: 20, seed: 4) {
            if (try? CertificateLoader.loadPKCS12(bytes, password: "correct-horse")) != nil { loaded += 1 }
        }
        #expect(loaded < 60)
    }

    @Test func hugeCRLSerialNumbersAreKeptAndFound() throws {
        let root = try TestPKI.root()
        let huge = [0x01] + [UInt8](repeating: 0xAB, count: 4_095)
        let negative = [0xFF, 0x00] + [UInt8](repeating: 0x12, count: 40)
        let crl = try CertificateRevocationList(derEncoded: try TestPKI.crl(
            issuer: root, revoked: [Certificate.SerialNumber(bytes: huge), Certificate.SerialNumber(bytes: negative), 5]))
        #expect(crl.entry(forSerial: huge) != nil)
        // The test CRL writes serials as unsigned INTEGERs (00 FF 00 ...): that positive number is
        // listed, the negative number FF 00 ... is not.
        #expect(crl.entry(forSerial: [0x00] + negative) != nil)
        #expect(crl.entry(forSerial: negative) == nil)
        #expect(crl.entry(forSerial: [5]) != nil)
        #expect(crl.entry(forSerial: [0x00, 0x05]) != nil)  // non-canonical form of the same number
        #expect(crl.entry(forSerial: Array(huge.dropLast())) == nil)
    }

    /// Length fields at the extremes (4- and 8-byte lengths, all ones) and integers wider than Int.
    @Test func extremeLengthsAndIntegersAreErrors() throws {
        let root = try TestPKI.root()
        let der = try TestPKI.leaf(issuer: root).der
        for length in [[0x84, 0xFF, 0xFF, 0xFF, 0xFF], [0x88, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], [0x80], [0xFF]] as [[UInt8]] {
            let bytes = [0x30] + length + der.dropFirst(4)
            #expect(throws: (any Error).self) { try X509Certificate2(derEncoded: bytes) }
            #expect(throws: (any Error).self) { try CertificateLoader.load(bytes) }
            #expect(throws: (any Error).self) { try CertificateRevocationList(derEncoded: bytes) }
        }
        // A CRL whose version is a 20-byte INTEGER (wider than Int).
        func tlv(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] {
            content.count < 0x80 ? [tag, UInt8(content.count)] + content
                : [tag, 0x82, UInt8(content.count >> 8), UInt8(content.count & 0xFF)] + content
        }
        let algorithm = tlv(0x30, tlv(0x06, [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02]))
        let name = tlv(0x30, tlv(0x31, tlv(0x30, tlv(0x06, [0x55, 0x04, 0x03]) + tlv(0x0C, Array("CA".utf8)))))
        let time = tlv(0x17, Array("250101000000Z".utf8))
        for version in [[0x7F] + [UInt8](repeating: 0xFF, count: 19), [0x80] + [UInt8](repeating: 0, count: 8), [0xFF]] {
            let tbs = tlv(0x30, tlv(0x02, version) + algorithm + name + time + time)
            let bytes = tlv(0x30, tbs + algorithm + tlv(0x03, [0, 1]))
            #expect(throws: (any Error).self) { try CertificateRevocationList(derEncoded: bytes) }
        }
    }

    @Test func deeplyNestedDERIsRejected() {
        var bytes: [UInt8] = [0x05, 0x00]
        for _ in 0..<2_000 { bytes = [0x30] + [0x82, UInt8(bytes.count >> 8), UInt8(bytes.count & 0xFF)] + bytes }
        #expect(throws: (any Error).self) { try CertificateLoader.load(bytes) }
        #expect(throws: (any Error).self) { try CertificateRevocationList(derEncoded: bytes) }
    }
}
