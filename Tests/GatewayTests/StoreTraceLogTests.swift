import ConfigurationStore
import Foundation
import Gateway
import GatewayAdmin
import GatewayConfiguration
import Testing

/// `traceLog:` in a configuration store: the settings document takes it, the materializer hands it to
/// the loader (the running gateway gets it), `config import` writes it and a materialised import of
/// that configuration gives the same setting back.
@Suite(.serialized, .enabled(if: Curl.isAvailable))
struct StoreTraceLogTests {
    @Test func traceLogSurvivesSettingsMaterializingAndImport() async throws {
        let gateway = try await TestAdminGateway.start()
        defer { Task { try? await gateway.stop() } }
        _ = try await gateway.configureSeedSetup()
        let expected = TraceLogConfig(severity: .error, sources: ["noisy": .off, "debug-only": .verbose], perSecond: 7)

        // A bad value is refused with the loader's own message, and nothing changes.
        let bad = try await gateway.admin("PUT", "/settings/gateway", json: ["traceLog": ["severity": "loud"]])
        #expect(bad.status == 422 && bad.errorDetails.contains { $0.contains("traceLog.severity must be verbose, information, error or off") },
                "\(bad)")
        #expect(gateway.server.snapshot.config.traceLog == TraceLogConfig())

        let put = try await gateway.admin("PUT", "/settings/gateway", json: [
            "traceLog": ["severity": "error", "sources": ["noisy": "off", "debug-only": "verbose"], "perSecond": 7],
        ])
        #expect(put.status == 200 || put.status == 201, "\(put)")
        // In force at once, and read back as stored.
        #expect(gateway.server.snapshot.config.traceLog == expected)
        let read = try await gateway.admin("GET", "/settings/gateway")
        #expect((read.json["traceLog"] as? [String: Any])?["perSecond"] as? Int == 7, "\(read)")

        // The store's documents materialise to the same setting (what a restart or another node loads).
        let contents = try await gateway.service.store.contents()
        let materialized = gateway.service.materializer.materialize(contents)
        #expect(materialized.errors.isEmpty, "\(materialized.errors)")
        let config = try #require(materialized.config)
        #expect(config.traceLog == expected)

        // `config import` of that configuration into a fresh store: the same setting again.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("drawbridge-tracelog-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try await SQLiteConfigurationStore.open(directory: directory)
        let documents = try StoreImporter.documents(for: config)
        _ = try await store.commit(StoreChange(operations: StoreImporter.replacing(try await store.contents(), with: documents),
                                               actor: "test", summary: "import"))
        let imported = StoreMaterializer(dataDirectory: directory).materialize(try await store.contents())
        try await store.close()
        #expect(imported.errors.isEmpty, "\(imported.errors)")
        #expect(imported.config?.traceLog == expected)

        // The default is not written at all (an import of a configuration without traceLog stays without it).
        var plain = config
        plain.traceLog = TraceLogConfig()
        let plainSettings = try #require(try StoreImporter.documents(for: plain).first { $0.key.kind == .settings }?.value)
        #expect(!String(decoding: plainSettings, as: UTF8.self).contains("traceLog"))
    }

    /// `tracing:` in the settings document is judged as in a file: a build without the OTel trait
    /// refuses it (422, the store unchanged); a traited build applies it and `config import` keeps it.
    @Test func tracingInSettingsIsCheckedAsInAFile() async throws {
        let gateway = try await TestAdminGateway.start()
        defer { Task { try? await gateway.stop() } }
        _ = try await gateway.configureSeedSetup()
        let put = try await gateway.admin("PUT", "/settings/gateway", json: [
            "tracing": ["endpoint": "http://127.0.0.1:9", "protocol": "http/json", "exportInterval": "1s"],
        ])
        #if OTel
        #expect(put.status == 200 || put.status == 201, "\(put)")
        let expected = TracingConfig(endpoint: "http://127.0.0.1:9", wireFormat: .json, exportInterval: 1)
        #expect(gateway.server.snapshot.config.tracing == expected)
        let materialized = gateway.service.materializer.materialize(try await gateway.service.store.contents())
        let config = try #require(materialized.config, "\(materialized.errors)")
        let settings = try #require(try StoreImporter.documents(for: config).first { $0.key.kind == .settings }?.value)
        let tracing = try #require(((try JSONSerialization.jsonObject(with: settings)) as? [String: Any])?["tracing"] as? [String: Any])
        #expect(tracing["endpoint"] as? String == "http://127.0.0.1:9" && tracing["protocol"] as? String == "http/json", "\(tracing)")
        #else
        #expect(put.status == 422 && put.errorDetails.contains { $0.contains("span export is not in this build") }, "\(put)")
        #expect(gateway.server.snapshot.config.tracing == nil)
        #endif
    }
}
