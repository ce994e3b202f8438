/// Every resource at one store revision: what a configuration snapshot is built from.
public struct StoreContents: Sendable, Equatable {
    /// Increases by one with every committed change; 0 for an empty store.
    public var revision: Int
    public var resources: [ResourceKey: StoredResource]

    public init(revision: Int = 0, resources: [ResourceKey: StoredResource] = [:]) {
        self.revision = revision
        self.resources = resources
    }

    /// The resources of one kind, by id order.
    public func all(_ kind: ResourceKind) -> [StoredResource] {
        resources.values.filter { $0.key.kind == kind }.sorted { $0.key.id < $1.key.id }
    }

    public subscript(_ kind: ResourceKind, _ id: String) -> StoredResource? {
        resources[ResourceKey(kind, id)]
    }
}
