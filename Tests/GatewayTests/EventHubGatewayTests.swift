import Crypto
import Foundation
import Gateway
import GatewayConfiguration
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Testing

@testable import Gateway

/// A loopback HTTPS server playing Azure Event Hubs' REST endpoint, with the demo PKI's `localhost`
/// certificate: it checks each request's SAS token with the shared access key (HMAC-SHA256 of the
/// encoded resource URI and the expiry, as the service does), records what came, and answers 201
/// (after `delay`, when set).
final class FakeEventHub: Sendable {
    struct Received: Sendable {
        let uri: String
        let headers: [String: String]
        let body: String
        /// Nil when the token verified; otherwise why not.
        let signatureProblem: String?
        /// The token's `sr`, decoded.
        let resource: String
    }

    private let server: LoopbackHTTPServer
    private let state: NIOLockedValueBox<[Received]>

    var port: Int { server.port }
    var received: [Received] { state.withLockedValue { $0 } }

    /// The messages received, in order (each request's JSON batch unpacked).
    var messages: [(body: String, partitionKey: String?, uri: String)] {
        received.flatMap { request -> [(body: String, partitionKey: String?, uri: String)] in
            guard let items = try? JSONSerialization.jsonObject(with: Data(request.body.utf8)) as? [[String: Any]] else { return [] }
            return items.map { item in
                ((item["Body"] as? String) ?? "", (item["BrokerProperties"] as? [String: Any])?["PartitionKey"] as? String, request.uri)
            }
        }
    }

    private init(server: LoopbackHTTPServer, state: NIOLockedValueBox<[Received]>) {
        self.server = server
        self.state = state
    }

    static func start(pki: DemoPKI, keyName: String, key: String, delay: TimeAmount = .zero) async throws -> FakeEventHub {
        let chain = try NIOSSLCertificate.fromPEMFile(pki.serverCertificate).map { NIOSSLCertificateSource.certificate($0) }
        let context = try NIOSSLContext(configuration: .makeServerConfiguration(certificateChain: chain, privateKey: .file(pki.serverKey)))
        let state = NIOLockedValueBox<[Received]>([])
        let server = try await LoopbackHTTPServer.start(tls: context) { request in
            let (problem, resource) = FakeEventHub.verify(request.header("Authorization"), keyName: keyName, key: key)
            state.withLockedValue {
                $0.append(Received(uri: request.uri, headers: Dictionary(request.headers.map { ($0.name, $0.value) }, uniquingKeysWith: { $1 }),
                                   body: request.body, signatureProblem: problem, resource: resource))
            }
            return LoopbackHTTPServer.Answer(status: problem == nil ? 201 : 401, delay: delay)
        }
        return FakeEventHub(server: server, state: state)
    }

    func stop() async { await server.stop() }

    /// Waits until `count` messages have arrived (or `seconds` passed).
    func waitFor(messages count: Int, seconds: Double = 10) async throws {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while messages.count < count, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
    }

    /// `SharedAccessSignature sr=…&sig=…&se=…&skn=…` checked as Event Hubs checks it.
    static func verify(_ authorization: String?, keyName: String, key: String) -> (problem: String?, resource: String) {
        guard let authorization, authorization.hasPrefix("SharedAccessSignature ") else { return ("no SharedAccessSignature", "") }
        var fields: [String: String] = [:]
        for pair in authorization.dropFirst("SharedAccessSignature ".count).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { fields[String(parts[0])] = String(parts[1]) }
        }
        guard let sr = fields["sr"], let sig = fields["sig"]?.removingPercentEncoding, let se = fields["se"], let expiry = Int64(se),
              let skn = fields["skn"]?.removingPercentEncoding
        else { return ("missing fields", "") }
        let resource = sr.removingPercentEncoding ?? ""
        guard skn == keyName else { return ("key name \(skn)", resource) }
        guard expiry > Int64(Date().timeIntervalSince1970) else { return ("expired", resource) }
        let mac = HMAC<SHA256>.authenticationCode(for: Array("\(sr)\n\(se)".utf8), using: SymmetricKey(data: Array(key.utf8)))
        guard Data(mac).base64EncodedString() == sig else { return ("bad signature", resource) }
        return (nil, resource)
    }
}

/// A TCP port that accepts connections and never says a word (not even TLS): a dead Event Hubs endpoint.
final class SilentServer: Sendable {
    let port: Int
    private let channel: any Channel

    private init(port: Int, channel: any Channel) {
        self.port = port
        self.channel = channel
    }

