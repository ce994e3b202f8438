/// `Verify()` and `VerifyNoRevocation()`: the policy layer supplies the context bound to the
/// request's hostname (trust store, CRL sources, options).
extension X509Certificate2 {
    /// Chain, validity, usage and revocation (per `context.options`).
    public func verify(with context: VerificationContext, presented: [X509Certificate2] = []) async -> VerificationResult {
        await ChainVerifier.verify(leaf: self, presented: presented, context: context)
    }

    /// Everything `verify` checks except revocation.
    public func verifyNoRevocation(with context: VerificationContext, presented: [X509Certificate2] = []) async
        -> VerificationResult
    {
        await ChainVerifier.verify(leaf: self, presented: presented, context: context.withoutRevocation)
    }
}
