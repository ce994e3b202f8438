import ClientCertificates
import Foundation
import Testing

@testable import Policies

/// A backend answering with the given statuses in turn (the last one repeats).
final class SequenceBackend: PolicyBackend, @unchecked Sendable {
    private let lock = NSLock()
    private var statuses: [Int]
    private var sent: [BackendRequest] = []
    init(_ statuses: [Int]) { self.statuses = statuses }
    var requests: [BackendRequest] { lock.withLock { sent } }
    func send(_ request: BackendRequest) async throws -> BackendResponse {
        let status = lock.withLock { () -> Int in
            sent.append(request)
            return statuses.count > 1 ? statuses.removeFirst() : statuses[0]
        }
        return BackendResponse(status: status)
    }
}

@Suite struct CounterPolicyRuntimeTests {
    @Test func rateLimitByKey() async throws {
        let xml = document(inbound: """
            <rate-limit-by-key calls="2" renewal-period="60" counter-key="@(context.Request.IpAddress)" remaining-calls-header-name="X-Remaining" total-calls-header-name="X-Total" />
            """)
        let built = try pipeline(xml)
        var statuses: [Int] = []
        var remaining: [String?] = []
        for _ in 0..<3 {
            let result = await built.run(request(clientIP: "10.1.1.1"), backend: RecordingBackend())
            statuses.append(result.status)
            remaining.append(result.header("X-Remaining"))
            if result.status == 429 {
                #expect(result.header("Retry-After").flatMap(Int.init).map { (1...60).contains($0) } == true)
                #expect(result.lastError?.reason == "RateLimitExceeded")
                #expect(result.bodyText?.hasPrefix("{\"statusCode\":429,\"message\":\"Rate limit is exceeded. Try again in ") == true)
            } else {
                #expect(result.header("X-Total") == "2")
            }
        }
        #expect(statuses == [200, 200, 429])
        #expect(remaining == ["1", "0", nil])
        // Another key has its own counter.
        let other = await built.run(request(clientIP: "10.1.1.2"), backend: RecordingBackend())
        #expect(other.status == 200)
    }

    @Test func incrementConditionIsDecidedOnTheResponse() async throws {
        let xml = document(inbound: """
            <rate-limit-by-key calls="1" renewal-period="60" counter-key="k" increment-condition="@(context.Response.StatusCode >= 500)" />
            """)
        let built = try pipeline(xml)
        for _ in 0..<3 {
            #expect(await built.run(request(), backend: RecordingBackend(status: 200)).status == 200)
        }
        #expect(await built.run(request(), backend: RecordingBackend(status: 502)).status == 502)
        #expect(await built.run(request(), backend: RecordingBackend(status: 200)).status == 429)
    }

    @Test func quotaByKey() async throws {
        let built = try pipeline(document(inbound: "<quota-by-key calls=\"1\" renewal-period=\"3600\" counter-key=\"k\" />"))
        #expect(await built.run(request(), backend: RecordingBackend()).status == 200)
        let over = await built.run(request(), backend: RecordingBackend())
        #expect(over.status == 403)
        #expect(over.lastError?.reason == "QuotaExceeded")
        #expect(over.lastError?.message.hasPrefix("Out of call volume quota. Quota will be replenished in 0") == true)
    }

