import ClientCertificates
import Crypto
import Foundation
import SwiftASN1
import Testing
import X509

@Suite struct ChainVerificationTests {
    func context(
        roots: [TestPKI.Issued], intermediates: [TestPKI.Issued] = [], options: VerificationOptions = .init(checkRevocation: false)
    ) throws -> VerificationContext {
        var options = options
        options.validationTime = options.validationTime ?? TestPKI.now
        return VerificationContext(
            trustStore: TrustStore(version: 1, roots: roots.map(\.wrapped), intermediates: intermediates.map(\.wrapped)),
            options: options)
    }

    @Test func validChainThroughPresentedIntermediate() async throws {
        let root = try TestPKI.root()
        let ica = try TestPKI.intermediate("ICA", issuer: root)
        let leaf = try TestPKI.leaf(issuer: ica)
        let result = await leaf.wrapped.verify(with: try context(roots: [root]), presented: [ica.wrapped])
        #expect(result.isValid, "\(result.message)")
        #expect(result.chain.map(\.subject) == ["O=Drawbridge Tests, CN=client.example", "O=Drawbridge Tests, CN=ICA", "O=Drawbridge Tests, CN=Test Root"])
    }

    @Test func missingIntermediateIsSuppliedByCAStore() async throws {
        let root = try TestPKI.root()
        let ica = try TestPKI.intermediate("ICA", issuer: root)
        let leaf = try TestPKI.leaf(issuer: ica)
        let without = await leaf.wrapped.verify(with: try context(roots: [root]))
        #expect(without.reason == .notTrusted)
        let with = await leaf.wrapped.verify(with: try context(roots: [root], intermediates: [ica]))
        #expect(with.isValid, "\(with.message)")
    }

    @Test func unknownCAIsNotTrusted() async throws {
        let root = try TestPKI.root()
        let other = try TestPKI.root("Other Root")
        let leaf = try TestPKI.leaf(issuer: other)
        let result = await leaf.wrapped.verify(with: try context(roots: [root]))
        #expect(result.reason == .notTrusted)
        #expect(result.failure?.kind == .noPathToTrustedRoot)
    }

    @Test func expiredLeaf() async throws {
        let root = try TestPKI.root()
        let leaf = try TestPKI.leaf(issuer: root, notBefore: TestPKI.now - 100 * TestPKI.day, notAfter: TestPKI.now - TestPKI.day)
        let result = await leaf.wrapped.verify(with: try context(roots: [root]))
        #expect(result.reason == .expired)
    }

    @Test func notYetValidLeaf() async throws {
        let root = try TestPKI.root()
        let leaf = try TestPKI.leaf(issuer: root, notBefore: TestPKI.now + TestPKI.day, notAfter: TestPKI.now + 100 * TestPKI.day)
        let result = await leaf.wrapped.verify(with: try context(roots: [root]))
        #expect(result.reason == .notYetValid)
    }

    @Test func wrongEKUIsRefusedUnlessConfigured() async throws {
        let root = try TestPKI.root()
        let leaf = try TestPKI.leaf(issuer: root, usage: .serverAuth)
        let refused = await leaf.wrapped.verify(with: try context(roots: [root]))
        #expect(refused.reason == .notTrusted)
        #expect(refused.failure?.kind == .extendedKeyUsage)
        let accepted = await leaf.wrapped.verify(
            with: try context(roots: [root], options: .init(requiredUsage: .serverAuth, checkRevocation: false)))
        #expect(accepted.isValid, "\(accepted.message)")
    }

    @Test func tooDeepChainIsRefused() async throws {
        let root = try TestPKI.root()
        var issuers = [root]
        for index in 0..<3 { issuers.append(try TestPKI.intermediate("ICA \(index)", issuer: issuers[index])) }
        let leaf = try TestPKI.leaf(issuer: issuers[3])
        let presented = issuers.dropFirst().map(\.wrapped)
        let shallow = await leaf.wrapped.verify(
            with: try context(roots: [root], options: .init(maxDepth: 2, checkRevocation: false)), presented: presented)
        #expect(shallow.failure?.kind == .chainTooDeep)
        let deep = await leaf.wrapped.verify(with: try context(roots: [root]), presented: presented)
        #expect(deep.isValid, "\(deep.message)")
    }

