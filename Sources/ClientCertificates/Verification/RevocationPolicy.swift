import SwiftASN1
import X509

/// Checks the chain against CRLs: the leaf only, or every certificate but the trust anchor.
/// A revoked certificate always fails; an unknown status fails only when fail-closed.
struct RevocationPolicy: VerifierPolicy {
    let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = []
    let checker: RevocationChecker
    let ocsp: OCSPChecker?
    let method: RevocationMethod
    let scope: RevocationScope
    let failureMode: RevocationFailureMode

    /// The status by the configured method: a second source is asked only when the first one gives
    /// no answer ("unknown"); a "revoked" answer is final.
    func status(of index: Int, in certificates: [Certificate]) async -> RevocationStatus {
        switch method {
        case .crl: return await checker.status(of: index, in: certificates)
        case .ocsp: return await ocspStatus(of: index, in: certificates)
        case .ocspThenCRL:
            let first = await ocspStatus(of: index, in: certificates)
            guard case .unknown(let why) = first else { return first }
            return Self.second(await checker.status(of: index, in: certificates), after: why)
        case .crlThenOCSP:
            let first = await checker.status(of: index, in: certificates)
            guard case .unknown(let why) = first else { return first }
            return Self.second(await ocspStatus(of: index, in: certificates), after: why)
        }
    }

    private func ocspStatus(of index: Int, in certificates: [Certificate]) async -> RevocationStatus {
        guard let ocsp else {
            return .unknown("The OCSP status of '\(label(certificates[index]))' is unknown: OCSP is not available here.")
        }
        return await ocsp.status(of: index, in: certificates)
    }

    private static func second(_ status: RevocationStatus, after first: String) -> RevocationStatus {
        if case .unknown(let why) = status { return .unknown(first + " " + why) }
        return status
    }

    func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) async -> PolicyEvaluationResult {
        let certificates = Array(chain)
        let last = scope == .leaf ? 1 : certificates.count - 1
        for index in 0..<max(0, min(last, certificates.count - 1)) {
            switch await status(of: index, in: certificates) {
            case .good: continue
            case .revoked(let message): return .fails(.revoked, message)
            case .unknown(let message):
                guard failureMode == .failClosed else { continue }
                // A CA certificate's status needs its issuer's CRL (scope: chain): say how to give it.
                let hint = index > 0 && method == .crl
                    ? " Give that CA's CRL (a CRL distribution point in the certificate, or a configured CRL file), or check the leaf only (revocation scope: leaf)."
                    : ""
                return .fails(.revocationStatusUnknown, message + hint)
            }
        }
        return .meetsPolicy
    }
}
