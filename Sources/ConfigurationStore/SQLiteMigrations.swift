/// The store's schema, one migration per version (`PRAGMA user_version` counts them). Append, never
/// edit: a store written by a newer binary is refused rather than misread.
enum SQLiteMigrations {
    static let all: [[String]] = [
        // 1: resources as JSON documents, audit trail, admin tokens (digests), revision counter.
        [
            """
            CREATE TABLE resources (
                kind TEXT NOT NULL, id TEXT NOT NULL, document BLOB NOT NULL, etag TEXT NOT NULL,
                revision INTEGER NOT NULL, updated_at REAL NOT NULL, updated_by TEXT NOT NULL,
                PRIMARY KEY (kind, id))
            """,
            """
            CREATE TABLE audit (
                seq INTEGER PRIMARY KEY AUTOINCREMENT, revision INTEGER NOT NULL, at REAL NOT NULL,
                actor TEXT NOT NULL, action TEXT NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL,
                etag TEXT, summary TEXT NOT NULL)
            """,
            "CREATE TABLE admin_tokens (name TEXT PRIMARY KEY, digest TEXT NOT NULL, created_at REAL NOT NULL)",
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
            "INSERT INTO meta (key, value) VALUES ('revision', 0)",
        ],
    ]
}
