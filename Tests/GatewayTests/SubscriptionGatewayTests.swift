import Foundation
import Gateway
import GatewayConfiguration
import NIOPosix
import Testing

/// Products and subscriptions end to end with curl and client certificates: through the admin API
/// from an empty store (the issue's done-when path with a subscription), and in the YAML mode.
@Suite(.serialized, .enabled(if: Curl.isAvailable))
struct SubscriptionGatewayTests {
    static let missingBody = #"{"statusCode":401,"message":"Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API."}"#
    static let invalidBody = #"{"statusCode":401,"message":"Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription."}"#

    func call(_ baseURL: String, _ pki: DemoPKI, _ path: String, certificate: Bool = true, headers: [String] = []) async throws -> Curl.Result {
        var arguments = ["--cacert", pki.rootCA]
        if certificate { arguments += ["--cert", pki.clientCertificate, "--key", pki.clientKey] }
        for header in headers { arguments += ["-H", header] }
        return try await Curl.run(arguments + [baseURL + path])
    }

    /// Empty SQLite store → (admin API only) CA, hostname in negotiate mode with its server
    /// certificate, the echo API with the seed's policy, a product and a subscription → 200 with
    /// certificate and key, 403 without the certificate, 401 without or with a wrong key (APIM's
    /// bodies); the key never reaches the backend; commit-to-enforcement measured.
    @Test func emptyStoreToSeedPolicyAndASubscriptionThroughTheAdminAPIOnly() async throws {
        let gateway = try await TestAdminGateway.start()
        defer { Task { try? await gateway.stop() } }
        _ = try await gateway.configureSeedSetup()
        let api = try await gateway.admin("PUT", "/apis/echo", json: [
            "path": "/echo", "backend": "http://127.0.0.1:\(gateway.echo.port)", "subscriptionRequired": true,
        ])
        #expect(api.status == 200, "\(api)")
        // Subscription required, none exists yet: 401 (missing).
        let noKey = try await call(gateway.baseURL, gateway.pki, "/echo/users/42")
        #expect(noKey.httpCode == 401 && noKey.body == Self.missingBody, "\(noKey.stdout)")

        #expect(try await gateway.admin("PUT", "/products/starter", json: ["name": "Starter", "apis": ["echo"]]).status == 201)
        // A subscription to a product that does not exist is refused, and nothing is stored.
        let dangling = try await gateway.admin("PUT", "/subscriptions/nobody", json: ["scope": "product:missing"])
        #expect(dangling.status == 422 && dangling.errorDetails.contains { $0.contains("product 'missing' is not configured") }, "\(dangling)")
        #expect(try await gateway.admin("GET", "/subscriptions/nobody").status == 404)

        let clock = ContinuousClock()
        let started = clock.now
        let created = try await gateway.admin("PUT", "/subscriptions/alice", json: ["name": "Alice", "scope": "product:starter"])
        let acknowledged = clock.now
        #expect(created.status == 201, "\(created)")
        let secrets = try await gateway.admin("POST", "/subscriptions/alice/listSecrets")
        let key = try #require(secrets.json["primaryKey"] as? String)
        let secondary = try #require(secrets.json["secondaryKey"] as? String)
        let firstAnswer = try await call(gateway.baseURL, gateway.pki, "/echo/users/42", headers: ["Ocp-Apim-Subscription-Key: \(key)"])
        let enforced = clock.now
        let timing = created.headers["server-timing"] ?? ""
        print("subscription PUT: acknowledged after \(started.duration(to: acknowledged)) (curl included); first keyed request answered \(acknowledged.duration(to: enforced)) later (listSecrets + request, curl included); server: \(timing)")
        let reloadMilliseconds = timing.components(separatedBy: "reload;dur=").last.flatMap { Double($0.prefix { $0 == "." || $0.isNumber }) } ?? .infinity
        #expect(reloadMilliseconds < 100, "commit to enforcement: \(timing)")

        #expect(firstAnswer.httpCode == 200, "\(firstAnswer.stdout) \(firstAnswer.stderr)")
        // The backend never sees the key (header or query), as in APIM.
        #expect(!firstAnswer.body.contains(key) && !firstAnswer.body.lowercased().contains("ocp-apim-subscription-key"), "\(firstAnswer.body)")
        let byQuery = try await call(gateway.baseURL, gateway.pki, "/echo/users/42?subscription-key=\(secondary)&x=1")
        #expect(byQuery.httpCode == 200, "\(byQuery.stdout)")
        #expect(!byQuery.body.contains(secondary) && !byQuery.body.contains("subscription-key") && byQuery.body.contains("x=1"), "\(byQuery.body)")

        // Without the certificate: the seed's policy refuses (403); without or with a wrong key: 401.
        let noCertificate = try await call(gateway.baseURL, gateway.pki, "/echo/users/42", certificate: false, headers: ["Ocp-Apim-Subscription-Key: \(key)"])
        #expect(noCertificate.httpCode == 403, "\(noCertificate.stdout)")
        let missing = try await call(gateway.baseURL, gateway.pki, "/echo/users/42")
        #expect(missing.httpCode == 401 && missing.body == Self.missingBody, "\(missing.stdout)")
        let wrong = try await call(gateway.baseURL, gateway.pki, "/echo/users/42", headers: ["Ocp-Apim-Subscription-Key: 0123456789abcdef0123456789abcdef"])
        #expect(wrong.httpCode == 401 && wrong.body == Self.invalidBody, "\(wrong.stdout)")

        // The keys are shown by listSecrets only: not by GET, the list or the audit trail.
        for path in ["/subscriptions/alice", "/subscriptions", "/audit?limit=50"] {
            let shown = try await gateway.admin("GET", path)
            #expect(shown.status == 200 && !shown.body.contains(key) && !shown.body.contains(secondary), "\(path): \(shown.body)")
        }

        // Regenerating the primary key: the old key stops working with the new snapshot.
        let regenerated = try await gateway.admin("POST", "/subscriptions/alice/regeneratePrimaryKey")
        #expect(regenerated.status == 204, "\(regenerated)")
        let newKey = try #require(try await gateway.admin("POST", "/subscriptions/alice/listSecrets").json["primaryKey"] as? String)
        #expect(newKey != key)
        #expect(try await call(gateway.baseURL, gateway.pki, "/echo/users/42", headers: ["Ocp-Apim-Subscription-Key: \(key)"]).httpCode == 401)
        #expect(try await call(gateway.baseURL, gateway.pki, "/echo/users/42", headers: ["Ocp-Apim-Subscription-Key: \(newKey)"]).httpCode == 200)

        // Suspended (the keys are kept when a PUT gives none): 401 invalid; active again: 200.
        #expect(try await gateway.admin("PUT", "/subscriptions/alice", json: ["scope": "product:starter", "state": "suspended"]).status == 200)
        let suspended = try await call(gateway.baseURL, gateway.pki, "/echo/users/42", headers: ["Ocp-Apim-Subscription-Key: \(newKey)"])
        #expect(suspended.httpCode == 401 && suspended.body == Self.invalidBody, "\(suspended.stdout)")
        #expect(try await gateway.admin("PUT", "/subscriptions/alice", json: ["scope": "product:starter", "state": "active"]).status == 200)
        #expect(try await call(gateway.baseURL, gateway.pki, "/echo/users/42", headers: ["Ocp-Apim-Subscription-Key: \(newKey)"]).httpCode == 200)

        // Removing the API from the product the subscription is scoped to: the key no longer opens it.
        #expect(try await gateway.admin("PUT", "/products/starter", json: ["name": "Starter", "apis": []]).status == 200)
        #expect(try await call(gateway.baseURL, gateway.pki, "/echo/users/42", headers: ["Ocp-Apim-Subscription-Key: \(newKey)"]).httpCode == 401)
    }

