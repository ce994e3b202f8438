/// `caching-type` of the cache policies: `prefer-external` (the default) uses the gateway's cache
/// whatever it is; `internal` and `external` insist on one kind, so a policy written for a shared
/// cache does not silently run on a per-process one (it does not load; fail closed).
enum CachingType: String, Sendable {
    case preferExternal = "prefer-external"
    case `internal`
    case external

    static let attribute = PolicyAttributeSpec(
        "caching-type", .choice(["prefer-external", "internal", "external"]), default: "prefer-external", expressions: false)

    /// Nil when the gateway's cache fits, otherwise the load error.
    func problem(cacheIsExternal: Bool) -> String? {
        switch self {
        case .preferExternal: return nil
        case .internal where cacheIsExternal:
            return "caching-type=\"internal\" asks for a per-gateway cache, but this gateway is configured with an external cache (use prefer-external)"
        case .external where !cacheIsExternal:
            return "caching-type=\"external\" needs an external cache, and this gateway has only its internal one (use prefer-external or internal)"
        default: return nil
        }
    }
}
