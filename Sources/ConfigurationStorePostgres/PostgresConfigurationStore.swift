import ConfigurationStore
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import PostgresNIO

/// The configuration store on PostgreSQL (postgres-nio), for several gateway nodes sharing one
/// configuration: the same protocol, schema and guarantees as `SQLiteConfigurationStore`. A commit
/// is one transaction that locks the revision row (`FOR UPDATE`), so commits from different nodes
/// are serialised and each is checked against the revision it was validated on; `contents` reads
/// one consistent snapshot (REPEATABLE READ). Migrations run under an advisory lock.
public final class PostgresConfigurationStore: SharedConfigurationStore {
    /// The channel commits are announced on (payload: the new revision).
    static let channel = "drawbridge_configuration"
    private let connection: PostgresConnection
    private let configuration: PostgresConnection.Configuration
    /// The connection `committedRevisions` listens on (its own: the main one runs transactions).
    private let listener = NIOLockedValueBox<PostgresConnection?>(nil)
    private let logger: Logger
    private let gate = SerialGate()
    /// `host:port/database` (never the password), for messages.
    public let location: String

    private init(connection: PostgresConnection, configuration: PostgresConnection.Configuration, logger: Logger, location: String) {
        self.connection = connection
        self.configuration = configuration
        self.logger = logger
        self.location = location
    }

