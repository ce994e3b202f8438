/// What `cache-lookup` decided for this request, for `cache-store` in outbound: the key its
/// response is stored under and the downstream caching to announce.
struct ResponseCacheLookup: Sendable {
    enum Downstream: String, Sendable {
        case none
        case `private`
        case `public`
    }

    let key: String
    let downstream: Downstream
    let mustRevalidate: Bool

    /// `Cache-Control` for a response that may be cached downstream for `seconds` (nil: none).
    func cacheControl(maxAge seconds: Int) -> String? {
        guard downstream != .none else { return nil }
        return "\(downstream.rawValue), max-age=\(max(0, seconds))" + (mustRevalidate ? ", must-revalidate" : "")
    }
}
