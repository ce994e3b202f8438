import Foundation
import Gateway
import GatewayConfiguration
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

/// `tracing:` — span export over OTLP/HTTP. The configuration is checked in every build; spans are
/// exported only by a build with the `OTel` trait (`swift build --traits OTel`), where curl drives
/// requests through a gateway and a loopback OTLP/HTTP collector (below) receives the spans.
@Suite(.serialized)
struct SpanExportConfigurationTests {
    func load(_ yaml: String) throws -> (GatewayConfig?, [String]) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("drawbridge-tracing-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try yaml.write(toFile: folder + "/gateway.yaml", atomically: true, encoding: .utf8)
        let (config, errors) = GatewayConfigLoader.loadCollectingErrors(path: folder + "/gateway.yaml")
        return (config, errors.map(\.description))
    }

    static let head = """
        listen: { port: 0 }
        hostnames: [{ name: localhost, certificate: server.pem, key: server-key.pem }]
        apis: [{ name: a, path: /a, backend: "http://127.0.0.1:9" }]

        """

    @Test func tracingSettingsAreReadAndBadOnesNamed() throws {
        let (config, errors) = try load("""
            listen: { port: 0 }
            hostnames: [{ name: localhost, certificate: server.pem, key: server-key.pem }]
            apis: [{ name: a, path: /a, backend: "http://127.0.0.1:9" }]
            tracing: { endpoint: "http://127.0.0.1:4318", protocol: http/json, serviceName: edge-1, exportInterval: 250ms }
            """)
        #expect(errors.isEmpty, "\(errors)")
        let tracing = try #require(config?.tracing)
        #expect(tracing == TracingConfig(endpoint: "http://127.0.0.1:4318", wireFormat: .json, serviceName: "edge-1", exportInterval: 0.25))
        #expect(tracing.tracesURL == "http://127.0.0.1:4318/v1/traces")
        #expect(TracingConfig(endpoint: "https://c.example/otlp/v1/traces/").tracesURL == "https://c.example/otlp/v1/traces")

        let (_, bad) = try load("""
            listen: { port: 0 }
            hostnames: [{ name: localhost, certificate: server.pem, key: server-key.pem }]
            apis: [{ name: a, path: /a, backend: "http://127.0.0.1:9" }]
            tracing: { endpoint: "udp://collector:4318", protocol: grpc, exportInterval: 0s, sampler: always }
            """)
        #expect(bad.contains { $0.contains("unknown key 'sampler'") || $0.contains("sampler") }, "\(bad)")
        let (_, endpoint) = try load(Self.head + "tracing: { endpoint: \"udp://collector:4318\" }\n")
        #expect(endpoint.contains { $0.contains("tracing.endpoint must be an absolute http:// or https:// URL") && $0.contains("gateway.yaml:4:") }, "\(endpoint)")
        let (_, proto) = try load(Self.head + "tracing: { endpoint: \"http://c:4318\", protocol: grpc }\n")
        #expect(proto.contains { $0.contains("tracing.protocol must be http/protobuf or http/json") }, "\(proto)")
        let (_, missing) = try load(Self.head + "tracing: { serviceName: x }\n")
        #expect(missing.contains { $0.contains("tracing.endpoint is required") }, "\(missing)")
    }

    /// Without the trait, asking for span export is an error of `check` (and so of `serve`), never ignored.
    @Test func aBuildWithoutTheTraitRefusesTracing() throws {
        var config = GatewayConfig(hostnames: [], apis: [])
        config.tracing = TracingConfig(endpoint: "http://127.0.0.1:4318")
        let findings = ConfigurationCheck.check(config, file: "gateway.yaml")
        #if OTel
        #expect(!findings.contains { $0.message.contains("span export") }, "\(findings)")
        #else
        #expect(findings.contains { $0.severity == .error && $0.message.contains("not in this build") && $0.message.contains("--traits OTel") },
                "\(findings)")
        #endif
    }
}

#if OTel
/// A loopback OTLP/HTTP collector: takes `POST /v1/traces` (OTLP JSON, as `protocol: http/json`
/// sends it), answers `{}` as a collector does, and keeps every span received.
final class OTLPCollector: Sendable {
    struct Span: Sendable, CustomStringConvertible {
        let traceId: String
        let spanId: String
        let parentSpanId: String
        let name: String
        let kind: Int
        let attributes: [String: String]
        let start: UInt64
        let end: UInt64
        var description: String { "\(name)[\(spanId) ← \(parentSpanId)]" }
    }

    private let channel: any Channel
    private let received: NIOLockedValueBox<[Span]>
    private let posts: NIOLockedValueBox<[String]>
    let port: Int

    /// Every span received so far.
    var allSpans: [Span] { received.withLockedValue { $0 } }
    /// "METHOD target content-type" of every post so far.
    var allRequests: [String] { posts.withLockedValue { $0 } }

    static func start() async throws -> OTLPCollector {
        let received = NIOLockedValueBox<[Span]>([])
        let posts = NIOLockedValueBox<[String]>([])
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(Handler(received: received, posts: posts))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        guard let port = channel.localAddress?.port else { throw TestFailure("collector has no port") }
        return OTLPCollector(channel: channel, received: received, posts: posts, port: port)
    }

