import ClientCertificates
import SwiftASN1
import Testing

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

    @Test func deeplyNestedDERIsRejected() {
        var bytes: [UInt8] = [0x05, 0x00]
        for _ in 0..<2_000 { bytes = [0x30] + [0x82, UInt8(bytes.count >> 8), UInt8(bytes.count & 0xFF)] + bytes }
        #expect(throws: (any Error).self) { try CertificateLoader.load(bytes) }
        #expect(throws: (any Error).self) { try CertificateRevocationList(derEncoded: bytes) }
    }
}
