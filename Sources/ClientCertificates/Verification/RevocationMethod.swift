/// Where revocation status comes from, and in which order (`revocation.method`).
public enum RevocationMethod: String, Sendable, Hashable, CaseIterable {
    /// CRLs: configured files and the certificates' distribution points (default).
    case crl
    /// OCSP: the responder named in the certificate's authorityInfoAccess.
    case ocsp
    /// OCSP; when it gives no answer (no responder, unreachable, `unknown`), CRLs.
    case ocspThenCRL = "ocsp-then-crl"
    /// CRLs; when they give no answer, OCSP.
    case crlThenOCSP = "crl-then-ocsp"
}
