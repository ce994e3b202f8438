import ClientCertificates
import Foundation
import Synchronization
import Testing
import X509

/// A fake distribution point: serves fixed bytes, or fails, and counts requests.
final class FakeCRLFetcher: CRLFetcher {
    let body: [UInt8]?
    private let counter = Mutex(0)
    init(body: [UInt8]?) { self.body = body }
    var requests: Int { counter.withLock { $0 } }

    func fetchCRL(from url: String, timeout: Duration) async throws -> [UInt8] {
        counter.withLock { $0 += 1 }
        guard let body else { throw FetchFailure.connectionRefused }
        return body
    }
    enum FetchFailure: Error { case connectionRefused }
}

/// Never answers (ignores cancellation): the cache's own timeout must end the wait.
struct HangingFetcher: CRLFetcher {
    func fetchCRL(from url: String, timeout: Duration) async throws -> [UInt8] {
        while true { try? await Task.sleep(for: .seconds(3600)) }
    }
}

@Suite struct RevocationTests {
    let url = "http://crl.test/root.crl"

    func context(root: TestPKI.Issued, sources: RevocationSources, mode: RevocationFailureMode = .failClosed) throws -> VerificationContext {
        VerificationContext(
            trustStore: TrustStore(version: 1, roots: [root.wrapped]), revocation: sources,
            options: VerificationOptions(validationTime: TestPKI.now, revocationFailureMode: mode))
    }

    @Test func revokedLeafRefusedByVerifyAcceptedByVerifyNoRevocation() async throws {
        let root = try TestPKI.root()
        let leaf = try TestPKI.leaf(issuer: root, serial: 4242, crlURL: url)
        let crl = try CertificateRevocationList(derEncoded: try TestPKI.crl(issuer: root, revoked: [4242]))
        let context = try context(root: root, sources: RevocationSources(store: try CRLStore(version: 1, crls: [crl])))
        let verified = await leaf.wrapped.verify(with: context)
        #expect(verified.reason == .revoked)
        #expect(verified.failure?.kind == .revoked)
        let noRevocation = await leaf.wrapped.verifyNoRevocation(with: context)
        #expect(noRevocation.isValid, "\(noRevocation.message)")
    }

    @Test func fetchedCRLIsUsedAndCached() async throws {
        let root = try TestPKI.root()
        let leaf = try TestPKI.leaf(issuer: root, serial: 7, crlURL: url)
        let fetcher = FakeCRLFetcher(body: try TestPKI.crl(issuer: root, revoked: [7]))
        let cache = CRLCache(fetcher: fetcher)
        let context = try context(root: root, sources: RevocationSources(cache: cache))
        #expect(await leaf.wrapped.verify(with: context).reason == .revoked)
        #expect(await leaf.wrapped.verify(with: context).reason == .revoked)
        #expect(fetcher.requests == 1)
        let good = try TestPKI.leaf(issuer: root, serial: 8, crlURL: url)
        #expect(await good.wrapped.verify(with: context).isValid)
    }

    @Test func fetcherDownFailClosedRefusesFailOpenAccepts() async throws {
        let root = try TestPKI.root()
        let leaf = try TestPKI.leaf(issuer: root, crlURL: url)
        let sources = RevocationSources(cache: CRLCache(fetcher: FakeCRLFetcher(body: nil)))
        let closed = await leaf.wrapped.verify(with: try context(root: root, sources: sources))
        #expect(closed.failure?.kind == .revocationStatusUnknown)
        #expect(closed.reason == .revocationUnknown)
        #expect(closed.reason?.rawValue == "ClientCertificateRevocationUnknown")
        let open = await leaf.wrapped.verify(with: try context(root: root, sources: sources, mode: .failOpen))
        #expect(open.isValid, "\(open.message)")
    }

    /// fail-open decides only an unknown status: a revoked certificate is refused in either mode.
    @Test(arguments: [RevocationFailureMode.failClosed, .failOpen])
    func revokedIsRefusedWhateverTheFailureMode(_ mode: RevocationFailureMode) async throws {
        let root = try TestPKI.root()
        let leaf = try TestPKI.leaf(issuer: root, serial: 31, crlURL: url)
        let crl = try CertificateRevocationList(derEncoded: try TestPKI.crl(issuer: root, revoked: [31]))
        let result = await leaf.wrapped.verify(
            with: try context(root: root, sources: RevocationSources(store: try CRLStore(version: 1, crls: [crl])), mode: mode))
        #expect(result.reason == .revoked)
        #expect(result.failure?.kind == .revoked)
    }

