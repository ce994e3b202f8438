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
