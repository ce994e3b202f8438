import SwiftASN1
import X509

/// Checks the chain against CRLs: the leaf only, or every certificate but the trust anchor.
/// A revoked certificate always fails; an unknown status fails only when fail-closed.
struct RevocationPolicy: VerifierPolicy {
    let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = []
    let checker: RevocationChecker
    let scope: RevocationScope
    let failureMode: RevocationFailureMode

    func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) async -> PolicyEvaluationResult {
        let certificates = Array(chain)
        let last = scope == .leaf ? 1 : certificates.count - 1
        for index in 0..<max(0, min(last, certificates.count - 1)) {
            switch await checker.status(of: index, in: certificates) {
            case .good: continue
            case .revoked(let message): return .fails(.revoked, message)
            case .unknown(let message):
                guard failureMode == .failClosed else { continue }
                // A CA certificate's status needs its issuer's CRL (scope: chain): say how to give it.
                let hint = index > 0
                    ? " Give that CA's CRL (a CRL distribution point in the certificate, or a configured CRL file), or check the leaf only (revocation scope: leaf)."
                    : ""
                return .fails(.revocationStatusUnknown, message + hint)
            }
        }
        return .meetsPolicy
    }
}
