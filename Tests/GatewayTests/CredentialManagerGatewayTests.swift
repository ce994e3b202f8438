import Foundation
import GatewayConfiguration
import NIOConcurrencyHelpers
import Policies
import Testing

@testable import Gateway

/// `get-authorization-context` end to end: curl through a real gateway whose credential manager is
/// configured in YAML (`policies.credentialProviders`, the client secret a secret named value), a
/// loopback HTTP server playing the OAuth 2.0 token endpoint (counting its token requests), the
/// echo backend showing what it received.
@Suite(.serialized, .enabled(if: Curl.isAvailable, "needs /usr/bin/curl"))
struct CredentialManagerGatewayTests {
    static func call(_ gateway: TestGateway, _ path: String) async throws -> Curl.Result {
        try await Curl.run(SecurityProbeTests.common(gateway) + ["--http1.1", "--max-time", "20", "\(gateway.baseURL)\(path)"])
    }

    /// The providers as the YAML configuration gives them.
    static func providers(tokenURL: String) throws -> (providers: [String: CredentialProvider], namedValues: [String: String]) {
        let yaml = """
            hostnames:
              - { name: a.test, certificate: c.pem, key: k.pem }
            policies:
              namedValues:
                github-client-secret: { value: "gw-s3cret", secret: true }
              credentialProviders:
                github-01:
                  tokenUrl: \(tokenURL)
                  clientId: drawbridge
                  clientSecret: "{{github-client-secret}}"
                  clientAuthentication: body
                  scopes: [repo]
                  connections:
                    auth-01: { grant: client-credentials }
                    fixed: { token: "{{github-client-secret}}" }
                    closed: { grant: client-credentials, accessPolicy: { gateway: false } }
            """
        let policies = try GatewayConfigLoader.parse(yaml: yaml, file: "gw.yaml", baseDirectory: "/").policies
        return (policies.credentialProviders, policies.namedValues)
    }

