import ConfigurationStore
import Foundation
import GatewayConfiguration
import Logging

/// The management plane's write path: every change is applied to the store's current documents in
/// memory, materialised and checked like `drawbridge check`, committed only if it passes (against
/// the revision it was checked on), then handed to the running gateway as a new snapshot. A refused
/// change leaves the store and the running configuration untouched.
public actor ConfigurationService {
    /// What a committed change did, with its timings (milliseconds).
    public struct Applied: Sendable {
        public var commit: StoreCommit
        public var warnings: [String]
        public var checkMilliseconds: Double
        public var commitMilliseconds: Double
        /// From the end of the commit to the new snapshot in force (`GatewayServer.reload`).
        public var reloadMilliseconds: Double
    }

    public nonisolated let store: any ConfigurationStore
    public nonisolated let materializer: StoreMaterializer
    private let logger: Logger
    private var reload: (@Sendable (GatewayConfig) throws -> Void)?
    /// The address the gateway listens on: a change of it is committed and applies at the next start.
    private var listen: ListenConfig?
    /// One change at a time: each is checked against the revision it commits on (the actor alone
    /// would interleave two changes at their `await`s, and the second would fail with 409).
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []
    /// The store revision of the configuration in force (what `catchUp` compares with).
    private var appliedRevision = 0

    public init(store: any ConfigurationStore, materializer: StoreMaterializer, logger: Logger) {
        self.store = store
        self.materializer = materializer
        self.logger = logger
    }

    /// Where committed configurations go (the gateway's `reload(config:)`).
    public func attach(listening listen: ListenConfig, reload: @escaping @Sendable (GatewayConfig) throws -> Void) {
        self.listen = listen
        self.reload = reload
    }

    /// The configuration the store holds now, checked (startup).
    public func currentConfiguration() async throws -> (GatewayConfig, revision: Int, warnings: [String]) {
        let contents = try await store.contents()
        let result = materializer.materialize(contents)
        guard let config = result.config else {
            throw AdminError(500, "StoredConfigurationInvalid", "the stored configuration does not pass the checks", details: result.errors)
        }
        materializer.prune(keeping: result.files)
        appliedRevision = max(appliedRevision, contents.revision)
        return (config, contents.revision, result.warnings)
    }

    /// Another gateway sharing the store committed `revision`: when it is newer than the
    /// configuration in force, the store's configuration is checked and applied (in turn with this
    /// node's own changes). Returns whether something was applied.
    @discardableResult
    public func catchUp(to revision: Int) async throws -> Bool {
        if busy {
            await withCheckedContinuation { waiting.append($0) }
        } else {
            busy = true
        }
        defer {
            if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
        }
        guard revision > appliedRevision, let reload else { return false }
        let contents = try await store.contents()
        guard contents.revision > appliedRevision else { return false }
        let result = materializer.materialize(contents)
        guard var config = result.config else {
            throw AdminError(500, "StoredConfigurationInvalid", "revision \(contents.revision) from another node does not pass the checks here",
                             details: result.errors)
        }
        if let listen { config.listen = listen }
        try reload(config)
        appliedRevision = contents.revision
        materializer.prune(keeping: result.files)
        logger.info("configuration applied from the shared store", metadata: ["revision": "\(contents.revision)"])
        return true
    }

    /// Validates, commits and applies a change.
    public func apply(_ operations: [StoreOperation], actor: String, summary: String) async throws -> Applied {
        if busy {
            await withCheckedContinuation { waiting.append($0) }
        } else {
            busy = true
        }
        defer {
            if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
        }
        return try await applyAlone(operations, actor: actor, summary: summary)
    }

    private func applyAlone(_ operations: [StoreOperation], actor: String, summary: String) async throws -> Applied {
        let started = ContinuousClock.now
        let contents = try await store.contents()
        var proposed = contents
        for operation in operations {
            switch operation {
            case .put(let key, let document, let precondition):
                let existing = contents.resources[key]
                try Self.check(precondition, existing: existing, key: key)
                proposed.resources[key] = StoredResource(key: key, document: document, etag: DocumentDigest.etag(document),
                                                         revision: contents.revision + 1, updatedAt: Date(), updatedBy: actor)
            case .delete(let key, let precondition):
                guard let existing = contents.resources[key] else { throw StoreError.notFound(key) }
                try Self.check(precondition, existing: existing, key: key)
                proposed.resources[key] = nil
            }
        }
        let result = materializer.materialize(proposed)
        guard var config = result.config else {
            materializer.prune(keeping: try await Self.currentFiles(materializer, store))
            throw AdminError(422, "ConfigurationInvalid", "the change was refused: the configuration would not pass the checks; the running configuration stays",
                             details: result.errors)
        }
        let checked = ContinuousClock.now
        let commit = try await store.commit(StoreChange(operations: operations, actor: actor, summary: summary, basedOnRevision: contents.revision))
        let committed = ContinuousClock.now
        var warnings = result.warnings
        if let listen, config.listen != listen {
            warnings.append("listen \(config.listen.address):\(config.listen.port) applies at the next start (serving \(listen.address):\(listen.port))")
            config.listen = listen
        }
        do {
            try reload?(config)
        } catch {
            // The checks build the same snapshot, so this is not expected; the change is committed
            // and will be served after a restart or the next change.
            logger.error("committed configuration could not be applied", metadata: ["revision": "\(commit.revision)", "error": "\(error)"])
        }
        let applied = ContinuousClock.now
        appliedRevision = max(appliedRevision, commit.revision)
        materializer.prune(keeping: result.files)
        logger.info("configuration change applied", metadata: [
            "revision": "\(commit.revision)", "actor": "\(actor)", "summary": "\(summary)",
        ])
        return Applied(commit: commit, warnings: warnings,
                       checkMilliseconds: Self.milliseconds(checked - started),
                       commitMilliseconds: Self.milliseconds(committed - checked),
                       reloadMilliseconds: Self.milliseconds(applied - committed))
    }

    /// The files of the stored configuration (a refused change's files are removed again).
    private static func currentFiles(_ materializer: StoreMaterializer, _ store: any ConfigurationStore) async throws -> Set<String> {
        materializer.materialize(try await store.contents()).files
    }

    private static func check(_ precondition: StorePrecondition, existing: StoredResource?, key: ResourceKey) throws {
        switch precondition {
        case .none: break
        case .ifMatch(let tag): guard existing?.etag == tag else { throw StoreError.preconditionFailed(key, currentETag: existing?.etag) }
        case .mustNotExist: guard existing == nil else { throw StoreError.alreadyExists(key) }
        }
    }

    static func milliseconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}
