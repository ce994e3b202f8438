import ClientCertificates
import Foundation
import Testing

@testable import Policies

/// The data plane's narrow interface: `inboundRunsSynchronously`, `startSynchronously(_:)` and
/// `PolicyExchange`. A synchronous start must give exactly what the async `run` gives, and must
/// say `.runAsync` before running anything when it cannot finish.
@Suite struct SynchronousStartTests {
    /// What a client would see, comparable across runs.
    struct Outcome: Equatable, CustomStringConvertible {
        var status: Int
        var reason: String
        var headers: [PolicyHeader]
        var body: String
        var streamedFromBackend: Bool
        var lastError: PolicyLastError?
        var trace: [PolicyTraceEntry]
        var backendCalled: Bool
        var sent: [String]

        var description: String { "\(status) \(reason) \(headers) \(body) sent=\(sent) error=\(String(describing: lastError))" }
    }

    static func describe(_ request: BackendRequest) -> String {
        let body: String
        switch request.body {
        case .client: body = "<client>"
        case .bytes(let bytes): body = String(decoding: bytes, as: UTF8.self)
        }
        return "\(request.method) \(request.url.absoluteString) \(request.headers.map { "\($0.name)=\($0.value)" }) \(body) "
            + "timeout=\(request.timeout) follow=\(request.followRedirects) cert=\(request.clientCertificate?.thumbprint ?? "-")"
    }

