import ArgumentParser
import ConfigurationStore
import ConfigurationStorePostgres
import Foundation

/// Which store a `--store DIR` command opens: SQLite in DIR, or — with `--database URL` or
/// `$DRAWBRIDGE_STORE_DATABASE` — PostgreSQL (DIR then holds only the files a configuration names
/// and the first admin token). The URL holds a password: prefer the environment variable.
enum StoreOpening {
    static let databaseHelp: ArgumentHelp = "PostgreSQL store instead of SQLite: postgres://user[:password]@host[:port]/db[?sslmode=disable] (else $DRAWBRIDGE_STORE_DATABASE)."

    static func databaseURL(_ option: String?) -> String? {
        let url = option ?? ProcessInfo.processInfo.environment["DRAWBRIDGE_STORE_DATABASE"]
        return url.flatMap { $0.isEmpty ? nil : $0 }
    }

    static func open(directory: String, database: String?) async throws -> any ConfigurationStore {
        guard let url = databaseURL(database) else { return try await SQLiteConfigurationStore.open(directory: directory) }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw StoreError.unusable("cannot create data directory \(directory): \(error.localizedDescription)")
        }
        return try await PostgresConfigurationStore.open(url: url)
    }
}
