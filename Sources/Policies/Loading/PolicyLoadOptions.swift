/// How policy documents are loaded.
public struct PolicyLoadOptions: Sendable {
    public var namedValues: NamedValues
    /// As APIM's self-hosted gateway does: an unknown or unsupported policy is a warning and is
    /// left out, instead of failing the load.
    public var skipUnsupportedPolicies: Bool
    /// When true, `{{name}}` with no such named value stays as text (liquid templates use `{{…}}`
    /// too); when false (default) it is an error: a typo in a name must not reach a request.
    public var allowUnknownNamedValues: Bool
    public var limits: PolicyReaderLimits

    public init(
        namedValues: NamedValues = NamedValues(), skipUnsupportedPolicies: Bool = false, allowUnknownNamedValues: Bool = false,
        limits: PolicyReaderLimits = PolicyReaderLimits()
    ) {
        self.namedValues = namedValues
        self.skipUnsupportedPolicies = skipUnsupportedPolicies
        self.allowUnknownNamedValues = allowUnknownNamedValues
        self.limits = limits
    }
}