    static func outcome(_ result: PolicyResult, sent: [BackendRequest]) async throws -> Outcome {
        var body = ""
        var streamed = false
        switch result.body {
        case .bytes(let bytes):
            body = String(decoding: bytes, as: UTF8.self)
            // APIM's error body names the request's (random) id: compare the rest.
            if let range = body.range(of: #""activityId":"[0-9a-f-]+""#, options: .regularExpression) {
                body.replaceSubrange(range, with: #""activityId":"…""#)
            }
        case .backend(let source):
            streamed = true
            body = String(decoding: try await source.collect(upTo: 1 << 20), as: UTF8.self)
        }
        return Outcome(
            status: result.status, reason: result.reason, headers: result.headers, body: body, streamedFromBackend: streamed,
            lastError: result.lastError, trace: result.trace, backendCalled: result.backendCalled, sent: sent.map(describe))
    }

    /// The gateway's side of a synchronous start: send to `backend` (or relay), finish when asked.
    static func complete(_ start: PolicyStart, backend: RecordingBackend) async throws -> (Outcome, PolicyStart)? {
        switch start {
        case .runAsync:
            return nil
        case .respond(let result):
            return (try await outcome(result, sent: backend.requests), start)
        case .forward(let exchange):
            let result: PolicyResult
            do {
                let response = try await backend.send(exchange.request)
                result = await exchange.finish(response)
                if exchange.outboundIsEmpty {
                    // What relaying the answer unchanged gives must be what finish gave.
                    #expect(result.status == response.status)
                    #expect(result.reason == response.reason)
                    #expect(result.headers == response.headers)
                    guard case .backend = result.body else {
                        Issue.record("an empty outbound must stream the backend's body")
                        return nil
                    }
                }
            } catch let error as PolicyBackendError {
                result = await exchange.backendFailed(error)
            }
            return (try await outcome(result, sent: backend.requests), start)
        }
    }

    /// Runs `requests` through two pipelines built alike (own counters each): one with `run`, one
    /// with `startSynchronously`; every outcome must be the same. Returns the synchronous starts.
    @discardableResult
    static func expectSameOutcomes(
        _ xml: String, _ requests: [PolicyRequest], makeBackend: () -> RecordingBackend = { RecordingBackend() },
        options: () -> PolicyPipelineOptions = { PolicyPipelineOptions(tracing: true) },
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> [PolicyStart] {
        let asyncPipeline = try pipeline(xml, options: options())
        let syncPipeline = try pipeline(xml, options: options())
        #expect(syncPipeline.inboundRunsSynchronously, sourceLocation: sourceLocation)
        var starts: [PolicyStart] = []
        for request in requests {
            let asyncBackend = makeBackend()
            let expected = try await outcome(await asyncPipeline.run(request, backend: asyncBackend), sent: asyncBackend.requests)
            let syncBackend = makeBackend()
            guard let (actual, start) = try await complete(syncPipeline.startSynchronously(request), backend: syncBackend) else {
                Issue.record("the synchronous start fell back to runAsync", sourceLocation: sourceLocation)
                continue
            }
            #expect(actual == expected, sourceLocation: sourceLocation)
            starts.append(start)
        }
        return starts
    }

    static func isRespond(_ start: PolicyStart) -> Bool { if case .respond = start { true } else { false } }
    static func exchange(_ start: PolicyStart) -> PolicyExchange? { if case .forward(let exchange) = start { exchange } else { nil } }
    static func isRunAsync(_ start: PolicyStart) -> Bool { if case .runAsync = start { true } else { false } }

    // MARK: The seed rule

    /// The bench's seed rule: `<base/>` everywhere else, the thumbprint check inbound.
    static func seed(thumbprint: String, method: String = "Verify") -> String {
        """
        <policies>
          <inbound>
            <base />
            <choose>
              <when condition="@(context.Request.Certificate == null || !context.Request.Certificate.\(method)() || context.Request.Certificate.Thumbprint != &quot;\(thumbprint)&quot;)" >
                <return-response><set-status code="403" reason="Invalid client certificate" /></return-response>
              </when>
            </choose>
          </inbound>
          <backend><base /></backend>
          <outbound><base /></outbound>
          <on-error><base /></on-error>
        </policies>
        """
    }

    static let global = "<policies><inbound /><backend><forward-request /></backend><outbound /><on-error /></policies>"

    static func seedPipeline(_ xml: String, verification: VerificationContext) throws -> PolicyPipeline {
        try PolicyPipeline.load(
            [(global, "global.xml", .global), (xml, "api.xml", .api)], options: PolicyPipelineOptions(verification: verification))
    }

    @Test(arguments: ["Verify", "VerifyNoRevocation"])
    func seedRuleStartsSynchronouslyOnceTheVerdictIsCached(method: String) async throws {
        let pki = try SeedSnippetPipelineTests.PKI()
        let verification = PipelinePKI.verification(trusting: [pki.root], cache: VerificationCache())
        let xml = Self.seed(thumbprint: pki.client.wrapped.thumbprint, method: method)
        let pipeline = try Self.seedPipeline(xml, verification: verification)
        #expect(pipeline.inboundRunsSynchronously)
        #expect(method == "Verify" ? pipeline.usesVerify && !pipeline.usesVerifyNoRevocation : pipeline.usesVerifyNoRevocation && !pipeline.usesVerify)

        let client = request(chain: [pki.client.der])
        var good = client
        good.parsedClientCertificate = ParsedClientChain.parse([pki.client.der])
        // Not verified yet: the start says so and nothing ran.
        #expect(Self.isRunAsync(pipeline.startSynchronously(good)))
        // The async run verifies (and caches the verdict) …
        let first = await pipeline.run(good, backend: RecordingBackend())
        #expect(first.status == 200)
        // … after which the per-connection chain is answered synchronously, straight to the backend.
        guard let exchange = Self.exchange(pipeline.startSynchronously(good)) else {
            Issue.record("a cached verdict must let the seed rule forward synchronously")
            return
        }
        #expect(exchange.outboundIsEmpty)
        #expect(exchange.request.url.absoluteString == "https://backend.example/api/items/7")
        #expect(exchange.request.method == "GET")
        guard case .client = exchange.request.body else {
            Issue.record("the client's body must stream")
            return
        }
        // Without the pre-parsed chain (parsed from the DER on the way) it is the same.
        #expect(Self.exchange(pipeline.startSynchronously(client)) != nil)

        // No certificate: 403 synchronously, no verification needed.
        guard case .respond(let refused) = pipeline.startSynchronously(request()) else {
            Issue.record("no certificate must be refused synchronously")
            return
        }
        #expect(refused.status == 403)
        #expect(refused.reason == "Invalid client certificate")
        #expect(refused.backendCalled == false)

        // An untrusted chain: async first (verdict not cached), then 403 synchronously.
        var stranger = request(chain: [pki.stranger.der])
        stranger.parsedClientCertificate = ParsedClientChain.parse([pki.stranger.der])
        #expect(Self.isRunAsync(pipeline.startSynchronously(stranger)))
        #expect(await pipeline.run(stranger, backend: RecordingBackend()).status == 403)
        guard case .respond(let strangerResult) = pipeline.startSynchronously(stranger) else {
            Issue.record("a cached negative verdict must be answered synchronously")
            return
        }
        #expect(strangerResult.status == 403)
    }

    @Test func seedRuleGivesTheSameOutcomesBothWays() async throws {
        let pki = try SeedSnippetPipelineTests.PKI()
        let cache = VerificationCache()
        let verification = PipelinePKI.verification(trusting: [pki.root], cache: cache)
        // Warm the cache for both chains (the first request of a connection goes async).
        for der in [pki.client.der, pki.stranger.der] {
            guard let leaf = ParsedClientChain.parse([der]).leaf else {
                Issue.record("test certificate does not parse")
                return
            }
            _ = await ChainVerifier.verify(leaf: leaf, context: verification)
        }
        let xml = document(inbound: SeedSnippetPipelineTests.thumbprint.replacingOccurrences(
            of: "DESIRED-THUMBPRINT-IN-UPPER-CASE", with: pki.client.wrapped.thumbprint))
        let starts = try await Self.expectSameOutcomes(
            xml, [request(chain: [pki.client.der]), request(chain: [pki.stranger.der]), request(), request(chain: [[0x30, 0x03, 0x02, 0x01, 0x01]])],
            options: { PolicyPipelineOptions(tracing: true, verification: verification) })
        #expect(starts.count == 4)
        #expect(starts.first.flatMap(Self.exchange) != nil)
        #expect(starts.dropFirst().allSatisfy(Self.isRespond))
    }

    // MARK: Same outcomes for a set of policies

    @Test func inboundTransformationsForwardTheSameRequest() async throws {
        let xml = document(inbound: """
            <set-variable name="tenant" value="@(context.Request.Headers.GetValueOrDefault(&quot;X-Tenant&quot;, &quot;public&quot;))" />
            <check-header name="Accept" failed-check-httpcode="406" failed-check-error-message="Accept required" ignore-case="true" />
            <set-header name="X-Tenant" exists-action="override"><value>@((string)context.Variables[&quot;tenant&quot;])</value></set-header>
            <set-header name="X-Debug" exists-action="delete" />
            <set-query-parameter name="api-version" exists-action="skip"><value>2024-01-01</value></set-query-parameter>
            <choose>
              <when condition="@(context.Request.Method == &quot;DELETE&quot;)">
                <return-response><set-status code="405" reason="Method Not Allowed" /></return-response>
              </when>
              <otherwise><set-variable name="path" value="@(context.Request.Url.Path.ToLowerInvariant())" /></otherwise>
            </choose>
            <rewrite-uri template="/v2/{id}" copy-unmatched-params="true" />
            <set-method>PUT</set-method>
            <set-body>@(&quot;tenant=&quot; + (string)context.Variables[&quot;tenant&quot;])</set-body>
            """, backend: "<forward-request timeout=\"7\" follow-redirects=\"true\" />")
        let headers = [PolicyHeader("Accept", "application/json"), PolicyHeader("X-Tenant", "contoso"), PolicyHeader("X-Debug", "1")]
        let requests = [
            request(query: [("x", "1")], headers: headers),
            request(method: "DELETE", headers: headers),
            request(headers: []),  // check-header fails: 406 from inbound
        ]
        // With tracing (the traces must match too; a traced exchange always finishes) and without.
        let traced = try await Self.expectSameOutcomes(xml, requests)
        #expect(traced.first.flatMap(Self.exchange)?.outboundIsEmpty == false)
        let starts = try await Self.expectSameOutcomes(xml, requests, options: { PolicyPipelineOptions() })
        #expect(starts.count == 3)
        let forwarded = starts.first.flatMap(Self.exchange)
        #expect(forwarded?.outboundIsEmpty == true)
        #expect(forwarded?.request.method == "PUT")
        #expect(forwarded?.request.url.absoluteString == "https://backend.example/api/v2/7?x=1&api-version=2024-01-01")
        #expect(forwarded?.request.timeout == .seconds(7))
        #expect(forwarded?.request.followRedirects == true)
        if case .bytes(let bytes)? = forwarded?.request.body {
            #expect(String(decoding: bytes, as: UTF8.self) == "tenant=contoso")
        } else {
            Issue.record("set-body must replace the body sent to the backend")
        }
        #expect(starts.dropFirst().allSatisfy(Self.isRespond))
    }

    @Test func outboundRunsThroughFinish() async throws {
        let xml = document(
            inbound: "<set-header name=\"X-In\" exists-action=\"override\"><value>1</value></set-header>",
            outbound: """
                <set-header name="X-Out" exists-action="override"><value>@(context.Response.StatusCode.ToString())</value></set-header>
                <set-body>@(context.Response.Body.As&lt;string&gt;() + "!")</set-body>
                """)
        let starts = try await Self.expectSameOutcomes(xml, [request()], makeBackend: { RecordingBackend(body: "hello") })
        #expect(starts.first.flatMap(Self.exchange)?.outboundIsEmpty == false)
    }

    @Test func errorsGoToOnErrorTheSameWay() async throws {
        let onError = "<set-status code=\"599\" reason=\"Handled\" /><set-body>@(context.LastError.Reason + \"|\" + context.LastError.Source)</set-body>"
        // An expression that throws inbound.
        try await Self.expectSameOutcomes(
            document(inbound: "<set-variable name=\"n\" value=\"@(int.Parse(&quot;x&quot;))\" />", onError: onError), [request()])
        // The backend fails (timeout, connection) or answers an error status that fails the request.
        for failure in [PolicyBackendError.timeout, .connectionFailed("refused")] {
            try await Self.expectSameOutcomes(document(onError: onError), [request()], makeBackend: { RecordingBackend(failure: failure) })
        }
        let starts = try await Self.expectSameOutcomes(
            document(backend: "<forward-request fail-on-error-status-code=\"true\" />", onError: onError), [request()],
            makeBackend: { RecordingBackend(status: 503) })
        #expect(starts.first.flatMap(Self.exchange)?.outboundIsEmpty == false)
        // No on-error section: APIM's JSON error body.
        try await Self.expectSameOutcomes(document(inbound: "<set-status code=\"@(int.Parse(context.Request.Method))\" />"), [request()])
        // No service URL: forward-request fails before any call.
        var orphan = request()
        orphan.identity.serviceURL = nil
        try await Self.expectSameOutcomes(document(onError: onError), [orphan])
    }

    @Test func countersCorsAndTracesKeepFinish() async throws {
        let limited = document(inbound: """
            <rate-limit-by-key calls="2" renewal-period="60" counter-key="@(context.Request.IpAddress)" remaining-calls-header-name="X-Remaining" />
            """)
        // Each pipeline has its own counters: a fixed clock, so that both see the same Retry-After
        // however long the first run took (under load the wall clock moved between them).
        let fixed = Date()
        let starts = try await Self.expectSameOutcomes(
            limited, [request(), request(), request()], options: { PolicyPipelineOptions(tracing: true, counters: PolicyCounters(clock: { fixed })) })
        // The remaining-calls header is added to the backend's answer: not an empty outbound.
        #expect(starts.first.flatMap(Self.exchange)?.outboundIsEmpty == false)
        #expect(starts.last.map(Self.isRespond) == true)

        let deferred = document(inbound: """
            <rate-limit-by-key calls="1" renewal-period="60" counter-key="k" increment-condition="@(context.Response.StatusCode >= 500)" />
            """)
        try await Self.expectSameOutcomes(deferred, [request(), request(), request()], makeBackend: { RecordingBackend(status: 500) })

        let cors = document(inbound: """
            <cors><allowed-origins><origin>https://app.example</origin></allowed-origins><allowed-methods><method>GET</method></allowed-methods></cors>
            """)
        let corsStarts = try await Self.expectSameOutcomes(cors, [request(headers: [PolicyHeader("Origin", "https://app.example")])])
        #expect(corsStarts.first.flatMap(Self.exchange)?.outboundIsEmpty == false)

        let traced = document(inbound: "<trace source=\"t\"><message>hello</message></trace>")
        let traceStarts = try await Self.expectSameOutcomes(traced, [request()], options: { PolicyPipelineOptions() })
        #expect(traceStarts.first.flatMap(Self.exchange)?.outboundIsEmpty == false)
    }

    @Test func withoutABackendCallOutboundFollowsInbound() async throws {
        let xml = document(
            inbound: "<set-variable name=\"v\" value=\"x\" />", backend: "",
            outbound: "<set-header name=\"X-V\" exists-action=\"override\"><value>@((string)context.Variables[&quot;v&quot;])</value></set-header>")
        let starts = try await Self.expectSameOutcomes(xml, [request()])
        #expect(starts.allSatisfy(Self.isRespond))
        let mocked = document(inbound: "<mock-response status-code=\"201\" content-type=\"application/json\" />")
        try await Self.expectSameOutcomes(mocked, [request()])
    }

    // MARK: What cannot start synchronously

    @Test func waitingStepsAndBodyReadersRunAsync() throws {
        let notSynchronous = [
            document(inbound: "<send-request mode=\"new\" response-variable-name=\"r\"><set-url>https://x.example/</set-url></send-request>"),
            document(inbound: "<limit-concurrency key=\"k\" max-count=\"1\"><set-variable name=\"v\" value=\"1\" /></limit-concurrency>"),
            document(backend: "<retry condition=\"@(false)\" count=\"1\" interval=\"1\"><forward-request /></retry>"),
            document(inbound: "<validate-client-certificate validate-revocation=\"false\" />"),
            document(inbound: "<set-variable name=\"b\" value=\"@(context.Request.Body.As&lt;string&gt;(true))\" />"),
            document(outbound: "<set-variable name=\"b\" value=\"@(context.Request.Body.As&lt;string&gt;(true))\" />"),
            document(backend: "<set-header name=\"X\" exists-action=\"override\"><value>1</value></set-header><forward-request />"),
            document(onError: "<send-request mode=\"new\" response-variable-name=\"r\"><set-url>https://x.example/</set-url></send-request>"),
            document(outbound: "<send-request mode=\"copy\" response-variable-name=\"r\" />"),
            document(inbound: "<choose><when condition=\"@(true)\"><send-request mode=\"new\" response-variable-name=\"r\"><set-url>https://x.example/</set-url></send-request></when></choose>"),
        ]
        for xml in notSynchronous {
            let built = try pipeline(xml)
            #expect(built.inboundRunsSynchronously == false, "\(xml)")
            #expect(Self.isRunAsync(built.startSynchronously(request())), "\(xml)")
        }
        // Outbound may wait (it runs in finish): the start is still synchronous.
        let waitingOutbound = try pipeline(document(outbound: "<limit-concurrency key=\"k\" max-count=\"1\"><set-status code=\"200\" /></limit-concurrency>"))
        #expect(waitingOutbound.inboundRunsSynchronously)
    }

    @Test func aSideEffectIsNotRunWhenTheStartFallsBack() async throws {
        let pki = try SeedSnippetPipelineTests.PKI()
        let verification = PipelinePKI.verification(trusting: [pki.root], cache: VerificationCache())
        // The counter comes first; the certificate check after it needs a verdict that is not cached.
        let xml = document(inbound: """
            <rate-limit-by-key calls="1" renewal-period="60" counter-key="one" />
            <choose><when condition="@(!context.Request.Certificate.Verify())"><return-response><set-status code="403" /></return-response></when></choose>
            """)
        let built = try pipeline(xml, options: PolicyPipelineOptions(verification: verification))
        #expect(built.inboundRunsSynchronously)
        let client = request(chain: [pki.client.der])
        #expect(Self.isRunAsync(built.startSynchronously(client)))
        #expect(Self.isRunAsync(built.startSynchronously(client)))
        // Had the falling-back starts counted, the one call allowed would be gone.
        let backend = RecordingBackend()
        let result = await built.run(client, backend: backend)
        #expect(result.status == 200)
        #expect(backend.requests.count == 1)
        // Verified now: the next start runs synchronously and meets the limit.
        guard case .respond(let limited) = built.startSynchronously(client) else {
            Issue.record("the cached verdict must allow a synchronous start")
            return
        }
        #expect(limited.status == 429)

        // A pipeline that waits inbound after a counter: runAsync, and the counter is untouched.
        let waits = try pipeline(document(inbound: """
            <rate-limit-by-key calls="1" renewal-period="60" counter-key="one" />
            <send-request mode="new" response-variable-name="r" ignore-error="true"><set-url>https://x.example/</set-url></send-request>
            """))
        #expect(Self.isRunAsync(waits.startSynchronously(request())))
        #expect(await waits.run(request(), backend: RecordingBackend()).status == 200)
    }

    // MARK: Decided from the binder, not the text

    @Test func bodyAndVerifyUseComeFromTheBinder() throws {
        // The words appear only in string literals and names: nothing is read or called.
        let words = try pipeline(document(
            inbound: "<set-header name=\"X-Body\" exists-action=\"override\"><value>@(\"Body Verify() VerifyNoRevocation()\")</value></set-header>",
            outbound: "<set-header name=\"X-Body\" exists-action=\"override\"><value>@(\"Response.Body\")</value></set-header>"))
        #expect(words.readsBody == false)
        #expect(words.readsResponseBody == false)
        #expect(words.usesVerify == false)
        #expect(words.usesVerifyNoRevocation == false)
        #expect(words.inboundRunsSynchronously)

        // Read through a cast of a variable: still seen (the binder knows the static type).
        let viaVariable = try pipeline(document(
            outbound: "<set-variable name=\"b\" value=\"@(((IResponse)context.Variables[&quot;r&quot;]).Body.As&lt;string&gt;())\" />"))
        #expect(viaVariable.readsResponseBody)
        #expect(viaVariable.readsBody == false)

        let verify = try pipeline(document(inbound: "<set-variable name=\"v\" value=\"@(context.Request.Certificate?.VerifyNoRevocation() ?? false)\" />"))
        #expect(verify.usesVerifyNoRevocation)
        #expect(verify.usesVerify == false)
        let uses = verify.expressionUses[.inbound]
        #expect(uses?.uses("X509Certificate2", "VerifyNoRevocation") == true)
        #expect(uses?.contextPaths.contains("context.Request.Certificate") == true)

        let requestBody = try pipeline(document(outbound: "<set-body>@(context.Request.Body.As&lt;string&gt;(true))</set-body>"))
        #expect(requestBody.readsBody)
        #expect(requestBody.readsResponseBody == false)
    }
}
