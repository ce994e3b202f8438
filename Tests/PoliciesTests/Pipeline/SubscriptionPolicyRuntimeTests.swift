import Foundation
import Testing

@testable import Policies

/// `rate-limit` and `quota` (per subscription) and `context.Subscription` / `context.Product`.
@Suite struct SubscriptionPolicyRuntimeTests {
    func subscribed(_ id: String, product: String? = "starter", operation: String = "Get item") -> PolicyRequest {
        var made = request()
        made.identity.operationName = operation
        made.identity.operationId = operation
        made.subscription = PolicySubscription(id: id, name: "Subscription \(id)", key: "key-\(id)-secondary", primaryKey: "key-\(id)-primary",
                                               secondaryKey: "key-\(id)-secondary", startDate: Date(timeIntervalSince1970: 1_767_225_600))
        made.product = product.map { PolicyProduct(id: $0, name: "Starter product") }
        return made
    }

    @Test func rateLimitCountsPerSubscriptionWithAPIM429() async throws {
        let built = try pipeline(document(inbound: """
            <rate-limit calls="2" renewal-period="60" remaining-calls-header-name="X-Remaining" total-calls-header-name="X-Total" retry-after-variable-name="wait" />
            """), scope: .product)
        var statuses: [Int] = []
        var remaining: [String?] = []
        for _ in 0..<3 {
            let result = await built.run(subscribed("alice"), backend: RecordingBackend())
            statuses.append(result.status)
            remaining.append(result.header("X-Remaining"))
            if result.status == 429 {
                #expect(result.header("Retry-After").flatMap(Int.init).map { (1...60).contains($0) } == true)
                #expect(result.lastError?.source == "rate-limit")
                #expect(result.lastError?.reason == "RateLimitExceeded")
                #expect(result.bodyText?.hasPrefix("{\"statusCode\":429,\"message\":\"Rate limit is exceeded. Try again in ") == true)
            } else {
                #expect(result.header("X-Total") == "2")
            }
        }
        #expect(statuses == [200, 200, 429])
        #expect(remaining == ["1", "0", nil])
        // Another subscription has its own window; calls without a subscription share one.
        #expect(await built.run(subscribed("bob"), backend: RecordingBackend()).status == 200)
        #expect(await built.run(request(), backend: RecordingBackend()).status == 200)
        #expect(await built.run(request(), backend: RecordingBackend()).status == 200)
        #expect(await built.run(request(), backend: RecordingBackend()).status == 429)
    }

    @Test func rateLimitAPIAndOperationChildrenCountOnTheirOwn() async throws {
        let built = try pipeline(document(inbound: """
            <rate-limit calls="10" renewal-period="60">
                <api name="Echo API" calls="3" renewal-period="60">
                    <operation name="Get item" calls="1" renewal-period="60" />
                </api>
                <api name="Other API" calls="1" renewal-period="60" />
            </rate-limit>
            """), scope: .product)
        // The operation's own limit (1) refuses the second call to it; a refused call counts nowhere.
        #expect(await built.run(subscribed("carol"), backend: RecordingBackend()).status == 200)
        #expect(await built.run(subscribed("carol"), backend: RecordingBackend()).status == 429)
        // Other operations of the API are limited by the API's 3 (one already used).
        #expect(await built.run(subscribed("carol", operation: "List items"), backend: RecordingBackend()).status == 200)
        #expect(await built.run(subscribed("carol", operation: "List items"), backend: RecordingBackend()).status == 200)
        #expect(await built.run(subscribed("carol", operation: "List items"), backend: RecordingBackend()).status == 429)
    }