    /// `postgres://user[:password]@host[:port]/database[?sslmode=disable|require]` (TLS with the
    /// system trust store unless `sslmode=disable`).
    public static func configuration(url text: String) throws -> (PostgresConnection.Configuration, String) {
        guard let url = URLComponents(string: text), ["postgres", "postgresql"].contains(url.scheme ?? ""),
              let host = url.host, !host.isEmpty, let user = url.user, !user.isEmpty else {
            throw StoreError.unusable("the database URL must be postgres://user[:password]@host[:port]/database")
        }
        let database = String(url.path.drop { $0 == "/" })
        guard !database.isEmpty else { throw StoreError.unusable("the database URL names no database (postgres://…/database)") }
        let sslMode = url.queryItems?.first { $0.name == "sslmode" }?.value ?? "require"
        let tls: PostgresConnection.Configuration.TLS
        switch sslMode {
        case "disable": tls = .disable
        case "require", "verify-full":
            do { tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration())) } catch {
                throw StoreError.unusable("cannot set up TLS for the database: \(error)")
            }
        default: throw StoreError.unusable("sslmode must be disable, require or verify-full, got '\(sslMode)'")
        }
        let port = url.port ?? 5432
        let configuration = PostgresConnection.Configuration(
            host: host, port: port, username: user.removingPercentEncoding ?? user,
            password: url.password?.removingPercentEncoding, database: database, tls: tls)
        return (configuration, "\(host):\(port)/\(database)")
    }

    /// Connects and migrates.
    public static func open(url: String, logger: Logger = Logger(label: "drawbridge.store")) async throws -> PostgresConfigurationStore {
        let (configuration, location) = try Self.configuration(url: url)
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        } catch {
            throw StoreError.unusable("cannot connect to PostgreSQL at \(location): \(String(reflecting: error).prefix(300))")
        }
        let store = PostgresConfigurationStore(connection: connection, configuration: configuration, logger: logger, location: location)
        do {
            try await store.migrate()
        } catch {
            try? await connection.close()
            throw error
        }
        return store
    }

    static let migrations: [[String]] = [
        // 1: as SQLite's first migration.
        [
            """
            CREATE TABLE drawbridge_resources (
                kind TEXT NOT NULL, id TEXT NOT NULL, document BYTEA NOT NULL, etag TEXT NOT NULL,
                revision BIGINT NOT NULL, updated_at DOUBLE PRECISION NOT NULL, updated_by TEXT NOT NULL,
                PRIMARY KEY (kind, id))
            """,
            """
            CREATE TABLE drawbridge_audit (
                seq BIGSERIAL PRIMARY KEY, revision BIGINT NOT NULL, at DOUBLE PRECISION NOT NULL,
                actor TEXT NOT NULL, action TEXT NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL,
                etag TEXT, summary TEXT NOT NULL)
            """,
            "CREATE TABLE drawbridge_admin_tokens (name TEXT PRIMARY KEY, digest TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL)",
            "INSERT INTO drawbridge_meta (key, value) VALUES ('revision', 0)",
        ],
    ]

    private func run(_ query: PostgresQuery) async throws -> [PostgresRow] {
        var rows: [PostgresRow] = []
        for try await row in try await connection.query(query, logger: logger) { rows.append(row) }
        return rows
    }

    private func migrate() async throws {
        try await transaction("BEGIN") {
            // One node migrates at a time (the lock is released at COMMIT).
            _ = try await self.run("SELECT pg_advisory_xact_lock(7369826766)")
            _ = try await self.run("CREATE TABLE IF NOT EXISTS drawbridge_meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL)")
            let version = try await self.run("SELECT value FROM drawbridge_meta WHERE key = 'schema'").first
                .map { try $0.decode(Int.self) } ?? 0
            guard version <= Self.migrations.count else {
                throw StoreError.unusable("schema version \(version) is newer than this binary knows (\(Self.migrations.count)); upgrade Drawbridge")
            }
            for (index, statements) in Self.migrations.enumerated() where index + 1 > version {
                for statement in statements { _ = try await self.run(PostgresQuery(unsafeSQL: statement)) }
                let next = index + 1
                _ = try await self.run(
                    "INSERT INTO drawbridge_meta (key, value) VALUES ('schema', \(next)) ON CONFLICT (key) DO UPDATE SET value = \(next)")
            }
        }
    }

    private func transaction<T: Sendable>(_ begin: String, _ body: @Sendable () async throws -> T) async throws -> T {
        _ = try await run(PostgresQuery(unsafeSQL: begin))
        do {
            let result = try await body()
            _ = try await run("COMMIT")
            return result
        } catch {
            _ = try? await run("ROLLBACK")
            if let storeError = error as? StoreError { throw storeError }
            throw StoreError.unusable("PostgreSQL at \(location): \(String(reflecting: error).prefix(300))")
        }
    }

    public func contents() async throws -> StoreContents {
        try await gate.run {
            try await self.transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") {
                let revision = try await self.run("SELECT value FROM drawbridge_meta WHERE key = 'revision'").first
                    .map { try $0.decode(Int.self) } ?? 0
                var resources: [ResourceKey: StoredResource] = [:]
                for row in try await self.run(
                    "SELECT kind, id, document, etag, revision, updated_at, updated_by FROM drawbridge_resources") {
                    let (kindText, id, document, etag, changed, at, by) = try row.decode((String, String, ByteBuffer, String, Int, Double, String).self)
                    guard let kind = ResourceKind(rawValue: kindText) else { continue }
                    let key = ResourceKey(kind, id)
                    resources[key] = StoredResource(key: key, document: Data(document.readableBytesView), etag: etag, revision: changed,
                                                    updatedAt: Date(timeIntervalSince1970: at), updatedBy: by)
                }
                return StoreContents(revision: revision, resources: resources)
            }
        }
    }

    public func commit(_ change: StoreChange) async throws -> StoreCommit {
        try await gate.run {
            try await self.transaction("BEGIN") {
                // The revision row is the lock every commit takes, on every node.
                let current = try await self.run("SELECT value FROM drawbridge_meta WHERE key = 'revision' FOR UPDATE").first
                    .map { try $0.decode(Int.self) } ?? 0
                if let expected = change.basedOnRevision, expected != current {
                    throw StoreError.revisionChanged(expected: expected, current: current)
                }
                let revision = current + 1
                let now = Date().timeIntervalSince1970
                var etags: [ResourceKey: String?] = [:]
                for operation in change.operations {
                    let key = operation.key
                    let kind = key.kind.rawValue, id = key.id
                    let existing = try await self.run("SELECT etag FROM drawbridge_resources WHERE kind = \(kind) AND id = \(id)").first
                        .map { try $0.decode(String.self) }
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
                        let bytes = ByteBuffer(bytes: document)
                        _ = try await self.run("""
                            INSERT INTO drawbridge_resources (kind, id, document, etag, revision, updated_at, updated_by)
                            VALUES (\(kind), \(id), \(bytes), \(tag), \(revision), \(now), \(change.actor))
                            ON CONFLICT (kind, id) DO UPDATE SET document = excluded.document, etag = excluded.etag,
                              revision = excluded.revision, updated_at = excluded.updated_at, updated_by = excluded.updated_by
                            """)
                    case .delete:
                        guard existing != nil else { throw StoreError.notFound(key) }
                        action = "delete"
                        _ = try await self.run("DELETE FROM drawbridge_resources WHERE kind = \(kind) AND id = \(id)")
                    }
                    etags[key] = etag
                    _ = try await self.run("""
                        INSERT INTO drawbridge_audit (revision, at, actor, action, kind, id, etag, summary)
                        VALUES (\(revision), \(now), \(change.actor), \(action), \(kind), \(id), \(etag), \(change.summary))
                        """)
                }
                _ = try await self.run("UPDATE drawbridge_meta SET value = \(revision) WHERE key = 'revision'")
                // Delivered to every listening node when (and only if) the transaction commits.
                _ = try await self.run("SELECT pg_notify(\(Self.channel), \(String(revision)))")
                return StoreCommit(revision: revision, etags: etags)
            }
        }
    }

    public func audit(limit: Int) async throws -> [AuditRecord] {
        let limit = max(0, min(limit, 10_000))
        return try await gate.run {
            try await self.run("""
                SELECT seq, revision, at, actor, action, kind, id, etag, summary FROM drawbridge_audit ORDER BY seq DESC LIMIT \(limit)
                """).map { row in
                let (sequence, revision, at, actor, action, kind, id, etag, summary) =
                    try row.decode((Int, Int, Double, String, String, String, String, String?, String).self)
                return AuditRecord(sequence: sequence, revision: revision, at: Date(timeIntervalSince1970: at), actor: actor,
                                   action: action, kind: kind, id: id, etag: etag, summary: summary)
            }
        }
    }

    public func addAdminToken(name: String, digest: String) async throws {
        let now = Date().timeIntervalSince1970
        _ = try await gate.run {
            try await self.run("""
                INSERT INTO drawbridge_admin_tokens (name, digest, created_at) VALUES (\(name), \(digest), \(now))
                ON CONFLICT (name) DO UPDATE SET digest = excluded.digest, created_at = excluded.created_at
                """)
        }
    }

    public func adminTokenDigests() async throws -> [(name: String, digest: String)] {
        try await gate.run {
            try await self.run("SELECT name, digest FROM drawbridge_admin_tokens ORDER BY name").map { row in
                let (name, digest) = try row.decode((String, String).self)
                return (name: name, digest: digest)
            }
        }
    }

    public func committedRevisions() async throws -> AsyncThrowingStream<Int, any Error> {
        let listening: PostgresConnection
        do {
            listening = try await PostgresConnection.connect(configuration: configuration, id: 2, logger: logger)
        } catch {
            throw StoreError.unusable("cannot connect to PostgreSQL at \(location) to listen for changes: \(String(reflecting: error).prefix(300))")
        }
        if let previous = listener.withLockedValue({ box -> PostgresConnection? in
            defer { box = listening }
            return box
        }) { try? await previous.close() }
        let notifications = try await listening.listen(Self.channel)
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    for try await notification in notifications {
                        if let revision = Int(notification.payload) { continuation.yield(revision) }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    public func close() async throws {
        if let listening = listener.withLockedValue({ box -> PostgresConnection? in
            defer { box = nil }
            return box
        }) { try? await listening.close() }
        try await gate.run { try await self.connection.close() }
    }
}
