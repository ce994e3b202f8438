import ConfigurationStore
import Foundation
import GatewayAdmin
import GatewayConfiguration
import Logging
import NIOCore
import Policies
import Testing

@testable import Gateway

/// The Dapr policies end to end: curl through a real gateway, a loopback HTTP server playing the
/// Dapr sidecar (`policies.daprSidecar`), recording what the gateway sent it.
@Suite(.serialized, .enabled(if: Curl.isAvailable, "needs /usr/bin/curl"))
struct DaprGatewayTests {
    static func call(_ gateway: TestGateway, _ path: String, _ extra: [String] = []) async throws -> Curl.Result {
        try await Curl.run(SecurityProbeTests.common(gateway) + ["--http1.1", "--max-time", "20"] + extra + ["\(gateway.baseURL)\(path)"])
    }

    static func gateway(policy: String, sidecar: String?) async throws -> (TestGateway, String) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("dapr-\(UUID().uuidString).xml").path
        try policy.write(toFile: path, atomically: true, encoding: .utf8)
        let gateway = try await TestGateway.start(tweaking: { config, _, _ in
            config.apis[1].policyFile = path
            config.policies.daprSidecar = sidecar
        })
        return (gateway, path)
    }

    @Test func publishToDaprPostsTheBodyAndDaprErrorsReachOnError() async throws {
        let sidecar = try await LoopbackHTTPServer.start { received in
            received.uri.hasSuffix("/missing") ? .init(status: 404, body: #"{"errorCode":"ERR_PUBSUB_NOT_FOUND","message":"not found"}"#) : .init(status: 204)
        }
        let (gateway, path) = try await Self.gateway(policy: """
            <policies><inbound>
            <publish-to-dapr pubsub-name="orders" topic="@(context.Request.Headers.GetValueOrDefault("X-Topic", "new"))" response-variable-name="dapr-response" content-type="application/json">
                @(context.Request.Body.As<string>())
            </publish-to-dapr>
            </inbound><backend /><outbound />
            <on-error><return-response response-variable-name="dapr-response" /></on-error></policies>
            """, sidecar: sidecar.baseURL)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let published = try await Self.call(gateway, "/public/orders", ["-X", "POST", "-d", #"{"item":"book"}"#])
        #expect(published.httpCode == 200, "\(published.body) \(published.stderr)")
        let sent = try #require(sidecar.received.first)
        #expect(sent.method == "POST")
        #expect(sent.uri == "/v1.0/publish/orders/new")
        #expect(sent.body == #"{"item":"book"}"#)
        #expect(sent.header("Content-Type") == "application/json")
        // The sidecar refuses: on-error returns its answer verbatim.
        let refused = try await Self.call(gateway, "/public/orders", ["-X", "POST", "-d", "x", "-H", "X-Topic: missing"])
        #expect(refused.httpCode == 404, "\(refused.body)")
        #expect(refused.body.contains("ERR_PUBSUB_NOT_FOUND"))
        #expect(sidecar.received.last?.uri == "/v1.0/publish/orders/missing")
        try await gateway.stop()
        await sidecar.stop()
    }

    @Test func invokeDaprBindingSendsDaprsBindingRequest() async throws {
        let sidecar = try await LoopbackHTTPServer.start { _ in .init(status: 200, body: #"{"ok":true}"#) }
        let (gateway, path) = try await Self.gateway(policy: """
            <policies><inbound>
            <invoke-dapr-binding name="external-system" operation="create" response-variable-name="bind-response">
                <metadata>
                    <item key="source">api-management</item>
                    <item key="client-ip">@(context.Request.IpAddress )</item>
                </metadata>
                <data>
                    @(context.Request.Body.As<string>() )
                </data>
            </invoke-dapr-binding>
            <return-response response-variable-name="bind-response" />
            </inbound><backend /><outbound /><on-error /></policies>
            """, sidecar: sidecar.baseURL)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try await Self.call(gateway, "/public/bind", ["-X", "POST", "-d", "hello"])
        #expect(result.httpCode == 200, "\(result.body) \(result.stderr)")
        #expect(result.body == #"{"ok":true}"#)
        let sent = try #require(sidecar.received.first)
        #expect(sent.uri == "/v1.0/bindings/external-system")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(sent.body.utf8)) as? [String: Any])
        #expect(object["operation"] as? String == "create")
        #expect(object["data"] as? String == "hello")
        #expect(object["metadata"] as? [String: String] == ["source": "api-management", "client-ip": "127.0.0.1"])
        try await gateway.stop()
        await sidecar.stop()
    }

    @Test func setBackendServiceDaprForwardsToServiceInvocation() async throws {
        let sidecar = try await LoopbackHTTPServer.start { received in .init(status: 200, body: #"{"invoked":"\#(received.method) \#(received.uri)"}"#) }
        let (gateway, path) = try await Self.gateway(policy: """
            <policies><inbound>
            <set-backend-service backend-id="dapr" dapr-app-id="echo" dapr-method="back" dapr-namespace="echo-app" />
            </inbound><backend><forward-request /></backend><outbound /><on-error /></policies>
            """, sidecar: sidecar.baseURL)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try await Self.call(gateway, "/public/anything/here?x=1", ["-X", "PUT", "-d", "payload"])
        #expect(result.httpCode == 200, "\(result.body) \(result.stderr)")
        #expect(result.body == #"{"invoked":"PUT /v1.0/invoke/echo.echo-app/method/back?x=1"}"#)
        #expect(sidecar.received.first?.body == "payload")
        try await gateway.stop()
        await sidecar.stop()
    }

    @Test func aSidecarThatIsDownOrSlowFailsTheRequestUnlessIgnored() async throws {
        // A closed loopback port: nothing listens.
        let closed = try await LoopbackHTTPServer.start { _ in .init(status: 204) }
        let closedURL = closed.baseURL
        await closed.stop()
        let (down, downPath) = try await Self.gateway(policy: """
            <policies><inbound>
            <publish-to-dapr pubsub-name="p" topic="t">x</publish-to-dapr>
            </inbound><backend /><outbound /><on-error /></policies>
            """, sidecar: closedURL)
        defer { try? FileManager.default.removeItem(atPath: downPath) }
        let failed = try await Self.call(down, "/public/x")
        #expect(failed.httpCode == 500, "\(failed.body)")
        #expect(failed.body.contains(#""statusCode":500"#))
        try await down.stop()
        let (lenient, lenientPath) = try await Self.gateway(policy: """
            <policies><inbound>
            <publish-to-dapr pubsub-name="p" topic="t" ignore-error="true" response-variable-name="r">x</publish-to-dapr>
            <return-response><set-status code="202" /><set-body>@(context.Variables["r"] == null ? "no answer" : "answer")</set-body></return-response>
            </inbound><backend /><outbound /><on-error /></policies>
            """, sidecar: closedURL)
        defer { try? FileManager.default.removeItem(atPath: lenientPath) }
        let ignored = try await Self.call(lenient, "/public/x")
        #expect(ignored.httpCode == 202, "\(ignored.body)")
        #expect(ignored.body == "no answer")
        try await lenient.stop()
        // A sidecar slower than the policy's timeout: 500 after about a second.
        let slow = try await LoopbackHTTPServer.start { _ in .init(status: 204, delay: .seconds(5)) }
        let (timed, timedPath) = try await Self.gateway(policy: """
            <policies><inbound>
            <publish-to-dapr pubsub-name="p" topic="t" timeout="1">x</publish-to-dapr>
            </inbound><backend /><outbound /><on-error><set-header name="X-Reason" exists-action="override"><value>@(context.LastError.Reason)</value></set-header></on-error></policies>
            """, sidecar: slow.baseURL)
        defer { try? FileManager.default.removeItem(atPath: timedPath) }
        let started = ContinuousClock.now
        let timedOut = try await Self.call(timed, "/public/x", ["-D", "-"])
        #expect(timedOut.httpCode == 500)
        #expect(timedOut.stdout.lowercased().contains("x-reason: timeout"), "\(timedOut.stdout)")
        #expect(ContinuousClock.now - started < .seconds(4))
        try await timed.stop()
        await slow.stop()
    }

    @Test func theSidecarAddressIsConfiguredInTheYAML() throws {
        let yaml = """
            hostnames:
              - { name: a.test, certificate: c.pem, key: k.pem }
            policies:
              daprSidecar: http://127.0.0.1:3501
            """
        #expect(try GatewayConfigLoader.parse(yaml: yaml, file: "gw.yaml", baseDirectory: "/").policies.daprSidecar == "http://127.0.0.1:3501")
        #expect(throws: (any Error).self) {
            try GatewayConfigLoader.parse(yaml: yaml.replacingOccurrences(of: "http://127.0.0.1:3501", with: "localhost:3500"), file: "gw.yaml", baseDirectory: "/")
        }
    }
}

/// `policies.daprSidecar` through a configuration store (imported into the settings document,
/// materialised back, exported to YAML), as the other `policies` settings go.
@Suite(.serialized)
struct DaprSidecarStoreTests {
    @Test func theSidecarAddressSurvivesTheStore() async throws {
        let pki = try await SharedPKI.shared.pki()
        let folder = try CLITests.temporaryFolder()
        let yaml = """
            listen: { address: 127.0.0.1, port: 8443 }
            hostnames:
              - { name: localhost, certificate: "\(pki.serverCertificate)", key: "\(pki.serverKey)" }
            apis:
              - { name: echo, path: /echo, backend: "http://127.0.0.1:9" }
            policies:
              daprSidecar: http://127.0.0.1:3601
            """
        let config = try GatewayConfigLoader.parse(yaml: yaml, file: "gateway.yaml", baseDirectory: folder)
        let store = try await SQLiteConfigurationStore.open(directory: folder)
        do {
            let service = ConfigurationService(store: store, materializer: StoreMaterializer(dataDirectory: folder), logger: Logger(label: "test"))
            let operations = StoreImporter.replacing(try await store.contents(), with: try StoreImporter.documents(for: config))
            _ = try await service.apply(operations, actor: "test", summary: "import")
            let (served, _, _) = try await service.currentConfiguration()
            #expect(served.policies.daprSidecar == "http://127.0.0.1:3601")
            let exported = try StoreExporter.export(try await store.contents(), to: try CLITests.temporaryFolder())
            #expect(try String(contentsOfFile: exported, encoding: .utf8).contains("http://127.0.0.1:3601"))
        } catch {
            try await store.close()
            throw error
        }
        try await store.close()
        // The credential manager has no store resource yet: an import refuses it instead of dropping it.
        var withCredentials = config
        withCredentials.policies.credentialProviders = ["p": CredentialProvider(
            tokenURL: URL(string: "https://t.example/token"), clientID: "a", clientSecret: "b",
            connections: ["c": CredentialConnection(grant: .clientCredentials)])]
        #expect(throws: (any Error).self) { try StoreImporter.documents(for: withCredentials) }
    }
}
