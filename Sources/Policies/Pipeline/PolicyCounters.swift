import Foundation

/// The in-process state of `rate-limit-by-key`, `quota-by-key` and `limit-concurrency`, shared by all
/// requests of the pipelines given the same instance (keep one across configuration reloads so that
/// counters survive them). Not synchronised with other gateway instances.
public final class PolicyCounters: @unchecked Sendable {
    struct Window {
        var start: Date
        var count: Int
        /// Identifies this window's entry in `byStart` (0: none yet).
        var generation: UInt64 = 0
    }

    private let lock = NSLock()
    private var windows: [String: Window] = [:]
    /// Every window by start, oldest first, for eviction. A renewed window gets a new entry and its old
    /// one goes stale (its generation no longer matches); stale entries are skipped when popped and
    /// dropped when the heap is rebuilt, which happens once they outnumber the live ones. Each `add`
    /// thus costs O(log n) and eviction amortised O(log n), instead of a scan of every key under the
    /// lock (a client choosing `counter-key` values could make each request scan 100,000 keys).
    private var byStart = WindowHeap()
    private var nextGeneration: UInt64 = 1
    private var evictionSteps = 0
    /// Heap entries popped or rebuilt by eviction so far (tests bound it).
    var evictionWork: Int { lock.withLock { evictionSteps } }
    private var inFlight: [String: Int] = [:]
    private let clock: @Sendable () -> Date
    /// Bound on the number of keys kept; the oldest windows are dropped past it.
    public let maximumKeys: Int

    public init(maximumKeys: Int = 100_000, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.maximumKeys = maximumKeys
        self.clock = clock
    }

    /// The calls counted in the current window of `key` and the seconds until it renews.
    func peek(_ key: String, period: Int, anchor: Date? = nil) -> (count: Int, renewsIn: Int) {
        lock.withLock {
            let window = current(key, period: period, anchor: anchor)
            return (window.count, secondsLeft(window, period: period))
        }
    }

    /// Adds `amount` to the current window of `key`.
    func add(_ key: String, amount: Int, period: Int, anchor: Date? = nil) {
        lock.withLock {
            var window = current(key, period: period, anchor: anchor)
            let (sum, overflow) = window.count.addingReportingOverflow(amount)
            // Byte counts (bandwidth) saturate; a negative amount (an over-estimate of LLM tokens
            // given back) never takes the count below zero.
            window.count = overflow ? (amount > 0 ? Int.max : 0) : max(0, sum)
            if window.generation == 0 {
                window.generation = nextGeneration
                nextGeneration += 1
                byStart.push(.init(start: window.start, generation: window.generation, key: key))
            }
            windows[key] = window
            evictOldest()
        }
    }

    /// Number of keys with a window (tests).
    var keyCount: Int { lock.withLock { windows.count } }

    /// Drops the oldest windows past `maximumKeys`; rebuilds the heap when stale entries dominate.
    private func evictOldest() {
        while windows.count > max(0, maximumKeys), let oldest = byStart.popMin() {
            evictionSteps += 1
            if windows[oldest.key]?.generation == oldest.generation { windows[oldest.key] = nil }
        }
        if byStart.count > 2 * windows.count + 64 {
            evictionSteps += byStart.count
            byStart = WindowHeap(windows.map { WindowHeap.Entry(start: $0.value.start, generation: $0.value.generation, key: $0.key) })
        }
    }

    private func current(_ key: String, period: Int, anchor: Date?) -> Window {
        let now = clock()
        if period <= 0 { return windows[key] ?? Window(start: anchor ?? now, count: 0) }
        if let window = windows[key], now < window.start.addingTimeInterval(TimeInterval(period)) { return window }
        // A new or renewed window: generation 0 until `add` records it in `byStart`.
        if let anchor, anchor <= now {
            let elapsed = now.timeIntervalSince(anchor)
            let periods = (elapsed / TimeInterval(period)).rounded(.down)
            return Window(start: anchor.addingTimeInterval(periods * TimeInterval(period)), count: 0)
        }
        return Window(start: now, count: 0)
    }

    private func secondsLeft(_ window: Window, period: Int) -> Int {
        guard period > 0 else { return 0 }
        let left = window.start.addingTimeInterval(TimeInterval(period)).timeIntervalSince(clock())
        return max(1, Int(left.rounded(.up)))
    }

    /// Enters a concurrency slot of `key`; false when `limit` are already taken.
    func enter(_ key: String, limit: Int) -> Bool {
        lock.withLock {
            let taken = inFlight[key, default: 0]
            guard taken < limit else { return false }
            inFlight[key] = taken + 1
            return true
        }
    }

    func leave(_ key: String) {
        lock.withLock {
            let taken = inFlight[key, default: 0] - 1
            inFlight[key] = taken > 0 ? taken : nil
        }
    }
}

/// A binary min-heap of window starts (ties broken by generation, i.e. insertion order).
struct WindowHeap {
    struct Entry {
        let start: Date
        let generation: UInt64
        let key: String

        func precedes(_ other: Entry) -> Bool {
            start != other.start ? start < other.start : generation < other.generation
        }
    }

    private var entries: [Entry] = []

    init() {}

    /// Heapifies `entries` in O(n).
    init(_ entries: [Entry]) {
        self.entries = entries
        var index = entries.count / 2
        while index > 0 {
            index -= 1
            siftDown(index)
        }
    }

    var count: Int { entries.count }

    mutating func push(_ entry: Entry) {
        entries.append(entry)
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].precedes(entries[parent]) else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    mutating func popMin() -> Entry? {
        guard !entries.isEmpty else { return nil }
        entries.swapAt(0, entries.count - 1)
        let minimum = entries.removeLast()
        if !entries.isEmpty { siftDown(0) }
        return minimum
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < entries.count else { return }
            let right = left + 1
            let child = right < entries.count && entries[right].precedes(entries[left]) ? right : left
            guard entries[child].precedes(entries[parent]) else { return }
            entries.swapAt(child, parent)
            parent = child
        }
    }
}
