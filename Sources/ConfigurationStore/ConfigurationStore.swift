/// Where the gateway's configuration lives when it is managed through the admin API: SQLite on one
/// node (`SQLiteConfigurationStore`); a PostgreSQL implementation for a cluster can follow the same
/// protocol. Documents are opaque JSON here: validation and mapping belong to `GatewayAdmin`.
public protocol ConfigurationStore: Sendable {
    /// Every resource at the current revision (one consistent read).
    func contents() async throws -> StoreContents
    /// Commits the change atomically with its audit records, or throws and changes nothing. Once this
    /// returns, the change is durable.
    func commit(_ change: StoreChange) async throws -> StoreCommit
    /// The most recent audit records, newest first.
    func audit(limit: Int) async throws -> [AuditRecord]

    /// Admin bearer tokens, stored as SHA-256 digests only.
    func addAdminToken(name: String, digest: String) async throws
    func adminTokenDigests() async throws -> [(name: String, digest: String)]

    func close() async throws
}

/// A store that several gateways share (PostgreSQL): it announces every committed revision, whoever
/// committed it, so that each gateway applies the others' changes.
public protocol SharedConfigurationStore: ConfigurationStore {
    /// The revisions committed from now on, by any node, as they are announced; ends (or throws)
    /// when the store is closed or the connection is lost.
    func committedRevisions() async throws -> AsyncThrowingStream<Int, any Error>
}
