/// A change committed atomically (one transaction, one revision, one audit record per operation).
public struct StoreChange: Sendable, Equatable {
    public var operations: [StoreOperation]
    /// Who made it (the admin token's name, `cli`, `import`…), for the audit trail.
    public var actor: String
    /// What was done, in words without secrets, for the audit trail.
    public var summary: String
    /// The revision the change was validated against: if another change was committed since, the
    /// change is refused (`StoreError.revisionChanged`) so nothing unvalidated is ever committed.
    public var basedOnRevision: Int?

    public init(operations: [StoreOperation], actor: String, summary: String, basedOnRevision: Int? = nil) {
        self.operations = operations
        self.actor = actor
        self.summary = summary
        self.basedOnRevision = basedOnRevision
    }
}
