import Foundation
import NIOCore
import SQLiteNIO

/// The embedded store: one SQLite database (`store.sqlite`) in a data directory, WAL journal with
/// `synchronous=FULL`, so a change is on disk when `commit` returns and a `kill -9` loses nothing
/// acknowledged (a transaction interrupted before COMMIT leaves no trace).
public final class SQLiteConfigurationStore: ConfigurationStore {
    public let directory: String
    private let connection: SQLiteConnection
    private let gate = SerialGate()

    private init(directory: String, connection: SQLiteConnection) {
        self.directory = directory
        self.connection = connection
    }

    /// Opens (creating the directory, mode 0700, and the database if needed) and migrates.
    public static func open(directory: String) async throws -> SQLiteConfigurationStore {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw StoreError.unusable("cannot create data directory \(directory): \(error.localizedDescription)")
        }
        let path = (directory as NSString).appendingPathComponent("store.sqlite")
        let connection: SQLiteConnection
        do {
            connection = try await SQLiteConnection.open(storage: .file(path: path))
        } catch {
            throw StoreError.unusable("cannot open \(path): \(error)")
        }
        let store = SQLiteConfigurationStore(directory: directory, connection: connection)
        do {
            try await store.migrate()
        } catch {
            try? await connection.close()
            throw error
        }
        // (The database holds private keys: owner only.)
        try? FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        return store
    }

    private func migrate() async throws {
        _ = try await connection.query("PRAGMA journal_mode=WAL")
        _ = try await connection.query("PRAGMA synchronous=FULL")
        _ = try await connection.query("PRAGMA foreign_keys=ON")
        _ = try await connection.query("PRAGMA busy_timeout=5000")
        let version: Int
        do {
            version = try await connection.query("PRAGMA user_version").first?.column("user_version")?.integer ?? 0
        } catch {
            throw StoreError.unusable("not a Drawbridge store: \(error)")
        }
        guard version <= SQLiteMigrations.all.count else {
            throw StoreError.unusable("schema version \(version) is newer than this binary knows (\(SQLiteMigrations.all.count)); upgrade Drawbridge")
        }
        for (index, statements) in SQLiteMigrations.all.enumerated() where index + 1 > version {
            try await transaction {
                for statement in statements { _ = try await self.connection.query(statement) }
                _ = try await self.connection.query("PRAGMA user_version = \(index + 1)")
            }
        }
    }

    private func transaction<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        _ = try await connection.query("BEGIN IMMEDIATE")
        do {
            let result = try await body()
            _ = try await connection.query("COMMIT")
            return result
        } catch {
            _ = try? await connection.query("ROLLBACK")
            throw error
        }
    }

    private func currentRevision() async throws -> Int {
        try await connection.query("SELECT value FROM meta WHERE key = 'revision'").first?.column("value")?.integer ?? 0
    }

    public func contents() async throws -> StoreContents {
        try await gate.run {
            try await self.transaction {
                let revision = try await self.currentRevision()
                var resources: [ResourceKey: StoredResource] = [:]
                for row in try await self.connection.query(
                    "SELECT kind, id, document, etag, revision, updated_at, updated_by FROM resources") {
                    guard let resource = Self.resource(row) else { continue }
                    resources[resource.key] = resource
                }
                return StoreContents(revision: revision, resources: resources)
            }
        }
    }

    private static func resource(_ row: SQLiteRow) -> StoredResource? {
        guard let kindText = row.column("kind")?.string, let kind = ResourceKind(rawValue: kindText),
              let id = row.column("id")?.string, let etag = row.column("etag")?.string else { return nil }
        let document: Data
        switch row.column("document") {
        case .blob(let buffer)?: document = Data(buffer.readableBytesView)
        case .text(let text)?: document = Data(text.utf8)
        default: return nil
        }
        return StoredResource(
            key: ResourceKey(kind, id), document: document, etag: etag,
            revision: row.column("revision")?.integer ?? 0,
            updatedAt: Date(timeIntervalSince1970: row.column("updated_at")?.double ?? 0),
            updatedBy: row.column("updated_by")?.string ?? "")
    }

    public func commit(_ change: StoreChange) async throws -> StoreCommit {
        try await gate.run {
            try await self.transaction {
                let current = try await self.currentRevision()
                if let expected = change.basedOnRevision, expected != current {
                    throw StoreError.revisionChanged(expected: expected, current: current)
                }
                let revision = current + 1
                let now = Date().timeIntervalSince1970
                var etags: [ResourceKey: String?] = [:]
                for operation in change.operations {
                    let key = operation.key
                    let existing = try await self.connection.query(
                        "SELECT etag FROM resources WHERE kind = ? AND id = ?",
                        [.text(key.kind.rawValue), .text(key.id)]).first?.column("etag")?.string
                    let precondition: StorePrecondition
                    switch operation {
                    case .put(_, _, let p), .delete(_, let p): precondition = p
                    }
                    switch precondition {
                    case .none: break
                    case .ifMatch(let tag): guard existing == tag else { throw StoreError.preconditionFailed(key, currentETag: existing) }
                    case .mustNotExist: guard existing == nil else { throw StoreError.alreadyExists(key) }
                    }
                    let action: String
                    var etag: String?
                    switch operation {
                    case .put(_, let document, _):
                        let tag = DocumentDigest.etag(document)
                        etag = tag
                        action = existing == nil ? "create" : "update"
                        _ = try await self.connection.query(
                            """
                            INSERT INTO resources (kind, id, document, etag, revision, updated_at, updated_by)
                            VALUES (?, ?, ?, ?, ?, ?, ?)
                            ON CONFLICT (kind, id) DO UPDATE SET document = excluded.document, etag = excluded.etag,
                              revision = excluded.revision, updated_at = excluded.updated_at, updated_by = excluded.updated_by
                            """,
                            [.text(key.kind.rawValue), .text(key.id), .blob(ByteBuffer(bytes: document)), .text(tag),
                             .integer(revision), .float(now), .text(change.actor)])
                    case .delete:
                        guard existing != nil else { throw StoreError.notFound(key) }
                        action = "delete"
                        _ = try await self.connection.query(
                            "DELETE FROM resources WHERE kind = ? AND id = ?", [.text(key.kind.rawValue), .text(key.id)])
                    }
                    etags[key] = etag
                    _ = try await self.connection.query(
                        "INSERT INTO audit (revision, at, actor, action, kind, id, etag, summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        [.integer(revision), .float(now), .text(change.actor), .text(action), .text(key.kind.rawValue),
                         .text(key.id), etag.map { .text($0) } ?? .null, .text(change.summary)])
                }
                _ = try await self.connection.query("UPDATE meta SET value = ? WHERE key = 'revision'", [.integer(revision)])
                return StoreCommit(revision: revision, etags: etags)
            }
        }
    }

    public func audit(limit: Int) async throws -> [AuditRecord] {
        try await gate.run {
            try await self.connection.query(
                "SELECT seq, revision, at, actor, action, kind, id, etag, summary FROM audit ORDER BY seq DESC LIMIT ?",
                [.integer(max(0, min(limit, 10_000)))]
            ).map { row in
                AuditRecord(
                    sequence: row.column("seq")?.integer ?? 0, revision: row.column("revision")?.integer ?? 0,
                    at: Date(timeIntervalSince1970: row.column("at")?.double ?? 0),
                    actor: row.column("actor")?.string ?? "", action: row.column("action")?.string ?? "",
                    kind: row.column("kind")?.string ?? "", id: row.column("id")?.string ?? "",
                    etag: row.column("etag")?.string, summary: row.column("summary")?.string ?? "")
            }
        }
    }

    public func addAdminToken(name: String, digest: String) async throws {
        try await gate.run {
            _ = try await self.connection.query(
                """
                INSERT INTO admin_tokens (name, digest, created_at) VALUES (?, ?, ?)
                ON CONFLICT (name) DO UPDATE SET digest = excluded.digest, created_at = excluded.created_at
                """,
                [.text(name), .text(digest), .float(Date().timeIntervalSince1970)])
        }
    }

    public func adminTokenDigests() async throws -> [(name: String, digest: String)] {
        let rows = try await gate.run {
            try await self.connection.query("SELECT name, digest FROM admin_tokens ORDER BY name")
        }
        return rows.compactMap { row in
            guard let name = row.column("name")?.string, let digest = row.column("digest")?.string else { return nil }
            return (name, digest)
        }
    }

    public func close() async throws {
        try await gate.run { try await self.connection.close() }
    }
}