    @Test func quotaByKeyBandwidthIsChargedTheBytesTheGatewayReports() async throws {
        // 1 KB = 1024 bytes; the gateway reports each request's bytes after its response.
        let built = try pipeline(document(inbound: "<quota-by-key bandwidth=\"1\" renewal-period=\"3600\" counter-key=\"k\" />"))
        #expect(built.countsBandwidth)
        func call(_ bytes: Int?) async -> PolicyResult {
            var given = request()
            let usage = RequestUsage()
            given.usage = usage
            let result = await built.run(given, backend: RecordingBackend())
            if let bytes { usage.finished(bytes: bytes) }
            return result
        }
        #expect(await call(600).status == 200)
        #expect(await call(nil).status == 200)  // never finished: nothing charged
        #expect(await call(424).status == 200)  // 1024 bytes used after it
        let over = await call(0)
        #expect(over.status == 403)
        #expect(over.lastError?.reason == "QuotaExceeded")
        #expect(over.bodyText?.hasPrefix("{\"statusCode\":403,\"message\":\"Out of bandwidth quota. Quota will be replenished in 0") == true,
                "\(over.bodyText ?? "")")
        #expect(over.header("Retry-After").flatMap(Int.init).map { (1...3600).contains($0) } == true)
        // Calls and bandwidth together: each limit refuses with its own message.
        let both = try pipeline(document(inbound: "<quota-by-key calls=\"1\" bandwidth=\"1000\" renewal-period=\"60\" counter-key=\"b\" />"))
        #expect(await both.run(request(), backend: RecordingBackend()).status == 200)
        #expect(await both.run(request(), backend: RecordingBackend()).lastError?.message.hasPrefix("Out of call volume quota.") == true)
    }

    @Test func quotaBandwidthWithAConditionChargesOnlyMatchingResponses() async throws {
        let built = try pipeline(document(inbound: """
            <quota-by-key bandwidth="1" renewal-period="60" counter-key="c" increment-condition="@(context.Response.StatusCode >= 500)" />
            """))
        func call(status: Int) async -> Int {
            var given = request()
            let usage = RequestUsage()
            given.usage = usage
            let result = await built.run(given, backend: RecordingBackend(status: status))
            usage.finished(bytes: 5000)
            return result.status
        }
        #expect(await call(status: 200) == 200)
        #expect(await call(status: 200) == 200)
        #expect(await call(status: 502) == 502)
        #expect(await call(status: 200) == 403)
    }

    @Test func retryUntilTheConditionIsFalse() async throws {
        let xml = document(backend: """
            <retry condition="@(context.Response.StatusCode >= 500)" count="3" interval="0">
                <forward-request />
            </retry>
            """)
        let backend = SequenceBackend([503, 502, 200])
        let built = try pipeline(xml)
        let result = await built.run(request(method: "POST"), body: BufferedBody("again"), backend: backend)
        #expect(result.status == 200)
        #expect(backend.requests.count == 3)
        for sent in backend.requests {
            guard case .bytes(let bytes) = sent.body else {
                Issue.record("a retried request is sent from memory")
                continue
            }
            #expect(bytes == Array("again".utf8))
        }
        let exhausted = SequenceBackend([500])
        let last = await built.run(request(), backend: exhausted)
        #expect(last.status == 500)
        #expect(exhausted.requests.count == 4)
        #expect(last.lastError == nil)
    }

    @Test func limitConcurrency() async throws {
        let counters = PolicyCounters()
        #expect(counters.enter("k", limit: 1))
        #expect(counters.enter("k", limit: 1) == false)
        counters.leave("k")
        #expect(counters.enter("k", limit: 1))
        let xml = document(backend: "<limit-concurrency key=\"@(context.Request.IpAddress)\" max-count=\"1\"><forward-request /></limit-concurrency>")
        let built = try pipeline(xml)
        for _ in 0..<2 {
            #expect(await built.run(request(), backend: RecordingBackend()).status == 200)
        }
    }
}

@Suite struct CORSRuntimeTests {
    static let policy = document(inbound: """
        <cors allow-credentials="true">
            <allowed-origins><origin>https://app.example</origin></allowed-origins>
            <allowed-methods preflight-result-max-age="300"><method>GET</method><method>PUT</method></allowed-methods>
            <allowed-headers><header>Content-Type</header><header>X-Key</header></allowed-headers>
            <expose-headers><header>X-Trace</header></expose-headers>
        </cors>
        """)

