/// What a compiled expression reads from its host objects, as the binder resolved it: every host
/// member read or called (by the static type of its receiver) and every member path rooted at
/// `context`. An embedder decides from this, not from the source text, what it must prepare before
/// evaluating (buffer a body, verify a certificate), since no member is reached any other way:
/// expressions cannot look members up by name at run time.
public struct ExpressionUses: Sendable, Hashable {
    /// Host members used, as `"TypeName.Member"` (`"IRequest.Body"`, `"X509Certificate2.Verify"`).
    /// A member declared by a type the receiver conforms to is recorded under that type's name too.
    public internal(set) var members: Set<String> = []
    /// Member paths rooted at `context` that the expression reads or calls, e.g.
    /// `"context.Request.Certificate"`, `"context.Request.Certificate.Verify()"`, `"context.Variables"`.
    public internal(set) var contextPaths: Set<String> = []

    public init() {}

    /// Whether `Type.member` (a property or method of a host type) is used.
    public func uses(_ typeName: String, _ member: String) -> Bool {
        members.contains(typeName + "." + member)
    }

    /// The union of two expressions' uses.
    public func union(_ other: ExpressionUses) -> ExpressionUses {
        var result = self
        result.formUnion(other)
        return result
    }

    public mutating func formUnion(_ other: ExpressionUses) {
        members.formUnion(other.members)
        contextPaths.formUnion(other.contextPaths)
    }

    mutating func record(_ type: HostType, _ member: String) {
        members.insert(type.name + "." + member)
        for base in type.conformances where base.declares(member) { record(base, member) }
    }
}

extension HostType {
    /// Whether the type (or one it conforms to) has a property or method of this name.
    func declares(_ member: String) -> Bool {
        properties[member] != nil || methods[member] != nil
    }
}
