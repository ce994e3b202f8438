/// What a committed change produced: the new revision and the new entity tag of each written key
/// (nil for deletions).
public struct StoreCommit: Sendable, Equatable {
    public var revision: Int
    public var etags: [ResourceKey: String?]

    public init(revision: Int, etags: [ResourceKey: String?]) {
        self.revision = revision
        self.etags = etags
    }
}
