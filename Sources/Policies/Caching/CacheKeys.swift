/// The cache's key spaces: values of `cache-store-value` and responses of `cache-store` never
/// collide, whatever keys a policy chooses.
enum CacheKeys {
    static func value(_ key: String) -> String { "v\u{0}" + key }
    static func response(_ key: String) -> String { "r\u{0}" + key }
}
