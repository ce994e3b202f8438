import Foundation
import SwiftASN1
import X509

/// Every certificate of the chain, trust anchor included (as .NET and OpenSSL do), must be within
/// its validity period at the validation time.
struct ValidityPeriodPolicy: VerifierPolicy {
    let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = []
    let time: Date
    let checkNotBefore: Bool
    let checkNotAfter: Bool

    func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) -> PolicyEvaluationResult {
        // Validity is encoded to the second: compare at floor(time) (x509-limbo notafter-fractional).
        let time = Date(timeIntervalSince1970: self.time.timeIntervalSince1970.rounded(.down))
        for (index, certificate) in chain.enumerated() {
            let role = index == 0 ? "The client certificate" : "The issuing certificate '\(label(certificate))'"
            if checkNotAfter, certificate.notValidAfter < time {
                return .fails(.expired, "\(role) expired on \(certificate.notValidAfter).")
            }
            if checkNotBefore, certificate.notValidBefore > time {
                return .fails(.notYetValid, "\(role) is not valid before \(certificate.notValidBefore).")
            }
        }
        return .meetsPolicy
    }
}
