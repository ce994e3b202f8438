import Crypto
import Foundation
import Synchronization

/// OCSP verdicts (good or revoked) per certificate and issuer, kept until the response's nextUpdate
/// (at most `maxAge`; `withoutNextUpdate` when the response has none) and for at most `maxEntries`
/// certificates (oldest dropped first). Unknown answers and failures are not kept. Owned by the
/// server, so it outlives configuration reloads.
public final class OCSPCache: Sendable {
    public struct Configuration: Sendable {
        public var maxEntries: Int
        public var maxAge: TimeInterval
        public var withoutNextUpdate: TimeInterval
        /// Larger responses are refused by the fetcher.
        public var maxResponseBytes: Int

        public init(maxEntries: Int = 10_000, maxAge: TimeInterval = 86_400,
                    withoutNextUpdate: TimeInterval = 300, maxResponseBytes: Int = 1 << 20) {
            self.maxEntries = max(1, maxEntries)
            self.maxAge = maxAge
            self.withoutNextUpdate = withoutNextUpdate
            self.maxResponseBytes = maxResponseBytes
        }
    }

    struct Key: Hashable, Sendable {
        let certificate: SHA256Digest
        let issuer: SHA256Digest
    }

    private struct State {
        var entries: [Key: (status: RevocationStatus, until: Date)] = [:]
        var order: [Key] = []
    }

    let fetcher: any OCSPFetcher
    public let configuration: Configuration
    private let state = Mutex(State())

    public init(fetcher: any OCSPFetcher, configuration: Configuration = .init()) {
        self.fetcher = fetcher
        self.configuration = configuration
    }

    func cached(_ key: Key, now: Date) -> RevocationStatus? {
        state.withLock { state in
            guard let entry = state.entries[key] else { return nil }
            guard now < entry.until else {
                state.entries[key] = nil
                return nil
            }
            return entry.status
        }
    }

    func store(_ status: RevocationStatus, for key: Key, nextUpdate: Date?, now: Date) {
        let configuration = self.configuration
        let until = min(nextUpdate ?? now.addingTimeInterval(configuration.withoutNextUpdate), now.addingTimeInterval(configuration.maxAge))
        guard until > now else { return }
        state.withLock { state in
            if state.entries.updateValue((status, until), forKey: key) == nil { state.order.append(key) }
            while state.order.count > configuration.maxEntries {
                state.entries[state.order.removeFirst()] = nil
            }
        }
    }

    public var count: Int { state.withLock { $0.entries.count } }
}
