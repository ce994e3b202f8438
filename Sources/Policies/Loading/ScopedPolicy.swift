/// One validated (and, with a compiler, compiled) policy document attached at a scope. `<base/>`
/// is still a statement here; `EffectivePolicy` splices the scopes together.
public struct ScopedPolicy: Sendable {
    public let scope: PolicyScope
    public let file: String
    public let sections: [PolicySection: [PolicyStatement]]
    /// Warnings found while loading (skipped policies, ignored values).
    public let warnings: [PolicyDiagnostic]
    /// The secret named values substituted into this document, to hide them when it is printed.
    public let secrets: NamedValues

    public func statements(in section: PolicySection) -> [PolicyStatement] { sections[section] ?? [] }
}