    @Test func preflightIsAnsweredByTheGateway() async throws {
        let (result, sent) = try await execute(Self.policy, request(method: "OPTIONS", headers: [
            PolicyHeader("Origin", "https://app.example"), PolicyHeader("Access-Control-Request-Method", "PUT"),
            PolicyHeader("Access-Control-Request-Headers", "x-key, content-type"),
        ]))
        #expect(sent.isEmpty)
        #expect(result.status == 200)
        #expect(result.header("Access-Control-Allow-Origin") == "https://app.example")
        #expect(result.header("Access-Control-Allow-Credentials") == "true")
        #expect(result.header("Access-Control-Allow-Methods") == "GET,PUT")
        #expect(result.header("Access-Control-Max-Age") == "300")
        let (denied, deniedSent) = try await execute(Self.policy, request(method: "OPTIONS", headers: [
            PolicyHeader("Origin", "https://app.example"), PolicyHeader("Access-Control-Request-Method", "DELETE"),
        ]))
        #expect(deniedSent.isEmpty)
        #expect(denied.status == 200)
        #expect(denied.header("Access-Control-Allow-Origin") == nil)
    }

    @Test func actualRequestsGetCORSHeaders() async throws {
        let (result, sent) = try await execute(Self.policy, request(headers: [PolicyHeader("Origin", "https://app.example")]))
        #expect(sent.count == 1)
        #expect(result.header("Access-Control-Allow-Origin") == "https://app.example")
        #expect(result.header("Access-Control-Expose-Headers") == "X-Trace")
        let (foreign, foreignSent) = try await execute(Self.policy, request(headers: [PolicyHeader("Origin", "https://evil.example")]))
        #expect(foreignSent.isEmpty)
        #expect(foreign.header("Access-Control-Allow-Origin") == nil)
        let (plain, plainSent) = try await execute(Self.policy, request())
        #expect(plainSent.count == 1)
        #expect(plain.header("Access-Control-Allow-Origin") == nil)
    }
}

@Suite struct AuthenticationCertificateRuntimeTests {
    @Test func chosenCertificateGoesToTheBackendRequest() async throws {
        let root = try PipelinePKI.root()
        let leaf = try PipelinePKI.leaf("gateway.example", issuer: root)
        let withKey = try X509Certificate2(derEncoded: leaf.der, privateKeyDER: Array(leaf.key.derRepresentation))
        let store = DeploymentCertificateStore(version: 1, certificates: [(id: "backend-cert", certificate: withKey), (id: "no-key", certificate: root.wrapped)])
        let options = PolicyPipelineOptions(certificates: store)
        for attribute in ["thumbprint=\"\(withKey.thumbprint)\"", "certificate-id=\"backend-cert\""] {
            let (result, sent) = try await execute(document(inbound: "<authentication-certificate \(attribute) />"), options: options)
            #expect(result.status == 200)
            #expect(sent.first?.clientCertificate?.thumbprint == withKey.thumbprint)
        }
        let (missing, sent) = try await execute(document(inbound: "<authentication-certificate certificate-id=\"no-key\" />"), options: options)
        #expect(missing.status == 500)
        #expect(missing.lastError?.reason == "CertificateNotFound")
        #expect(sent.isEmpty)
        let (plain, plainSent) = try await execute(document(), options: options)
        #expect(plain.status == 200)
        #expect(plainSent.first?.clientCertificate == nil)
    }
}

/// A backend that never answers (until cancelled).
struct HangingBackend: PolicyBackend {
    func send(_ request: BackendRequest) async throws -> BackendResponse {
        try await Task.sleep(for: .seconds(3600))
        return BackendResponse(status: 200)
    }
}

@Suite struct BackendTimeoutTests {
    @Test func thePipelineEnforcesTheTimeout() async throws {
        let built = try pipeline(document(backend: "<forward-request timeout=\"1\" />"))
        let start = ContinuousClock.now
        let result = await built.run(request(), backend: HangingBackend())
        #expect(ContinuousClock.now - start < .seconds(30))
        #expect(result.status == 500)
        #expect(result.lastError?.reason == "Timeout")
    }
}