    static func start() async throws -> SilentServer {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in channel.eventLoop.makeSucceededVoidFuture() }
            .bind(host: "127.0.0.1", port: 0).get()
        return SilentServer(port: channel.localAddress?.port ?? 0, channel: channel)
    }

    func stop() async { try? await channel.close() }
}

/// `log-to-eventhub` end to end: curl → gateway (policy) → the logger's queue → HTTPS with a SAS
/// token to a loopback server playing Event Hubs, which verifies the signature with the key.
@Suite(.serialized, .enabled(if: Curl.isAvailable, "needs /usr/bin/curl"))
struct EventHubGatewayTests {
    static let key = "dGVzdC1zaGFyZWQtYWNjZXNzLWtleS0wMTIzNDU2Nzg5"

    /// The loggers as the YAML configuration gives them (the connection string through a secret
    /// named value, as APIM's loggers take `{{…}}`).
    static func loggers(hubPort: Int, extra: String = "", queueSize: Int = 100) throws -> (loggers: [String: LoggerConfig], namedValues: [String: String]) {
        let yaml = """
            hostnames:
              - { name: a.test, certificate: c.pem, key: k.pem }
            policies:
              namedValues:
                eh-connection: { value: "Endpoint=sb://localhost:\(hubPort)/;SharedAccessKeyName=send;SharedAccessKey=\(key);EntityPath=apim-logs", secret: true }
              loggers:
                contoso-logger:
                  eventHub: { connectionString: "{{eh-connection}}" }
                  queueSize: \(queueSize)
            \(extra)
            """
        let policies = try GatewayConfigLoader.parse(yaml: yaml, file: "gw.yaml", baseDirectory: "/").policies
        return (policies.loggers, policies.namedValues)
    }

    /// A gateway whose API 1 runs `policy`, with `loggers` (and their named values) configured and
    /// the test CA trusted for the loopback Event Hubs.
    static func gateway(policy: String, loggers: [String: LoggerConfig], namedValues: [String: String],
                        tweak: @escaping @Sendable (inout GatewayConfig) -> Void = { _ in }) async throws -> TestGateway {
        try await TestGateway.start(tweaking: { config, pki, _ in
            config.apis[1].policyFile = policy
            config.policies.loggers = loggers
            config.policies.namedValues.merge(namedValues) { $1 }
            config.backend.trustedCAFiles = [pki.rootCA]
            tweak(&config)
        })
    }

    /// A policy document that runs `inbound` and forwards the request.
    static func forwardingPolicy(_ inbound: String) throws -> String {
        try CataloguePolicyGatewayTests.writePolicy("""
            <policies>
              <inbound>\(inbound)</inbound>
              <backend><forward-request /></backend>
              <outbound />
              <on-error />
            </policies>
            """)
    }

