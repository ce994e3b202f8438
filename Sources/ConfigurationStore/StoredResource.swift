import Foundation

/// One stored resource: its JSON document as committed, and the entity tag of that version.
public struct StoredResource: Sendable, Equatable {
    public var key: ResourceKey
    /// The JSON document (UTF-8).
    public var document: Data
    /// Quoted-string-free entity tag of this version (a digest of the document).
    public var etag: String
    /// The store revision that last changed it.
    public var revision: Int
    public var updatedAt: Date
    public var updatedBy: String

    public init(key: ResourceKey, document: Data, etag: String, revision: Int, updatedAt: Date, updatedBy: String) {
        self.key = key
        self.document = document
        self.etag = etag
        self.revision = revision
        self.updatedAt = updatedAt
        self.updatedBy = updatedBy
    }
}
