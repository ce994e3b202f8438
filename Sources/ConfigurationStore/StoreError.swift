/// Why the store refused a change or could not be used.
public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `If-Match` named another version (or the resource is gone); carries the current tag, if any.
    case preconditionFailed(ResourceKey, currentETag: String?)
    /// `If-None-Match: *` and the resource exists.
    case alreadyExists(ResourceKey)
    /// Deleting something that is not stored.
    case notFound(ResourceKey)
    /// Another change was committed after this one was validated.
    case revisionChanged(expected: Int, current: Int)
    /// The database is newer than this binary, unreadable, or not a store.
    case unusable(String)

    public var description: String {
        switch self {
        case .preconditionFailed(let key, let current):
            return "\(key): If-Match does not match the stored version\(current.map { " (current ETag \"\($0)\")" } ?? " (it does not exist)")"
        case .alreadyExists(let key): return "\(key) already exists"
        case .notFound(let key): return "\(key) does not exist"
        case .revisionChanged(let expected, let current):
            return "the configuration changed meanwhile (revision \(current), validated against \(expected)); retry"
        case .unusable(let why): return "configuration store unusable: \(why)"
        }
    }
}