    @Test func thePolicysMessageReachesTheEventHubWithAValidSignature() async throws {
        let pki = try await SharedPKI.shared.pki()
        let hub = try await FakeEventHub.start(pki: pki, keyName: "send", key: Self.key)
        let auditFile = FileManager.default.temporaryDirectory.appendingPathComponent("audit-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: auditFile) }
        let policy = try CataloguePolicyGatewayTests.writePolicy("""
            <policies>
              <inbound>
                <log-to-eventhub logger-id="contoso-logger" partition-key="@(context.Request.Headers.GetValueOrDefault(&quot;X-Tenant&quot;, &quot;none&quot;))">
                  @{
                    return new JObject(
                      new JProperty("method", context.Request.Method),
                      new JProperty("path", context.Request.Url.Path),
                      new JProperty("note", context.Request.Headers.GetValueOrDefault("X-Note", "")),
                      new JProperty("requestId", context.RequestId.ToString())
                    ).ToString();
                  }
                </log-to-eventhub>
                <log-to-eventhub logger-id="audit">@(context.Request.Headers.GetValueOrDefault("X-Note", ""))</log-to-eventhub>
              </inbound>
              <backend><forward-request /></backend>
              <outbound>
                <log-to-eventhub logger-id="contoso-logger" partition-id="1">@("status " + context.Response.StatusCode)</log-to-eventhub>
              </outbound>
              <on-error />
            </policies>
            """)
        defer { try? FileManager.default.removeItem(atPath: policy) }
        let (loggers, namedValues) = try Self.loggers(hubPort: hub.port, extra: "    audit: { file: \(auditFile) }")
        let gateway = try await TestGateway.start(tweaking: { config, pki, _ in
            config.apis[1].policyFile = policy
            config.policies.loggers = loggers
            config.policies.namedValues.merge(namedValues) { $1 }
            config.policies.secretNamedValues.insert("eh-connection")
            config.backend.trustedCAFiles = [pki.rootCA]
        })
        let note = "q\" }{ \\ \t tab"
        let answer = try await CataloguePolicyGatewayTests.call(gateway, "/public/items/7", headers: ["X-Tenant: t1", "X-Note: \(note)"])
        #expect(answer.httpCode == 200, "\(answer.stdout) \(answer.stderr)")
        try await hub.waitFor(messages: 2)
        let received = hub.received
        #expect(received.allSatisfy { $0.signatureProblem == nil }, "\(received.map(\.signatureProblem))")
        #expect(received.allSatisfy { $0.resource == "https://localhost:\(hub.port)/apim-logs" }, "\(received.map(\.resource))")
        #expect(received.allSatisfy { $0.headers["Content-Type"] == "application/vnd.microsoft.servicebus.json" })
        let messages = hub.messages
        #expect(messages.count == 2)
        let inbound = try #require(messages.first { $0.uri.hasPrefix("/apim-logs/messages?") })
        #expect(inbound.partitionKey == "t1")
        let logged = try #require(try JSONSerialization.jsonObject(with: Data(inbound.body.utf8)) as? [String: String])
        #expect(logged["method"] == "GET")
        #expect(logged["path"] == "/items/7")  // (context.Request.Url.Path: the path under the API)
        #expect(logged["note"] == note)
        #expect(logged["requestId"]?.count == 36)
        #expect(received.first { $0.uri.hasPrefix("/apim-logs/messages?") }?.headers["BrokerProperties"] == #"{"PartitionKey":"t1"}"#)
        let outbound = try #require(messages.first { $0.uri.hasPrefix("/apim-logs/partitions/1/messages?") })
        #expect(outbound.body == "status 200")
        #expect(outbound.partitionKey == nil)
        // The same request's note in the JSON-lines file: one line, escaped.
        for _ in 0..<100 where ((try? String(contentsOfFile: auditFile, encoding: .utf8)) ?? "").isEmpty { try await Task.sleep(for: .milliseconds(20)) }
        let lines = try String(contentsOfFile: auditFile, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 1)
        let line = try #require(try JSONSerialization.jsonObject(with: Data((lines.first ?? "").utf8)) as? [String: Any])
        #expect(line["logger"] as? String == "audit")
        #expect(line["message"] as? String == note, "\(line)")
        #expect(lines.first?.contains(#"q\" }{ \\ \t tab"#) == true)
        // Counted on /metrics once the hub's answers are back (the hub has the messages a moment before
        // the sender counts them); the key appears nowhere.
        let sent = #"drawbridge_logger_events_total{logger="contoso-logger",result="sent"} 2"#
        for _ in 0..<100 where !gateway.server.metrics.render().contains(sent) { try await Task.sleep(for: .milliseconds(20)) }
        let metrics = gateway.server.metrics.render()
        #expect(metrics.contains(sent), "\(metrics)")
        #expect(!metrics.contains(Self.key))
        try await gateway.stop()
        await hub.stop()
    }

    @Test func aDeadEventHubNeitherSlowsNorFailsRequestsAndItsQueueStaysBounded() async throws {
        let silent = try await SilentServer.start()
        let policy = try Self.forwardingPolicy(#"<log-to-eventhub logger-id="contoso-logger">@(context.Request.Url.Path)</log-to-eventhub>"#)
        defer { try? FileManager.default.removeItem(atPath: policy) }
        let (loggers, namedValues) = try Self.loggers(hubPort: silent.port, queueSize: 3)
        let gateway = try await Self.gateway(policy: policy, loggers: loggers, namedValues: namedValues) { config in
            config.limits.drainGracePeriod = 1
        }
        for i in 0..<10 {
            let started = ContinuousClock.now
            let answer = try await CataloguePolicyGatewayTests.call(gateway, "/public/dead-\(i)")
            let took = ContinuousClock.now - started
            #expect(answer.httpCode == 200, "\(answer.stdout) \(answer.stderr)")
            #expect(took < .seconds(2), "request \(i) took \(took)")
        }
        let running = try #require(gateway.server.eventLoggers.logger("contoso-logger"))
        // One batch is stuck in the silent TLS handshake, at most 3 wait; the rest were dropped.
        #expect(running.statistics.dropped >= 6, "\(running.statistics)")
        #expect(running.queue.count <= 3)
        let metrics = gateway.server.metrics.render()
        #expect(metrics.contains(#"drawbridge_logger_events_total{logger="contoso-logger",result="dropped"}"#))
        #expect(metrics.contains(#"drawbridge_logger_queued_events{logger="contoso-logger"} \#(running.queue.count)"#), "\(metrics)")
        // Shutdown keeps the drain deadline (1 s) and gives up what is left.
        let stopping = ContinuousClock.now
        try await gateway.stop()
        #expect(ContinuousClock.now - stopping < .seconds(5))
        #expect(running.statistics.failed >= 1, "\(running.statistics)")
        await silent.stop()
    }

    @Test func shutdownSendsWhatIsQueuedAndAReloadKeepsAnUnchangedLogger() async throws {
        let pki = try await SharedPKI.shared.pki()
        let hub = try await FakeEventHub.start(pki: pki, keyName: "send", key: Self.key, delay: .milliseconds(150))
        let policy = try Self.forwardingPolicy(#"<log-to-eventhub logger-id="contoso-logger">@(context.Request.Url.Path)</log-to-eventhub>"#)
        defer { try? FileManager.default.removeItem(atPath: policy) }
        let (parsed, namedValues) = try Self.loggers(hubPort: hub.port)
        var loggers = parsed
        loggers["contoso-logger"]?.batchSize = 1
        let configured = loggers
        let gateway = try await Self.gateway(policy: policy, loggers: configured, namedValues: namedValues) { config in
            config.limits.drainGracePeriod = 10
        }
        let before = gateway.server.eventLoggers.logger("contoso-logger")
        try gateway.server.reload(config: gateway.server.snapshot.config)
        #expect(gateway.server.eventLoggers.logger("contoso-logger") === before)
        for i in 0..<4 { #expect(try await CataloguePolicyGatewayTests.call(gateway, "/public/drain-\(i)").httpCode == 200) }
        // One event a request, 150 ms each at the hub: most are still queued when the gateway stops.
        try await gateway.stop()
        #expect(hub.messages.map(\.body).sorted() == (0..<4).map { "/drain-\($0)" })
        #expect(before?.statistics == RunningEventLogger.Counts(sent: 4, failed: 0, dropped: 0))
        await hub.stop()
    }

    @Test func aTokenSignedWithAnotherKeyIsRefusedAndCountedAsFailed() async throws {
        let pki = try await SharedPKI.shared.pki()
        let hub = try await FakeEventHub.start(pki: pki, keyName: "send", key: "the-hub-knows-another-key")
        let policy = try Self.forwardingPolicy(#"<log-to-eventhub logger-id="contoso-logger">hello</log-to-eventhub>"#)
        defer { try? FileManager.default.removeItem(atPath: policy) }
        let (loggers, namedValues) = try Self.loggers(hubPort: hub.port)
        let gateway = try await Self.gateway(policy: policy, loggers: loggers, namedValues: namedValues)
        #expect(try await CataloguePolicyGatewayTests.call(gateway, "/public/x").httpCode == 200)
        let running = try #require(gateway.server.eventLoggers.logger("contoso-logger"))
        for _ in 0..<250 where running.statistics.failed == 0 { try await Task.sleep(for: .milliseconds(20)) }
        #expect(hub.received.map(\.signatureProblem) == ["bad signature"])  // 401: not retried
        #expect(running.statistics == RunningEventLogger.Counts(sent: 0, failed: 1, dropped: 0))
        try await gateway.stop()
        await hub.stop()
    }

    /// The policy on HTTP/2 and on the bodiless synchronous path (no task per request) logs as well.
    @Test func overHTTP2AndTheSynchronousPathToAJSONLinesFile() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("h2-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        let policy = try Self.forwardingPolicy(#"<log-to-eventhub logger-id="audit" partition-id="0">@(context.Request.Method + " " + context.Request.Url.Path)</log-to-eventhub>"#)
        defer { try? FileManager.default.removeItem(atPath: policy) }
        let gateway = try await TestGateway.start(tweaking: { config, _, _ in
            config.apis[1].policyFile = policy
            config.policies.loggers = ["audit": LoggerConfig(id: "audit", sink: .file(path: file))]
        })
        let answer = try await Curl.run(SecurityProbeTests.common(gateway) + ["--http2", "--max-time", "10", "\(gateway.baseURL)/public/h2-\(1)"])
        #expect(answer.httpCode == 200, "\(answer.stderr)")
        for _ in 0..<100 where ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").isEmpty { try await Task.sleep(for: .milliseconds(20)) }
        let text = try String(contentsOfFile: file, encoding: .utf8)
        #expect(text.contains(#""partitionId":0"#) && text.contains(#""message":"GET /h2-1""#), "\(text)")
        try await gateway.stop()
    }
}
