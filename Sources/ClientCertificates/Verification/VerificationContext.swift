import Foundation

/// Everything one `Verify()` needs besides the certificate: what is trusted, where revocation
/// data comes from, the options and an optional result cache.
public struct VerificationContext: Sendable {
    public var trustStore: TrustStore
    public var revocation: RevocationSources
    public var options: VerificationOptions
    public var cache: VerificationCache?
    /// The clock used when `options.validationTime` is nil.
    public var clock: @Sendable () -> Date

    public init(
        trustStore: TrustStore, revocation: RevocationSources = RevocationSources(),
        options: VerificationOptions = VerificationOptions(), cache: VerificationCache? = nil,
        clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.trustStore = trustStore
        self.revocation = revocation
        self.options = options
        self.cache = cache
        self.clock = clock
    }

    /// The same context with revocation checking off (`VerifyNoRevocation()`).
    public var withoutRevocation: VerificationContext {
        var copy = self
        copy.options.checkRevocation = false
        return copy
    }
}
