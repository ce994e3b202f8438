import ClientCertificates
import Crypto
import Foundation
import SwiftASN1
import Testing
import X509

/// The client chooses the chain it presents; what it costs to verify must be bounded whatever it
/// contains (security issue: x509-limbo's pathological chains took seconds of CPU per `Verify()`).
@Suite struct ChainBuildingLimitsTests {
    func context(roots: [TestPKI.Issued], options: VerificationOptions = .init(checkRevocation: false)) -> VerificationContext {
        var options = options
        options.validationTime = TestPKI.now
        return VerificationContext(trustStore: TrustStore(version: 1, roots: roots.map(\.wrapped)), options: options)
    }

    /// A CA certificate with the given subject/issuer names and key, signed by `signer`.
    func ca(
        subject: String, issuer: String, key: P256.Signing.PrivateKey, signer: P256.Signing.PrivateKey, san: String? = nil
    ) throws -> TestPKI.Issued {
        var extensions = try Certificate.Extensions {
            Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
            Critical(KeyUsage(keyCertSign: true, cRLSign: true))
        }
        if let san { try extensions.append(try SubjectAlternativeNames([.dnsName(san)]).makeCertificateExtension()) }
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey), notValidBefore: TestPKI.now - 30 * TestPKI.day,
            notValidAfter: TestPKI.now + 300 * TestPKI.day, issuer: try TestPKI.name(issuer), subject: try TestPKI.name(subject),
            signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions, issuerPrivateKey: .init(signer))
        return TestPKI.Issued(certificate: certificate, key: key)
    }

    /// x509-limbo `pathological::pathological-chain-same-subject-distinct-key`: `count` CAs named
    /// "ICA", each signed by the previous one (the first self-signed), and a leaf under the last;
    /// nothing chains to the trusted root.
    func sameSubjectDistinctKeyChain(count: Int) throws -> (leaf: TestPKI.Issued, intermediates: [TestPKI.Issued]) {
        var intermediates: [TestPKI.Issued] = []
        var signer = P256.Signing.PrivateKey()
        for index in 0..<count {
            let key = index == 0 ? signer : P256.Signing.PrivateKey()
            intermediates.append(try ca(subject: "ICA", issuer: "ICA", key: key, signer: signer))
            signer = key
        }
        let leaf = try TestPKI.leaf(issuer: intermediates[count - 1])
        return (leaf, intermediates)
    }

    @Test func anOverlongPresentedChainIsRefusedWithASpecificReason() async throws {
        let root = try TestPKI.root()
        let (leaf, intermediates) = try sameSubjectDistinctKeyChain(count: 100)
        let result = await leaf.wrapped.verify(with: context(roots: [root]), presented: intermediates.map(\.wrapped))
        #expect(result.failure?.kind == .presentedChainTooLong)
        #expect(result.reason == .notTrusted)
        #expect(result.message == "The client presented 101 certificates; at most 10 (leaf included) are accepted.")
        // Synchronous callers get the same answer without any verification having run.
        #expect(ChainVerifier.cachedResult(leaf: leaf.wrapped, presented: intermediates.map(\.wrapped), context: context(roots: [root]))?.failure?.kind == .presentedChainTooLong)
        #expect(ChainVerifier.presentedChainRefusal(count: 10, options: VerificationOptions()) == nil)
        #expect(ChainVerifier.presentedChainRefusal(count: 11, options: VerificationOptions())?.failure?.kind == .presentedChainTooLong)
    }

    @Test func aChainOfTheMaximumLengthStillVerifies() async throws {
        let root = try TestPKI.root()
        var issuer = root
        var intermediates: [TestPKI.Issued] = []
        for index in 0..<9 {
            issuer = try TestPKI.intermediate("ICA \(index)", issuer: issuer)
            intermediates.append(issuer)
        }
        let leaf = try TestPKI.leaf(issuer: issuer)
        var options = VerificationOptions(maxDepth: 9, checkRevocation: false)
        let result = await leaf.wrapped.verify(with: context(roots: [root], options: options), presented: intermediates.reversed().map(\.wrapped))
        #expect(result.isValid, "\(result.message)")
        #expect(result.chain.count == 11)
        options.maxPresentedCertificates = 9
        let shorter = await leaf.wrapped.verify(with: context(roots: [root], options: options), presented: intermediates.map(\.wrapped))
        #expect(shorter.failure?.kind == .presentedChainTooLong)
    }

    /// With the length limit raised, the same-subject chain still ends quickly: the path builder is
    /// offered at most `maxPathBuildingCandidates` issuers (it would otherwise check 100 × 100
    /// signatures), and the verdict stays a failure with its own reason.
    @Test func sameSubjectIntermediatesExhaustTheBudgetNotTheCPU() async throws {
        let root = try TestPKI.root()
        let (leaf, intermediates) = try sameSubjectDistinctKeyChain(count: 100)
        var options = VerificationOptions(checkRevocation: false)
        options.maxPresentedCertificates = 1_000
        let result = await leaf.wrapped.verify(with: context(roots: [root], options: options), presented: intermediates.map(\.wrapped))
        #expect(result.failure?.kind == .pathBuildingLimitExceeded)
        #expect(result.reason == .notTrusted)
        #expect(result.message.contains("stopped after 100 candidate issuer certificates (limit 128)"), "\(result.message)")
    }

    /// Certificates sharing subject and key but differing in their SAN all verify each other and are
    /// distinct to swift-certificates' loop detection, so a search through n of them visits every
    /// ordering (n! paths): 6 of them, within the length limit, meant ~2,000 partial chains and
    /// ~12,000 signature checks per verification before the budget.
    @Test func sameKeyCertificatesCannotMakeTheSearchFactorial() async throws {
        let root = try TestPKI.root()
        let key = P256.Signing.PrivateKey()
        let loop = try (0..<6).map { try ca(subject: "Loop CA", issuer: "Loop CA", key: key, signer: key, san: "ca\($0).example") }
        let leaf = try TestPKI.leaf(issuer: loop[0])
        let result = await leaf.wrapped.verify(with: context(roots: [root]), presented: loop.map(\.wrapped))
        #expect(result.failure?.kind == .pathBuildingLimitExceeded, "\(result.message)")
        #expect(result.message.contains("(limit 128)"))
    }

    @Test func theBudgetCountsEveryCandidateIssuer() async throws {
        let root = try TestPKI.root()
        let ica = try TestPKI.intermediate("ICA", issuer: root)
        let leaf = try TestPKI.leaf(issuer: ica)
        var options = VerificationOptions(checkRevocation: false)
        // Leaf → ICA (one intermediate candidate), ICA → root (one root candidate).
        options.maxPathBuildingCandidates = 2
        let enough = await leaf.wrapped.verify(with: context(roots: [root], options: options), presented: [ica.wrapped])
        #expect(enough.isValid, "\(enough.message)")
        options.maxPathBuildingCandidates = 1
        let short = await leaf.wrapped.verify(with: context(roots: [root], options: options), presented: [ica.wrapped])
        #expect(short.failure?.kind == .pathBuildingLimitExceeded)
        #expect(short.message.contains("stopped after 1 candidate issuer certificates (limit 1)"), "\(short.message)")
    }
}
