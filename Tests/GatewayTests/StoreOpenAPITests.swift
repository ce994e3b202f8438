import ConfigurationStore
import Foundation
import Gateway
import GatewayAdmin
import GatewayConfiguration
import Logging
import Testing

/// An API's OpenAPI description through the configuration store: imported as the API document's
/// `openapiDocument` (the text), materialised into the file `openapi:` names, compiled at load; a
/// file path in a stored API document is refused.
@Suite(.serialized)
struct StoreOpenAPITests {
    @Test func theDescriptionTravelsAsTextAndIsCompiledWhenServed() async throws {
        let folder = try CLITests.temporaryFolder()
        let pki = try await SharedPKI.shared.pki()
        try ValidationPolicyGatewayTests.openAPI.write(toFile: folder + "/orders.yaml", atomically: true, encoding: .utf8)
        let yaml = """
            listen: { address: 127.0.0.1, port: 8443 }
            hostnames:
              - { name: localhost, certificate: "\(pki.serverCertificate)", key: "\(pki.serverKey)" }
            apis:
              - { name: orders, path: /orders, backend: "http://127.0.0.1:9", openapi: orders.yaml }
            """
        let config = try GatewayConfigLoader.parse(yaml: yaml, file: "gateway.yaml", baseDirectory: folder)
        let documents = try StoreImporter.documents(for: config)
        let stored = try #require(documents[ResourceKey(.apis, "orders")])
        #expect(String(decoding: stored, as: UTF8.self).contains("openapiDocument"))

        let store = try await SQLiteConfigurationStore.open(directory: folder + "/store")
        do {
            let service = ConfigurationService(store: store, materializer: StoreMaterializer(dataDirectory: folder + "/store"),
                                               logger: Logger(label: "test"))
            _ = try await service.apply(StoreImporter.replacing(try await store.contents(), with: documents), actor: "test", summary: "import")
            let (served, _, _) = try await service.currentConfiguration()
            #expect(served.apis.first?.openAPI == config.apis.first?.openAPI)
            #expect(served.apis.first?.openAPI?.operationCount == 1)
            // Exported back, the YAML names the description's file.
            let exported = try StoreExporter.export(try await store.contents(), to: folder + "/export")
            #expect(try String(contentsOfFile: exported, encoding: .utf8).contains("\"openapi\""))
        } catch {
            try await store.close()
            throw error
        }
        try await store.close()
    }
}