    @Test func quotaPerSubscriptionWithAPIM403() async throws {
        let built = try pipeline(document(inbound: #"<quota calls="2" renewal-period="3600" />"#), scope: .product)
        #expect(await built.run(subscribed("dave"), backend: RecordingBackend()).status == 200)
        #expect(await built.run(subscribed("dave"), backend: RecordingBackend()).status == 200)
        let over = await built.run(subscribed("dave"), backend: RecordingBackend())
        #expect(over.status == 403)
        #expect(over.lastError?.source == "quota")
        #expect(over.lastError?.reason == "QuotaExceeded")
        #expect(over.bodyText?.hasPrefix("{\"statusCode\":403,\"message\":\"Out of call volume quota. Quota will be replenished in 0") == true, "\(over.bodyText ?? "")")
        #expect(await built.run(subscribed("erin"), backend: RecordingBackend()).status == 200)
    }

    @Test func countersSurviveAReloadOfTheDocument() async throws {
        // One counter store for the gateway (as PolicyTable keeps it): a new pipeline from an edited
        // document (another file) keeps the subscription's count.
        let counters = PolicyCounters()
        let options = PolicyPipelineOptions(counters: counters)
        let first = try PolicyPipeline.load([(document(inbound: #"<rate-limit calls="1" renewal-period="60" />"#), "v1.xml", .api)], options: options)
        #expect(await first.run(subscribed("frank"), backend: RecordingBackend()).status == 200)
        let edited = try PolicyPipeline.load([(document(inbound: #"<rate-limit calls="1" renewal-period="60" /><set-header name="X-New" exists-action="override"><value>1</value></set-header>"#), "v2.xml", .api)], options: options)
        #expect(await edited.run(subscribed("frank"), backend: RecordingBackend()).status == 429)
    }

    @Test func quotaBandwidthPerSubscriptionAndPerAPI() async throws {
        // 2 KB for the subscription; 1 KB for calls of the API 'echo' (the test request's API).
        let built = try pipeline(document(inbound: #"<quota bandwidth="2" renewal-period="3600"><api name="echo" bandwidth="1" renewal-period="3600" /></quota>"#), scope: .product)
        #expect(built.countsBandwidth)
        func call(_ id: String, bytes: Int) async -> PolicyResult {
            var given = subscribed(id)
            let usage = RequestUsage()
            given.usage = usage
            let result = await built.run(given, backend: RecordingBackend())
            usage.finished(bytes: bytes)
            return result
        }
        #expect(await call("hank", bytes: 1000).status == 200)
        #expect(await call("hank", bytes: 100).status == 200)
        let over = await call("hank", bytes: 0)  // 1100 bytes ≥ the API's 1024
        #expect(over.status == 403)
        #expect(over.bodyText?.hasPrefix("{\"statusCode\":403,\"message\":\"Out of bandwidth quota. Quota will be replenished in 0") == true, "\(over.bodyText ?? "")")
        #expect(over.header("Retry-After") != nil)
        #expect(await call("ivy", bytes: 0).status == 200)
    }

    @Test func badAttributesAreRefusedAtLoad() throws {
        #expect(throws: (any Error).self) { try pipeline(document(inbound: #"<rate-limit calls="1" renewal-period="301" />"#)) }
        #expect(throws: (any Error).self) { try pipeline(document(inbound: #"<rate-limit calls="1" renewal-period="60"><api calls="1" renewal-period="60" /></rate-limit>"#)) }
        #expect(throws: (any Error).self) { try pipeline(document(inbound: #"<rate-limit calls="@(1)" renewal-period="60" />"#)) }
        #expect(throws: (any Error).self) { try pipeline(document(inbound: #"<quota renewal-period="60" />"#)) }
        #expect(throws: (any Error).self) { try pipeline(document(outbound: #"<rate-limit calls="1" renewal-period="60" />"#)) }
    }

    @Test func subscriptionAndProductInExpressions() async throws {
        let xml = document(inbound: """
            <return-response><set-status code="200" /><set-body>@($"{context.Subscription.Id}|{context.Subscription.Name}|{context.Subscription.Key == context.Subscription.SecondaryKey}|{context.Subscription.PrimaryKey}|{context.Subscription.StartDate.Value.Year}|{context.Subscription.EndDate == null}|{context.Product.Id}|{context.Product.Name}")</set-body></return-response>
            """)
        let (result, _) = try await execute(xml, subscribed("gina"))
        #expect(result.bodyText == "gina|Subscription gina|True|key-gina-primary|2026|True|starter|Starter product")
        let anonymous = document(inbound: """
            <return-response><set-status code="200" /><set-body>@($"{context.Subscription == null}|{context.Product == null}|{context.Subscription?.Id ?? "none"}")</set-body></return-response>
            """)
        let (plain, _) = try await execute(anonymous)
        #expect(plain.bodyText == "True|True|none")
    }
}
