import ConfigurationStore
import Foundation
import GatewayAdmin
import GatewayConfiguration
import Logging

/// `serve --store DIR`: opens the store, makes sure an admin token exists (a first start writes one
/// to DIR/admin-token, mode 0600, and says where), and reads the configuration it holds.
struct StoreServing {
    let config: GatewayConfig
    let service: ConfigurationService

    static func tokenFile(_ directory: String) -> String { (directory as NSString).appendingPathComponent("admin-token") }

    /// - Parameter seed: a configuration imported first (replacing the store's): the demo's.
    static func open(directory: String, database: String? = nil, port: Int?, operationsPort: Int?, logger: Logger,
                     seed: GatewayConfig? = nil) async throws -> StoreServing {
        let store = try await StoreOpening.open(directory: directory, database: database)
        do {
            return try await open(store, directory: directory, port: port, operationsPort: operationsPort, logger: logger, seed: seed)
        } catch {
            // (A connection must be closed before it goes away.)
            try? await store.close()
            throw error
        }
    }

    private static func open(_ store: any ConfigurationStore, directory: String, port: Int?, operationsPort: Int?,
                             logger: Logger, seed: GatewayConfig?) async throws -> StoreServing {
        if try await store.adminTokenDigests().isEmpty {
            let token = try await AdminTokens.create(name: "admin", in: store)
            let path = tokenFile(directory)
            guard FileManager.default.createFile(atPath: path, contents: Data((token + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
                throw StoreError.unusable("cannot write the admin token to \(path)")
            }
            logger.notice("created the first admin token (Authorization: Bearer …)", metadata: ["file": "\(path)"])
        }
        let materializer = StoreMaterializer(dataDirectory: directory) { config in
            if let port { config.listen.port = port }
            if let operationsPort { config.operations.port = operationsPort }
        }
        let service = ConfigurationService(store: store, materializer: materializer, logger: logger)
        if let seed { try await Self.seed(seed, into: service) }
        let (config, revision, warnings) = try await service.currentConfiguration()
        for warning in warnings { logger.warning("configuration warning", metadata: ["warning": "\(warning)"]) }
        logger.info("configuration store opened", metadata: [
            "directory": "\(directory)", "revision": "\(revision)", "hostnames": "\(config.hostnames.count)", "apis": "\(config.apis.count)",
        ])
        return StoreServing(config: config, service: service)
    }

    /// Makes the store hold `config` (one change, if it differs); true when something changed.
    @discardableResult
    static func seed(_ config: GatewayConfig, into service: ConfigurationService) async throws -> Bool {
        let documents = try StoreImporter.documents(for: config)
        let operations = StoreImporter.replacing(try await service.store.contents(), with: documents)
        guard !operations.isEmpty else { return false }
        _ = try await service.apply(operations, actor: "demo", summary: "demo configuration")
        return true
    }
}
