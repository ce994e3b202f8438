import Foundation
import Testing

@testable import Policies

/// A backend that numbers its answers, so a test sees whether a response came from it or from the cache.
final class CountingBackend: PolicyBackend, @unchecked Sendable {
    private let lock = NSLock()
    private var calls = 0
    let status: Int
    let extraHeaders: [PolicyHeader]
    init(status: Int = 200, headers: [PolicyHeader] = []) {
        self.status = status
        extraHeaders = headers
    }
    var count: Int { lock.withLock { calls } }
    func send(_ request: BackendRequest) async throws -> BackendResponse {
        let number = lock.withLock { () -> Int in
            calls += 1
            return calls
        }
        return BackendResponse(status: status, headers: [PolicyHeader("Content-Type", "text/plain")] + extraHeaders, body: BufferedBody("answer \(number)"))
    }
}

@Suite struct ResponseCacheRuntimeTests {
    static func xml(lookup: String = "", store: String = "duration=\"60\"", vary: String = "<vary-by-query-parameter>version;lang</vary-by-query-parameter>") -> String {
        document(
            inbound: "<cache-lookup vary-by-developer=\"false\" vary-by-developer-groups=\"false\" \(lookup)>\(vary)</cache-lookup>",
            outbound: "<cache-store \(store) />")
    }

    static func get(_ pipeline: PolicyPipeline, _ backend: CountingBackend, method: String = "GET", query: [(name: String, value: String)] = [],
                    headers: [PolicyHeader] = []) async -> PolicyResult {
        await pipeline.run(request(method: method, query: query, headers: headers), backend: backend)
    }

    @Test func aStoredResponseIsServedWithoutTheBackend() async throws {
        let built = try pipeline(Self.xml(), options: PolicyPipelineOptions(cache: InternalPolicyCache()))
        let backend = CountingBackend(headers: [PolicyHeader("Set-Cookie", "session=1"), PolicyHeader("X-Kept", "yes")])
        #expect(await Self.get(built, backend).bodyText == "answer 1")
        let cached = await Self.get(built, backend)
        #expect(cached.bodyText == "answer 1")
        #expect(cached.header("X-Kept") == "yes")
        #expect(cached.header("Set-Cookie") == nil)  // never replayed to another client
        #expect(backend.count == 1)
        // The vary-by-query-parameter values are part of the key (both names of "version;lang").
        #expect(await Self.get(built, backend, query: [("version", "2")]).bodyText == "answer 2")
        #expect(await Self.get(built, backend, query: [("version", "2")]).bodyText == "answer 2")
        #expect(await Self.get(built, backend, query: [("version", "2"), ("lang", "fr")]).bodyText == "answer 3")
        // Another query parameter is not (same entry as the plain GET).
        #expect(await Self.get(built, backend, query: [("other", "x")]).bodyText == "answer 1")
        #expect(backend.count == 3)
    }

    @Test func onlyGETsWithoutAuthorizationUnlessAllowed() async throws {
        let built = try pipeline(Self.xml(), options: PolicyPipelineOptions(cache: InternalPolicyCache()))
        let backend = CountingBackend()
        _ = await Self.get(built, backend, method: "POST")
        #expect(await Self.get(built, backend, method: "POST").bodyText == "answer 2")
        let token = [PolicyHeader("Authorization", "Bearer a")]
        _ = await Self.get(built, backend, headers: token)
        #expect(await Self.get(built, backend, headers: token).bodyText == "answer 4")
        let allowed = try pipeline(
            Self.xml(lookup: "allow-private-response-caching=\"true\"", vary: "<vary-by-header>Authorization</vary-by-header>"),
            options: PolicyPipelineOptions(cache: InternalPolicyCache()))
        let second = CountingBackend()
        _ = await Self.get(allowed, second, headers: token)
        #expect(await Self.get(allowed, second, headers: token).bodyText == "answer 1")
        #expect(await Self.get(allowed, second, headers: [PolicyHeader("Authorization", "Bearer b")]).bodyText == "answer 2")
    }

    @Test func onlyOKIsStoredUnlessCacheResponse() async throws {
        let built = try pipeline(Self.xml(), options: PolicyPipelineOptions(cache: InternalPolicyCache()))
        let failing = CountingBackend(status: 503)
        _ = await Self.get(built, failing)
        #expect(await Self.get(built, failing).bodyText == "answer 2")
        let always = try pipeline(Self.xml(store: "duration=\"60\" cache-response=\"true\""), options: PolicyPipelineOptions(cache: InternalPolicyCache()))
        let other = CountingBackend(status: 404)
        _ = await Self.get(always, other)
        let cached = await Self.get(always, other)
        #expect(cached.status == 404)
        #expect(cached.bodyText == "answer 1")
    }

    @Test func downstreamCachingAndExpiry() async throws {
        let clock = ManualClock()
        let cache = InternalPolicyCache(clock: { clock.read() })
        let built = try pipeline(Self.xml(lookup: "downstream-caching-type=\"public\" must-revalidate=\"false\"", store: "duration=\"30\""),
                                 options: PolicyPipelineOptions(cache: cache))
        let backend = CountingBackend()
        let first = await Self.get(built, backend)
        #expect(first.header("Cache-Control") == "public, max-age=30")
        let private_ = try pipeline(Self.xml(lookup: "downstream-caching-type=\"private\""), options: PolicyPipelineOptions(cache: InternalPolicyCache()))
        #expect(await Self.get(private_, CountingBackend()).header("Cache-Control") == "private, max-age=60, must-revalidate")
        let none = try pipeline(Self.xml(), options: PolicyPipelineOptions(cache: InternalPolicyCache()))
        #expect(await Self.get(none, CountingBackend()).header("Cache-Control") == nil)
        clock.advance(31)
        #expect(await Self.get(built, backend).bodyText == "answer 2")
    }

    @Test func loadErrors() {
        #expect(Self.errors("<cache-lookup vary-by-developer=\"false\" />").contains { $0.contains("requires the attribute 'vary-by-developer-groups'") })
        #expect(Self.errors("<cache-lookup vary-by-developer=\"false\" vary-by-developer-groups=\"false\" downstream-caching-type=\"shared\" />")
            .contains { $0.contains("downstream-caching-type") })
        #expect(Self.errors("<cache-lookup vary-by-developer=\"false\" vary-by-developer-groups=\"false\"><vary-by-body /></cache-lookup>")
            .contains { $0.contains("unexpected element '<vary-by-body>'") })
        #expect(PoliciesTests.loadErrors("<cache-store duration=\"60\" />", section: .inbound).contains { $0.contains("not allowed in '<inbound>'") })
        #expect(PoliciesTests.loadErrors("<cache-store />", section: .outbound).contains { $0.contains("requires the attribute 'duration'") })
    }

    static func errors(_ statement: String) -> [String] { PoliciesTests.loadErrors(statement) }
}
