import Foundation
import Synchronization

/// CRLs fetched from distribution points, cached per URL and refreshed before nextUpdate. Concurrent
/// requests for one URL share a single fetch; fetches are bounded in time and in number.
/// `generation` changes whenever a new CRL is stored, so verification caches can key on it.
public final class CRLCache: Sendable {
    private struct Entry {
        var crl: CertificateRevocationList?
        var fetchedAt: Date
        var lastFailure: (at: Date, error: CRLFetchError)?
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var order: [String] = []
        var inFlight: [String: Task<Result<CertificateRevocationList, CRLFetchError>, Never>] = [:]
        var generation: UInt64 = 0
    }

    private let fetcher: any CRLFetcher
    public let configuration: CRLFetchConfiguration
    private let state = Mutex(State())
    private let limiter: ConcurrencyLimiter
    /// Told the outcome of every download (not of cache hits): the gateway's metrics per
    /// distribution point. Called outside the cache's lock.
    private let observer: (@Sendable (_ url: String, _ result: Result<CertificateRevocationList, CRLFetchError>) -> Void)?

    public init(fetcher: any CRLFetcher, configuration: CRLFetchConfiguration = .init(),
                observer: (@Sendable (_ url: String, _ result: Result<CertificateRevocationList, CRLFetchError>) -> Void)? = nil) {
        self.fetcher = fetcher
        self.configuration = configuration
        self.observer = observer
        self.limiter = ConcurrencyLimiter(limit: configuration.maxConcurrentFetches)
    }

    public var generation: UInt64 { state.withLock { $0.generation } }

    /// A CRL for `url` that is valid at `now`: from the cache when fresh, else fetched.
    public func crl(for url: String, now: Date = Date()) async -> Result<CertificateRevocationList, CRLFetchError> {
        enum Decision { case cached(CertificateRevocationList), failed(CRLFetchError), wait(Task<Result<CertificateRevocationList, CRLFetchError>, Never>) }
        let configuration = self.configuration
        let decision: Decision = state.withLock { state in
            let entry = state.entries[url]
            if let crl = entry?.crl, let fetchedAt = entry?.fetchedAt, !Self.needsRefresh(crl, fetchedAt: fetchedAt, now: now, configuration) {
                return .cached(crl)
            }
            if let failure = entry?.lastFailure, now.timeIntervalSince(failure.at) < configuration.retryAfterFailure {
                if let crl = entry?.crl, Self.usable(crl, now: now) { return .cached(crl) }
                return .failed(failure.error)
            }
            if let task = state.inFlight[url] { return .wait(task) }
            let task = Task { await self.fetch(url) }
            state.inFlight[url] = task
            return .wait(task)
        }
        switch decision {
        case .cached(let crl): return .success(crl)
        case .failed(let error): return .failure(error)
        case .wait(let task):
            let result = await task.value
            return state.withLock { state in
                state.inFlight[url] = nil
                var entry = state.entries[url] ?? Entry(crl: nil, fetchedAt: now, lastFailure: nil)
                switch result {
                case .success(let crl):
                    if entry.crl?.digest != crl.digest { state.generation &+= 1 }
                    entry.crl = crl
                    entry.fetchedAt = now
                    entry.lastFailure = nil
                case .failure(let error):
                    entry.lastFailure = (now, error)
                }
                if state.entries[url] == nil { state.order.append(url) }
                state.entries[url] = entry
                while state.order.count > configuration.maxEntries {
                    state.entries[state.order.removeFirst()] = nil
                }
                // On failure, a CRL that is still within nextUpdate is used (refresh was early).
                if case .failure(let error) = result {
                    if let crl = entry.crl, Self.usable(crl, now: now) { return .success(crl) }
                    return .failure(error)
                }
                guard case .success(let crl) = result, Self.usable(crl, now: now) else { return .failure(.stale(url: url)) }
                return .success(crl)
            }
        }
    }

