import CoreMetrics
import Foundation
import GatewayConfiguration
import Logging
import NIOConcurrencyHelpers
import Policies
import Synchronization

/// One configured logger at work: `log` puts an event in its bounded queue and returns (never
/// waits); a background task takes up to `batchSize` events at a time and hands them to the sink.
/// Counts (also on `/metrics` as `drawbridge_logger_events_total{logger,result}`): `sent`, `failed`
/// (the sink gave them up: refused, retries exhausted, or still queued at the shutdown deadline)
/// and `dropped` (the queue was full, or the logger was retired by a reload that changed it).
final class RunningEventLogger: PolicyEventLogger {
    struct Counts: Equatable, Sendable {
        var sent = 0
        var failed = 0
        var dropped = 0
    }

    /// Queued bytes per logger at most (messages are up to 200 KB each): with the event count, what
    /// bounds a logger's memory when its sink is slow or down.
    static let maximumQueueBytes = 64 << 20

    let config: LoggerConfig
    let queue: BoundedEventQueue<PolicyLogEvent>
    private let sink: any EventLogSink
    private let counts = Mutex(Counts())
    private let sender = Mutex<Task<Void, Never>?>(nil)
    private let sentCounter: CoreMetrics.Counter
    private let failedCounter: CoreMetrics.Counter
    private let droppedCounter: CoreMetrics.Counter

    init(config: LoggerConfig, sink: any EventLogSink, factory: any MetricsFactory) {
        self.config = config
        self.sink = sink
        queue = BoundedEventQueue(capacity: config.queueSize, maximumBytes: Self.maximumQueueBytes, dropOldest: config.overflow == .dropOldest)
        func counter(_ result: String) -> CoreMetrics.Counter {
            CoreMetrics.Counter(label: "drawbridge_logger_events_total", dimensions: [("logger", config.id), ("result", result)], factory: factory)
        }
        sentCounter = counter("sent")
        failedCounter = counter("failed")
        droppedCounter = counter("dropped")
    }

    var statistics: Counts { counts.withLock { $0 } }

    func log(_ event: PolicyLogEvent) {
        let weight = event.message.utf8.count + (event.partitionKey?.utf8.count ?? 0) + event.requestID.utf8.count + 64
        let offered = queue.offer(event, weight: weight)
        if offered.dropped > 0 { count(dropped: offered.dropped) }
    }

    private func count(sent: Int = 0, failed: Int = 0, dropped: Int = 0) {
        counts.withLock {
            $0.sent += sent
            $0.failed += failed
            $0.dropped += dropped
        }
        if sent > 0 { sentCounter.increment(by: Int64(sent)) }
        if failed > 0 { failedCounter.increment(by: Int64(failed)) }
        if dropped > 0 { droppedCounter.increment(by: Int64(dropped)) }
    }

    /// Starts the background sender (once).
    func start() {
        sender.withLock { task in
            guard task == nil else { return }
            // Detached: the sender belongs to no request (nor to its task-locals).
            task = Task.detached { [self] in
                while true {
                    let batch = await queue.take(maximum: config.batchSize)
                    if batch.isEmpty { break }
                    let (sent, failed) = await sink.deliver(batch)
                    count(sent: sent, failed: failed)
                }
                sink.close()
            }
        }
    }

    /// Stops taking events and sends what is queued until `deadline`; what is still queued or in
    /// flight then is given up (counted as failed).
    func stop(deadline: ContinuousClock.Instant) async {
        queue.close()
        guard let task = sender.withLock({ $0 }) else {
            count(dropped: queue.discardAll())
            sink.close()
            return
        }
        // Whichever comes first: the sender's end or the deadline (awaiting a task's value cannot
        // be cancelled, so a task group would wait for the sender anyway).
        let finished: Bool = await withCheckedContinuation { continuation in
            let resumed = NIOLockedValueBox(false)
            let resume: @Sendable (Bool) -> Void = { value in
                guard !resumed.withLockedValue({ let was = $0; $0 = true; return was }) else { return }
                continuation.resume(returning: value)
            }
            let timer = Task {
                try? await Task.sleep(until: deadline, clock: .continuous)
                resume(false)
            }
            Task {
                await task.value
                timer.cancel()
                resume(true)
            }
        }
        if !finished {
            // What is still queued is given up; the batch in flight ends with its request (the sink
            // stops retrying once cancelled) and counts then. Not awaited: the deadline is kept.
            count(failed: queue.discardAll())
            task.cancel()
        }
    }
}

