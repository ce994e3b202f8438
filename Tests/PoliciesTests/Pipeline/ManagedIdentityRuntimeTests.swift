import ClientCertificates
import Foundation
import Synchronization
import Testing

@testable import Policies

/// A backend that plays an IMDS-compatible token endpoint on `identity.example` (answering with the
/// configured token and lifetime, or status) and the API backend elsewhere; records everything.
final class TokenEndpointBackend: PolicyBackend, Sendable {
    struct Settings {
        var status = 200
        var body = #"{"access_token":"token-1","expires_in":"3600","token_type":"Bearer"}"#
        var failure: (any Error)? = nil
    }

    let settings = Mutex(Settings())
    private let sent = Mutex<[BackendRequest]>([])

    var requests: [BackendRequest] { sent.withLock { $0 } }
    var tokenRequests: [BackendRequest] { requests.filter { $0.url.host == "identity.example" } }

    func send(_ request: BackendRequest) async throws -> BackendResponse {
        sent.withLock { $0.append(request) }
        guard request.url.host == "identity.example" else { return BackendResponse(status: 200, body: BufferedBody("backend")) }
        let current = settings.withLock { $0 }
        if let failure = current.failure { throw failure }
        return BackendResponse(status: current.status, headers: [PolicyHeader("Content-Type", "application/json")], body: BufferedBody(current.body))
    }
}

@Suite struct ManagedIdentityRuntimeTests {
    static let endpoint = URL(string: "http://identity.example/metadata/identity/oauth2/token")!

    func options(_ clock: ManualClock = ManualClock(), endpoint: URL? = Self.endpoint) -> PolicyPipelineOptions {
        PolicyPipelineOptions(
            tracing: true, verification: VerificationContextFactory.clocked(clock),
            managedIdentity: endpoint.map { ManagedIdentitySettings(endpoint: $0) })
    }

