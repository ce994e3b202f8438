import ConfigurationStore
import Foundation
import SQLiteNIO
import Testing

/// The SQLite store on a real database file: atomic multi-key changes with their audit records,
/// optimistic concurrency, revision checks, durability across reopening, token digests, and a
/// database from a newer binary refused.
struct SQLiteConfigurationStoreTests {
    static func directory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("drawbridge-store-\(UUID().uuidString)").path
    }

    static func json(_ text: String) -> Data { Data(text.utf8) }

    @Test func commitsAtomicallyWithAuditAndSurvivesReopening() async throws {
        let directory = Self.directory()
        let store = try await SQLiteConfigurationStore.open(directory: directory)
        #expect(try await store.contents() == StoreContents(revision: 0, resources: [:]))
        let a = ResourceKey(.namedValues, "a"), b = ResourceKey(.namedValues, "b")
        let commit = try await store.commit(StoreChange(
            operations: [.put(a, document: Self.json(#"{"value":"1"}"#)), .put(b, document: Self.json(#"{"value":"2"}"#))],
            actor: "alice", summary: "two values"))
        #expect(commit.revision == 1)
        let etagA = try #require(commit.etags[a] ?? nil)
        #expect(etagA == DocumentDigest.etag(Self.json(#"{"value":"1"}"#)))

        // A change whose second operation fails leaves nothing of the first.
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
        try await store.close()

        let reopened = try await SQLiteConfigurationStore.open(directory: directory)
        let contents = try await reopened.contents()
        #expect(contents.revision == 1)
        #expect(contents.all(.namedValues).map(\.key.id) == ["a", "b"])
        #expect(contents[.namedValues, "a"]?.updatedBy == "alice")
        try await reopened.close()
        // The database file is the owner's only (it holds private keys).
        let attributes = try FileManager.default.attributesOfItem(atPath: directory + "/store.sqlite")
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
    }

    @Test func preconditionsAndRevisionChecks() async throws {
        let store = try await SQLiteConfigurationStore.open(directory: Self.directory())
        let key = ResourceKey(.apis, "echo")
        let first = try await store.commit(StoreChange(operations: [.put(key, document: Self.json("{}"), precondition: .mustNotExist)], actor: "t", summary: ""))
        let etag = try #require(first.etags[key] ?? nil)
        await #expect(throws: StoreError.alreadyExists(key)) {
            try await store.commit(StoreChange(operations: [.put(key, document: Self.json("{}"), precondition: .mustNotExist)], actor: "t", summary: ""))
        }
        await #expect(throws: StoreError.preconditionFailed(key, currentETag: etag)) {
            try await store.commit(StoreChange(operations: [.put(key, document: Self.json(#"{"x":1}"#), precondition: .ifMatch("stale"))], actor: "t", summary: ""))
        }
        let second = try await store.commit(StoreChange(operations: [.put(key, document: Self.json(#"{"x":1}"#), precondition: .ifMatch(etag))], actor: "t", summary: ""))
        #expect(second.revision == 2)
        await #expect(throws: StoreError.revisionChanged(expected: 1, current: 2)) {
            try await store.commit(StoreChange(operations: [.delete(key)], actor: "t", summary: "", basedOnRevision: 1))
        }
        _ = try await store.commit(StoreChange(operations: [.delete(key)], actor: "t", summary: "", basedOnRevision: 2))
        #expect(try await store.contents().resources.isEmpty)
        #expect(try await store.audit(limit: 1).first?.action == "delete")
        try await store.close()
    }

    @Test func concurrentCommitsAreSerialisedAndAllKept() async throws {
        let store = try await SQLiteConfigurationStore.open(directory: Self.directory())
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<40 {
                group.addTask {
                    _ = try await store.commit(StoreChange(operations: [.put(ResourceKey(.namedValues, "v\(index)"), document: Self.json(#"{"value":"x"}"#))],
                                                           actor: "t", summary: ""))
                }
            }
            try await group.waitForAll()
        }
        let contents = try await store.contents()
        #expect(contents.revision == 40)
        #expect(contents.all(.namedValues).count == 40)
        #expect(Set(try await store.audit(limit: 100).map(\.revision)) == Set(1...40))
        try await store.close()
    }

    @Test func tokenDigestsAndConstantTimeComparison() async throws {
        let store = try await SQLiteConfigurationStore.open(directory: Self.directory())
        try await store.addAdminToken(name: "ci", digest: DocumentDigest.sha256Hex("secret-token"))
        let digests = try await store.adminTokenDigests()
        #expect(digests.map(\.name) == ["ci"])
        #expect(digests.first?.digest == DocumentDigest.sha256Hex("secret-token"))
        #expect(digests.first?.digest.contains("secret") == false)
        #expect(DocumentDigest.constantTimeEqual("abc", "abc"))
        #expect(!DocumentDigest.constantTimeEqual("abc", "abd"))
        #expect(!DocumentDigest.constantTimeEqual("abc", "abcd"))
        try await store.close()
    }

    @Test func aDatabaseFromANewerBinaryIsRefused() async throws {
        let directory = Self.directory()
        try await SQLiteConfigurationStore.open(directory: directory).close()
        // As a newer binary would leave it: a schema version above this one's migrations.
        let connection = try await SQLiteConnection.open(storage: .file(path: directory + "/store.sqlite"))
        _ = try await connection.query("PRAGMA user_version = 99")
        try await connection.close()
        await #expect {
            try await SQLiteConfigurationStore.open(directory: directory)
        } throws: { error in
            guard case StoreError.unusable(let why)? = error as? StoreError else { return false }
            return why.contains("newer")
        }
    }
}