/// The gateway's loggers, owned by the server: a reload keeps a logger whose configuration did not
/// change (its queue and counts with it), starts new ones, and stops (drains) those removed or
/// changed. `prepare` makes the loggers of a configuration without starting anything, so a
/// configuration that fails to load starts no sender; `commit` is called once it is in force.
public final class GatewayEventLoggers: Sendable {
    private let running = Mutex<[String: RunningEventLogger]>([:])
    private let transport: any EventHubTransport
    private let factory: any MetricsFactory
    private let logger: Logger
    /// Loggers being stopped after a reload (each removes itself when done), awaited at shutdown.
    private let retired = Mutex<[UUID: Task<Void, Never>]>([:])

    init(transport: any EventHubTransport, factory: any MetricsFactory, logger: Logger) {
        self.transport = transport
        self.factory = factory
        self.logger = logger
    }

    /// The loggers of `configs`: the running one for an unchanged configuration, a new (not yet
    /// started) one otherwise.
    func prepare(_ configs: [String: LoggerConfig]) throws -> [String: RunningEventLogger] {
        let current = running.withLock { $0 }
        var prepared: [String: RunningEventLogger] = [:]
        for (id, config) in configs {
            if let known = current[id], known.config == config {
                prepared[id] = known
                continue
            }
            let sink: any EventLogSink
            switch config.sink {
            case .eventHub(let target):
                sink = EventHubSink(loggerID: id, target: target, transport: transport, logger: logger)
            case .file(let path):
                sink = try JSONLinesSink(path: path, loggerID: id, logger: logger)
            case .stdout:
                sink = JSONLinesSink(stdoutFor: id, logger: logger)
            }
            prepared[id] = RunningEventLogger(config: config, sink: sink, factory: factory)
        }
        return prepared
    }

    /// Puts `prepared` in force: starts its loggers, stops the running ones it does not keep.
    func commit(_ prepared: [String: RunningEventLogger], drainFor grace: Duration = .seconds(30)) {
        let previous = running.withLock { running in
            let previous = running
            running = prepared
            return previous
        }
        for logger in prepared.values { logger.start() }
        for (id, old) in previous where prepared[id] !== old {
            let deadline = ContinuousClock.now + grace
            let key = UUID()
            retired.withLock { retired in
                retired[key] = Task.detached { [self] in
                    await old.stop(deadline: deadline)
                    _ = self.retired.withLock { $0.removeValue(forKey: key) }
                }
            }
        }
    }

    /// The running logger with this id (tests and diagnostics).
    func logger(_ id: String) -> RunningEventLogger? { running.withLock { $0[id] } }

    /// Shutdown: every logger sends what it holds until `deadline`, then gives the rest up.
    func shutdown(deadline: ContinuousClock.Instant) async {
        let loggers = running.withLock { running in
            let all = Array(running.values)
            running = [:]
            return all
        }
        await withTaskGroup(of: Void.self) { group in
            for logger in loggers { group.addTask { await logger.stop(deadline: deadline) } }
        }
        for task in retired.withLock({ Array($0.values) }) { await task.value }
    }
}

/// A configured logger in a snapshot that is only checked (`drawbridge check`): takes and drops.
struct DiscardingEventLogger: PolicyEventLogger {
    func log(_ event: PolicyLogEvent) {}
}