    /// Two tiers (root → intermediate → leaf), `scope: chain`: the intermediate's status needs the
    /// root's CRL. Without it the verdict is "unknown" (naming the intermediate), never "revoked";
    /// with the root's CRL configured (a file) the chain is valid.
    @Test func twoTierChainWithoutTheRootsCRLIsUnknownNotRevoked() async throws {
        let root = try TestPKI.root()
        let intermediate = try TestPKI.intermediate("Test Issuing CA", issuer: root)
        let leaf = try TestPKI.leaf(issuer: intermediate, serial: 12)
        let intermediateCRL = try CertificateRevocationList(derEncoded: try TestPKI.crl(issuer: intermediate, revoked: []))
        var context = try context(root: root, sources: RevocationSources(store: try CRLStore(version: 1, crls: [intermediateCRL])))
        let unknown = await leaf.wrapped.verify(with: context, presented: [intermediate.wrapped])
        #expect(unknown.reason == .revocationUnknown)
        #expect(unknown.message.contains("Test Issuing CA"), "\(unknown.message)")
        let rootCRL = try CertificateRevocationList(derEncoded: try TestPKI.crl(issuer: root, revoked: []))
        context.revocation = RevocationSources(store: try CRLStore(version: 2, crls: [intermediateCRL, rootCRL]))
        let valid = await leaf.wrapped.verify(with: context, presented: [intermediate.wrapped])
        #expect(valid.isValid, "\(valid.message)")
        context.options.revocationScope = .leaf
        context.revocation = RevocationSources(store: try CRLStore(version: 3, crls: [intermediateCRL]))
        #expect(await leaf.wrapped.verify(with: context, presented: [intermediate.wrapped]).isValid)
    }

    @Test func hangingFetcherTimesOut() async throws {
        let root = try TestPKI.root()
        let leaf = try TestPKI.leaf(issuer: root, crlURL: url)
        let cache = CRLCache(fetcher: HangingFetcher(), configuration: .init(timeout: .milliseconds(100)))
        let start = ContinuousClock.now
        let result = await leaf.wrapped.verify(with: try context(root: root, sources: RevocationSources(cache: cache)))
        #expect(result.failure?.kind == .revocationStatusUnknown)
        #expect(ContinuousClock.now - start < .seconds(5))
    }

    @Test func badCRLSignatureIsRejected() async throws {
        let root = try TestPKI.root()
        let leaf = try TestPKI.leaf(issuer: root, serial: 99)
        let forged = try CertificateRevocationList(
            derEncoded: try TestPKI.crl(issuer: root, revoked: [], signer: TestPKI.root("Mallory").key))
        #expect(!forged.isSignatureValid(publicKey: root.certificate.publicKey))
        let context = try context(root: root, sources: RevocationSources(store: try CRLStore(version: 1, crls: [forged])))
        let result = await leaf.wrapped.verify(with: context)
        #expect(result.failure?.kind == .revocationStatusUnknown)
        #expect(result.message.contains("signature"))
    }

    @Test func staleCRLIsNotUsed() async throws {
        let root = try TestPKI.root()
        let leaf = try TestPKI.leaf(issuer: root)
        let stale = try CertificateRevocationList(derEncoded: try TestPKI.crl(
            issuer: root, revoked: [], thisUpdate: TestPKI.now - 30 * TestPKI.day, nextUpdate: TestPKI.now - TestPKI.day))
        let result = await leaf.wrapped.verify(
            with: try context(root: root, sources: RevocationSources(store: try CRLStore(version: 1, crls: [stale]))))
        #expect(result.failure?.kind == .revocationStatusUnknown)
        #expect(result.reason == .revocationUnknown)
    }

    @Test(arguments: [[UInt8](), [0x30, 0x03, 0x02, 0x01], Array("garbage".utf8)])
    func malformedCRLsAreErrors(_ bytes: [UInt8]) {
        #expect(throws: CRLError.self) { try CertificateRevocationList(bytes: bytes) }
    }

