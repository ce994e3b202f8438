import Foundation
import Testing

@testable import Policies

/// `rate-limit-by-key` / `quota-by-key` keys come from the client (a header, say): keeping the
/// table bounded must not cost a scan of every key (security issue: counter eviction CPU DoS).
@Suite struct CounterEvictionTests {
    /// 300,000 distinct keys through a 100,000-key table: eviction work per insert stays constant
    /// (formerly each insert past the bound scanned all 100,000 keys: 2·10^10 steps).
    @Test func counterEvictionWorkIsAmortisedConstant() async {
        let counters = PolicyCounters(maximumKeys: 100_000, clock: { PipelinePKI.now })
        for index in 0..<300_000 {
            counters.add("client-\(index)", amount: 1, period: 60)
            // A few seconds in a debug build: let the other tests' tasks (timeouts) run meanwhile.
            if index % 10_000 == 0 { await Task.yield() }
        }
        #expect(counters.keyCount == 100_000)
        #expect(counters.evictionWork <= 2 * 300_000)
        // The newest keys survive, the oldest went.
        #expect(counters.peek("client-299999", period: 60).count == 1)
        #expect(counters.peek("client-0", period: 60).count == 0)
    }

    @Test func evictionDropsTheOldestWindowAndRenewalsCountAsNew() {
        final class Clock: @unchecked Sendable {
            var now = PipelinePKI.now
        }
        let clock = Clock()
        let counters = PolicyCounters(maximumKeys: 2, clock: { clock.now })
        counters.add("a", amount: 1, period: 10)
        clock.now += 1
        counters.add("b", amount: 1, period: 100)
        clock.now += 1
        counters.add("a", amount: 1, period: 10)  // same window: a keeps its start (the oldest)
        #expect(counters.peek("a", period: 10).count == 2)
        counters.add("c", amount: 1, period: 100)
        #expect(counters.keyCount == 2)
        #expect(counters.peek("a", period: 10).count == 0)  // evicted
        #expect(counters.peek("b", period: 100).count == 1)
        // b's window renews after 100 s: its new start makes c the oldest.
        clock.now += 100
        counters.add("b", amount: 5, period: 100)
        counters.add("d", amount: 1, period: 100)
        #expect(counters.keyCount == 2)
        #expect(counters.peek("c", period: 100).count == 0)
        #expect(counters.peek("b", period: 100).count == 5)
        #expect(counters.peek("d", period: 100).count == 1)
    }

    /// One key renewed again and again leaves stale heap entries behind; they are compacted away,
    /// so the work stays proportional to the number of calls.
    @Test func renewalsDoNotAccumulateWork() {
        final class Clock: @unchecked Sendable {
            var now = PipelinePKI.now
        }
        let clock = Clock()
        let counters = PolicyCounters(maximumKeys: 4, clock: { clock.now })
        for _ in 0..<10_000 {
            clock.now += 2
            counters.add("renewed", amount: 1, period: 1)
        }
        #expect(counters.keyCount == 1)
        #expect(counters.peek("renewed", period: 1).count == 1)
        #expect(counters.evictionWork <= 2 * 10_000)
    }
}