    private init(channel: any Channel, received: NIOLockedValueBox<[Span]>, posts: NIOLockedValueBox<[String]>, port: Int) {
        self.channel = channel
        self.received = received
        self.posts = posts
        self.port = port
    }

    func stop() async { try? await channel.close() }

    /// Waits until `count` spans of `traceId` arrived (the exporter sends in batches).
    func spans(ofTrace traceId: String, count: Int, within seconds: Double = 20) async throws -> [Span] {
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        while ContinuousClock.now < deadline {
            let found = allSpans.filter { $0.traceId == traceId }
            if found.count >= count { return found }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("\(allSpans.filter { $0.traceId == traceId }.count) of \(count) spans of trace \(traceId) arrived; all: \(allSpans)")
    }

    final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let received: NIOLockedValueBox<[Span]>
        let posts: NIOLockedValueBox<[String]>
        var head: HTTPRequestHead?
        var body = ByteBuffer()

        init(received: NIOLockedValueBox<[Span]>, posts: NIOLockedValueBox<[String]>) {
            self.received = received
            self.posts = posts
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body.clear()
            case .body(var part):
                body.writeBuffer(&part)
            case .end:
                guard let head else { return }
                posts.withLockedValue { $0.append("\(head.method) \(head.uri) \(head.headers.first(name: "content-type") ?? "")") }
                let spans = Self.parse(Data(body.readableBytesView))
                received.withLockedValue { $0 += spans }
                let answer = ByteBuffer(string: "{}")
                var headers = HTTPHeaders([("Content-Type", "application/json"), ("Content-Length", "\(answer.readableBytes)")])
                if !head.isKeepAlive { headers.add(name: "Connection", value: "close") }
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .ok, headers: headers))), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(answer))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                self.head = nil
            }
        }

        /// OTLP JSON: resourceSpans[].scopeSpans[].spans[]; ids are protobuf JSON bytes (base64) or hex.
        static func parse(_ data: Data) -> [Span] {
            guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { return [] }
            var spans: [Span] = []
            for resource in root["resourceSpans"] as? [[String: Any]] ?? [] {
                for scope in resource["scopeSpans"] as? [[String: Any]] ?? [] {
                    for span in scope["spans"] as? [[String: Any]] ?? [] {
                        var attributes: [String: String] = [:]
                        for attribute in span["attributes"] as? [[String: Any]] ?? [] {
                            guard let key = attribute["key"] as? String, let value = attribute["value"] as? [String: Any] else { continue }
                            attributes[key] = (value["stringValue"] as? String) ?? (value["intValue"].map { "\($0)" }) ?? "\(value)"
                        }
                        spans.append(Span(
                            traceId: hex(span["traceId"]), spanId: hex(span["spanId"]), parentSpanId: hex(span["parentSpanId"]),
                            name: span["name"] as? String ?? "", kind: span["kind"] as? Int ?? 0, attributes: attributes,
                            start: UInt64(span["startTimeUnixNano"] as? String ?? "") ?? 0,
                            end: UInt64(span["endTimeUnixNano"] as? String ?? "") ?? 0))
                    }
                }
            }
            return spans
        }

        static func hex(_ value: Any?) -> String {
            guard let text = value as? String, !text.isEmpty else { return "" }
            if (text.count == 32 || text.count == 16), text.allSatisfy(\.isHexDigit) { return text.lowercased() }
            guard let bytes = Data(base64Encoded: text) else { return text }
            return bytes.map { String(format: "%02x", $0) }.joined()
        }
    }
}

@Suite(.serialized, .enabled(if: Curl.isAvailable, "needs /usr/bin/curl (.ci/run installs it)"))
struct SpanExportTests {
    static let policy = """
        <policies>
          <inbound><set-header name="x-inbound" exists-action="override"><value>1</value></set-header></inbound>
          <backend><forward-request timeout="10" /></backend>
          <outbound><set-header name="x-outbound" exists-action="override"><value>1</value></set-header></outbound>
          <on-error><set-header name="x-on-error" exists-action="override"><value>1</value></set-header></on-error>
        </policies>
        """

