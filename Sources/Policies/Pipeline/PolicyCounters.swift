import Foundation

/// The in-process state of `rate-limit-by-key`, `quota-by-key` and `limit-concurrency`, shared by all
/// requests of the pipelines given the same instance (keep one across configuration reloads so that
/// counters survive them). Not synchronised with other gateway instances.
public final class PolicyCounters: @unchecked Sendable {
    struct Window {
        var start: Date
        var count: Int
    }

    private let lock = NSLock()
    private var windows: [String: Window] = [:]
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
            window.count += amount
            windows[key] = window
            if windows.count > maximumKeys, let oldest = windows.min(by: { $0.value.start < $1.value.start })?.key {
                windows[oldest] = nil
            }
        }
    }

    private func current(_ key: String, period: Int, anchor: Date?) -> Window {
        let now = clock()
        if period <= 0 { return windows[key] ?? Window(start: anchor ?? now, count: 0) }
        if let window = windows[key], now < window.start.addingTimeInterval(TimeInterval(period)) { return window }
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