    @Test func crlLookupUsesIndexedSerials() throws {
        let root = try TestPKI.root()
        let serials: [Certificate.SerialNumber] = (1...500).map { Certificate.SerialNumber(UInt64($0) * 7919) }
        let crl = try CertificateRevocationList(derEncoded: try TestPKI.crl(issuer: root, revoked: serials))
        #expect(crl.revokedCount == 500)
        #expect(crl.entry(forSerial: serials[250].bytes) != nil)
        #expect(crl.entry(forSerial: Certificate.SerialNumber(UInt64(3)).bytes) == nil)
        #expect(crl.isSignatureValid(publicKey: root.certificate.publicKey))
    }
}

/// Counts fetches in flight at once and answers after a short delay.
final class SlowCountingFetcher: CRLFetcher {
    let body: [UInt8]
    private let state = Mutex((inFlight: 0, peak: 0, total: 0))
    init(body: [UInt8]) { self.body = body }
    var peak: Int { state.withLock { $0.peak } }
    var total: Int { state.withLock { $0.total } }

    func fetchCRL(from url: String, timeout: Duration) async throws -> [UInt8] {
        state.withLock { $0.inFlight += 1; $0.total += 1; $0.peak = max($0.peak, $0.inFlight) }
        try? await Task.sleep(for: .milliseconds(30))
        state.withLock { $0.inFlight -= 1 }
        return body
    }
}

@Suite struct CRLCacheTests {
    @Test func concurrentRequestsForOneURLShareOneFetch() async throws {
        let root = try TestPKI.root()
        let fetcher = SlowCountingFetcher(body: try TestPKI.crl(issuer: root, revoked: []))
        let cache = CRLCache(fetcher: fetcher)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<20 { group.addTask { _ = await cache.crl(for: "http://crl.test/one", now: TestPKI.now) } }
        }
        #expect(fetcher.total == 1)
    }

    @Test func fetchConcurrencyIsBounded() async throws {
        let root = try TestPKI.root()
        let fetcher = SlowCountingFetcher(body: try TestPKI.crl(issuer: root, revoked: []))
        let cache = CRLCache(fetcher: fetcher, configuration: .init(maxConcurrentFetches: 2))
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<8 { group.addTask { _ = await cache.crl(for: "http://crl.test/\(index)", now: TestPKI.now) } }
        }
        #expect(fetcher.total == 8)
        #expect(fetcher.peak <= 2)
    }

    @Test func refreshesBeforeNextUpdate() async throws {
        let root = try TestPKI.root()
        let fetcher = SlowCountingFetcher(body: try TestPKI.crl(
            issuer: root, revoked: [], thisUpdate: TestPKI.now - TestPKI.day, nextUpdate: TestPKI.now + 3600))
        let cache = CRLCache(fetcher: fetcher, configuration: .init(refreshMargin: 600))
        _ = await cache.crl(for: "http://crl.test/r", now: TestPKI.now)
        _ = await cache.crl(for: "http://crl.test/r", now: TestPKI.now + 1000)  // still fresh
        #expect(fetcher.total == 1)
        _ = await cache.crl(for: "http://crl.test/r", now: TestPKI.now + 3100)  // inside the margin
        #expect(fetcher.total == 2)
    }

    @Test func oversizedCRLIsRefused() async throws {
        let root = try TestPKI.root()
        let fetcher = SlowCountingFetcher(body: try TestPKI.crl(issuer: root, revoked: Array(1...50).map { Certificate.SerialNumber($0) }))
        let cache = CRLCache(fetcher: fetcher, configuration: .init(maxCRLBytes: 512))
        guard case .failure(.invalid) = await cache.crl(for: "http://crl.test/big", now: TestPKI.now) else {
            Issue.record("an oversized CRL was accepted")
            return
        }
    }

    @Test func verificationCacheIsSafeUnderConcurrency() async throws {
        let root = try TestPKI.root()
        let leaves = try (0..<8).map { _ in try TestPKI.leaf(issuer: root).wrapped }
        let cache = VerificationCache(capacity: 4)
        let context = VerificationContext(
            trustStore: TrustStore(version: 1, roots: [root.wrapped]),
            options: VerificationOptions(validationTime: TestPKI.now, checkRevocation: false), cache: cache)
        let results = await withTaskGroup(of: Bool.self, returning: [Bool].self) { group in
            for index in 0..<64 { group.addTask { await leaves[index % leaves.count].verify(with: context).isValid } }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.allSatisfy { $0 })
        #expect(cache.count <= 4)
    }
}