    @Test func cacheReturnsTheSameAnswerAndCountsHits() async throws {
        let root = try TestPKI.root()
        let leaf = try TestPKI.leaf(issuer: root)
        var context = try context(roots: [root])
        let cache = VerificationCache(capacity: 2)
        context.cache = cache
        let first = await leaf.wrapped.verify(with: context)
        let second = await leaf.wrapped.verify(with: context)
        #expect(first == second)
        #expect(cache.statistics.hits == 1)
        for _ in 0..<3 { _ = try await TestPKI.leaf(issuer: root).wrapped.verify(with: context) }
        #expect(cache.count <= 2)
    }

    @Test func storesAreKeyedAndScoped() throws {
        let root = try TestPKI.root()
        let partnerRoot = try TestPKI.root("Partner Root")
        let store = CACertificateStore(version: 3, entries: [
            .init(certificate: root.wrapped, storeName: .root),
            .init(certificate: partnerRoot.wrapped, storeName: .root, hostnames: ["partner.example.com"]),
        ])
        #expect(store.trustStore(forHost: "api.example.com").roots.count == 1)
        #expect(store.trustStore(forHost: "PARTNER.example.com").roots.count == 2)
        let deployment = DeploymentCertificateStore(version: 1, certificates: [(id: "root-cert", certificate: root.wrapped)])
        #expect(deployment[root.wrapped.thumbprint]?.subject == "O=Drawbridge Tests, CN=Test Root")
        #expect(deployment.certificate(id: "root-cert") != nil)
        #expect(deployment[root.wrapped.thumbprint.lowercased()] == nil)
    }
}

@Suite struct CertificateToolTests {
    func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("drawbridge-cert-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let url = directory.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    @Test func certcheckGivesVerdictReasonAndExitStatus() async throws {
        let root = try TestPKI.root()
        let ica = try TestPKI.intermediate("ICA", issuer: root)
        let leaf = try TestPKI.leaf(issuer: ica, serial: 77)
        let rootPath = try write(root.der, "root.der")
        let icaPath = try write(ica.der, "ica.der")
        let leafPath = try write(leaf.der, "leaf.der")
        var request = CertificateCheckRequest(
            trustedPaths: [rootPath], untrustedPaths: [icaPath], leafPath: leafPath, time: "2026-05-28T00:00:00Z")
        let valid = try await CertificateCheck.run(request)
        #expect(valid.exitCode == 0)
        #expect(valid.output.hasPrefix("VALID"))

        request.crlPaths = [try write(try TestPKI.crl(issuer: ica, revoked: [77]), "ica.crl"), try write(try TestPKI.crl(issuer: root, revoked: []), "root.crl")]
        request.json = true
        let revoked = try await CertificateCheck.run(request)
        #expect(revoked.exitCode == 1)
        #expect(revoked.output.contains("\"reason\" : \"ClientCertificateRevoked\""))

        request.eku = "bogus"
        await #expect(throws: CertificateToolError.self) { try await CertificateCheck.run(request) }
    }

    @Test func inspectPrintsDotNetFieldsAndExtras() throws {
        let root = try TestPKI.root()
        let leaf = try TestPKI.leaf(issuer: root, sans: [.dnsName("api.example.com")], crlURL: "http://crl.example.com/r.crl")
        let text = try CertificateInspection.inspect(path: try write(leaf.der, "leaf.der"))
        #expect(text.contains("[Thumbprint]\n  \(leaf.wrapped.thumbprint)"))
        #expect(text.contains("DNS:api.example.com"))
        #expect(text.contains("URI:http://crl.example.com/r.crl"))
        #expect(text.contains("Client Authentication (1.3.6.1.5.5.7.3.2)"))
        #expect(text.contains(leaf.wrapped.spkiSHA256))
    }

