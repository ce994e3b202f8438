/// One validated (and, with a compiler, compiled) policy document attached at a scope. `<base/>`
/// is still a statement here; `EffectivePolicy` splices the scopes together.
public struct ScopedPolicy: Sendable {
    public let scope: PolicyScope
    public let file: String
    public let sections: [PolicySection: [PolicyStatement]]
    /// Warnings found while loading (skipped policies, ignored values).
    public let warnings: [PolicyDiagnostic]

    public func statements(in section: PolicySection) -> [PolicyStatement] { sections[section] ?? [] }
}
