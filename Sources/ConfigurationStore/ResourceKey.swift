/// A resource's address in the store: its kind and its id within the kind.
public struct ResourceKey: Sendable, Hashable, Codable, CustomStringConvertible {
    public var kind: ResourceKind
    public var id: String

    public init(_ kind: ResourceKind, _ id: String) {
        self.kind = kind
        self.id = id
    }

    public var description: String { "\(kind.rawValue)/\(id)" }
}
