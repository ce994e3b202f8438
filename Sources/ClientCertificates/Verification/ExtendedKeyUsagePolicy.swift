import SwiftASN1
import X509

/// The leaf must allow the required usage: no EKU extension (unrestricted), or an EKU listing the
/// required OID or anyExtendedKeyUsage. Intermediates carrying an EKU extension restrict the chain
/// the same way (Windows/.NET chain engine behaviour).
struct ExtendedKeyUsagePolicy: VerifierPolicy {
    let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = [.X509ExtensionID.extendedKeyUsage]
    let requirement: KeyUsageRequirement
    static let anyUsage = "2.5.29.37.0"

    func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) -> PolicyEvaluationResult {
        guard let required = requirement.requiredOID else { return .meetsPolicy }
        // A leaf that is itself trusted (chain of one) is still checked.
        let checked = chain.count == 1 ? Array(chain) : Array(chain.dropLast())
        for (index, certificate) in checked.enumerated() {
            guard let ext = certificate.extensions[oid: .X509ExtensionID.extendedKeyUsage] else { continue }
            let usages: [String]
            do {
                usages = try DER.parse(ext.value).children("extended key usage").map {
                    try ASN1ObjectIdentifier(derEncoded: $0).description
                }
            } catch {
                return .fails(.invalidCertificate, "'\(label(certificate))' has a malformed extendedKeyUsage.")
            }
            if !usages.contains(required), !usages.contains(Self.anyUsage) {
                let who = index == 0 ? "The client certificate" : "Issuing CA '\(label(certificate))'"
                return .fails(.extendedKeyUsage, "\(who) does not allow the usage \(requirement) (\(required)).")
            }
        }
        return .meetsPolicy
    }
}
