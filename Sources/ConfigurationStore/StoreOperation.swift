import Foundation

/// One write inside a change.
public enum StoreOperation: Sendable, Equatable {
    case put(ResourceKey, document: Data, precondition: StorePrecondition = .none)
    case delete(ResourceKey, precondition: StorePrecondition = .none)

    public var key: ResourceKey {
        switch self {
        case .put(let key, _, _), .delete(let key, _): return key
        }
    }
}

/// Optimistic concurrency: what must hold of the stored version for the write to go ahead.
public enum StorePrecondition: Sendable, Equatable {
    case none
    /// `If-Match`: the stored version has this entity tag.
    case ifMatch(String)
    /// `If-None-Match: *`: nothing is stored under the key yet.
    case mustNotExist
}
