import Foundation
import Testing

/// `drawbridge policy check|test` with the gateway configuration's named values, fragments and
/// backends (`--config`), `--named-value`, `--json` and `--expect-status`.
@Suite(.serialized)
struct PolicyCLITests {
    static func folder() throws -> String {
        let folder = try CLITests.temporaryFolder()
        try """
            hostnames:
              - { name: gw.example, certificate: c.pem, key: k.pem }
            policies:
              fragments: { auth: auth.xml }
              namedValues: { backend-host: "https://backend.example" }
              backends: { v2: "https://v2.example/api" }
            """.write(toFile: folder + "/gw.yaml", atomically: true, encoding: .utf8)
        try """
            <fragment><set-header name="X-Auth" exists-action="override"><value>checked</value></set-header></fragment>
            """.write(toFile: folder + "/auth.xml", atomically: true, encoding: .utf8)
        try """
            <policies>
              <inbound>
                <include-fragment fragment-id="auth" />
                <set-header name="X-Target" exists-action="override"><value>{{backend-host}}</value></set-header>
                <set-backend-service backend-id="v2" />
              </inbound>
              <backend><forward-request /></backend>
              <outbound /><on-error />
            </policies>
            """.write(toFile: folder + "/api.xml", atomically: true, encoding: .utf8)
        try #"{"method": "GET", "url": "https://gw.example/orders/7"}"#.write(toFile: folder + "/request.json", atomically: true, encoding: .utf8)
        return folder
    }

