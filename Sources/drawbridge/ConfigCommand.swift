import ArgumentParser
import ConfigurationStore
import Foundation
import Gateway
import GatewayAdmin
import Logging

/// `drawbridge config export|import`: a whole configuration between a YAML file and a store.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Move a whole configuration between a YAML file and a configuration store.",
        subcommands: [ConfigExportCommand.self, ConfigImportCommand.self])
}

struct ConfigImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Replace a store's configuration with a YAML file's (checked first; one atomic, audited change). Send SIGHUP to a gateway serving the store to apply it.")

    @Option(name: .long, help: "YAML configuration file.")
    var config: String

    @Option(name: .long, help: "Data directory of the store (created if missing).")
    var store: String

    @Option(name: .long, help: StoreOpening.databaseHelp)
    var database: String?

    func run() async throws {
        let (checked, findings) = ConfigurationCheck.run(path: config)
        guard let checked else {
            for finding in findings where finding.severity == .error { CLIErrors.report("configuration error: \(finding.message)") }
            throw ExitCode(1)
        }
        let target = try await StoreOpening.open(directory: store, database: database)
        do {
            let documents = try StoreImporter.documents(for: checked)
            let service = ConfigurationService(store: target, materializer: StoreMaterializer(dataDirectory: store), logger: Logger(label: "drawbridge"))
            let operations = StoreImporter.replacing(try await target.contents(), with: documents)
            if operations.isEmpty {
                print("\(store): already holds this configuration")
            } else {
                let applied = try await service.apply(operations, actor: "import", summary: "imported \(config)")
                print("\(store): imported \(config) (\(operations.count) change\(operations.count == 1 ? "" : "s"), revision \(applied.commit.revision))")
            }
            try await target.close()
        } catch {
            try? await target.close()
            CLIErrors.report("import refused: \(CLIErrors.plain(error))")
            throw ExitCode(1)
        }
    }
}

struct ConfigExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a store's configuration as a folder: gateway.yaml and the files it names (keys included, owner-only).")

    @Option(name: .long, help: "Data directory of the store.")
    var store: String

    @Option(name: .long, help: StoreOpening.databaseHelp)
    var database: String?

    @Option(name: .long, help: "Folder to write (created if missing).")
    var out: String

    func run() async throws {
        guard StoreOpening.databaseURL(database) != nil
                || FileManager.default.fileExists(atPath: (store as NSString).appendingPathComponent("store.sqlite")) else {
            CLIErrors.report("\(store) holds no configuration store (store.sqlite)")
            throw ExitCode(1)
        }
        let source = try await StoreOpening.open(directory: store, database: database)
        do {
            let path = try StoreExporter.export(try await source.contents(), to: out)
            try await source.close()
            print(path)
        } catch {
            try? await source.close()
            CLIErrors.report("export failed: \(CLIErrors.plain(error))")
            throw ExitCode(1)
        }
    }
}
