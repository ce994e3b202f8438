import Synchronization

/// A bounded FIFO between request handlers, which must never wait, and one background sender.
/// Bounded twice: in events (`capacity`) and in bytes (`maximumBytes`, the sum of the weights given
/// to `offer`). When a new event does not fit, `dropOldest` gives up queued events from the front
/// until it does (the newest are usually the most useful), `dropNewest` refuses the new one; either
/// way the caller learns how many were dropped, to count them. `offer` takes a lock for a few
/// array operations and never suspends.
final class BoundedEventQueue<Element: Sendable>: Sendable {
    struct Offered: Equatable {
        /// Whether the offered element is queued.
        var queued: Bool
        /// Events given up for it (queued ones with drop-oldest, or the offered one itself).
        var dropped: Int
    }

    private struct State {
        var items: [(element: Element, weight: Int)] = []
        /// Index of the oldest item in `items` (the front is compacted lazily).
        var start = 0
        var bytes = 0
        var closed = false
        var waiter: CheckedContinuation<Void, Never>? = nil

        var count: Int { items.count - start }

        mutating func removeFront(_ n: Int) -> [Element] {
            let end = start + n
            var out: [Element] = []
            out.reserveCapacity(n)
            for index in start..<end {
                out.append(items[index].element)
                bytes -= items[index].weight
            }
            start = end
            compact()
            return out
        }

        mutating func compact() {
            if start == items.count {
                items.removeAll(keepingCapacity: items.count <= 1024)
                start = 0
            } else if start >= 1024, start * 2 >= items.count {
                items.removeFirst(start)
                start = 0
            }
        }
    }

    let capacity: Int
    let maximumBytes: Int
    let dropOldest: Bool
    private let state = Mutex(State())

    init(capacity: Int, maximumBytes: Int, dropOldest: Bool) {
        self.capacity = max(1, capacity)
        self.maximumBytes = max(1, maximumBytes)
        self.dropOldest = dropOldest
    }

    var count: Int { state.withLock { $0.count } }
    var bytes: Int { state.withLock { $0.bytes } }

    /// Queues `element` (never waits). An element heavier than `maximumBytes` is refused outright.
    func offer(_ element: Element, weight: Int) -> Offered {
        let weight = max(0, weight)
        let (offered, waiter) = state.withLock { state -> (Offered, CheckedContinuation<Void, Never>?) in
            guard !state.closed, weight <= maximumBytes else { return (Offered(queued: false, dropped: 1), nil) }
            var dropped = 0
            let capacity = self.capacity, room = self.maximumBytes - weight
            if !(state.count < capacity && state.bytes <= room) {
                guard dropOldest else { return (Offered(queued: false, dropped: 1), nil) }
                while !(state.count < capacity && state.bytes <= room), state.count > 0 {
                    state.bytes -= state.items[state.start].weight
                    state.start += 1
                    dropped += 1
                }
                state.compact()
            }
            state.items.append((element, weight))
            state.bytes += weight
            let waiter = state.waiter
            state.waiter = nil
            return (Offered(queued: true, dropped: dropped), waiter)
        }
        waiter?.resume()
        return offered
    }

    /// Up to `maximum` of the oldest events, waiting while there are none; empty only once the
    /// queue is closed and drained.
    func take(maximum: Int) async -> [Element] {
        while true {
            let taken: [Element]? = state.withLock { state in
                if state.count > 0 { return state.removeFront(min(max(1, maximum), state.count)) }
                return state.closed ? [] : nil
            }
            if let taken { return taken }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state -> Bool in
                    if state.count > 0 || state.closed { return true }
                    state.waiter = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        }
    }

    /// Refuses further offers; `take` hands out what is left, then returns empty.
    func close() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.closed = true
            let waiter = state.waiter
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Empties the queue and returns how many events it held (given up at a shutdown deadline).
    func discardAll() -> Int {
        state.withLock { state in
            let n = state.count
            state.items.removeAll()
            state.start = 0
            state.bytes = 0
            return n
        }
    }
}