    @Test func cachedResultIsAvailableSynchronouslyAfterVerify() async throws {
        let root = try TestPKI.root()
        let leaf = try TestPKI.leaf(issuer: root).wrapped
        let context = VerificationContext(
            trustStore: TrustStore(version: 1, roots: [root.wrapped]),
            options: VerificationOptions(validationTime: TestPKI.now, checkRevocation: false), cache: VerificationCache())
        #expect(ChainVerifier.cachedResult(leaf: leaf, context: context) == nil)
        let result = await leaf.verify(with: context)
        #expect(ChainVerifier.cachedResult(leaf: leaf, context: context) == result)
    }
}

@Suite struct TrustedLeafTests {
    @Test func aTrustedSelfSignedLeafStillNeedsTheUsage() async throws {
        let root = try TestPKI.root("Self Signed Client")
        let context = VerificationContext(
            trustStore: TrustStore(version: 1, roots: [root.wrapped]),
            options: VerificationOptions(requiredUsage: .oid("1.2.3.4"), validationTime: TestPKI.now, checkRevocation: false))
        // The root-shaped certificate has no EKU extension, so any usage is allowed...
        #expect(await root.wrapped.verify(with: context).isValid)
        // ...while a trusted leaf with clientAuth only is refused for another usage.
        let issuer = try TestPKI.root("Issuer")
        let leaf = try TestPKI.leaf(issuer: issuer)
        let leafContext = VerificationContext(
            trustStore: TrustStore(version: 1, roots: [leaf.wrapped]),
            options: VerificationOptions(requiredUsage: .serverAuth, validationTime: TestPKI.now, checkRevocation: false))
        #expect(await leaf.wrapped.verify(with: leafContext).failure?.kind == .extendedKeyUsage)
    }
}

@Suite struct ProfileTests {
    @Test func leafWithoutAKIFailsStrictProfileButPassesCompatible() async throws {
        let root = try TestPKI.root()
        let key = P256.Signing.PrivateKey()
        let leaf = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey), notValidBefore: TestPKI.now - TestPKI.day,
            notValidAfter: TestPKI.now + TestPKI.day, issuer: root.certificate.subject, subject: try TestPKI.name("no-aki"),
            signatureAlgorithm: .ecdsaWithSHA256, extensions: Certificate.Extensions(), issuerPrivateKey: .init(root.key))
        let wrapped = try X509Certificate2(derEncoded: try DER.Serializer.serialized(leaf))
        var options = VerificationOptions(validationTime: TestPKI.now, checkRevocation: false)
        let strict = await wrapped.verify(with: VerificationContext(trustStore: TrustStore(version: 1, roots: [root.wrapped]), options: options))
        #expect(strict.failure?.kind == .invalidCertificate)
        #expect(strict.message.contains("authorityKeyIdentifier"))
        options.enforceRFC5280Profile = false
        let compatible = await wrapped.verify(with: VerificationContext(trustStore: TrustStore(version: 1, roots: [root.wrapped]), options: options))
        #expect(compatible.isValid, "\(compatible.message)")
    }
}

@Suite struct ScopedCacheTests {
    @Test func aResultCachedForOneHostIsNotReusedForAnother() async throws {
        let partnerRoot = try TestPKI.root("Partner Root")
        let leaf = try TestPKI.leaf(issuer: partnerRoot).wrapped
        let store = CACertificateStore(version: 9, entries: [
            .init(certificate: partnerRoot.wrapped, storeName: .root, hostnames: ["partner.example.com"])
        ])
        let cache = VerificationCache()
        func context(_ host: String) -> VerificationContext {
            VerificationContext(
                trustStore: store.trustStore(forHost: host),
                options: VerificationOptions(validationTime: TestPKI.now, checkRevocation: false), cache: cache)
        }
        #expect(await leaf.verify(with: context("partner.example.com")).isValid)
        #expect(await leaf.verify(with: context("api.example.com")).reason == .notTrusted)
    }
}
