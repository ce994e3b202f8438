import Foundation

/// One audit record: who changed what, when (one per operation of a committed change).
public struct AuditRecord: Sendable, Equatable, Codable {
    public var sequence: Int
    public var revision: Int
    public var at: Date
    public var actor: String
    /// `create`, `update` or `delete`.
    public var action: String
    public var kind: String
    public var id: String
    /// The entity tag written (nil for deletions).
    public var etag: String?
    public var summary: String

    public init(sequence: Int, revision: Int, at: Date, actor: String, action: String, kind: String, id: String, etag: String?, summary: String) {
        self.sequence = sequence
        self.revision = revision
        self.at = at
        self.actor = actor
        self.action = action
        self.kind = kind
        self.id = id
        self.etag = etag
        self.summary = summary
    }
}
