import Foundation
import JWTKit
import Synchronization
import Testing

@testable import Policies

/// A backend that plays an OAuth 2.0 token endpoint on `tokens.example` (numbering the tokens it
/// issues, with the configured lifetime, status or delay) and the API backend elsewhere.
final class OAuthTokenBackend: PolicyBackend, Sendable {
    struct Settings {
        var status = 200
        var expiresIn: Int? = 3600
        var rotate = false
        var extra = #","scope":"repo user","token_type":"bearer","nested":{"a":[1,2]}"#
        var delay: Duration? = nil
        var failure: (any Error)? = nil
    }

    let settings = Mutex(Settings())
    private let sent = Mutex<[(request: BackendRequest, body: String)]>([])
    private let issued = Atomic<Int>(0)

    var tokenRequests: [(request: BackendRequest, body: String)] { sent.withLock { $0 }.filter { $0.request.url.host == "tokens.example" } }
    var backendRequests: [BackendRequest] { sent.withLock { $0 }.map(\.request).filter { $0.url.host != "tokens.example" } }

    func send(_ request: BackendRequest) async throws -> BackendResponse {
        var body = ""
        if case .bytes(let bytes) = request.body { body = String(decoding: bytes, as: UTF8.self) }
        sent.withLock { $0.append((request, body)) }
        guard request.url.host == "tokens.example" else { return BackendResponse(status: 200, body: BufferedBody("backend")) }
        let current = settings.withLock { $0 }
        if let delay = current.delay { try await Task.sleep(for: delay) }
        if let failure = current.failure { throw failure }
        guard current.status == 200 else {
            return BackendResponse(status: current.status, headers: [PolicyHeader("Content-Type", "application/json")],
                                   body: BufferedBody(#"{"error":"invalid_client","error_description":"secret s3cret-value is wrong"}"#))
        }
        let number = issued.add(1, ordering: .relaxed).newValue
        var json = #"{"access_token":"token-\#(number)""#
        if let expires = current.expiresIn { json += #","expires_in":\#(expires)"# }
        if current.rotate { json += #","refresh_token":"rotated-\#(number)""# }
        json += current.extra + "}"
        return BackendResponse(status: 200, headers: [PolicyHeader("Content-Type", "application/json")], body: BufferedBody(json))
    }
}

/// The claims of an `identity-type="jwt"` identity: an Entra token for the authorization manager.
struct IdentityClaims: JWTPayload {
    var iss: String? = "https://login.example/\(ValidateAzureADTokenRuntimeTests.tenant)/v2.0"
    var aud: [String]? = ["https://azure-api.net/authorization-manager"]
    var tid: String? = ValidateAzureADTokenRuntimeTests.tenant
    var oid: String? = GetAuthorizationContextRuntimeTests.objectID
    var exp: Int? = 1_780_000_000 + 3600  // ManualClock's time

    func verify(using algorithm: some JWTAlgorithm) async throws {}
}

@Suite struct GetAuthorizationContextRuntimeTests {
    static let objectID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
    static let tokenURL = URL(string: "https://tokens.example/oauth/token")!

    static func providers(grant: CredentialConnection.Grant = .clientCredentials, allowsGateway: Bool = true,
                          identities: [CredentialConnection.Identity] = []) -> [String: CredentialProvider] {
        var connection = CredentialConnection(grant: grant)
        connection.allowsGateway = allowsGateway
        connection.identities = identities
        var provider = CredentialProvider(tokenURL: tokenURL, clientID: "client id", clientSecret: "s3cret&=", connections: ["auth-01": connection])
        provider.scopes = ["repo", "user"]
        return ["github-01": provider]
    }

    static func options(_ clock: ManualClock = ManualClock(), providers: [String: CredentialProvider] = providers(),
                        tokens: CredentialTokenStore = CredentialTokenStore()) -> PolicyPipelineOptions {
        var options = PolicyPipelineOptions(tracing: true, verification: VerificationContextFactory.clocked(clock))
        options.credentials = CredentialManager(providers: providers, tokens: tokens)
        return options
    }

    /// The reference's first example, as published.
    static let example = """
        <policies><inbound>
        <get-authorization-context provider-id="github-01" authorization-id="auth-01" context-variable-name="auth-context" identity-type="managed" ignore-error="false" />
        <return-response>
            <set-status code="200" />
            <set-body template="none">@(((Authorization)context.Variables.GetValueOrDefault("auth-context"))?.AccessToken)</set-body>
        </return-response>
        </inbound><backend /><outbound /><on-error /></policies>
        """

    @Test func theClientCredentialsTokenIsFetchedOnceAndReadByTheExpression() async throws {
        let backend = OAuthTokenBackend()
        let clock = ManualClock()
        let built = try pipeline(Self.example, options: Self.options(clock))
        let first = await built.run(request(), body: nil, backend: backend)
        #expect(first.status == 200, "\(String(describing: first.lastError))")
        #expect(first.bodyText == "token-1")
        let sent = try #require(backend.tokenRequests.first)
        #expect(sent.request.method == "POST")
        #expect(sent.request.urlText == Self.tokenURL.absoluteString)
        #expect(sent.body == "grant_type=client_credentials&scope=repo+user")
        #expect(HeaderList.values(sent.request.headers, "Content-Type") == ["application/x-www-form-urlencoded"])
        // RFC 6749 §2.3.1: the id and secret form-encoded, then Basic.
        #expect(HeaderList.values(sent.request.headers, "Authorization") == ["Basic " + Data("client+id:s3cret%26%3D".utf8).base64EncodedString()])
        // Cached until five minutes before it expires, then fetched again.
        clock.advance(3600 - 301)
        #expect(await built.run(request(), body: nil, backend: backend).bodyText == "token-1")
        #expect(backend.tokenRequests.count == 1)
        clock.advance(2)
        #expect(await built.run(request(), body: nil, backend: backend).bodyText == "token-2")
        #expect(backend.tokenRequests.count == 2)
    }

    @Test func claimsAreTheTokenResponseButTheRefreshToken() async throws {
        let backend = OAuthTokenBackend()
        backend.settings.withLock { $0.rotate = true }
        let xml = document(inbound: """
            <get-authorization-context provider-id="github-01" authorization-id="auth-01" context-variable-name="auth" />
            <set-header name="Authorization" exists-action="override"><value>@("Bearer " + ((Authorization)context.Variables.GetValueOrDefault("auth"))?.AccessToken)</value></set-header>
            <set-header name="X-Claims" exists-action="override"><value>@{
                var claims = ((Authorization)context.Variables["auth"]).Claims;
                return (string)claims["scope"] + "|" + claims["expires_in"].ToString() + "|" + claims.ContainsKey("refresh_token") + "|" + ((JObject)claims["nested"])["a"][1].ToString();
            }</value></set-header>
            """)
        let result = await (try pipeline(xml, options: Self.options(providers: Self.providers(grant: .refreshToken("initial-refresh"))))).run(
            request(), body: nil, backend: backend)
        #expect(result.status == 200, "\(String(describing: result.lastError))")
        let forwarded = try #require(backend.backendRequests.first)
        #expect(HeaderList.values(forwarded.headers, "Authorization") == ["Bearer token-1"])
        #expect(HeaderList.values(forwarded.headers, "X-Claims") == ["repo user|3600|False|2"])
        #expect(backend.tokenRequests.first?.body == "grant_type=refresh_token&refresh_token=initial-refresh&scope=repo+user")
    }

    @Test func theRefreshTokenTheServerRotatesToIsUsedNext() async throws {
        let backend = OAuthTokenBackend()
        backend.settings.withLock {
            $0.rotate = true
            $0.expiresIn = 60
        }
        let clock = ManualClock()
        let built = try pipeline(Self.example, options: Self.options(clock, providers: Self.providers(grant: .refreshToken("initial"))))
        #expect(await built.run(request(), body: nil, backend: backend).bodyText == "token-1")
        clock.advance(60)  // a 60 s token is kept 54 s (a tenth of its lifetime before it expires)
        #expect(await built.run(request(), body: nil, backend: backend).bodyText == "token-2")
        #expect(backend.tokenRequests.map(\.body) == [
            "grant_type=refresh_token&refresh_token=initial&scope=repo+user", "grant_type=refresh_token&refresh_token=rotated-1&scope=repo+user",
        ])
    }

    @Test func concurrentRequestsShareOneFetch() async throws {
        let backend = OAuthTokenBackend()
        backend.settings.withLock { $0.delay = .milliseconds(200) }
        let tokens = CredentialTokenStore()
        let built = try pipeline(Self.example, options: Self.options(tokens: tokens))
        let bodies = await withTaskGroup(of: String?.self) { group in
            for _ in 0..<20 { group.addTask { await built.run(request(), body: nil, backend: backend).bodyText } }
            var all: [String?] = []
            for await body in group { all.append(body) }
            return all
        }
        #expect(bodies.count == 20)
        #expect(bodies.allSatisfy { $0 == "token-1" })
        #expect(backend.tokenRequests.count == 1)
        #expect(tokens.fetches.load(ordering: .relaxed) == 1)
    }

    @Test func failuresFailClosedUnlessIgnoredAndNeverShowSecrets() async throws {
        let backend = OAuthTokenBackend()
        let clock = ManualClock()
        let options = Self.options(clock)
        func run(_ provider: String, _ connection: String, ignore: Bool = false) async throws -> PolicyResult {
            let xml = document(inbound: """
                <get-authorization-context provider-id="\(provider)" authorization-id="\(connection)" context-variable-name="auth" ignore-error="\(ignore)" />
                <return-response><set-body>@(context.Variables["auth"] == null ? "null" : "set")</set-body></return-response>
                """, onError: #"<return-response><set-status code="500" /><set-body>@(context.LastError.Source + "|" + context.LastError.Reason + "|" + context.LastError.Message)</set-body></return-response>"#)
            return await (try pipeline(xml, options: options)).run(request(), body: nil, backend: backend)
        }
        let unknownProvider = try await run("gitlab", "auth-01")
        #expect(unknownProvider.status == 500)
        #expect(unknownProvider.bodyText?.hasPrefix("get-authorization-context|CredentialProviderNotFound|") == true)
        #expect(try await run("github-01", "auth-02").bodyText?.contains("|ConnectionNotFound|") == true)
        #expect(backend.tokenRequests.isEmpty)
        // The endpoint refuses: its error code is named, never the secret or the description.
        backend.settings.withLock { $0.status = 401 }
        let refused = try await run("github-01", "auth-01")
        #expect(refused.bodyText?.contains("|TokenRequestFailed|") == true)
        #expect(refused.bodyText?.contains("answered 401 (invalid_client)") == true)
        #expect(refused.bodyText?.contains("s3cret") == false)
        #expect(backend.tokenRequests.count == 1)
        // A failure is held for five seconds (no fetch), then tried again.
        #expect(try await run("github-01", "auth-01", ignore: true).bodyText == "null")
        #expect(backend.tokenRequests.count == 1)
        clock.advance(6)
        backend.settings.withLock { $0.failure = PolicyBackendError.connectionFailed("refused") }
        #expect(try await run("github-01", "auth-01").bodyText?.contains("could not be reached") == true)
        #expect(backend.tokenRequests.count == 2)
        // An answer nested far deeper than the JSON reader goes: no token, and no crash.
        clock.advance(6)
        backend.settings.withLock {
            $0.failure = nil
            $0.status = 200
            $0.extra = #","deep":"# + String(repeating: "[", count: 30_000) + String(repeating: "]", count: 30_000)
        }
        #expect(try await run("github-01", "auth-01").bodyText?.contains("without a usable 'access_token'") == true)
        #expect(backend.tokenRequests.count == 3)
        // No credential manager at all.
        let bare = try pipeline(Self.example, options: PolicyPipelineOptions(tracing: true))
        let none = await bare.run(request(), body: nil, backend: backend)
        #expect(none.status == 500)
        #expect(none.lastError?.reason == "CredentialProviderNotFound")
        // A static token needs no endpoint.
        let staticOptions = Self.options(providers: Self.providers(grant: .staticToken("static-token")))
        #expect(await (try pipeline(Self.example, options: staticOptions)).run(request(), body: nil, backend: backend).bodyText == "static-token")
        #expect(backend.tokenRequests.count == 3)
    }

    @Test func theAccessPolicyDecidesWhichIdentityMayHaveTheToken() async throws {
        let backend = OAuthTokenBackend()
        // The gateway's own identity (identity-type="managed") may be refused.
        let closed = Self.options(providers: Self.providers(allowsGateway: false))
        let refused = await (try pipeline(Self.example, options: closed)).run(request(), body: nil, backend: backend)
        #expect(refused.status == 500)
        #expect(refused.lastError?.reason == "IdentityNotAllowed")
        #expect(backend.tokenRequests.isEmpty)
        // identity-type="jwt": an Entra token of a listed tenant and object, verified with the tenant's keys.
        let identity = CredentialConnection.Identity(tenantID: ValidateAzureADTokenRuntimeTests.tenant, objectID: Self.objectID)
        var options = Self.options(providers: Self.providers(allowsGateway: false, identities: [identity]))
        options.keyDocuments = ValidateAzureADTokenRuntimeTests.fake()
        options.entraAuthority = URL(string: ValidateAzureADTokenRuntimeTests.authority)
        let xml = """
            <policies><inbound>
            <get-authorization-context provider-id="github-01" authorization-id="auth-01" context-variable-name="auth-context" identity-type="jwt" identity="@(context.Request.Headers["Authorization"][0].Replace("Bearer ", ""))" ignore-error="false" />
            <return-response><set-status code="200" /><set-body template="none">@(((Authorization)context.Variables.GetValueOrDefault("auth-context"))?.AccessToken)</set-body></return-response>
            </inbound><backend /><outbound /><on-error /></policies>
            """
        let built = try pipeline(xml, options: options)
        func call(_ claims: IdentityClaims) async throws -> PolicyResult {
            let token = try await ValidateAzureADTokenRuntimeTests.tokenSigned(claims)
            return await built.run(request(headers: [PolicyHeader("Authorization", "Bearer " + token)]), body: nil, backend: backend)
        }
        let admitted = try await call(IdentityClaims())
        #expect(admitted.status == 200, "\(String(describing: admitted.lastError))")
        #expect(admitted.bodyText == "token-1")
        var otherObject = IdentityClaims()
        otherObject.oid = "99999999-bbbb-cccc-dddd-eeeeeeeeeeee"
        #expect(try await call(otherObject).lastError?.message.contains("'oid'") == true)
        var otherAudience = IdentityClaims()
        otherAudience.aud = ["api://something-else"]
        #expect(try await call(otherAudience).lastError?.message.contains("TokenAudienceNotAllowed") == true)
        var expired = IdentityClaims()
        expired.exp = 1_780_000_000 - 60
        #expect(try await call(expired).lastError?.reason == "IdentityNotAllowed")
        var otherTenant = IdentityClaims()
        otherTenant.tid = "22222222-2222-3333-4444-555555555555"
        #expect(try await call(otherTenant).lastError?.message.contains("no identity of its tenant") == true)
        // A forged signature (another key) is refused.
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: "not the tenant key, but long enough for HMAC-SHA256 signing"), digestAlgorithm: .sha256, kid: "rsa-1")
        let forged = try await keys.sign(IdentityClaims(), kid: "rsa-1")
        let forgedResult = await built.run(request(headers: [PolicyHeader("Authorization", "Bearer " + forged)]), body: nil, backend: backend)
        #expect(forgedResult.lastError?.reason == "IdentityNotAllowed")
        #expect(backend.tokenRequests.count == 1)
    }

    @Test func loadErrors() throws {
        func errors(_ inbound: String) -> String {
            do {
                _ = try pipeline(document(inbound: inbound), options: Self.options())
                return ""
            } catch {
                return "\(error)"
            }
        }
        #expect(errors(#"<get-authorization-context provider-id="p" authorization-id="a" />"#).contains("requires the attribute 'context-variable-name'"))
        #expect(errors(#"<get-authorization-context provider-id="p" authorization-id="a" context-variable-name="v" identity-type="jwt" />"#)
            .contains("requires the attribute 'identity'"))
        #expect(errors(#"<get-authorization-context provider-id="p" authorization-id="a" context-variable-name="v" identity-type="user" />"#)
            .contains("identity-type"))
        #expect(errors(#"<get-authorization-context provider-id="p" authorization-id="a" context-variable-name="v" ignore-error="maybe" />"#)
            .contains("ignore-error"))
        // An unknown type name is still refused: only `Authorization` was added.
        #expect(errors(#"<set-variable name="x" value="@(((Authorisation)context.Variables["a"]).AccessToken)" />"#) != "")
    }
}

extension ValidateAzureADTokenRuntimeTests {
    /// Any payload signed with the test RSA key the fake tenant's JWKS publishes.
    static func tokenSigned(_ claims: some JWTPayload, kid: String = "rsa-1") async throws -> String {
        let keys = JWTKeyCollection()
        await keys.add(rsa: try JWTKit.Insecure.RSA.PrivateKey(backing: JWTTestKeys.rsa), digestAlgorithm: .sha256, kid: JWKIdentifier(string: kid))
        return try await keys.sign(claims, kid: JWKIdentifier(string: kid))
    }
}
