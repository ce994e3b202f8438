import Foundation
import Synchronization
import Testing

@testable import Policies

/// A backend that plays a Dapr sidecar on `sidecar.example:3500` (answering each request with the
/// configured status and body, or failing) and the API backend elsewhere; records everything.
final class SidecarBackend: PolicyBackend, Sendable {
    struct Settings {
        var status = 204
        var body = ""
        var failure: (any Error)? = nil
        var delay: Duration? = nil
    }

    let settings = Mutex(Settings())
    private let sent = Mutex<[(request: BackendRequest, body: String)]>([])

    var requests: [(request: BackendRequest, body: String)] { sent.withLock { $0 } }
    var sidecarRequests: [(request: BackendRequest, body: String)] { requests.filter { $0.request.url.host == "sidecar.example" } }

    func send(_ request: BackendRequest) async throws -> BackendResponse {
        var body = ""
        if case .bytes(let bytes) = request.body { body = String(decoding: bytes, as: UTF8.self) }
        sent.withLock { $0.append((request, body)) }
        guard request.url.host == "sidecar.example" else { return BackendResponse(status: 200, body: BufferedBody("backend")) }
        let current = settings.withLock { $0 }
        if let delay = current.delay { try await Task.sleep(for: delay) }
        if let failure = current.failure { throw failure }
        return BackendResponse(status: current.status, headers: [PolicyHeader("Content-Type", "application/json")], body: BufferedBody(current.body))
    }
}

@Suite struct DaprPolicyRuntimeTests {
    static let sidecar = URL(string: "http://sidecar.example:3500")!

    func options() -> PolicyPipelineOptions {
        var options = PolicyPipelineOptions(tracing: true)
        options.daprSidecar = Self.sidecar
        return options
    }

    func run(_ xml: String, _ backend: SidecarBackend, body: String? = nil, query: [(name: String, value: String)] = [],
             options: PolicyPipelineOptions? = nil) async throws -> PolicyResult {
        let built = try pipeline(xml, options: options ?? self.options())
        return await built.run(request(method: "POST", query: query), body: body.map { BufferedBody($0) }, backend: backend)
    }

    // MARK: publish-to-dapr

