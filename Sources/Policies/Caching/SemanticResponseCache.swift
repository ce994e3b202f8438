import Foundation

/// The store of `llm-semantic-cache-lookup`/`-store`: answers kept with the embedding of the prompt
/// that produced them, found again by vector proximity. One per gateway process, kept across reloads
/// (like the counters and the response cache). APIM keeps these in an external Redis-compatible cache
/// with a vector index; Drawbridge keeps them in memory and compares by an exact scan of the request's
/// partition (no package in the mirror offers a vector index, and a partition is small: at most
/// `maximumEntriesPerPartition`).
///
/// Bounded: in bytes (vectors and answers), in entries, and in entries per partition; past a bound
/// the oldest entries go first. Entries expire after their `duration`.
public final class SemanticResponseCache: @unchecked Sendable {
    struct Entry {
        let partition: String
        let vector: [Float]
        let norm: Float
        let response: CachedResponse
        let expires: Date
        let bytes: Int
    }

    public let maximumBytes: Int
    public let maximumEntries: Int
    public let maximumEntriesPerPartition: Int
    /// The longest embedding kept (OpenAI's largest model has 3,072 dimensions).
    static let maximumDimensions = 16_384

    private let lock = NSLock()
    private var entries: [UInt64: Entry] = [:]
    private var partitions: [String: [UInt64]] = [:]
    /// Entry ids in insertion order (oldest first); ids of removed entries are skipped when met.
    private var order: [UInt64] = []
    private var orderStart = 0
    private var nextID: UInt64 = 1
    private var totalBytes = 0
    private let clock: @Sendable () -> Date

    public init(maximumBytes: Int = 64 << 20, maximumEntries: Int = 10_000, maximumEntriesPerPartition: Int = 1_000,
                clock: @escaping @Sendable () -> Date = { Date() }) {
        self.maximumBytes = maximumBytes
        self.maximumEntries = maximumEntries
        self.maximumEntriesPerPartition = maximumEntriesPerPartition
        self.clock = clock
    }

    var count: Int { lock.withLock { entries.count } }
    var byteCount: Int { lock.withLock { totalBytes } }

    /// The Euclidean norm (nil for a vector that cannot be compared: empty, too long, zero or not finite).
    static func norm(_ vector: [Float]) -> Float? {
        guard !vector.isEmpty, vector.count <= maximumDimensions else { return nil }
        var sum: Float = 0
        for value in vector { sum += value * value }
        let norm = sum.squareRoot()
        return norm.isFinite && norm > 0 ? norm : nil
    }

    /// The closest live answer of `partition` whose cosine distance (1 − cosine similarity; 0 is the same
    /// direction) to `vector` is at most `maximumDistance`, with that distance.
    func lookup(partition: String, vector: [Float], maximumDistance: Double) -> (response: CachedResponse, distance: Double)? {
        guard let norm = Self.norm(vector) else { return nil }
        let now = clock()
        return lock.withLock {
            guard let ids = partitions[partition] else { return nil }
            var best: (response: CachedResponse, distance: Double)? = nil
            var expired: [UInt64] = []
            for id in ids {
                guard let entry = entries[id] else { continue }
                if entry.expires <= now {
                    expired.append(id)
                    continue
                }
                guard entry.vector.count == vector.count else { continue }
                var dot: Float = 0
                for index in 0..<vector.count { dot += vector[index] * entry.vector[index] }
                let distance = 1 - Double(dot) / (Double(norm) * Double(entry.norm))
                if distance <= maximumDistance, distance < (best?.distance ?? .infinity) { best = (entry.response, distance) }
            }
            for id in expired { remove(id) }
            return best
        }
    }

    /// Keeps `response` for `duration` seconds under the prompt's `vector` in `partition`.
    func store(partition: String, vector: [Float], response: CachedResponse, duration: Int) {
        guard duration > 0, let norm = Self.norm(vector) else { return }
        let bytes = response.byteCount + vector.count * MemoryLayout<Float>.size + partition.utf8.count + 64
        guard bytes <= maximumBytes else { return }
        let expires = clock().addingTimeInterval(TimeInterval(min(duration, InternalPolicyCache.maximumDuration)))
        lock.withLock {
            let id = nextID
            nextID += 1
            entries[id] = Entry(partition: partition, vector: vector, norm: norm, response: response, expires: expires, bytes: bytes)
            partitions[partition, default: []].append(id)
            order.append(id)
            totalBytes += bytes
            // The partition's oldest past its bound, then the store's oldest past its bounds.
            while let ids = partitions[partition], ids.count > maximumEntriesPerPartition, let oldest = ids.first { remove(oldest) }
            while entries.count > maximumEntries || totalBytes > maximumBytes, orderStart < order.count {
                let oldest = order[orderStart]
                orderStart += 1
                remove(oldest)
            }
            // Ids of entries gone otherwise (partition bound, expiry) are dropped once they dominate.
            if order.count - orderStart > 2 * entries.count + 1024 || (orderStart > 1024 && orderStart * 2 > order.count) {
                order = order[orderStart...].filter { entries[$0] != nil }
                orderStart = 0
            }
        }
    }

    /// Removes one entry (under the lock).
    private func remove(_ id: UInt64) {
        guard let entry = entries.removeValue(forKey: id) else { return }
        totalBytes -= entry.bytes
        if var ids = partitions[entry.partition] {
            ids.removeAll { $0 == id }
            partitions[entry.partition] = ids.isEmpty ? nil : ids
        }
    }
}
