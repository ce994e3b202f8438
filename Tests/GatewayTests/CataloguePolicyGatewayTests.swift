import Foundation
import Policies
import NIOPosix
import GatewayConfiguration
import Testing

@testable import Gateway

/// The second wave of the catalogue end to end: curl through a real gateway to the echo backend
/// (which answers with JSON describing the request it received, headers included).
@Suite(.serialized, .enabled(if: Curl.isAvailable, "needs /usr/bin/curl"))
struct CataloguePolicyGatewayTests {
    static func writePolicy(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("catalogue-\(UUID().uuidString).xml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func call(_ gateway: TestGateway, _ path: String, headers: [String] = [], data: String? = nil) async throws -> Curl.Result {
        var arguments = SecurityProbeTests.common(gateway) + ["--http1.1", "--max-time", "10", "-i"]
        for header in headers { arguments += ["-H", header] }
        if let data { arguments += ["--data-binary", data] }
        return try await Curl.run(arguments + ["\(gateway.baseURL)\(path)"])
    }

    @Test func basicCredentialsFindAndReplaceAndJSONP() async throws {
        let policy = try Self.writePolicy("""
            <policies>
              <inbound><authentication-basic username="gateway" password="s3cret" /></inbound>
              <backend><forward-request /></backend>
              <outbound>
                <find-and-replace from="Basic " to="Basic(replaced) " />
                <jsonp callback-parameter-name="cb" />
              </outbound>
              <on-error />
            </policies>
            """)
        defer { try? FileManager.default.removeItem(atPath: policy) }
        let gateway = try await TestGateway.start(tweaking: { config, _, _ in config.apis[1].policyFile = policy })
        // base64("gateway:s3cret") = "Z2F0ZXdheTpzM2NyZXQ="; the client's own Authorization is replaced.
        let plain = try await Self.call(gateway, "/public/basic", headers: ["Authorization: Bearer client"])
        #expect(plain.httpCode == 200, "\(plain.stdout) \(plain.stderr)")
        #expect(plain.body.contains("Basic(replaced) Z2F0ZXdheTpzM2NyZXQ="), "\(plain.body)")
        #expect(!plain.body.contains("Bearer client"))
        #expect(plain.body.lowercased().contains("content-type: application/json"))
        let wrapped = try await Self.call(gateway, "/public/basic?cb=show")
        #expect(wrapped.httpCode == 200)
        #expect(wrapped.body.lowercased().contains("content-type: application/javascript; charset=utf-8"))
        #expect(wrapped.body.contains("\r\n\r\nshow({"), "\(wrapped.body)")
        #expect(wrapped.body.hasSuffix("});"))
        let hostile = try await Self.call(gateway, "/public/basic?cb=alert(1)")
        #expect(hostile.body.lowercased().contains("content-type: application/json"))
        try await gateway.stop()
    }

    @Test func cachedValuesAreSharedByRequestsSurviveAReloadAndCanBeRemoved() async throws {
        let policy = try Self.writePolicy("""
            <policies>
              <inbound>
                <choose>
                  <when condition="@(context.Request.Headers.ContainsKey(&quot;X-Store&quot;))">
                    <cache-store-value key="@(&quot;greeting-&quot; + context.Request.Headers.GetValueOrDefault(&quot;X-Key&quot;, &quot;&quot;))" value="@(context.Request.Headers.GetValueOrDefault(&quot;X-Store&quot;, &quot;&quot;))" duration="300" />
                  </when>
                  <when condition="@(context.Request.Headers.ContainsKey(&quot;X-Remove&quot;))">
                    <cache-remove-value key="@(&quot;greeting-&quot; + context.Request.Headers.GetValueOrDefault(&quot;X-Key&quot;, &quot;&quot;))" />
                  </when>
                </choose>
                <cache-lookup-value key="@(&quot;greeting-&quot; + context.Request.Headers.GetValueOrDefault(&quot;X-Key&quot;, &quot;&quot;))" variable-name="greeting" default-value="none" />
                <return-response>
                  <set-status code="200" />
                  <set-body>@((string)context.Variables[&quot;greeting&quot;])</set-body>
                </return-response>
              </inbound>
              <backend><forward-request /></backend>
              <outbound />
              <on-error />
            </policies>
            """)
        defer { try? FileManager.default.removeItem(atPath: policy) }
        let gateway = try await TestGateway.start(tweaking: { config, _, _ in config.apis[1].policyFile = policy })
        let key = UUID().uuidString  // the cache belongs to the process: keep this test's keys its own
        #expect(try await Self.call(gateway, "/public/c", headers: ["X-Key: \(key)"]).body.hasSuffix("\r\n\r\nnone"))
        let stored = try await Self.call(gateway, "/public/c", headers: ["X-Key: \(key)", "X-Store: hello"])
        #expect(stored.body.hasSuffix("\r\n\r\nhello"), "\(stored.body)")
        try gateway.server.reload(config: gateway.server.snapshot.config)
        let afterReload = try await Self.call(gateway, "/public/c", headers: ["X-Key: \(key)"])
        #expect(afterReload.httpCode == 200)
        #expect(afterReload.body.hasSuffix("\r\n\r\nhello"), "\(afterReload.body)")
        // cache-remove-value: the entry is gone for the next request.
        let removed = try await Self.call(gateway, "/public/c", headers: ["X-Key: \(key)", "X-Remove: 1"])
        #expect(removed.body.hasSuffix("\r\n\r\nnone"), "\(removed.body)")
        #expect(try await Self.call(gateway, "/public/c", headers: ["X-Key: \(key)"]).body.hasSuffix("\r\n\r\nnone"))
        try await gateway.stop()
    }

    @Test func responsesAreCachedByTheGateway() async throws {
        let policy = try Self.writePolicy("""
            <policies>
              <inbound>
                <cache-lookup vary-by-developer="false" vary-by-developer-groups="false" downstream-caching-type="private">
                  <vary-by-query-parameter>version</vary-by-query-parameter>
                </cache-lookup>
              </inbound>
              <backend><forward-request /></backend>
              <outbound><cache-store duration="120" /></outbound>
              <on-error />
            </policies>
            """)
        defer { try? FileManager.default.removeItem(atPath: policy) }
        let gateway = try await TestGateway.start(tweaking: { config, _, _ in config.apis[1].policyFile = policy })
        // The echo backend describes the request it got: a cached answer still shows the first probe.
        let path = "/public/cached-\(UUID().uuidString)"
        let first = try await Self.call(gateway, path, headers: ["X-Probe: first"])
        #expect(first.httpCode == 200)
        #expect(first.body.contains(#""x-probe":"first""#), "\(first.body)")
        #expect(first.body.lowercased().contains("cache-control: private, max-age=120, must-revalidate"))
        let second = try await Self.call(gateway, path, headers: ["X-Probe: second"])
        #expect(second.body.contains(#""x-probe":"first""#), "\(second.body)")
        let other = try await Self.call(gateway, path + "?version=2", headers: ["X-Probe: third"])
        #expect(other.body.contains(#""x-probe":"third""#), "\(other.body)")
        try await gateway.stop()
    }

    @Test func waitAndOneWayRequestsThroughTheGateway() async throws {
        let audit = try await DocumentServer.start(["/audit": .json("{}")])
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("wait-\(UUID().uuidString).xml").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let gateway = try await TestGateway.start(tweaking: { config, _, echoPort in
            try? """
                <policies>
                  <inbound>
                    <send-one-way-request mode="new">
                      <set-url>\(audit.baseURL)/audit</set-url>
                      <set-method>POST</set-method>
                      <set-body>@(context.Request.Url.Path)</set-body>
                    </send-one-way-request>
                    <wait for="all">
                      <send-request mode="new" response-variable-name="a" timeout="10"><set-url>http://127.0.0.1:\(echoPort)/first</set-url></send-request>
                      <send-request mode="new" response-variable-name="b" timeout="10"><set-url>http://127.0.0.1:\(echoPort)/second</set-url></send-request>
                    </wait>
                    <return-response>
                      <set-body>@(((IResponse)context.Variables[&quot;a&quot;]).Body.As&lt;JObject&gt;()[&quot;path&quot;] + &quot;+&quot; + ((IResponse)context.Variables[&quot;b&quot;]).Body.As&lt;JObject&gt;()[&quot;path&quot;])</set-body>
                    </return-response>
                  </inbound>
                  <backend><forward-request /></backend>
                  <outbound />
                  <on-error />
                </policies>
                """.write(toFile: path, atomically: true, encoding: .utf8)
            config.apis[1].policyFile = path
        })
        let answer = try await Self.call(gateway, "/public/w")
        #expect(answer.httpCode == 200, "\(answer.stdout)")
        #expect(answer.body.hasSuffix("\r\n\r\n/first+/second"), "\(answer.body)")
        for _ in 0..<50 where audit.requests.isEmpty { try await Task.sleep(for: .milliseconds(50)) }
        #expect(audit.requests == ["/audit"])
        try await gateway.stop()
        await audit.stop()
    }

    @Test func setBackendServiceByIdFromTheConfiguration() async throws {
        let policy = try Self.writePolicy("""
            <policies>
              <inbound><set-backend-service backend-id="echo-v2" /></inbound>
              <backend><forward-request /></backend>
              <outbound />
              <on-error />
            </policies>
            """)
        defer { try? FileManager.default.removeItem(atPath: policy) }
        let gateway = try await TestGateway.start(tweaking: { config, _, echoPort in
            config.policies.backendURLs = ["echo-v2": "http://127.0.0.1:\(echoPort)/v2"]
            config.apis[1].backendURL = "http://127.0.0.1:9/unused"
            config.apis[1].policyFile = policy
        })
        let answer = try await Self.call(gateway, "/public/items")
        #expect(answer.httpCode == 200, "\(answer.stdout)")
        #expect(answer.body.contains(#""path":"/v2/items""#), "\(answer.body)")
        try await gateway.stop()
        // An unknown id is a load error naming the configured ones.
        var config = gateway.server.snapshot.config
        config.policies.backendURLs = ["other": "http://127.0.0.1:9"]
        #expect(throws: (any Error).self) { _ = try GatewaySnapshot(config: config) }
        do { _ = try GatewaySnapshot(config: config) } catch { #expect("\(error)".contains("unknown backend-id 'echo-v2'"), "\(error)") }
    }

    @Test func redirectContentURLsAndCrossDomainThroughTheGateway() async throws {
        let backend = try await DocumentServer.start()
        backend.set("/page1", .json(#"{"next":"\#(backend.baseURL)/page2"}"#))
        let global = try Self.writePolicy("""
            <policies>
              <inbound>
                <cross-domain><cross-domain-policy><allow-access-from domain="*.example.com" /></cross-domain-policy></cross-domain>
              </inbound>
              <backend><forward-request /></backend>
              <outbound><redirect-content-urls /></outbound>
              <on-error />
            </policies>
            """)
        defer { try? FileManager.default.removeItem(atPath: global) }
        let gateway = try await TestGateway.start(tweaking: { config, _, _ in
            config.policies.globalFile = global
            config.apis[1].backendURL = backend.baseURL
            config.apis[1].pathPrefix = "/"
        })
        let page = try await Self.call(gateway, "/page1")
        #expect(page.httpCode == 200, "\(page.stdout)")
        #expect(page.body.hasSuffix(#"{"next":"https://localhost:\#(gateway.port)/page2"}"#), "\(page.body)")
        let policy = try await Self.call(gateway, "/crossdomain.xml")
        #expect(policy.httpCode == 200)
        #expect(policy.body.contains(#"<cross-domain-policy><allow-access-from domain="*.example.com"/></cross-domain-policy>"#)
            || policy.body.contains(#"<allow-access-from domain="*.example.com" />"#), "\(policy.body)")
        #expect(!backend.requests.contains("/crossdomain.xml"))
        try await gateway.stop()
        await backend.stop()
    }

    @Test func bandwidthQuotaCountsTheBytesOfEachExchange() async throws {
        // 2 KB per key: what the data plane counted (request body received + response body sent)
        // is charged after each response; once used up, 403 with APIM's body and Retry-After.
        let policy = try Self.writePolicy("""
            <policies>
              <inbound><quota-by-key bandwidth="2" renewal-period="3600" counter-key="@(context.Request.Headers.GetValueOrDefault(&quot;X-Key&quot;, &quot;none&quot;))" /></inbound>
              <backend><forward-request /></backend>
              <outbound />
              <on-error />
            </policies>
            """)
        defer { try? FileManager.default.removeItem(atPath: policy) }
        let gateway = try await TestGateway.start(tweaking: { config, _, _ in config.apis[1].policyFile = policy })
        // A 2100-byte upload (served in a task) uses the key's 2 KB up at once.
        let upload = try await Self.call(gateway, "/public/upload", headers: ["X-Key: big", "Content-Type: text/plain"],
                                         data: String(repeating: "x", count: 2100))
        #expect(upload.httpCode == 200, "\(upload.stdout) \(upload.stderr)")
        try await Task.sleep(for: .milliseconds(100))  // charged once the response has been written
        let refused = try await Self.call(gateway, "/public/after", headers: ["X-Key: big"])
        #expect(refused.httpCode == 403, "\(refused.stdout)")
        #expect(refused.body.contains(#"{"statusCode":403,"message":"Out of bandwidth quota. Quota will be replenished in 01:00:00."}"#)
                    || refused.body.contains(#"{"statusCode":403,"message":"Out of bandwidth quota. Quota will be replenished in 00:59:"#), "\(refused.body)")
        let retryAfter = refused.body.split(separator: "\r\n").first { $0.lowercased().hasPrefix("retry-after:") }
            .flatMap { Int($0.dropFirst("retry-after:".count).trimmingCharacters(in: .whitespaces)) }
        #expect(retryAfter.map { (3500...3600).contains($0) } == true, "\(refused.body)")
        // Bodiless GETs (served on the event loop) are charged their response bodies: a few pass,
        // then the key's 2 KB are used up; another key still has its own.
        var statuses: [Int] = []
        for _ in 0..<12 {
            statuses.append(try await Self.call(gateway, "/public/small", headers: ["X-Key: small"]).httpCode ?? 0)
            try await Task.sleep(for: .milliseconds(50))
        }
        let passed = statuses.prefix { $0 == 200 }.count
        #expect(passed >= 2 && passed < 12 && statuses.dropFirst(passed).allSatisfy { $0 == 403 }, "\(statuses)")
        #expect(try await Self.call(gateway, "/public/other", headers: ["X-Key: other"]).httpCode == 200)
        try await gateway.stop()
    }

    @Test func emitMetricIsExportedOnTheMetricsEndpoint() async throws {
        let policy = try Self.writePolicy("""
            <policies>
              <inbound>
                <emit-metric name="Request" value="@(context.Request.Headers.GetValueOrDefault(&quot;X-Weight&quot;, &quot;1&quot;))" namespace="custom">
                  <dimension name="API ID" />
                  <dimension name="Tier" value="@(context.Request.Headers.GetValueOrDefault(&quot;X-Tier&quot;, &quot;none&quot;))" />
                </emit-metric>
              </inbound>
              <backend><forward-request /></backend>
              <outbound />
              <on-error />
            </policies>
            """)
        defer { try? FileManager.default.removeItem(atPath: policy) }
        let gateway = try await TestGateway.start(tweaking: { config, _, _ in config.apis[1].policyFile = policy })
        let operations = try await gateway.server.startOperations(address: "127.0.0.1", port: 0, group: MultiThreadedEventLoopGroup.singleton)
        #expect(try await Self.call(gateway, "/public/m", headers: ["X-Tier: gold", "X-Weight: 2.5"]).httpCode == 200)
        #expect(try await Self.call(gateway, "/public/m", headers: ["X-Tier: gold"]).httpCode == 200)
        #expect(try await Self.call(gateway, "/public/m").httpCode == 200)
        let metrics = try await OperationsTests.scrape(operations.port)
        let gold = #"namespace="custom",name="Request",dim_api_id="public-echo",dim_tier="gold""#
        #expect(metrics["drawbridge_policy_metric_sum{\(gold)}"] == 3.5, "\(metrics.keys.filter { $0.contains("policy_metric") })")
        #expect(metrics["drawbridge_policy_metric_count{\(gold)}"] == 2)
        #expect(metrics[#"drawbridge_policy_metric_count{namespace="custom",name="Request",dim_api_id="public-echo",dim_tier="none"}"#] == 1)
        #expect(metrics["drawbridge_policy_metric_dropped_total"] == 0)
        try await gateway.stop()
    }
}

@Suite struct PolicyMetricTableTests {
    @Test func seriesAreBoundedAndLabelsSanitised() {
        let table = PolicyMetricTable()
        for i in 0..<(PolicyMetricTable.maximumSeries + 50) {
            table.record(PolicyMetric(name: "m", namespace: "n", value: 1, dimensions: [.init(name: "Client IP", value: "10.0.\(i)")]))
        }
        table.record(PolicyMetric(name: "m", namespace: "n", value: 1, dimensions: [.init(name: "Client IP", value: "10.0.0")]))
        var text = ""
        table.render(into: &text)
        #expect(text.components(separatedBy: "drawbridge_policy_metric_count{").count - 1 == PolicyMetricTable.maximumSeries)
        #expect(text.contains("drawbridge_policy_metric_dropped_total 50\n"))
        #expect(text.contains(#"drawbridge_policy_metric_count{namespace="n",name="m",dim_client_ip="10.0.0"} 2"#))
        let hostile = PolicyMetricTable()
        hostile.record(PolicyMetric(name: "m", namespace: "n", value: -1, dimensions: [.init(name: "a\"}\n", value: String(repeating: "\"", count: 500) + "\n")]))
        var rendered = ""
        hostile.render(into: &rendered)
        let line = rendered.split(separator: "\n").first { $0.hasPrefix("drawbridge_policy_metric_sum") } ?? ""
        #expect(line.hasPrefix(#"drawbridge_policy_metric_sum{namespace="n",name="m",dim_a___=""#))
        #expect(line.hasSuffix(" -1.0"))
    }
}