    @Test func theReferenceExamplePublishesTheBodyAndKeepsTheAnswer() async throws {
        let backend = SidecarBackend()
        let xml = """
            <policies><inbound>
            <publish-to-dapr pubsub-name="orders" topic="new" response-variable-name="dapr-response">
                @(context.Request.Body.As<string>())
            </publish-to-dapr>
            <return-response><set-status code="200" /><set-body>@(((IResponse)context.Variables["dapr-response"]).StatusCode.ToString())</set-body></return-response>
            </inbound><backend /><outbound /><on-error /></policies>
            """
        let result = try await run(xml, backend, body: #"{"id":42}"#)
        let sent = try #require(backend.sidecarRequests.first)
        #expect(sent.request.method == "POST")
        #expect(sent.request.urlText == "http://sidecar.example:3500/v1.0/publish/orders/new")
        #expect(sent.body == #"{"id":42}"#)
        #expect(HeaderList.values(sent.request.headers, "Content-Type") == [])  // Dapr's default (text/plain) unless content-type
        #expect(result.status == 200)
        #expect(result.bodyText == "204")
        #expect(backend.requests.count == 1)  // not forwarded
    }

    @Test func topicWithoutPubsubNameContentTypeLiquidAndEncodedNames() async throws {
        let backend = SidecarBackend()
        let xml = document(inbound: """
            <publish-to-dapr topic="@("orders/" + context.Request.Headers.GetValueOrDefault("X-Topic", ""))" content-type="application/json" template="Liquid" timeout="10">{"method":"{{context.Request.Method}}"}</publish-to-dapr>
            """, backend: "")
        let built = try pipeline(xml, options: options())
        let result = await built.run(
            request(method: "PUT", headers: [PolicyHeader("X-Topic", "a/b?c#d%e")]), body: nil, backend: backend)
        #expect(result.status == 200, "\(String(describing: result.lastError))")
        let sent = try #require(backend.sidecarRequests.first)
        #expect(sent.request.urlText == "http://sidecar.example:3500/v1.0/publish/orders/a%2Fb%3Fc%23d%25e")
        #expect(sent.body == #"{"method":"PUT"}"#)
        #expect(HeaderList.values(sent.request.headers, "Content-Type") == ["application/json"])
        #expect(sent.request.timeout == .seconds(10))
        // A dot segment is refused before anything is sent.
        let dots = await built.run(request(headers: [PolicyHeader("X-Topic", "..")]), body: nil, backend: backend)
        #expect(dots.status == 500)
        #expect(dots.lastError?.reason == "ExpressionValueEvaluationFailure")
        #expect(backend.sidecarRequests.count == 1)
    }

    @Test func aDaprErrorGoesToOnErrorWithTheAnswerInTheVariable() async throws {
        let backend = SidecarBackend()
        backend.settings.withLock {
            $0.status = 404
            $0.body = #"{"errorCode":"ERR_PUBSUB_NOT_FOUND","message":"pubsub orders not found"}"#
        }
        let xml = """
            <policies><inbound>
            <publish-to-dapr pubsub-name="orders" topic="new" response-variable-name="pubsub-response">x</publish-to-dapr>
            </inbound><backend /><outbound />
            <on-error><return-response response-variable-name="pubsub-response" /></on-error></policies>
            """
        let result = try await run(xml, backend)
        #expect(result.status == 404)
        #expect(result.bodyText?.contains("ERR_PUBSUB_NOT_FOUND") == true)
        // Without on-error: APIM's 500, and LastError names Dapr's error code (not the message).
        let plain = try await run(document(inbound: #"<publish-to-dapr pubsub-name="orders" topic="new">x</publish-to-dapr>"#, backend: ""), backend)
        #expect(plain.status == 500)
        #expect(plain.lastError?.source == "publish-to-dapr")
        #expect(plain.lastError?.reason == "DaprRequestFailed")
        #expect(plain.lastError?.message.contains("404 (ERR_PUBSUB_NOT_FOUND)") == true)
    }

    @Test func sidecarDownOrSlowFailsUnlessIgnored() async throws {
        let backend = SidecarBackend()
        backend.settings.withLock { $0.failure = PolicyBackendError.connectionFailed("refused") }
        let strict = document(inbound: #"<publish-to-dapr pubsub-name="p" topic="t" response-variable-name="r">x</publish-to-dapr>"#, backend: "")
        let down = try await run(strict, backend)
        #expect(down.status == 500)
        #expect(down.lastError?.reason == "BackendConnectionFailure")
        let lenient = document(inbound: """
            <publish-to-dapr pubsub-name="p" topic="t" response-variable-name="r" ignore-error="true">x</publish-to-dapr>
            <return-response><set-body>@(context.Variables["r"] == null ? "null" : "set")</set-body></return-response>
            """, backend: "")
        let ignored = try await run(lenient, backend)
        #expect(ignored.status == 200)
        #expect(ignored.bodyText == "null")
        // A sidecar slower than timeout="1": APIM's Timeout.
        backend.settings.withLock {
            $0.failure = nil
            $0.delay = .seconds(3)
        }
        let slow = try await run(document(inbound: #"<publish-to-dapr pubsub-name="p" topic="t" timeout="1">x</publish-to-dapr>"#, backend: ""), backend)
        #expect(slow.lastError?.reason == "Timeout")
        // An error status with ignore-error: the request goes on, the answer is in the variable.
        backend.settings.withLock {
            $0.delay = nil
            $0.status = 500
            $0.body = #"{"errorCode":"ERR_PUBSUB_PUBLISH_MESSAGE"}"#
        }
        let lenientStatus = document(inbound: """
            <publish-to-dapr pubsub-name="p" topic="t" response-variable-name="r" ignore-error="true">x</publish-to-dapr>
            <return-response><set-body>@(((IResponse)context.Variables["r"]).StatusCode.ToString())</set-body></return-response>
            """, backend: "")
        #expect(try await run(lenientStatus, backend).bodyText == "500")
    }

    @Test func loadErrorsNameTheAttribute() throws {
        func errors(_ inbound: String) -> String {
            do {
                _ = try pipeline(document(inbound: inbound), options: options())
                return ""
            } catch {
                return "\(error)"
            }
        }
        #expect(errors(#"<publish-to-dapr topic="new">x</publish-to-dapr>"#).contains("needs 'topic' as 'pubsub-name/topic-name'"))
        #expect(errors(#"<publish-to-dapr pubsub-name="p" topic="t" timeout="241">x</publish-to-dapr>"#).contains("timeout"))
        #expect(errors(#"<publish-to-dapr pubsub-name="p" topic="t" content-type="text/plain">x</publish-to-dapr>"#).contains("content-type"))
        #expect(errors(#"<publish-to-dapr pubsub-name="p" topic="t" ignore-error="@(true)">x</publish-to-dapr>"#).contains("ignore-error"))
        #expect(errors(#"<publish-to-dapr pubsub-name="p" topic="t" template="liquid">{% bogus %}</publish-to-dapr>"#) != "")
        #expect(errors(#"<invoke-dapr-binding name="b"><metadata><item key="k">1</item><item key="k">2</item></metadata></invoke-dapr-binding>"#)
            .contains("given twice"))
        #expect(errors(#"<invoke-dapr-binding name="b" template="Liquid" />"#).contains("applies to '<data>'"))
        #expect(errors(#"<invoke-dapr-binding name="b"><other /></invoke-dapr-binding>"#).contains("unexpected element '<other>'"))
        #expect(errors(#"<set-backend-service backend-id="dapr" dapr-app-id="echo" />"#).contains("requires the attribute 'dapr-method'"))
        #expect(errors(#"<set-backend-service backend-id="other" dapr-app-id="echo" dapr-method="m" />"#).contains("requires backend-id=\"dapr\""))
        #expect(errors(#"<set-backend-service base-url="http://x.example" dapr-app-id="echo" dapr-method="m" />"#) != "")
    }

    // MARK: invoke-dapr-binding

    @Test func theBindingRequestCarriesOperationMetadataAndData() async throws {
        let backend = SidecarBackend()
        backend.settings.withLock {
            $0.status = 200
            $0.body = #"{"created":true}"#
        }
        let xml = """
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
            """
        let result = try await run(xml, backend, body: "line \"1\"\n")
        let sent = try #require(backend.sidecarRequests.first)
        #expect(sent.request.urlText == "http://sidecar.example:3500/v1.0/bindings/external-system")
        #expect(HeaderList.values(sent.request.headers, "Content-Type") == ["application/json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(sent.body.utf8)) as? [String: Any])
        #expect(object["operation"] as? String == "create")
        #expect(object["data"] as? String == "line \"1\"\n")
        #expect(object["metadata"] as? [String: String] == ["source": "api-management", "client-ip": "10.0.0.5"])
        #expect(result.status == 200)
        #expect(result.bodyText == #"{"created":true}"#)
    }

    @Test func jsonDataGoesInAsJSONAndMustBeJSON() async throws {
        let backend = SidecarBackend()
        let xml = document(inbound: """
            <invoke-dapr-binding name="queue" content-type="application/json"><data>@(context.Request.Body.As<string>())</data></invoke-dapr-binding>
            """, backend: "")
        _ = try await run(xml, backend, body: #"{"n":[1,2]}"#)
        #expect(backend.sidecarRequests.last?.body == #"{"data":{"n":[1,2]}}"#)
        let notJSON = try await run(xml, backend, body: "not json")
        #expect(notJSON.status == 500)
        #expect(notJSON.lastError?.message.contains("not JSON") == true)
        #expect(backend.sidecarRequests.count == 1)
        // A hostile body nested far deeper than the JSON reader goes is refused, not a crash.
        let deep = try await run(xml, backend, body: String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000))
        #expect(deep.status == 500)
        #expect(backend.sidecarRequests.count == 1)
        // In outbound too (the reference allows inbound, outbound and on-error).
        let outbound = document(outbound: #"<invoke-dapr-binding name="audit" operation="create"><data>done</data></invoke-dapr-binding>"#)
        let result = try await run(outbound, backend)
        #expect(result.status == 200)
        #expect(backend.sidecarRequests.last?.body == #"{"data":"done","operation":"create"}"#)
        #expect(backend.requests.contains { $0.request.url.host == "backend.example" })
    }

    @Test func theDaprAPITokenGoesToTheSidecarOnlyAndNeverTheClients() async throws {
        let backend = SidecarBackend()
        var options = options()
        options.daprAPIToken = "sidecar-token"
        let publish = document(inbound: #"<publish-to-dapr pubsub-name="p" topic="t">x</publish-to-dapr>"#, backend: "")
        _ = await (try pipeline(publish, options: options)).run(request(), body: nil, backend: backend)
        #expect(backend.sidecarRequests.last.map { HeaderList.values($0.request.headers, "dapr-api-token") } == ["sidecar-token"])
        // Service invocation: the client's own dapr-api-token is replaced by the gateway's.
        backend.settings.withLock { $0.status = 200 }
        let invoke = document(inbound: #"<set-backend-service backend-id="dapr" dapr-app-id="echo" dapr-method="m" />"#)
        let client = request(headers: [PolicyHeader("dapr-api-token", "client-guess")])
        _ = await (try pipeline(invoke, options: options)).run(client, body: nil, backend: backend)
        #expect(backend.sidecarRequests.last.map { HeaderList.values($0.request.headers, "dapr-api-token") } == ["sidecar-token"])
        _ = await (try pipeline(invoke, options: self.options())).run(client, body: nil, backend: backend)
        #expect(backend.sidecarRequests.last.map { HeaderList.values($0.request.headers, "dapr-api-token") } == [])
        // Another backend afterwards: no token goes there, the client's header is left as it was.
        let away = document(inbound: """
            <set-backend-service backend-id="dapr" dapr-app-id="echo" dapr-method="m" />
            <set-backend-service base-url="https://elsewhere.example" />
            """)
        _ = await (try pipeline(away, options: options)).run(client, body: nil, backend: backend)
        let elsewhere = try #require(backend.requests.last)
        #expect(elsewhere.request.url.host == "elsewhere.example")
        #expect(HeaderList.values(elsewhere.request.headers, "dapr-api-token") == ["client-guess"])
        // The token comes from DAPR_API_TOKEN (as Dapr's SDKs read it), printable or not at all.
        #expect(DaprSidecar.apiToken(environment: ["DAPR_API_TOKEN": " abc123= "]) == "abc123=")
        #expect(DaprSidecar.apiToken(environment: ["DAPR_API_TOKEN": "a\r\nb"]) == nil)
        #expect(DaprSidecar.apiToken(environment: ["DAPR_API_TOKEN": ""]) == nil)
        #expect(DaprSidecar.apiToken(environment: [:]) == nil)
    }

    // MARK: set-backend-service (Dapr)

    @Test func serviceInvocationReplacesTheBackendAndKeepsTheQuery() async throws {
        let backend = SidecarBackend()
        backend.settings.withLock { $0.status = 200 }
        let xml = document(inbound: """
            <set-backend-service backend-id="dapr" dapr-app-id="echo" dapr-method="back" dapr-namespace="echo-app" />
            """)
        let result = try await run(xml, backend, query: [("q", "1")])
        #expect(result.status == 200)
        let sent = try #require(backend.sidecarRequests.first)
        #expect(sent.request.urlText == "http://sidecar.example:3500/v1.0/invoke/echo.echo-app/method/back?q=1")
        #expect(sent.request.method == "POST")
        // A method path from an expression: segments encoded, no way out of /method/.
        let computed = document(inbound: """
            <set-backend-service backend-id="dapr" dapr-app-id="@(context.Request.Headers.GetValueOrDefault("X-App", ""))" dapr-method="@(context.Request.Headers.GetValueOrDefault("X-Method", ""))" />
            """)
        let built = try pipeline(computed, options: options())
        _ = await built.run(request(headers: [PolicyHeader("X-App", "orders"), PolicyHeader("X-Method", "items/4 2")]), body: nil, backend: backend)
        #expect(backend.sidecarRequests.last?.request.urlText == "http://sidecar.example:3500/v1.0/invoke/orders/method/items/4%202")
        let before = backend.requests.count
        let escape = await built.run(request(headers: [PolicyHeader("X-App", "orders"), PolicyHeader("X-Method", "a/../../publish")]), body: nil, backend: backend)
        #expect(escape.status == 500)
        #expect(escape.lastError?.reason == "ExpressionValueEvaluationFailure")
        let badApp = await built.run(request(headers: [PolicyHeader("X-App", "a/b"), PolicyHeader("X-Method", "m")]), body: nil, backend: backend)
        #expect(badApp.status == 200)
        #expect(backend.sidecarRequests.last?.request.urlText == "http://sidecar.example:3500/v1.0/invoke/a%2Fb/method/m")
        #expect(backend.requests.count == before + 1)
        // The default sidecar is APIM's documented address.
        #expect(PolicyPipelineOptions().daprSidecar.absoluteString == "http://localhost:3500")
    }
}