@Suite struct AuthenticationCertificateBodyTests {
    /// The PFX fixture of ClientCertificatesTests/PKCS12Tests.swift (password "correct-horse").
    static let pfx = "MIIETAIBAzCCBAIGCSqGSIb3DQEHAaCCA/MEggPvMIID6zCCAqIGCSqGSIb3DQEHBqCCApMwggKPAgEAMIICiAYJKoZIhvcNAQcBMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAivmgDWozHqlAICCAAwDAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEJDaymkxmd3N7XGcOvZzk0yAggIgjbUGCnDuAl2ES4MApPKwiNhScibVk1ZfGovckyVESCHMRVR+KwdSwg8AMjuTFemxPhffOcOSHlbfGUYeaEi8UtYfN8X3xbzl2nRCYgrhi1alZDXp7cMPDQjlymJkZVIXjHRBLPYP39Bn6mEM09/YSliboJ4gXMgGfIChr6bRuXiTQHuAL1J/gLBghPTbS/6u2E7FlaNOBNNvTRIe6PgZpNhm5EgAlmIgl5nALkjEYDybL/r+jzZRwk8Gdnt5VBchR5BLaNEIQof3RKStN3xEYHePR3BHgW7BA8/aQzsZ+qmDXj5bqak9krftSO3qjytZQc6WMQETj/TGaqninzCtR8cqZSBTtFXYtOMFKQtXxZeDkYmdraF+GrS9sEGmJJ1MEtaahGX6uKTMFbaVd/DAItO9UAhM+FiCG+ohzsxtdsUBmrbxIy5cvsGXSOD5W7er1EjBhmjEhhuT8MG5XF3fNS9/OI5Vs4vkfJZnEgrcrYz8bmlzaUZd3etIp5dn8OIVkQ0ltP66weEI2/qG+TpYp9OcmVQVuhtmNTgm8XiJaYDA9p7xqZ8KmDxKd0knkWZ2eY4n7eLAl1LcGF4ssdsoDrJAsIBlK5JoAH6mdLpc5JYTKXgKT6XQzoM7IUop4pMVSFL+R5JucRUtAxjgLmhpVzYbbANlJ5zm2JucltVlzGCekPqO1wH+4btpZZUzhFVsjXI5ldckkUcZ8V9Eo/0mNjCCAUEGCSqGSIb3DQEHAaCCATIEggEuMIIBKjCCASYGCyqGSIb3DQEMCgECoIHvMIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAjrS+BOKR7XxAICCAAwDAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEPRvD92GzT7GQlFEJiMj3EcEgZBg0klqGMRrFq5fjU8qRdXQIjJHtdybHBt0kD/1dIleZSkOgN9T4BwnHpX7bSKsxGJTXXPcvDRSfjCivjtcMyW9O6Bx8F7d9Tq1fRWiIgYAUIpNcqAaRS2XfZ9QLcYW7IgDtnHGfxvzIYlv77HjobeXRUrEbGnjGDfhbt61QQ7vz+QT4FG61yH5Ohq15bndtKAxJTAjBgkqhkiG9w0BCRUxFgQUQJVEMMuBqDWM/r9RABeLZPlpnpowQTAxMA0GCWCGSAFlAwQCAQUABCCaxyGJyzKiDWWr9U/uN1yX1s1f4AnwHik4XTxS7N1FogQI/mW1ISKLGgsCAggA"