    static func usable(_ crl: CertificateRevocationList, now: Date) -> Bool {
        crl.thisUpdate <= now && (crl.nextUpdate.map { now <= $0 } ?? true)
    }

    private static func needsRefresh(
        _ crl: CertificateRevocationList, fetchedAt: Date, now: Date, _ configuration: CRLFetchConfiguration
    ) -> Bool {
        if let next = crl.nextUpdate { return now >= next.addingTimeInterval(-configuration.refreshMargin) }
        return now.timeIntervalSince(fetchedAt) >= configuration.maxAgeWithoutNextUpdate
    }

    private func fetch(_ url: String) async -> Result<CertificateRevocationList, CRLFetchError> {
        let result = await download(url)
        observer?(url, result)
        return result
    }

    private func download(_ url: String) async -> Result<CertificateRevocationList, CRLFetchError> {
        await limiter.acquire()
        defer { limiter.release() }
        let bytes = await withTimeout(configuration.timeout) { [fetcher, configuration] in
            try await fetcher.fetchCRL(from: url, timeout: configuration.timeout)
        }
        switch bytes {
        case .none: return .failure(.timedOut(url: url))
        case .some(.failure(let error)): return .failure(.transport(url: url, message: String(describing: error)))
        case .some(.success(let data)):
            guard data.count <= configuration.maxCRLBytes else {
                return .failure(.invalid(url: url, message: "the CRL is larger than \(configuration.maxCRLBytes) bytes"))
            }
            do {
                let crl = try CertificateRevocationList(bytes: data)
                if crl.isDelta { return .failure(.invalid(url: url, message: CRLError.deltaCRLNotSupported.description)) }
                return .success(crl)
            } catch {
                return .failure(.invalid(url: url, message: String(describing: error)))
            }
        }
    }
}

/// Runs `operation`, giving up after `timeout` even if the operation ignores cancellation.
/// Returns nil on timeout.
func withTimeout<T: Sendable>(
    _ timeout: Duration, _ operation: @escaping @Sendable () async throws -> T
) async -> Result<T, any Error>? {
    let race = TimeoutRace<T>()
    return await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, any Error>?, Never>) in
        race.start(continuation: continuation, timeout: timeout, operation: operation)
    }
}

/// Resumes a continuation exactly once: with the operation's result or with nil at the deadline.
final class TimeoutRace<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Result<T, any Error>?, Never>?
        var timer: Task<Void, Never>?
        var work: Task<Void, Never>?
    }
    private let state = Mutex(State())

    func start(
        continuation: CheckedContinuation<Result<T, any Error>?, Never>, timeout: Duration,
        operation: @escaping @Sendable () async throws -> T
    ) {
        state.withLock { $0.continuation = continuation }
        let work = Task {
            let result: Result<T, any Error>
            do { result = .success(try await operation()) } catch { result = .failure(error) }
            self.finish(with: result)
        }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            if !Task.isCancelled { self.finish(with: nil) }
        }
        state.withLock { state in
            state.work = work
            state.timer = timer
            if state.continuation == nil {  // already finished before the tasks were recorded
                work.cancel()
                timer.cancel()
            }
        }
    }

    private func finish(with result: Result<T, any Error>?) {
        let (continuation, work, timer) = state.withLock { state in
            defer { state.continuation = nil }
            return (state.continuation, state.work, state.timer)
        }
        guard let continuation else { return }
        timer?.cancel()
        if result == nil { work?.cancel() }
        continuation.resume(returning: result)
    }
}

/// A counting semaphore for async code.
final class ConcurrencyLimiter: Sendable {
    private struct State {
        var available: Int
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state: Mutex<State>

    init(limit: Int) { state = Mutex(State(available: limit)) }

    func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let granted = state.withLock { state -> Bool in
                if state.available > 0 { state.available -= 1; return true }
                state.waiters.append(continuation)
                return false
            }
            if granted { continuation.resume() }
        }
    }

    func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiters.isEmpty { state.available += 1; return nil }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}
