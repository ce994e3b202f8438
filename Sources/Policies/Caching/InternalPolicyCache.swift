import Foundation
import Synchronization

/// The built-in cache: entries with a lifetime, bounded in bytes (keys and content), the least
/// recently used dropped first when a store would pass the bound. Every operation is O(1) under
/// one lock (a doubly linked recency list over an array of slots; freed slots are reused).
public final class InternalPolicyCache: PolicyCacheStore {
    struct Slot {
        var key: String
        var item: PolicyCacheItem
        var expires: Date
        var bytes: Int
        /// Neighbours in recency order (-1: none); `newer` of the newest and `older` of the oldest are -1.
        var older: Int
        var newer: Int
    }

    struct State {
        var index: [String: Int] = [:]
        var slots: [Slot?] = []
        var free: [Int] = []
        var newest = -1
        var oldest = -1
        var bytes = 0
    }

    /// The most bytes (keys plus items, with a fixed overhead each) the cache holds.
    public let maximumBytes: Int
    /// The longest lifetime granted (a larger `duration` is shortened to it).
    public static let maximumDuration = 365 * 86_400
    private let clock: @Sendable () -> Date
    private let state = Mutex(State())

    public init(maximumBytes: Int = 64 << 20, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.maximumBytes = max(0, maximumBytes)
        self.clock = clock
    }

    public var isExternal: Bool { false }

    /// Bytes currently held, and the number of entries (operations and tests).
    public var usage: (bytes: Int, entries: Int) { state.withLock { ($0.bytes, $0.index.count) } }

    public func lookup(_ key: String) async -> PolicyCacheItem? { lookupNow(key) }

    public func store(_ key: String, _ item: PolicyCacheItem, duration: Int) async { storeNow(key, item, duration: duration) }

    public func remove(_ key: String) async { removeNow(key) }

    // MARK: Synchronous core

    func lookupNow(_ key: String) -> PolicyCacheItem? {
        let now = clock()
        return state.withLock { state -> PolicyCacheItem? in
            guard let at = state.index[key], let slot = state.slots[at] else { return nil }
            guard now < slot.expires else {
                Self.drop(at, &state)
                return nil
            }
            Self.unlink(at, &state)
            Self.linkNewest(at, &state)
            return slot.item
        }
    }

    func storeNow(_ key: String, _ item: PolicyCacheItem, duration: Int) {
        let seconds = min(max(0, duration), Self.maximumDuration)
        let bytes = key.utf8.count + item.byteCount + 64
        let expires = clock().addingTimeInterval(TimeInterval(seconds))
        state.withLock { state in
            if let at = state.index[key] { Self.drop(at, &state) }
            guard seconds > 0, bytes <= maximumBytes else { return }
            while state.bytes + bytes > maximumBytes, state.oldest >= 0 { Self.drop(state.oldest, &state) }
            let slot = Slot(key: key, item: item, expires: expires, bytes: bytes, older: -1, newer: -1)
            let at: Int
            if let reused = state.free.popLast() {
                at = reused
                state.slots[at] = slot
            } else {
                at = state.slots.count
                state.slots.append(slot)
            }
            state.index[key] = at
            state.bytes += bytes
            Self.linkNewest(at, &state)
        }
    }

    func removeNow(_ key: String) {
        state.withLock { state in
            if let at = state.index[key] { Self.drop(at, &state) }
        }
    }

    // MARK: Recency list

    private static func drop(_ at: Int, _ state: inout State) {
        guard let slot = state.slots[at] else { return }
        unlink(at, &state)
        state.index[slot.key] = nil
        state.bytes -= slot.bytes
        state.slots[at] = nil
        state.free.append(at)
    }

    private static func unlink(_ at: Int, _ state: inout State) {
        guard let slot = state.slots[at] else { return }
        if slot.older >= 0 { state.slots[slot.older]?.newer = slot.newer } else { state.oldest = slot.newer }
        if slot.newer >= 0 { state.slots[slot.newer]?.older = slot.older } else { state.newest = slot.older }
        state.slots[at]?.older = -1
        state.slots[at]?.newer = -1
    }

    private static func linkNewest(_ at: Int, _ state: inout State) {
        state.slots[at]?.older = state.newest
        state.slots[at]?.newer = -1
        if state.newest >= 0 { state.slots[state.newest]?.newer = at }
        state.newest = at
        if state.oldest < 0 { state.oldest = at }
    }
}