    @Test func pkcs12FromAnExpression() async throws {
        let good = document(inbound: "<authentication-certificate body=\"@(Convert.FromBase64String(\"\(Self.pfx)\"))\" password=\"correct-horse\" />")
        let (result, sent) = try await execute(good)
        #expect(result.status == 200)
        #expect(sent.first?.clientCertificate?.thumbprint == "40954430CB81A8358CFEBF5100178B64F9699E9A")
        let wrong = document(inbound: "<authentication-certificate body=\"@(Convert.FromBase64String(\"\(Self.pfx)\"))\" password=\"nope\" />")
        let (failed, failedSent) = try await execute(wrong)
        #expect(failed.status == 500)
        #expect(failed.lastError?.reason == "CertificateNotFound")
        #expect(failedSent.isEmpty)
    }
}

@Suite struct SendRequestCertificateTests {
    @Test func sideRequestPresentsTheChosenCertificate() async throws {
        let root = try PipelinePKI.root()
        let leaf = try PipelinePKI.leaf("gateway.example", issuer: root)
        let withKey = try X509Certificate2(derEncoded: leaf.der, privateKeyDER: Array(leaf.key.derRepresentation))
        let options = PolicyPipelineOptions(certificates: DeploymentCertificateStore(version: 1, certificates: [(id: "side", certificate: withKey)]))
        let xml = document(inbound: """
            <send-request mode="new" response-variable-name="r"><set-url>https://side.example/</set-url><authentication-certificate certificate-id="side" /></send-request>
            """, backend: "")
        let (result, sent) = try await execute(xml, options: options)
        #expect(result.status == 200)
        #expect(sent.first?.clientCertificate?.thumbprint == withKey.thumbprint)
    }
}

/// One counter store per gateway (`PolicyPipelineOptions.counters`, shared across reloads): the
/// counts belong to the statement (policy, scope, document, path), not to a pipeline instance.
@Suite struct CounterStoreSharingTests {
    static let limited = """
        <policies><inbound><base /><rate-limit-by-key calls="1" renewal-period="60" counter-key="@(context.Request.IpAddress)" /></inbound>
        <backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>
        """
    static let global = "<policies><inbound /><backend><forward-request /></backend><outbound /><on-error /></policies>"
    static let operation = "<policies><inbound><base /></inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>"

    static func build(api file: String, operation: String? = nil, counters: PolicyCounters) throws -> PolicyPipeline {
        var documents: [(text: String, file: String, scope: PolicyScope)] = [(global, "global.xml", .global), (limited, file, .api)]
        if let operation { documents.append((Self.operation, operation, .operation)) }
        return try PolicyPipeline.load(documents, options: PolicyPipelineOptions(counters: counters))
    }

    @Test func countsSurviveAReload() async throws {
        let counters = PolicyCounters()
        let before = try Self.build(api: "orders.xml", counters: counters)
        #expect(await before.run(request(), backend: RecordingBackend()).status == 200)
        #expect(await before.run(request(), backend: RecordingBackend()).status == 429)
        // The configuration is reloaded: new pipelines from the same documents, the gateway's store.
        let after = try Self.build(api: "orders.xml", counters: counters)
        #expect(await after.run(request(), backend: RecordingBackend()).status == 429)
        // A fresh store (what every reload used to get) would have forgotten the client.
        let forgetful = try Self.build(api: "orders.xml", counters: PolicyCounters())
        #expect(await forgetful.run(request(), backend: RecordingBackend()).status == 200)
    }

    @Test func operationsShareTheirAPIsStatementButAPIsCountApart() async throws {
        let counters = PolicyCounters()
        let first = try Self.build(api: "orders.xml", operation: "get.xml", counters: counters)
        let second = try Self.build(api: "orders.xml", operation: "list.xml", counters: counters)
        let otherAPI = try Self.build(api: "billing.xml", operation: "get.xml", counters: counters)
        #expect(await first.run(request(), backend: RecordingBackend()).status == 200)
        // The API-scope statement is one statement: its limit covers every operation of the API.
        #expect(await second.run(request(), backend: RecordingBackend()).status == 429)
        // The same text in another API's document is another statement with its own counter.
        #expect(await otherAPI.run(request(), backend: RecordingBackend()).status == 200)
    }
}