    @Test func theTokenIsFetchedWithIMDSParametersAndSentAsABearerToken() async throws {
        let backend = TokenEndpointBackend()
        let built = try pipeline(document(inbound: #"<authentication-managed-identity resource="https://storage.azure.com/" />"#), options: options())
        let result = await built.run(request(headers: [PolicyHeader("Authorization", "Basic client")]), body: nil, backend: backend)
        #expect(result.status == 200)
        let token = try #require(backend.tokenRequests.first)
        #expect(token.method == "GET")
        #expect(token.urlText == "http://identity.example/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fstorage.azure.com%2F")
        #expect(HeaderList.values(token.headers, "Metadata") == ["true"])
        let forwarded = try #require(backend.requests.last)
        #expect(forwarded.url.host == "backend.example")
        #expect(HeaderList.values(forwarded.headers, "Authorization") == ["Bearer token-1"])
    }

    @Test func aUserAssignedIdentityAndAnOutputVariable() async throws {
        let backend = TokenEndpointBackend()
        let xml = document(inbound: """
            <authentication-managed-identity resource="api://exchange" client-id="1111-2222" output-token-variable-name="msi" />
            <return-response><set-status code="200" /><set-body>@((string)context.Variables["msi"] + "|" + context.Request.Headers.GetValueOrDefault("Authorization", "none"))</set-body></return-response>
            """)
        let result = await (try pipeline(xml, options: options())).run(request(), body: nil, backend: backend)
        #expect(result.bodyText == "token-1|none")
        #expect(backend.tokenRequests.first?.urlText.hasSuffix("?api-version=2018-02-01&resource=api%3A%2F%2Fexchange&client_id=1111-2222") == true)
    }

    @Test func tokensAreCachedUntilShortlyBeforeTheyExpire() async throws {
        let backend = TokenEndpointBackend()
        let clock = ManualClock()
        let built = try pipeline(document(inbound: #"<authentication-managed-identity resource="https://vault.azure.net" />"#), options: options(clock))
        _ = await built.run(request(), body: nil, backend: backend)
        _ = await built.run(request(), body: nil, backend: backend)
        #expect(backend.tokenRequests.count == 1)
        clock.advance(3600 - 301)  // five minutes of margin: still served from the cache
        _ = await built.run(request(), body: nil, backend: backend)
        #expect(backend.tokenRequests.count == 1)
        clock.advance(2)
        backend.settings.withLock { $0.body = #"{"access_token":"token-2","expires_in":3600}"# }
        let refreshed = await built.run(request(), body: nil, backend: backend)
        #expect(backend.tokenRequests.count == 2)
        #expect(refreshed.status == 200)
        #expect(backend.requests.last.map { HeaderList.values($0.headers, "Authorization") } == ["Bearer token-2"])
        // Another resource is another token.
        let other = try pipeline(document(inbound: #"<authentication-managed-identity resource="https://graph.microsoft.com" />"#),
                                 options: PolicyPipelineOptions(verification: VerificationContextFactory.clocked(clock),
                                                                managedIdentity: built.options.managedIdentity))
        _ = await other.run(request(), body: nil, backend: backend)
        #expect(backend.tokenRequests.count == 3)
    }

    @Test func failuresFailClosedUnlessIgnored() async throws {
        // No endpoint configured: a clear error, nothing sent.
        let backend = TokenEndpointBackend()
        let strict = document(inbound: #"<authentication-managed-identity resource="https://storage.azure.com/" />"#)
        let unconfigured = await (try pipeline(strict, options: options(endpoint: nil))).run(request(), body: nil, backend: backend)
        #expect(unconfigured.status == 500)
        #expect(unconfigured.lastError?.source == "authentication-managed-identity")
        #expect(unconfigured.lastError?.reason == "ManagedIdentityNotConfigured")
        #expect(unconfigured.lastError?.message.contains("policies.managedIdentityEndpoint") == true)
        #expect(backend.requests.isEmpty)
        // Unreachable, refused, or an answer without a token.
        backend.settings.withLock { $0.failure = PolicyBackendError.connectionFailed("refused") }
        let unreachable = await (try pipeline(strict, options: options())).run(request(), body: nil, backend: backend)
        #expect(unreachable.lastError?.reason == "ManagedIdentityUnavailable")
        #expect(backend.requests.count == 1)
        backend.settings.withLock { $0 = TokenEndpointBackend.Settings(status: 400, body: #"{"error":"invalid_request"}"#) }
        let refused = await (try pipeline(strict, options: options())).run(request(), body: nil, backend: backend)
        #expect(refused.lastError?.reason == "ManagedIdentityTokenRefused")
        #expect(refused.lastError?.message.contains("status 400") == true)
        backend.settings.withLock { $0 = TokenEndpointBackend.Settings(body: #"{"token":"x"}"#) }
        let empty = await (try pipeline(strict, options: options())).run(request(), body: nil, backend: backend)
        #expect(empty.lastError?.message.contains("no 'access_token'") == true)
        // ignore-error: the request goes on without the header.
        let lenient = document(inbound: #"<authentication-managed-identity resource="https://storage.azure.com/" ignore-error="true" />"#)
        let before = backend.requests.count
        let ignored = await (try pipeline(lenient, options: options(endpoint: nil))).run(request(), body: nil, backend: backend)
        #expect(ignored.status == 200)
        #expect(backend.requests.count == before + 1)
        #expect(backend.requests.last.map { HeaderList.values($0.headers, "Authorization") } == [])
    }

    @Test func aSideRequestCarriesTheToken() async throws {
        let backend = TokenEndpointBackend()
        let xml = document(inbound: """
            <send-request mode="new" response-variable-name="blob" timeout="20" ignore-error="false">
                <set-url>https://account.blob.example/container/file</set-url>
                <set-method>GET</set-method>
                <authentication-managed-identity resource="https://storage.azure.com" />
            </send-request>
            <send-one-way-request mode="new">
                <set-url>https://events.example/</set-url>
                <authentication-managed-identity resource="https://storage.azure.com" />
            </send-one-way-request>
            """)
        let result = await (try pipeline(xml, options: options())).run(request(), body: nil, backend: backend)
        #expect(result.status == 200)
        let side = try #require(backend.requests.first { $0.url.host == "account.blob.example" })
        #expect(HeaderList.values(side.headers, "Authorization") == ["Bearer token-1"])
        #expect(backend.tokenRequests.count == 1)  // the one-way call reuses the cached token
        // Only the side requests are authenticated, not the API backend's.
        let forwarded = try #require(backend.requests.first { $0.url.host == "backend.example" })
        #expect(HeaderList.values(forwarded.headers, "Authorization") == [])
    }

    @Test func loadErrorsNameTheAttribute() {
        let missing = loadErrors("<authentication-managed-identity />")
        #expect(missing.first?.contains("'resource'") == true)
        let outbound = loadErrors(#"<authentication-managed-identity resource="r" />"#, section: .outbound)
        #expect(outbound.first?.contains("inbound") == true)
        let expressionClient = loadErrors(#"<authentication-managed-identity resource="r" client-id="@("x")" />"#)
        #expect(expressionClient.first?.contains("client-id") == true)
        let twice = loadErrors("""
            <send-request mode="new" response-variable-name="r"><set-url>https://a.example/</set-url>
            <authentication-managed-identity resource="r" /><authentication-managed-identity resource="s" /></send-request>
            """)
        #expect(twice.first?.contains("authentication-managed-identity") == true)
    }
}

enum VerificationContextFactory {
    static func clocked(_ clock: ManualClock) -> VerificationContext {
        VerificationContext(trustStore: .empty, clock: { clock.read() })
    }
}
