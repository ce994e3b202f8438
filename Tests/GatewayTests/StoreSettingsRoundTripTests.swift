import ConfigurationStore
import ConfigurationStorePostgres
import Foundation
import Gateway
import GatewayAdmin
import GatewayConfiguration
import Logging
import Testing

/// `policies.managedIdentityEndpoint` and `policies.entraAuthority` through a configuration store:
/// imported into the settings document, committed, read back and materialised into the gateway's
/// configuration (the materializer used to refuse them as "a resource of its own", so a store lost them).
@Suite(.serialized)
struct StoreSettingsRoundTripTests {
    static func yaml() async throws -> String {
        let pki = try await SharedPKI.shared.pki()
        return """
        listen: { address: 127.0.0.1, port: 8443 }
        hostnames:
          - { name: localhost, certificate: "\(pki.serverCertificate)", key: "\(pki.serverKey)" }
        apis:
          - { name: echo, path: /echo, backend: "http://127.0.0.1:9" }
        policies:
          managedIdentityEndpoint: http://127.0.0.1:50342/metadata/identity/oauth2/token
          entraAuthority: https://login.microsoftonline.us
        """
    }

    static func roundTrip(_ store: any ConfigurationStore, dataDirectory: String) async throws {
        let config = try GatewayConfigLoader.parse(yaml: try await yaml(), file: "gateway.yaml", baseDirectory: dataDirectory)
        let service = ConfigurationService(store: store, materializer: StoreMaterializer(dataDirectory: dataDirectory),
                                           logger: Logger(label: "test"))
        let operations = StoreImporter.replacing(try await store.contents(), with: try StoreImporter.documents(for: config))
        _ = try await service.apply(operations, actor: "test", summary: "import")
        let (served, _, _) = try await service.currentConfiguration()
        #expect(served.policies.managedIdentityEndpoint == "http://127.0.0.1:50342/metadata/identity/oauth2/token")
        #expect(served.policies.entraAuthority == "https://login.microsoftonline.us")
        // And a settings document written through the admin API's shape keeps them too.
        let settings = try #require(try await store.contents()[.settings, "gateway"])
        let document = String(decoding: settings.document, as: UTF8.self)
        #expect(document.contains("managedIdentityEndpoint") && document.contains("login.microsoftonline.us"), "\(document)")
        // Exported back to YAML, the file carries them.
        let folder = try CLITests.temporaryFolder()
        let exported = try StoreExporter.export(try await store.contents(), to: folder)
        let text = try String(contentsOfFile: exported, encoding: .utf8)
        #expect(text.contains("managedIdentityEndpoint") && text.contains("https://login.microsoftonline.us"), "\(text)")
    }

    @Test func sqliteStoreCarriesTheIdentitySettings() async throws {
        let folder = try CLITests.temporaryFolder()
        let store = try await SQLiteConfigurationStore.open(directory: folder)
        do { try await Self.roundTrip(store, dataDirectory: folder) } catch {
            try await store.close()
            throw error
        }
        try await store.close()
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment["DRAWBRIDGE_TEST_POSTGRES"] != nil
                   && FileManager.default.isExecutableFile(atPath: "/usr/bin/psql")))
    func postgresStoreCarriesTheIdentitySettings() async throws {
        let database = try await PostgresStoreGatewayTests.freshDatabase()
        let folder = try CLITests.temporaryFolder()
        let store = try await PostgresConfigurationStore.open(url: database)
        do { try await Self.roundTrip(store, dataDirectory: folder) } catch {
            try await store.close()
            throw error
        }
        try await store.close()
    }

    /// Through the admin API, with curl: the managed-identity endpoint set in the settings document
    /// reaches the running gateway, and `authentication-managed-identity` gets its token there.
    @Test(.enabled(if: Curl.isAvailable)) func theManagedIdentityEndpointSetThroughTheAdminAPIServes() async throws {
        let server = try await DocumentServer.start()
        let tokenPath = ManagedIdentityGatewayTests.tokenPath
        server.set(tokenPath + "?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net",
                   .json(#"{"access_token":"store-mi-token","expires_in":"3600","token_type":"Bearer"}"#))
        let gateway = try await TestAdminGateway.start()
        defer { Task { try? await gateway.stop() } }
        _ = try await gateway.configureSeedSetup(policy: """
            <policies><inbound><authentication-managed-identity resource="https://vault.azure.net" /></inbound>
            <backend><forward-request /></backend><outbound /><on-error /></policies>
            """)
        // Without the setting the policy fails closed.
        #expect(try await gateway.get("/echo/a", certificate: true).httpCode == 500)
        let settings = try await gateway.admin("PUT", "/settings/gateway", json: [
            "policies": ["managedIdentityEndpoint": server.baseURL + tokenPath, "entraAuthority": "https://login.microsoftonline.us"],
        ])
        #expect(settings.status == 201, "\(settings)")
        let served = try await gateway.get("/echo/a", certificate: true)
        #expect(served.httpCode == 200 && served.stdout.contains("Bearer store-mi-token"), "\(served.stdout)")
        let read = try await gateway.admin("GET", "/settings/gateway")
        #expect(read.status == 200 && "\(read)".contains("login.microsoftonline.us"), "\(read)")
        await server.stop()
    }
}