    @Test func checkSeesTheConfigurationsNamedValuesAndFragments() async throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let alone = try await CLITests.run(["policy", "check", folder + "/api.xml"])
        #expect(alone.status == 1)
        #expect(alone.stdout.contains("backend-host"), "\(alone.stdout)")
        let configured = try await CLITests.run(["policy", "check", "--config", folder + "/gw.yaml", folder + "/api.xml"])
        #expect(configured.status == 0, "\(configured.stdout)")
        #expect(configured.stdout.contains("ok: 1 input(s), no errors"))
        // --named-value alone resolves the named value (the fragment is still missing).
        let named = try await CLITests.run(["policy", "check", "--named-value", "backend-host=https://x.example", "--json", folder + "/api.xml"])
        #expect(named.status == 1)
        let diagnostics = try #require(try JSONSerialization.jsonObject(with: Data(named.stdout.utf8)) as? [[String: Any]])
        #expect(diagnostics.count == 1, "\(named.stdout)")
        #expect(diagnostics.first?["line"] as? Int == 3)
        #expect(diagnostics.first?["severity"] as? String == "error")
        #expect((diagnostics.first?["message"] as? String)?.contains("auth") == true)
        #expect((diagnostics.first?["file"] as? String)?.hasSuffix("api.xml") == true)
        let badSpec = try await CLITests.run(["policy", "check", "--named-value", "no-equals", folder + "/api.xml"])
        #expect(badSpec.status != 0 && badSpec.status != 1)
    }

    @Test func testRunsWithTheConfigurationAndChecksTheStatus() async throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let base = ["policy", "test", folder + "/api.xml", "--request", folder + "/request.json", "--config", folder + "/gw.yaml"]
        let passed = try await CLITests.run(base + ["--expect-status", "2xx,3xx"])
        #expect(passed.status == 0, "\(passed.stdout)")
        #expect(passed.stdout.contains("Backend request: GET https://v2.example/api/orders/7"), "\(passed.stdout)")
        #expect(passed.stdout.contains("X-Target: https://backend.example"))
        #expect(passed.stdout.contains("X-Auth: checked"))
        // The (fake) backend answers 200: expecting 404 fails with exit 1.
        let mismatch = try await CLITests.run(base + ["--expect-status", "404"])
        #expect(mismatch.status == 1)
        #expect(mismatch.stdout.contains("status 200 does not match --expect-status 404"))
    }

    /// `--openapi`: the validation policies run against the description given.
    @Test func testValidatesAgainstAnOpenAPIFile() async throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try ValidationPolicyGatewayTests.openAPI.write(toFile: folder + "/orders.yaml", atomically: true, encoding: .utf8)
        try #"<policies><inbound><validate-parameters specified-parameter-action="prevent" unspecified-parameter-action="prevent"><headers unspecified-parameter-action="ignore" /></validate-parameters></inbound><backend><forward-request /></backend><outbound /><on-error /></policies>"#
            .write(toFile: folder + "/validate.xml", atomically: true, encoding: .utf8)
        try #"{"method": "POST", "url": "https://gw.example/shop/orders/0", "api": {"path": "/shop"}}"#.write(toFile: folder + "/bad.json", atomically: true, encoding: .utf8)
        try #"{"method": "POST", "url": "https://gw.example/shop/orders/5", "api": {"path": "/shop"}}"#.write(toFile: folder + "/good.json", atomically: true, encoding: .utf8)
        let base = ["policy", "test", folder + "/validate.xml", "--openapi", folder + "/orders.yaml"]
        let refused = try await CLITests.run(base + ["--request", folder + "/bad.json", "--expect-status", "400"])
        #expect(refused.status == 0, "\(refused.stdout)")
        #expect(refused.stdout.contains("path parameter id does not conform"), "\(refused.stdout)")
        let passed = try await CLITests.run(base + ["--request", folder + "/good.json", "--expect-status", "2xx"])
        #expect(passed.status == 0, "\(passed.stdout)")
    }

    /// `log-to-eventhub` with the configuration's loggers: `policy test` shows what would be sent;
    /// `check` refuses a policy naming a logger that does not exist, naming it (and never the key).
    @Test func logToEventHubWithTheConfiguredLoggers() async throws {
        let folder = try CLITests.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try CLITests.openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                              "-keyout", folder + "/key.pem", "-out", folder + "/cert.pem", "-days", "365", "-subj", "/CN=gw.example"])
        let key = "c2VjcmV0LWtleS1mb3ItY2xpLXRlc3Q="
        func write(_ logger: String) throws {
            try """
                hostnames:
                  - { name: gw.example, certificate: cert.pem, key: key.pem }
                apis:
                  - { name: orders, path: /orders, backend: "http://127.0.0.1:9", policy: api.xml }
                policies:
                  namedValues: { eh: { value: "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=\(key);EntityPath=logs", secret: true } }
                  loggers:
                    \(logger): { eventHub: { connectionString: "{{eh}}" } }
                """.write(toFile: folder + "/gw.yaml", atomically: true, encoding: .utf8)
        }
        try write("contoso")
        try """
            <policies>
              <inbound><log-to-eventhub logger-id="contoso" partition-key="@(context.Request.Method)">@("order " + context.Request.MatchedParameters.GetValueOrDefault("id", "?") + " \\u001b")</log-to-eventhub></inbound>
              <backend><forward-request /></backend>
              <outbound /><on-error />
            </policies>
            """.write(toFile: folder + "/api.xml", atomically: true, encoding: .utf8)
        try #"{"method": "GET", "url": "https://gw.example/orders/7"}"#.write(toFile: folder + "/request.json", atomically: true, encoding: .utf8)
        let tested = try await CLITests.run(["policy", "test", folder + "/api.xml", "--request", folder + "/request.json", "--config", folder + "/gw.yaml"])
        #expect(tested.status == 0, "\(tested.stdout) \(tested.stderr)")
        #expect(tested.stdout.contains("log-to-eventhub → logger 'contoso' partition key 'GET': order ? \\x1b"), "\(tested.stdout)")
        let good = try await CLITests.run(["check", "--config", folder + "/gw.yaml"])
        #expect(good.status == 0, "\(good.stderr)")
        try write("other")
        let bad = try await CLITests.run(["check", "--config", folder + "/gw.yaml"])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("logger 'contoso' of '<log-to-eventhub>' does not exist; configured: other"), "\(bad.stderr)")
        #expect(!bad.stderr.contains(key) && !bad.stdout.contains(key))
        // A file logger whose folder does not exist is refused by check (serve would fail to open it).
        try write("contoso")
        try (try String(contentsOfFile: folder + "/gw.yaml", encoding: .utf8) + "\n    audit: { file: \(folder)/missing/events.jsonl }\n")
            .write(toFile: folder + "/gw.yaml", atomically: true, encoding: .utf8)
        let noFolder = try await CLITests.run(["check", "--config", folder + "/gw.yaml"])
        #expect(noFolder.status == 1)
        #expect(noFolder.stderr.contains("logger 'audit': the folder of \(folder)/missing/events.jsonl does not exist"), "\(noFolder.stderr)")
    }

    /// `policy test` builds and runs `validate-azure-ad-token` as the gateway does: the tenant's
    /// discovery document and JWKS fetched from the configuration's `entraAuthority`.
    @Test func testRunsValidateAzureADTokenWithTheConfiguredAuthority() async throws {
        let signer = try TestSigner()
        let server = try await DocumentServer.start()
        let tenant = ValidateAzureADTokenGatewayTests.tenant
        server.set("/\(tenant)/v2.0/.well-known/openid-configuration",
                   .json(#"{"issuer":"\#(server.baseURL)/\#(tenant)/v2.0","jwks_uri":"\#(server.baseURL)/\#(tenant)/discovery/v2.0/keys"}"#))
        server.set("/\(tenant)/discovery/v2.0/keys", .json(try signer.jwks()))
        let folder = try CLITests.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try """
            hostnames:
              - { name: gw.example, certificate: c.pem, key: k.pem }
            policies:
              entraAuthority: \(server.baseURL)
            """.write(toFile: folder + "/gw.yaml", atomically: true, encoding: .utf8)
        try """
            <policies><inbound>
            <validate-azure-ad-token tenant-id="\(tenant)">
              <backend-application-ids><application-id>backend-app</application-id></backend-application-ids>
            </validate-azure-ad-token>
            </inbound><backend><forward-request /></backend><outbound /><on-error /></policies>
            """.write(toFile: folder + "/api.xml", atomically: true, encoding: .utf8)
        func run(_ token: String) async throws -> CLITests.Run {
            try #"{"method": "GET", "url": "https://gw.example/orders/7", "headers": {"Authorization": "Bearer \#(token)"}}"#
                .write(toFile: folder + "/request.json", atomically: true, encoding: .utf8)
            return try await CLITests.run(["policy", "test", folder + "/api.xml", "--request", folder + "/request.json",
                                           "--config", folder + "/gw.yaml", "--expect-status", "2xx"])
        }
        let accepted = try await run(try signer.token("RS256", kid: "rsa-1", claims: ValidateAzureADTokenGatewayTests.claims(server)))
        #expect(accepted.status == 0, "\(accepted.stdout) \(accepted.stderr)")
        #expect(accepted.stdout.contains("Backend request: GET https://gw.example/orders/7") || accepted.stdout.contains("HTTP 200"), "\(accepted.stdout)")
        #expect(server.requests.contains("/\(tenant)/discovery/v2.0/keys"))
        let refused = try await run(try signer.token("RS256", kid: "rsa-1", claims: ValidateAzureADTokenGatewayTests.claims(server, aud: "api://elsewhere")))
        #expect(refused.status == 1)
        #expect(refused.stdout.contains("HTTP 401") && refused.stdout.contains("validate-azure-ad-token"), "\(refused.stdout)")
        await server.stop()
    }
}
