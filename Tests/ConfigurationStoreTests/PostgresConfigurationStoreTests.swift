import ConfigurationStore
import ConfigurationStorePostgres
import Foundation
import Logging
import PostgresNIO
import Testing

/// The PostgreSQL store against a real server: `DRAWBRIDGE_TEST_POSTGRES` names one
/// (`postgres://user@127.0.0.1:port/postgres?sslmode=disable`; `.ci/run` starts a throwaway one).
/// Each test makes its own database. Without the variable only the URL checks run.
struct PostgresConfigurationStoreTests {
    static let server = ProcessInfo.processInfo.environment["DRAWBRIDGE_TEST_POSTGRES"]
    static func json(_ text: String) -> Data { Data(text.utf8) }

    /// A fresh database on the test server; returns its URL.
    static func freshDatabase() async throws -> String {
        let base = try #require(server)
        let (configuration, _) = try PostgresConfigurationStore.configuration(url: base)
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: Logger(label: "test"))
        let name = "drawbridge_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        _ = try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: Logger(label: "test"))
        try await connection.close()
        var components = try #require(URLComponents(string: base))
        components.path = "/" + name
        return try #require(components.string)
    }

    @Test func urlsAreCheckedWithoutQuotingThePassword() {
        for (url, expected) in [
            ("mysql://u:pw@h/db", "postgres://user[:password]@host[:port]/database"),
            ("postgres://u:hunter2@h", "names no database"),
            ("postgres://u:hunter2@h/db?sslmode=allow", "sslmode must be disable, require or verify-full"),
        ] {
            #expect {
                try PostgresConfigurationStore.configuration(url: url)
            } throws: { error in
                "\(error)".contains(expected) && !"\(error)".contains("hunter2")
            }
        }
        #expect((try? PostgresConfigurationStore.configuration(url: "postgres://u:p%40ss@db.internal:6543/conf?sslmode=disable"))?.1 == "db.internal:6543/conf")
    }

    @Test(.enabled(if: server != nil)) func commitsAtomicallyWithAuditAndSurvivesReconnecting() async throws {
        let url = try await Self.freshDatabase()
        let store = try await PostgresConfigurationStore.open(url: url)
        #expect(try await store.contents() == StoreContents(revision: 0, resources: [:]))
        let a = ResourceKey(.namedValues, "a"), b = ResourceKey(.namedValues, "b")
        let commit = try await store.commit(StoreChange(
            operations: [.put(a, document: Self.json(#"{"value":"1"}"#)), .put(b, document: Self.json(#"{"value":"2"}"#))],
            actor: "alice", summary: "two values"))
        #expect(commit.revision == 1)
        #expect(commit.etags[a] ?? nil == DocumentDigest.etag(Self.json(#"{"value":"1"}"#)))
        await #expect(throws: StoreError.notFound(ResourceKey(.namedValues, "missing"))) {
            try await store.commit(StoreChange(
                operations: [.put(a, document: Self.json(#"{"value":"changed"}"#)), .delete(ResourceKey(.namedValues, "missing"))],
                actor: "bob", summary: "half"))
        }
        let afterFailure = try await store.contents()
        #expect(afterFailure.revision == 1)
        #expect(afterFailure[.namedValues, "a"]?.document == Self.json(#"{"value":"1"}"#))
        let audit = try await store.audit(limit: 10)
        #expect(audit.map(\.id) == ["b", "a"])
        #expect(audit.allSatisfy { $0.actor == "alice" && $0.action == "create" && $0.revision == 1 && $0.summary == "two values" })
        try await store.addAdminToken(name: "ci", digest: DocumentDigest.sha256Hex("secret-token"))
        try await store.close()

        let again = try await PostgresConfigurationStore.open(url: url)
        let contents = try await again.contents()
        #expect(contents.revision == 1)
        #expect(contents.all(.namedValues).map(\.key.id) == ["a", "b"])
        #expect(contents[.namedValues, "a"]?.updatedBy == "alice")
        #expect(try await again.adminTokenDigests().map(\.name) == ["ci"])
        try await again.close()
    }

    @Test(.enabled(if: server != nil)) func preconditionsAndRevisionChecks() async throws {
        let store = try await PostgresConfigurationStore.open(url: try await Self.freshDatabase())
        let key = ResourceKey(.apis, "echo")
        let first = try await store.commit(StoreChange(operations: [.put(key, document: Self.json("{}"), precondition: .mustNotExist)], actor: "t", summary: ""))
        let etag = try #require(first.etags[key] ?? nil)
        await #expect(throws: StoreError.alreadyExists(key)) {
            try await store.commit(StoreChange(operations: [.put(key, document: Self.json("{}"), precondition: .mustNotExist)], actor: "t", summary: ""))
        }
        await #expect(throws: StoreError.preconditionFailed(key, currentETag: etag)) {
            try await store.commit(StoreChange(operations: [.put(key, document: Self.json(#"{"x":1}"#), precondition: .ifMatch("stale"))], actor: "t", summary: ""))
        }
        #expect(try await store.commit(StoreChange(operations: [.put(key, document: Self.json(#"{"x":1}"#), precondition: .ifMatch(etag))], actor: "t", summary: "")).revision == 2)
        await #expect(throws: StoreError.revisionChanged(expected: 1, current: 2)) {
            try await store.commit(StoreChange(operations: [.delete(key)], actor: "t", summary: "", basedOnRevision: 1))
        }
        _ = try await store.commit(StoreChange(operations: [.delete(key)], actor: "t", summary: "", basedOnRevision: 2))
        #expect(try await store.contents().resources.isEmpty)
        #expect(try await store.audit(limit: 1).first?.action == "delete")
        try await store.close()
    }

    /// Two nodes (two connections) committing at once: every change kept, one revision each.
    @Test(.enabled(if: server != nil)) func commitsFromTwoNodesAreSerialised() async throws {
        let url = try await Self.freshDatabase()
        let nodes = [try await PostgresConfigurationStore.open(url: url), try await PostgresConfigurationStore.open(url: url)]
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<40 {
                let node = nodes[index % 2]
                group.addTask {
                    _ = try await node.commit(StoreChange(operations: [.put(ResourceKey(.namedValues, "v\(index)"), document: Self.json(#"{"value":"x"}"#))],
                                                          actor: "node\(index % 2)", summary: ""))
                }
            }
            try await group.waitForAll()
        }
        let contents = try await nodes[1].contents()
        #expect(contents.revision == 40)
        #expect(contents.all(.namedValues).count == 40)
        #expect(Set(try await nodes[0].audit(limit: 100).map(\.revision)) == Set(1...40))
        for node in nodes { try await node.close() }
    }

    @Test(.enabled(if: server != nil)) func aDatabaseFromANewerBinaryIsRefused() async throws {
        let url = try await Self.freshDatabase()
        try await PostgresConfigurationStore.open(url: url).close()
        let (configuration, _) = try PostgresConfigurationStore.configuration(url: url)
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: Logger(label: "test"))
        _ = try await connection.query("UPDATE drawbridge_meta SET value = 99 WHERE key = 'schema'", logger: Logger(label: "test"))
        try await connection.close()
        await #expect {
            try await PostgresConfigurationStore.open(url: url)
        } throws: { error in
            guard case StoreError.unusable(let why)? = error as? StoreError else { return false }
            return why.contains("newer")
        }
    }
}
