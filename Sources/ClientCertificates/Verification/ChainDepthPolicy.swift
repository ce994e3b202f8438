import SwiftASN1
import X509

/// Refuses chains with more than `maxIntermediates` logical intermediates (self-issued
/// intermediates, such as key rollover certificates, do not count).
struct ChainDepthPolicy: VerifierPolicy {
    let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = []
    let maxIntermediates: Int

    func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) -> PolicyEvaluationResult {
        guard chain.count > 2 else { return .meetsPolicy }
        let intermediates = chain.dropFirst().dropLast().filter { !$0.isSelfIssued }.count
        if intermediates > maxIntermediates {
            return .fails(
                .chainTooDeep,
                "The chain has \(intermediates) intermediate certificates; at most \(maxIntermediates) are allowed.")
        }
        return .meetsPolicy
    }
}
