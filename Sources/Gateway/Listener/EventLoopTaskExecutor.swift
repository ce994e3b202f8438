import NIOCore

/// Runs a connection's async code on the event loop that owns its channel.
///
/// Without it every request hops between Swift's global pool and the event loop several times
/// (read the head, call the backend, write the answer), each hop a thread wake-up. On the channel's
/// own loop, channel reads and writes are direct calls and AsyncHTTPClient prefers a pooled backend
/// connection on the same loop.
final class EventLoopTaskExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked: both stored properties are immutable and themselves thread-safe.
    let eventLoop: any EventLoop

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }

    /// One executor per loop of `group`, built once.
    struct Table: Sendable {
        private let executors: [ObjectIdentifier: EventLoopTaskExecutor]

        init(group: any EventLoopGroup) {
            var executors: [ObjectIdentifier: EventLoopTaskExecutor] = [:]
            for loop in group.makeIterator() {
                executors[ObjectIdentifier(loop)] = EventLoopTaskExecutor(eventLoop: loop)
            }
            self.executors = executors
        }

        /// The executor of `loop`; nil for a loop outside the group (the task then runs on the
        /// global pool, as before).
        func executor(for loop: any EventLoop) -> EventLoopTaskExecutor? {
            executors[ObjectIdentifier(loop)]
        }
    }
}
