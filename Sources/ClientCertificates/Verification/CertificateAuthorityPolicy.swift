import SwiftASN1
import X509

/// RFC 5280 §6.1.4 (k)–(n) for every issuing certificate: it must be a CA (basicConstraints cA, no
/// v1/v2 intermediates), its pathLenConstraint must allow the non-self-issued intermediates below it,
/// and when keyUsage is present it must include keyCertSign. The trust anchor's basic constraints
/// and path length are applied too (as swift-certificates and OpenSSL do).
struct CertificateAuthorityPolicy: VerifierPolicy {
    let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = [
        .X509ExtensionID.basicConstraints, .X509ExtensionID.keyUsage,
    ]

    func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) -> PolicyEvaluationResult {
        var nonSelfIssuedBelow = 0
        for (offset, certificate) in chain.dropFirst().enumerated() {
            let isAnchor = offset == chain.count - 2
            let name = label(certificate)
            do {
                switch (try certificate.basicConstraintsOrNil, certificate.version) {
                case (.some(.isCertificateAuthority(let maxPathLength)), _):
                    if let maxPathLength, maxPathLength < nonSelfIssuedBelow {
                        return .fails(
                            .pathLengthExceeded,
                            "CA '\(name)' allows \(maxPathLength) intermediate(s) below it but the chain has \(nonSelfIssuedBelow).")
                    }
                case (_, .v1) where isAnchor:
                    break  // v1 trust anchors are trusted out of band
                default:
                    return .fails(.notCertificateAuthority, "'\(name)' is not a CA certificate (basicConstraints cA is not set).")
                }
                if let usage = try certificate.extensions.keyUsage, !usage.keyCertSign {
                    return .fails(.keyUsage, "CA '\(name)' has a keyUsage without keyCertSign.")
                }
            } catch {
                return .fails(.invalidCertificate, "'\(name)' has a malformed extension: \(error).")
            }
            if !isAnchor, !certificate.isSelfIssued { nonSelfIssuedBelow += 1 }
        }
        return .meetsPolicy
    }
}