    static func gateway(policy: String, tokenURL: String) async throws -> (TestGateway, String) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("credentials-\(UUID().uuidString).xml").path
        try policy.write(toFile: path, atomically: true, encoding: .utf8)
        let (providers, namedValues) = try Self.providers(tokenURL: tokenURL)
        let gateway = try await TestGateway.start(tweaking: { config, _, _ in
            config.apis[1].policyFile = path
            config.policies.credentialProviders = providers
            config.policies.namedValues.merge(namedValues) { $1 }
        })
        return (gateway, path)
    }

    @Test func theTokenReachesTheBackendAndIsFetchedOnce() async throws {
        let issued = NIOLockedValueBox(0)
        let endpoint = try await LoopbackHTTPServer.start { _ in
            let number = issued.withLockedValue { count -> Int in
                count += 1
                return count
            }
            return .init(status: 200, body: #"{"access_token":"gw-token-\#(number)","token_type":"bearer","expires_in":3600,"scope":"repo"}"#)
        }
        // The reference's "attach the token to the backend call" example, as published.
        let (gateway, path) = try await Self.gateway(policy: """
            <policies><inbound>
            <get-authorization-context provider-id="github-01" authorization-id="auth-01" context-variable-name="auth-context" identity-type="managed" ignore-error="false" />
            <set-header name="Authorization" exists-action="override">
                <value>@("Bearer " + ((Authorization)context.Variables.GetValueOrDefault("auth-context"))?.AccessToken)</value>
            </set-header>
            </inbound><backend><forward-request /></backend><outbound /><on-error /></policies>
            """, tokenURL: endpoint.baseURL + "/oauth/token")
        defer { try? FileManager.default.removeItem(atPath: path) }
        for _ in 0..<3 {
            let result = try await Self.call(gateway, "/public/repos")
            #expect(result.httpCode == 200, "\(result.body) \(result.stderr)")
            #expect(result.body.contains("Bearer gw-token-1"), "\(result.body)")
        }
        #expect(endpoint.received.count == 1)  // cached for the next requests
        let sent = try #require(endpoint.received.first)
        #expect(sent.method == "POST")
        #expect(sent.uri == "/oauth/token")
        #expect(sent.body == "grant_type=client_credentials&scope=repo&client_id=drawbridge&client_secret=gw-s3cret")
        #expect(sent.header("Content-Type") == "application/x-www-form-urlencoded")
        try await gateway.stop()
        await endpoint.stop()
    }

    @Test func aShortLivedTokenIsFetchedAgainOnceItNearsExpiry() async throws {
        let issued = NIOLockedValueBox(0)
        let endpoint = try await LoopbackHTTPServer.start { _ in
            let number = issued.withLockedValue { count -> Int in
                count += 1
                return count
            }
            return .init(status: 200, body: #"{"access_token":"short-\#(number)","expires_in":2}"#)
        }
        let (gateway, path) = try await Self.gateway(policy: """
            <policies><inbound>
            <get-authorization-context provider-id="github-01" authorization-id="auth-01" context-variable-name="auth-context" />
            <return-response><set-body template="none">@(((Authorization)context.Variables.GetValueOrDefault("auth-context"))?.AccessToken)</set-body></return-response>
            </inbound><backend /><outbound /><on-error /></policies>
            """, tokenURL: endpoint.baseURL + "/oauth/token")
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try await Self.call(gateway, "/public/a").body == "short-1")
        #expect(try await Self.call(gateway, "/public/a").body == "short-1")
        #expect(endpoint.received.count == 1)
        // A 2 s token is kept 1.8 s (a tenth of its lifetime before it expires), then fetched again.
        try await Task.sleep(for: .milliseconds(2100))
        #expect(try await Self.call(gateway, "/public/a").body == "short-2")
        #expect(endpoint.received.count == 2)
        try await gateway.stop()
        await endpoint.stop()
    }

    @Test func unknownConnectionsRefusedIdentitiesAndADeadEndpointFailClosed() async throws {
        let endpoint = try await LoopbackHTTPServer.start { _ in .init(status: 400, body: #"{"error":"invalid_client"}"#) }
        let (gateway, path) = try await Self.gateway(policy: """
            <policies><inbound>
            <get-authorization-context provider-id="github-01" authorization-id="@(context.Request.Url.Query.GetValueOrDefault("authorizationId"))" context-variable-name="auth-context" ignore-error="@(context.Request.Url.Query.GetValueOrDefault("lenient") == "1")" />
            <return-response>
                <set-status code="200" />
                <set-body template="none">@(((Authorization)context.Variables.GetValueOrDefault("auth-context"))?.AccessToken ?? "no token")</set-body>
            </return-response>
            </inbound><backend /><outbound />
            <on-error><return-response><set-status code="500" /><set-body>@(context.LastError.Reason)</set-body></return-response></on-error></policies>
            """, tokenURL: endpoint.baseURL + "/oauth/token")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let staticToken = try await Self.call(gateway, "/public/x?authorizationId=fixed")
        #expect(staticToken.httpCode == 200)
        #expect(staticToken.body == "gw-s3cret")
        let unknown = try await Self.call(gateway, "/public/x?authorizationId=other")
        #expect(unknown.httpCode == 500)
        #expect(unknown.body == "ConnectionNotFound")
        let closed = try await Self.call(gateway, "/public/x?authorizationId=closed")
        #expect(closed.body == "IdentityNotAllowed")
        let refused = try await Self.call(gateway, "/public/x?authorizationId=auth-01")
        #expect(refused.httpCode == 500)
        #expect(refused.body == "TokenRequestFailed")
        #expect(endpoint.received.count == 1)
        let lenient = try await Self.call(gateway, "/public/x?authorizationId=other&lenient=1")
        #expect(lenient.httpCode == 200)
        #expect(lenient.body == "no token")
        try await gateway.stop()
        await endpoint.stop()
    }

    /// The reference's "get token from incoming request" example: the caller's Entra token is the
    /// identity, checked against the tenant's keys (a loopback Entra authority) and the access policy.
    @Test func aJWTIdentityOfTheAccessPolicyGetsTheToken() async throws {
        let tenant = ValidateAzureADTokenGatewayTests.tenant
        let objectID = "6a7b8c9d-0e1f-4a2b-8c3d-4e5f60718293"
        let signer = try TestSigner()
        let entra = try await DocumentServer.start()
        entra.set("/\(tenant)/v2.0/.well-known/openid-configuration",
                  .json(#"{"issuer":"\#(entra.baseURL)/\#(tenant)/v2.0","jwks_uri":"\#(entra.baseURL)/\#(tenant)/discovery/v2.0/keys"}"#))
        entra.set("/\(tenant)/discovery/v2.0/keys", .json(try signer.jwks()))
        let endpoint = try await LoopbackHTTPServer.start { _ in .init(status: 200, body: #"{"access_token":"for-the-caller","expires_in":3600}"#) }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("credentials-jwt-\(UUID().uuidString).xml").path
        try """
            <policies><inbound>
            <get-authorization-context provider-id="github-01" authorization-id="auth-01" context-variable-name="auth-context" identity-type="jwt" identity="@(context.Request.Headers["Authorization"][0].Replace("Bearer ", ""))" ignore-error="false" />
            <return-response>
                <set-status code="200" />
                <set-body template="none">@(((Authorization)context.Variables.GetValueOrDefault("auth-context"))?.AccessToken)</set-body>
            </return-response>
            </inbound><backend /><outbound /><on-error /></policies>
            """.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var connection = CredentialConnection(grant: .clientCredentials)
        connection.allowsGateway = false
        connection.identities = [CredentialConnection.Identity(tenantID: tenant, objectID: objectID)]
        let provider = CredentialProvider(
            tokenURL: URL(string: endpoint.baseURL + "/token"), clientID: "drawbridge", clientSecret: "jwt-s3cret", connections: ["auth-01": connection])
        let authority = entra.baseURL
        let gateway = try await TestGateway.start(tweaking: { config, _, _ in
            config.apis[1].policyFile = path
            config.policies.credentialProviders = ["github-01": provider]
            config.policies.entraAuthority = authority
        })
        func call(oid: String, aud: String = "https://azure-api.net/authorization-manager") async throws -> Curl.Result {
            let claims = #"{"iss":"\#(authority)/\#(tenant)/v2.0","aud":"\#(aud)","tid":"\#(tenant)","oid":"\#(oid)","exp":\#(Int(Date().timeIntervalSince1970) + 300)}"#
            let token = try signer.token("RS256", kid: "rsa-1", claims: claims)
            return try await Curl.run(SecurityProbeTests.common(gateway) + ["--http1.1", "--max-time", "15", "-H", "Authorization: Bearer \(token)",
                                                                            "\(gateway.baseURL)/public/token"])
        }
        let admitted = try await call(oid: objectID)
        #expect(admitted.httpCode == 200, "\(admitted.body) \(admitted.stderr)")
        #expect(admitted.body == "for-the-caller")
        #expect(try await call(oid: "00000000-0e1f-4a2b-8c3d-4e5f60718293").httpCode == 500)
        #expect(try await call(oid: objectID, aud: "api://other").httpCode == 500)
        #expect(endpoint.received.count == 1)
        try await gateway.stop()
        await endpoint.stop()
        await entra.stop()
    }

    @Test func theYAMLIsCheckedAndNamesNoSecret() throws {
        func error(_ providers: String) -> String {
            let yaml = """
                hostnames:
                  - { name: a.test, certificate: c.pem, key: k.pem }
                policies:
                  namedValues: { secret-one: { value: "top-secret-value", secret: true } }
                  credentialProviders:
                \(providers)
                """
            do {
                _ = try GatewayConfigLoader.parse(yaml: yaml, file: "gw.yaml", baseDirectory: "/")
                return ""
            } catch {
                return "\(error)"
            }
        }
        #expect(error("    p: { tokenUrl: https://t.example/token, clientId: a, clientSecret: b, connections: { c: { grant: implicit } } }")
            .contains("grant must be client-credentials or refresh-token"))
        #expect(error("    p: { clientId: a, clientSecret: b, connections: { c: { grant: client-credentials } } }").contains("needs 'tokenUrl'"))
        #expect(error("    p: { tokenUrl: https://t.example/token, clientId: a, clientSecret: \"{{nope}}\", connections: { c: { grant: client-credentials } } }")
            .contains("named value 'nope' is not defined"))
        #expect(error("    p: { tokenUrl: https://t.example/token, clientId: a, clientSecret: b, connections: { c: { grant: refresh-token } } }")
            .contains("needs 'refreshToken'"))
        #expect(error("    p: { tokenUrl: ftp://t.example/token, clientId: a, clientSecret: b, connections: { c: { grant: client-credentials } } }")
            .contains("tokenUrl must be an absolute http"))
        #expect(error("    p: { tokenUrl: http://idp.example/token, clientId: a, clientSecret: b, connections: { c: { grant: client-credentials } } }")
            .contains("tokenUrl must be https://"))
        #expect(error("    p: { connections: { c: { token: \"{{secret-one}}\", accessPolicy: { identities: [{ tenantId: x, objectId: y }] } } } }")
            .contains("GUIDs"))
        let made = try GatewayConfigLoader.parse(yaml: """
            hostnames:
              - { name: a.test, certificate: c.pem, key: k.pem }
            policies:
              namedValues: { secret-one: { value: "top-secret-value", secret: true } }
              credentialProviders:
                p: { tokenUrl: https://t.example/token, clientId: a, clientSecret: "{{secret-one}}", connections: { c: { grant: client-credentials } } }
            """, file: "gw.yaml", baseDirectory: "/").policies.credentialProviders
        #expect(made["p"]?.clientSecret == "top-secret-value")
        #expect(!"\(made)".contains("top-secret-value"))
    }
}