    /// YAML mode: a product with a product-scope policy (rate-limit, context.Subscription and
    /// context.Product), per-API key names, an open product, expired subscriptions; counters
    /// survive a reload.
    @Test func yamlProductsSubscriptionsAndRateLimitAcrossAReload() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("drawbridge-products-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let productPolicy = folder + "/product.xml"
        try """
        <policies>
            <inbound>
                <base />
                <rate-limit calls="2" renewal-period="60" remaining-calls-header-name="X-Remaining" />
                <set-header name="X-Who" exists-action="override"><value>@(context.Subscription.Id + "/" + context.Product.Name)</value></set-header>
            </inbound>
            <backend><base /></backend>
            <outbound><base /></outbound>
            <on-error><base /></on-error>
        </policies>
        """.write(toFile: productPolicy, atomically: true, encoding: .utf8)
        let configure: @Sendable (inout GatewayConfig, DemoPKI, Int) -> Void = { config, _, _ in
            config.apis[0].subscriptionRequired = true
            config.apis[0].subscriptionKeyNames = SubscriptionKeyNames(header: "X-Key", query: "key")
            config.products = [ProductConfig(id: "gold", name: "Gold", apis: ["echo"], policyFile: productPolicy),
                               ProductConfig(id: "open", apis: ["public-echo"], subscriptionRequired: false)]
            config.subscriptions = [
                SubscriptionConfig(id: "bob", scope: .product("gold"), primaryKey: "bob-primary-key", secondaryKey: "bob-secondary-key"),
                SubscriptionConfig(id: "old", scope: .allAPIs, primaryKey: "old-primary-key", secondaryKey: "old-secondary-key",
                                   endDate: Date(timeIntervalSinceNow: -60)),
            ]
        }
        let gateway = try await TestGateway.start(tweaking: configure)
        defer { Task { try? await gateway.stop() } }
        // The API's own names: the default header does not count.
        let defaultHeader = try await call(gateway.baseURL, gateway.pki, "/echo/users/1", headers: ["Ocp-Apim-Subscription-Key: bob-primary-key"])
        #expect(defaultHeader.httpCode == 401 && defaultHeader.body == Self.missingBody, "\(defaultHeader.stdout)")
        let first = try await call(gateway.baseURL, gateway.pki, "/echo/users/1", headers: ["X-Key: bob-primary-key"])
        #expect(first.httpCode == 200, "\(first.stdout)")
        #expect(first.body.contains("\"x-who\":\"bob/Gold\""), "\(first.body)")
        #expect(!first.body.contains("bob-primary-key"))
        let expired = try await call(gateway.baseURL, gateway.pki, "/echo/users/1?key=old-primary-key")
        #expect(expired.httpCode == 401 && expired.body == Self.invalidBody, "\(expired.stdout)")
        // The open product's API needs no key (and a wrong key is still refused).
        #expect(try await call(gateway.baseURL, gateway.pki, "/public/anything").httpCode == 200)
        #expect(try await call(gateway.baseURL, gateway.pki, "/public/anything", headers: ["Ocp-Apim-Subscription-Key: not-a-valid-key"]).httpCode == 401)

        #expect(try await call(gateway.baseURL, gateway.pki, "/echo/users/1?key=bob-secondary-key").httpCode == 200)
        // A reload (as SIGHUP) keeps the count: the third call in the window is refused.
        var reloaded = DemoGateway.configuration(pki: gateway.pki, echoPort: gateway.echo.port, port: 0)
        reloaded.accessLog = false
        configure(&reloaded, gateway.pki, gateway.echo.port)
        try gateway.server.reload(config: reloaded)
        let limited = try await call(gateway.baseURL, gateway.pki, "/echo/users/1", headers: ["X-Key: bob-primary-key"])
        #expect(limited.httpCode == 429, "\(limited.stdout)")
        #expect(limited.body.hasPrefix(#"{"statusCode":429,"message":"Rate limit is exceeded. Try again in "#), "\(limited.body)")
        // Refusals are policy errors on /metrics, by source.
        let operations = try await gateway.server.startOperations(address: "127.0.0.1", port: 0, group: MultiThreadedEventLoopGroup.singleton)
        defer { Task { await operations.stop() } }
        let metrics = try await Curl.run(["http://127.0.0.1:\(operations.port)/metrics"])
        let line = metrics.body.split(separator: "\n").first { $0.hasPrefix("drawbridge_policy_errors_total{") && $0.contains("rate-limit") }
        #expect(line.map { $0.contains("api=\"echo\"") && $0.hasSuffix(" 1") } == true, "\(metrics.body.prefix(3000))")
        // …and limit refusals by policy (Operations).
        #expect(metrics.body.contains("drawbridge_limit_refusals_total{policy=\"rate-limit\"} 1\n"), "\(metrics.body.prefix(3000))")
    }
}