    /// The `traceparent` the echo backend received, from its JSON answer.
    static func sentTraceParent(_ body: String) -> String? {
        let json = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]
        return (json?["headers"] as? [String: String])?["traceparent"]
    }

    @Test func spansReachTheCollectorWithTheTraceTheBackendSaw() async throws {
        let collector = try await OTLPCollector.start()
        defer { Task { await collector.stop() } }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("drawbridge-spans-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Self.policy.write(toFile: folder + "/policy.xml", atomically: true, encoding: .utf8)
        let collectorURL = "http://127.0.0.1:\(collector.port)"
        let gateway = try await TestGateway.start { config, _, echoPort in
            config.apis.append(APIConfig(name: "traced", pathPrefix: "/traced", backendURL: "http://127.0.0.1:\(echoPort)",
                                         policyFile: folder + "/policy.xml"))
            config.apis.append(APIConfig(name: "dead", pathPrefix: "/dead", backendURL: "http://127.0.0.1:9",
                                         policyFile: folder + "/policy.xml"))
            config.tracing = TracingConfig(endpoint: collectorURL, wireFormat: .json, serviceName: "drawbridge-test", exportInterval: 0.05)
        }
        let base = ["--cacert", gateway.pki.rootCA, "--cert", gateway.pki.clientCertificate, "--key", gateway.pki.clientKey]

        // 1. A client trace: its trace id goes on; the request span is the child of the client's span.
        let clientSpan = "00f067aa0ba902b7"
        for (flag, label, clientTrace) in [("--http1.1", "HTTP/1.1", "4bf92f3577b34da6a3ce929d0e0e4736"),
                                           ("--http2", "HTTP/2", "5bf92f3577b34da6a3ce929d0e0e4737")] {
            let answer = try await Curl.run(base + [flag, "-H", "traceparent: 00-\(clientTrace)-\(clientSpan)-01",
                                                    gateway.baseURL + "/traced/items/7?key=secret"])
            #expect(answer.httpCode == 200, "\(label): \(answer.stdout) \(answer.stderr)")
            let sent = try #require(Self.sentTraceParent(answer.body), "\(label): \(answer.body)")
            let parts = sent.split(separator: "-").map(String.init)
            #expect(parts.count == 4 && parts[1] == clientTrace && parts[3] == "01", "\(label): \(sent)")
            let parentSent = parts.count == 4 ? parts[2] : ""
            // The backend call's span is the parent-id the backend got; the spans form the tree.
            let spans = try await collector.spans(ofTrace: clientTrace, count: 5)
            #expect(spans.count == 5, "\(label): \(spans)")
            let call = try #require(spans.first { $0.spanId == parentSent }, "\(label): no span \(parentSent) in \(spans)")
            #expect(call.name == "backend call" && call.kind == 3 /* client */, "\(label): \(call)")
            #expect(call.attributes["http.response.status_code"] == "200", "\(label): \(call.attributes)")
            let request = try #require(spans.first { $0.parentSpanId == clientSpan }, "\(label): \(spans)")
            #expect(request.kind == 2 /* server */ && request.name == "GET traced", "\(label): \(request)")
            #expect(request.attributes["http.response.status_code"] == "200" && request.attributes["url.path"] == "/traced/items/7",
                    "\(label): \(request.attributes)")
            #expect(request.attributes["drawbridge.api"] == "traced", "\(label): \(request.attributes)")
            let sections = Dictionary(spans.filter { $0.parentSpanId == request.spanId }.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            #expect(Set(sections.keys) == ["inbound", "backend", "outbound"], "\(label): \(spans)")
            #expect(call.parentSpanId == sections["backend"]?.spanId, "\(label): the call's parent is the backend section: \(spans)")
            // Times nest: the request span holds the sections, in order, and the backend section holds the call.
            if let inbound = sections["inbound"], let backend = sections["backend"], let outbound = sections["outbound"] {
                #expect(request.start <= inbound.start && inbound.start <= backend.start && backend.start <= outbound.start
                        && outbound.end <= request.end, "\(label): \(spans.map { "\($0.name) \($0.start)-\($0.end)" })")
                #expect(backend.start <= call.start && call.end <= backend.end, "\(label)")
            }
        }

        // 2. No client trace: a new one, the same in the backend's traceparent and the exported spans;
        //    a request without policies (public-echo, on the loop path) has a request span and a call span.
        let plain = try await Curl.run(base + [gateway.baseURL + "/public/ping"])
        #expect(plain.httpCode == 200, "\(plain.stdout)")
        let plainSent = try #require(Self.sentTraceParent(plain.body)).split(separator: "-").map(String.init)
        try #require(plainSent.count == 4)
        let plainSpans = try await collector.spans(ofTrace: plainSent[1], count: 2)
        let plainCall = try #require(plainSpans.first { $0.spanId == plainSent[2] }, "\(plainSpans)")
        let plainRequest = try #require(plainSpans.first { $0.parentSpanId.isEmpty }, "\(plainSpans)")
        #expect(plainCall.parentSpanId == plainRequest.spanId && plainRequest.name == "GET public-echo", "\(plainSpans)")

        // 3. A dead backend: the call span fails, on-error runs (its span), the request span is an error.
        let dead = try await Curl.run(base + ["-H", "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                                              gateway.baseURL + "/dead/x"])
        #expect(dead.httpCode.map { $0 >= 500 } == true, "\(dead.stdout)")
        let deadSpans = try await collector.spans(ofTrace: "0af7651916cd43dd8448eb211c80319c", count: 5)
        let names = Set(deadSpans.map(\.name))
        #expect(names.isSuperset(of: ["inbound", "backend", "backend call", "on-error"]), "\(deadSpans)")
        #expect(!names.contains("outbound"), "\(deadSpans)")

        // Every post went to /v1/traces as OTLP JSON.
        #expect(!collector.allRequests.isEmpty && collector.allRequests.allSatisfy { $0.hasPrefix("POST /v1/traces application/json") },
                "\(collector.allRequests)")
        try await gateway.stop()
        try? FileManager.default.removeItem(atPath: folder)
    }
}
#endif
