import Foundation
import Gateway
import GatewayConfiguration
import NIOPosix
import Testing

/// The operations listener (/healthz, /readyz, /metrics) and APIM's status path, driven by curl.
@Suite(.serialized, .enabled(if: Curl.isAvailable, "needs /usr/bin/curl (.ci/run installs it)"))
struct OperationsTests {
    /// The demo configuration plus an API whose backend refuses connections (502).
    static func config(pki: DemoPKI, echoPort: Int) -> GatewayConfig {
        var config = DemoGateway.configuration(pki: pki, echoPort: echoPort, port: 0)
        config.accessLog = false
        config.apis.append(APIConfig(name: "dead", pathPrefix: "/dead", backendURL: "http://127.0.0.1:1"))
        config.backend.connectTimeout = 2
        return config
    }

    func gatewayArgs(_ gateway: TestGateway, cert: (String, String)?) -> [String] {
        var args = ["--cacert", gateway.pki.rootCA, "--resolve", "localhost:\(gateway.port):127.0.0.1"]
        if let cert { args += ["--cert", cert.0, "--key", cert.1] }
        return args
    }

    /// `/metrics` as series → value (`name{labels}` exactly as exported).
    static func scrape(_ port: Int) async throws -> [String: Double] {
        let result = try await Curl.run(["http://127.0.0.1:\(port)/metrics"])
        #expect(result.httpCode == 200, "\(result.stderr)")
        var series: [String: Double] = [:]
        for line in result.body.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            series[String(line[..<space])] = value
        }
        return series
    }

    static func requests(_ api: String, _ operation: String, _ method: String, _ statusClass: String) -> String {
        #"drawbridge_requests_total{hostname="localhost",api="\#(api)",operation="\#(operation)",method="\#(method)",status_class="\#(statusClass)"}"#
    }

    @Test func healthzReadyzAndMetricsCountA200A403AndA502() async throws {
        let gateway = try await TestGateway.start { pki, port in Self.config(pki: pki, echoPort: port) }
        let operations = try await gateway.server.startOperations(address: "127.0.0.1", port: 0, group: MultiThreadedEventLoopGroup.singleton)
        let ops = "http://127.0.0.1:\(operations.port)"

        let health = try await Curl.run(["\(ops)/healthz"])
        #expect(health.httpCode == 200 && health.body == "ok\n")
        let ready = try await Curl.run(["\(ops)/readyz"])
        #expect(ready.httpCode == 200 && ready.body == "ready\n")
        let unknown = try await Curl.run(["\(ops)/admin"])
        #expect(unknown.httpCode == 404)

        let pki = gateway.pki
        let ok = try await Curl.run(gatewayArgs(gateway, cert: (pki.clientCertificate, pki.clientKey)) + ["\(gateway.baseURL)/echo/users/7"])
        #expect(ok.httpCode == 200, "\(ok.stderr)")
        let noCert = try await Curl.run(gatewayArgs(gateway, cert: nil) + ["\(gateway.baseURL)/echo/users/7"])
        #expect(noCert.httpCode == 403)
        let expired = try await Curl.run(gatewayArgs(gateway, cert: (pki.expiredClientCertificate, pki.expiredClientKey)) + ["\(gateway.baseURL)/echo/users/7"])
        #expect(expired.httpCode == 403)
        let revoked = try await Curl.run(gatewayArgs(gateway, cert: (pki.revokedClientCertificate, pki.revokedClientKey)) + ["\(gateway.baseURL)/echo/users/7"])
        #expect(revoked.httpCode == 403)
        let unknownCA = try await Curl.run(gatewayArgs(gateway, cert: (pki.unknownClientCertificate, pki.unknownClientKey)) + ["\(gateway.baseURL)/echo/users/7"])
        #expect(unknownCA.httpCode == 403)
        let dead = try await Curl.run(gatewayArgs(gateway, cert: nil) + ["-X", "POST", "\(gateway.baseURL)/dead/x"])
        #expect(dead.httpCode == 502)
        let notFound = try await Curl.run(gatewayArgs(gateway, cert: nil) + ["\(gateway.baseURL)/nowhere"])
        #expect(notFound.httpCode == 404)

        let metrics = try await Self.scrape(operations.port)
        #expect(metrics[Self.requests("echo", "get-user", "GET", "2xx")] == 1, "\(metrics.keys.sorted())")
        #expect(metrics[Self.requests("echo", "get-user", "GET", "4xx")] == 4)
        #expect(metrics[Self.requests("dead", "all", "POST", "5xx")] == 1)
        #expect(metrics[Self.requests("", "", "GET", "4xx")] == 1)
        #expect(metrics[#"drawbridge_client_certificate_checks_total{outcome="trusted"}"#] == 1)
        #expect(metrics[#"drawbridge_client_certificate_checks_total{outcome="none"}"#] == 1)
        #expect(metrics[#"drawbridge_client_certificate_checks_total{outcome="expired"}"#] == 1)
        #expect(metrics[#"drawbridge_client_certificate_checks_total{outcome="revoked"}"#] == 1)
        #expect(metrics[#"drawbridge_client_certificate_checks_total{outcome="untrusted"}"#] == 1)
        #expect(metrics[#"drawbridge_backend_failures_total{kind="connect"}"#] == 1)
        #expect(metrics[#"drawbridge_tls_handshakes_total{outcome="ok",version="TLSv1.3"}"#] == 7)
        #expect(metrics[#"drawbridge_request_duration_seconds_count{hostname="localhost",api="echo"}"#] == 5)
        #expect(metrics[#"drawbridge_request_duration_seconds_bucket{hostname="localhost",api="echo",le="+Inf"}"#] == 5)
        // The one forwarded request reached the echo backend (the refused ones never left the gateway).
        #expect((metrics["drawbridge_backend_duration_seconds_count"] ?? 0) >= 1)
        // Certificates: the demo server certificate and both CAs, with time left.
        let serverExpiry = metrics.first { $0.key.hasPrefix(#"drawbridge_certificate_expiry_seconds{kind="server",hostname="localhost""#) }
        #expect((serverExpiry?.value ?? 0) > 86_400)
        #expect(metrics.keys.filter { $0.hasPrefix(#"drawbridge_certificate_expiry_seconds{kind="ca""#) }.count == 2)
        // The revoked certificate's check downloaded the issuing CA's CRL from its distribution point.
        let crlFetches = metrics.filter { $0.key.hasPrefix(#"drawbridge_crl_fetches_total{distribution_point="http://127.0.0.1:"#)
            && $0.key.hasSuffix(#"/crl/intermediate.crl",result="success"}"#) }
        #expect(crlFetches.count == 1 && (crlFetches.first?.value ?? 0) >= 1, "\(metrics.keys.filter { $0.contains("crl") })")
        let crlAge = metrics.first { $0.key.hasPrefix("drawbridge_crl_age_seconds{") && $0.key.hasSuffix(#"/crl/intermediate.crl"}"#) }
        #expect(crlAge != nil && (crlAge?.value ?? -1) >= 0 && (crlAge?.value ?? 1e9) < 600)
        let nextUpdate = metrics.first { $0.key.hasPrefix("drawbridge_crl_next_update_seconds{") && $0.key.hasSuffix(#"/crl/intermediate.crl"}"#) }
        #expect((nextUpdate?.value ?? 0) > 0, "\(String(describing: nextUpdate))")

        // A plain-HTTP client on the TLS port is a failed handshake.
        _ = try await Curl.run(["http://127.0.0.1:\(gateway.port)/echo"])
        // A reload counts, and keeps the request counters (they belong to the server, not the snapshot).
        try gateway.server.reload(config: gateway.server.snapshot.config)
        let after = try await Self.scrape(operations.port)
        #expect(after[#"drawbridge_config_reloads_total{result="success"}"#] == 1)
        #expect(after[#"drawbridge_tls_handshakes_total{outcome="failed",version="unknown"}"#] == 1)
        #expect(after[Self.requests("echo", "get-user", "GET", "2xx")] == 1)
        #expect((after[#"drawbridge_open_connections{protocol="http1.1"}"#] ?? -1) >= 0)

        await operations.stop()
        try await gateway.stop()
    }

    @Test func readinessIs503BeforeBindAndWhileDraining() async throws {
        let gateway = try await TestGateway.start { pki, port in
            var config = Self.config(pki: pki, echoPort: port)
            config.limits.drainGracePeriod = 20
            return config
        }
        let operations = try await gateway.server.startOperations(address: "127.0.0.1", port: 0, group: MultiThreadedEventLoopGroup.singleton)
        let ops = "http://127.0.0.1:\(operations.port)"
        #expect(try await Curl.run(["\(ops)/readyz"]).httpCode == 200)

        // A request in flight for 3 s keeps the gateway draining after shutdown.
        let pki = gateway.pki
        let slow = Task {
            try await Curl.run(self.gatewayArgs(gateway, cert: (pki.clientCertificate, pki.clientKey))
                               + ["-H", "x-echo-delay-ms: 3000", "\(gateway.baseURL)/public/slow"])
        }
        try await Task.sleep(for: .milliseconds(700))
        let stopping = Task { try await gateway.stop() }
        try await Task.sleep(for: .milliseconds(300))
        let draining = try await Curl.run(["\(ops)/readyz"])
        #expect(draining.httpCode == 503)
        #expect(draining.body == "not ready: draining\n")
        // Liveness is unaffected, and the drain lets the in-flight request finish.
        #expect(try await Curl.run(["\(ops)/healthz"]).httpCode == 200)
        #expect(!slow.isCancelled)
        let finished = try await slow.value
        #expect(finished.httpCode == 200, "\(finished.stderr)")
        try await stopping.value
        await operations.stop()

        // A gateway that has not bound its port yet is not ready either.
        let echo = try await EchoBackend.start(group: MultiThreadedEventLoopGroup.singleton)
        let unbound = try GatewayServer(config: Self.config(pki: pki, echoPort: echo.port), group: MultiThreadedEventLoopGroup.singleton,
                                        logger: .init(label: "test"))
        let early = try await unbound.startOperations(address: "127.0.0.1", port: 0, group: MultiThreadedEventLoopGroup.singleton)
        let starting = try await Curl.run(["http://127.0.0.1:\(early.port)/readyz"])
        #expect(starting.httpCode == 503)
        #expect(starting.body.hasPrefix("not ready: starting"))
        await early.stop()
        unbound.shutdown()
        try await unbound.run()
        await echo.stop()
    }

    /// A policy expression that fails at run time: 500 with an activityId, counted by API and source.
    @Test func policyErrorsAreCountedByAPIAndSource() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("drawbridge-ops-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let policy = folder + "/broken.xml"
        try """
        <policies><inbound><base /><set-header name="x-length" exists-action="override">
        <value>@(context.Request.Headers.GetValueOrDefault("x-missing").Length.ToString())</value></set-header></inbound>
        <backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>
        """.write(toFile: policy, atomically: true, encoding: .utf8)
        let gateway = try await TestGateway.start { pki, port in
            var config = Self.config(pki: pki, echoPort: port)
            config.apis.append(APIConfig(name: "broken", pathPrefix: "/broken", backendURL: "http://127.0.0.1:\(port)", policyFile: policy))
            return config
        }
        let operations = try await gateway.server.startOperations(address: "127.0.0.1", port: 0, group: MultiThreadedEventLoopGroup.singleton)
        let failed = try await Curl.run(gatewayArgs(gateway, cert: nil) + ["\(gateway.baseURL)/broken/x"])
        #expect(failed.httpCode == 500)
        #expect(failed.body.contains("activityId"), "\(failed.body)")
        let metrics = try await Self.scrape(operations.port)
        let series = metrics.filter { $0.key.hasPrefix(#"drawbridge_policy_errors_total{api="broken",source="#) }
        #expect(series.count == 1 && series.first?.value == 1, "\(metrics.keys.filter { $0.contains("policy") })")
        await operations.stop()
        try await gateway.stop()
    }

    @Test func apimStatusPathAnswers200OnTheGatewayPort() async throws {
        let gateway = try await TestGateway.start { pki, port in Self.config(pki: pki, echoPort: port) }
        for protocolFlag in ["--http1.1", "--http2"] {
            // Without a client certificate too: probes carry none.
            let status = try await Curl.run(gatewayArgs(gateway, cert: nil) + [protocolFlag, "\(gateway.baseURL)/status-0123456789abcdef"])
            #expect(status.httpCode == 200, "\(protocolFlag): \(status.stderr)")
            #expect(status.body.isEmpty)
        }
        // Only that exact path: a longer one is routed as usual (no API there: 404).
        let other = try await Curl.run(gatewayArgs(gateway, cert: nil) + ["\(gateway.baseURL)/status-0123456789abcdef/x"])
        #expect(other.httpCode == 404)
        try await gateway.stop()
    }

    /// Rate-limit refusals by policy, CRL download failures per distribution point (a PKI whose
    /// distribution point is a closed port), and the remaining lifetime of a server certificate and a
    /// deployment certificate (`context.Deployment.Certificates`) that expire in 10 days.
    @Test func limitRefusalsCRLFailuresAndCertificatesExpiringIn10Days() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("drawbridge-ops-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try CLITests.openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                              "-keyout", folder + "/soon-key.pem", "-out", folder + "/soon.pem", "-days", "10", "-subj", "/CN=soon.example.test"])
        try """
        <policies><inbound><base /><rate-limit-by-key calls="1" renewal-period="60" counter-key="@(context.Request.IpAddress)" />
        </inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>
        """.write(toFile: folder + "/limited.xml", atomically: true, encoding: .utf8)
        // Certificates naming http://127.0.0.1:1/crl/… as their CRL distribution point: nothing listens there.
        let pki = DemoPKI(directory: folder + "/pki")
        _ = try pki.createIfMissing(serverNames: ["localhost"], crlBaseURL: "http://127.0.0.1:1/crl")
        let echo = try await EchoBackend.start(group: MultiThreadedEventLoopGroup.singleton)
        var config = Self.config(pki: pki, echoPort: echo.port)
        config.apis.append(APIConfig(name: "limited", pathPrefix: "/limited", backendURL: "http://127.0.0.1:\(echo.port)",
                                     policyFile: folder + "/limited.xml"))
        config.hostnames.append(HostnameConfig(name: "soon.example.test",
                                               serverCertificate: .pem(certificateFile: folder + "/soon.pem", keyFile: folder + "/soon-key.pem"),
                                               clientCertificate: .negotiate, trustedCAFiles: [pki.rootCA, pki.intermediateCA]))
        config.policies.certificateFiles["soon"] = folder + "/soon.pem"
        config.policies.revocation.fetchTimeout = 2
        let server = try GatewayServer(config: config, group: MultiThreadedEventLoopGroup.singleton, logger: .init(label: "test"))
        let (port, run) = try await TestGateway.run(server)
        let operations = try await server.startOperations(address: "127.0.0.1", port: 0, group: MultiThreadedEventLoopGroup.singleton)
        let base = ["--cacert", pki.rootCA, "--resolve", "localhost:\(port):127.0.0.1"]

        #expect(try await Curl.run(base + ["https://localhost:\(port)/limited/x"]).httpCode == 200)
        let refused = try await Curl.run(base + ["https://localhost:\(port)/limited/x"])
        #expect(refused.httpCode == 429, "\(refused.body)")
        // The client certificate's revocation cannot be checked: its distribution point is unreachable.
        let unknown = try await Curl.run(base + ["--cert", pki.clientCertificate, "--key", pki.clientKey, "https://localhost:\(port)/echo/users/1"])
        #expect(unknown.httpCode == 403, "\(unknown.stderr)")

        let metrics = try await Self.scrape(operations.port)
        #expect(metrics[#"drawbridge_limit_refusals_total{policy="rate-limit-by-key"}"#] == 1, "\(metrics.keys.filter { $0.contains("limit") })")
        #expect(metrics[#"drawbridge_limit_refusals_total{policy="quota-by-key"}"#] == 0)
        #expect(metrics[#"drawbridge_client_certificate_checks_total{outcome="revocation_unknown"}"#] == 1)
        let failures = metrics.filter { $0.key.hasPrefix(#"drawbridge_crl_fetches_total{distribution_point="http://127.0.0.1:1/crl/"#)
            && $0.key.hasSuffix(#"result="failure"}"#) }
        #expect(!failures.isEmpty && failures.values.allSatisfy { $0 >= 1 }, "\(metrics.keys.filter { $0.contains("crl") })")
        // No successful download: no age.
        #expect(!metrics.keys.contains { $0.hasPrefix(#"drawbridge_crl_age_seconds{distribution_point="http://127.0.0.1:1/"#) })
        let tenDays = 10.0 * 86_400
        let serverSoon = metrics.first { $0.key.hasPrefix(#"drawbridge_certificate_expiry_seconds{kind="server",hostname="soon.example.test""#) }
        #expect(serverSoon.map { $0.value > tenDays - 7_200 && $0.value <= tenDays } == true, "\(String(describing: serverSoon))")
        let deploymentSoon = metrics.first { $0.key.hasPrefix(#"drawbridge_certificate_expiry_seconds{kind="deployment""#) }
        #expect(deploymentSoon?.key.contains(#"id="soon""#) == true && deploymentSoon?.key.contains("CN=soon.example.test") == true,
                "\(String(describing: deploymentSoon))")
        #expect(deploymentSoon.map { $0.value > tenDays - 7_200 && $0.value <= tenDays } == true)

        await operations.stop()
        server.shutdown()
        try await run.value
        await echo.stop()
    }

    /// Body bytes in and out, over HTTP/1.1 and HTTP/2, on the event-loop path (bodiless GET) and the
    /// task path (a streamed request body): in the (text) access log and in the byte counters.
    @Test func bodyBytesInAndOutReachTheAccessLogAndTheCounters() async throws {
        let log = CapturedLog()
        let pki = try await SharedPKI.shared.pki()
        let echo = try await EchoBackend.start(group: MultiThreadedEventLoopGroup.singleton)
        var config = Self.config(pki: pki, echoPort: echo.port)
        config.accessLog = true
        let server = try GatewayServer(config: config, group: MultiThreadedEventLoopGroup.singleton, logger: log.logger())
        let (port, run) = try await TestGateway.run(server)
        let operations = try await server.startOperations(address: "127.0.0.1", port: 0, group: MultiThreadedEventLoopGroup.singleton)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("drawbridge-ops-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data(repeating: 0x61, count: 100_000).write(to: URL(fileURLWithPath: folder + "/body"))
        let base = ["--cacert", pki.rootCA, "--resolve", "localhost:\(port):127.0.0.1"]
        let url = "https://localhost:\(port)/public"

        var expected: [(path: String, bytesIn: Int, bytesOut: Int)] = []
        for flag in ["--http1.1", "--http2"] {
            let get = try await Curl.run(base + [flag, "\(url)/get\(flag)"])
            #expect(get.httpCode == 200, "\(get.stderr)")
            expected.append(("/public/get\(flag)", 0, get.body.utf8.count))
            let post = try await Curl.run(base + [flag, "--data-binary", "@" + folder + "/body", "\(url)/post\(flag)"])
            #expect(post.httpCode == 200 && post.body.contains("100000"), "\(post.stderr)")
            expected.append(("/public/post\(flag)", 100_000, post.body.utf8.count))
            let head = try await Curl.run(base + [flag, "-I", "\(url)/head\(flag)"])
            #expect(head.httpCode == 200)
            expected.append(("/public/head\(flag)", 0, 0))
        }
        let metrics = try await Self.scrape(operations.port)
        await operations.stop()
        server.shutdown()
        try await run.value
        await echo.stop()

        let lines = log.entries.withLockedValue { $0 }.filter { $0.message == "request" }
        for item in expected {
            let line = lines.first { $0.metadata["path"] == item.path }
            #expect(line?.metadata["bytes_in"] == String(item.bytesIn) && line?.metadata["bytes_out"] == String(item.bytesOut),
                    "\(item) \(String(describing: line?.metadata))")
        }
        let series = #"drawbridge_request_body_bytes_total{hostname="localhost",api="public-echo",operation="all",direction="#
        #expect(metrics[series + #""in"}"#] == Double(expected.map(\.bytesIn).reduce(0, +)), "\(metrics.keys.filter { $0.contains("bytes") })")
        #expect(metrics[series + #""out"}"#] == Double(expected.map(\.bytesOut).reduce(0, +)))
    }

    /// Outcomes beyond the built-in gate and the 200/403/502 of the first test, each driven by curl:
    /// a policy's certificate refusals (identity not matched; a `return-response` 403), a TLS 1.2
    /// handshake, a backend timeout and a backend 5xx, a failed reload, and open connections.
    @Test func policyCertificateRefusalsTLS12BackendKindsReloadFailureAndOpenConnections() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("drawbridge-ops-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try """
        <policies><inbound><base /><validate-client-certificate validate-revocation="false" validate-trust="true" validate-not-before="true"
          validate-not-after="true" ignore-error="false"><identities><identity thumbprint="0000000000000000000000000000000000000000" />
          </identities></validate-client-certificate></inbound>
        <backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>
        """.write(toFile: folder + "/identity.xml", atomically: true, encoding: .utf8)
        try """
        <policies><inbound><base /><choose><when condition="@(context.Request.Certificate == null)">
          <return-response><set-status code="403" reason="Forbidden" /></return-response></when></choose></inbound>
        <backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>
        """.write(toFile: folder + "/seedlike.xml", atomically: true, encoding: .utf8)
        let failing = try await DocumentServer.start(["/x": .status(503)])
        let gateway = try await TestGateway.start { pki, port in
            var config = Self.config(pki: pki, echoPort: port)
            config.backend.timeout = 1
            config.apis += [
                APIConfig(name: "identity", pathPrefix: "/identity", backendURL: "http://127.0.0.1:\(port)", policyFile: folder + "/identity.xml"),
                APIConfig(name: "seedlike", pathPrefix: "/seedlike", backendURL: "http://127.0.0.1:\(port)", policyFile: folder + "/seedlike.xml"),
                APIConfig(name: "failing", pathPrefix: "/failing", backendURL: "http://127.0.0.1:\(failing.port)"),
            ]
            return config
        }
        let operations = try await gateway.server.startOperations(address: "127.0.0.1", port: 0, group: MultiThreadedEventLoopGroup.singleton)
        let pki = gateway.pki
        let withCert = gatewayArgs(gateway, cert: (pki.clientCertificate, pki.clientKey))
        let identity = try await Curl.run(withCert + ["\(gateway.baseURL)/identity/x"])
        #expect(identity.httpCode == 401, "\(identity.body)")
        #expect(try await Curl.run(gatewayArgs(gateway, cert: nil) + ["\(gateway.baseURL)/seedlike/x"]).httpCode == 403)
        #expect(try await Curl.run(gatewayArgs(gateway, cert: nil) + ["--tls-max", "1.2", "\(gateway.baseURL)/public/x"]).httpCode == 200)
        #expect(try await Curl.run(gatewayArgs(gateway, cert: nil) + ["-H", "x-echo-delay-ms: 3000", "\(gateway.baseURL)/public/slow"]).httpCode == 504)
        #expect(try await Curl.run(gatewayArgs(gateway, cert: nil) + ["\(gateway.baseURL)/failing/x"]).httpCode == 503)
        var broken = gateway.server.snapshot.config
        broken.apis.append(APIConfig(name: "bad", pathPrefix: "/bad", backendURL: "http://127.0.0.1:1", policyFile: folder + "/missing.xml"))
        #expect(throws: (any Error).self) { try gateway.server.reload(config: broken) }

        // Two connections held open (one per protocol) by slow answers while /metrics is read.
        let held = ["--http1.1", "--http2"].map { flag in
            Task { try await Curl.run(self.gatewayArgs(gateway, cert: nil) + [flag, "-H", "x-echo-delay-ms: 800", "\(gateway.baseURL)/public/held"]) }
        }
        try await Task.sleep(for: .milliseconds(400))
        let metrics = try await Self.scrape(operations.port)
        for task in held { _ = try await task.value }
        let after = try await Self.scrape(operations.port)
        await operations.stop()
        try await gateway.stop()
        await failing.stop()

        #expect(metrics[#"drawbridge_client_certificate_checks_total{outcome="identity_not_matched"}"#] == 1,
                "\(metrics.filter { $0.key.contains("client_certificate") })")
        #expect(metrics[#"drawbridge_client_certificate_checks_total{outcome="policy_refused"}"#] == 1)
        #expect(metrics[#"drawbridge_tls_handshakes_total{outcome="ok",version="TLSv1.2"}"#] == 1)
        #expect(metrics[#"drawbridge_backend_failures_total{kind="timeout"}"#] == 1, "\(metrics.filter { $0.key.contains("backend_failures") })")
        #expect(metrics[#"drawbridge_backend_failures_total{kind="5xx"}"#] == 1)
        #expect(metrics[#"drawbridge_config_reloads_total{result="failure"}"#] == 1)
        #expect(metrics[#"drawbridge_open_connections{protocol="http1.1"}"#] == 1, "\(metrics.filter { $0.key.contains("open_connections") })")
        #expect(metrics[#"drawbridge_open_connections{protocol="h2"}"#] == 1)
        #expect(after[#"drawbridge_open_connections{protocol="http1.1"}"#] == 0 && after[#"drawbridge_open_connections{protocol="h2"}"#] == 0)
    }

    /// A client certificate that is not valid yet (issued by openssl with a future start date) and a
    /// connection without SNI to a gateway with no default hostname (TLS `unrecognized_name`).
    @Test func notYetValidCertificateAndUnrecognizedNameAreCounted() async throws {
        let hand = try OpenSSLPKI.create(clients: [])
        defer { hand.remove() }
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        _ = try OpenSSLPKI.run(["req", "-new"] + ec + ["-keyout", hand.key("future"), "-out", hand.path("future.csr"), "-subj", "/CN=future"])
        _ = try OpenSSLPKI.run(["ca", "-config", hand.issuingConfig, "-batch", "-notext", "-extensions", "client", "-in", hand.path("future.csr"),
                                "-out", hand.certificate("future"), "-startdate", "20400101000000Z", "-enddate", "20410101000000Z"])
        let gateway = try await TestGateway.start { pki, port in
            var config = Self.config(pki: pki, echoPort: port)
            config.defaultHostname = nil
            config.hostnames[0].trustedCAFiles += [hand.rootCA, hand.issuingCA]
            return config
        }
        let operations = try await gateway.server.startOperations(address: "127.0.0.1", port: 0, group: MultiThreadedEventLoopGroup.singleton)
        let future = try await Curl.run(gatewayArgs(gateway, cert: (hand.certificate("future"), hand.key("future"))) + ["\(gateway.baseURL)/echo/users/1"])
        #expect(future.httpCode == 403, "\(future.stderr)")
        // An IP address as the URL's host: curl sends no SNI, and no default hostname is configured.
        let noSNI = try await Curl.run(["--cacert", gateway.pki.rootCA, "-k", "https://127.0.0.1:\(gateway.port)/public/x"])
        #expect(noSNI.httpCode == 0 && noSNI.status != 0, "\(noSNI.stdout) \(noSNI.stderr)")
        let metrics = try await Self.scrape(operations.port)
        await operations.stop()
        try await gateway.stop()
        #expect(metrics[#"drawbridge_client_certificate_checks_total{outcome="not_yet_valid"}"#] == 1,
                "\(metrics.filter { $0.key.contains("client_certificate") })")
        #expect(metrics[#"drawbridge_tls_handshakes_total{outcome="unrecognized_name",version="unknown"}"#] == 1,
                "\(metrics.filter { $0.key.contains("handshakes") })")
    }
}
