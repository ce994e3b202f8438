import SwiftASN1
import X509

extension Certificate {
    /// Subject and issuer are the same name (RFC 5280 "self-issued"), by name matching.
    var isSelfIssued: Bool {
        subject == issuer || NormalizedName(subject) == NormalizedName(issuer)
    }

    /// The basic constraints, or nil when absent; throws when the extension is malformed.
    var basicConstraintsOrNil: BasicConstraints? {
        get throws { try extensions.basicConstraints }
    }
}

extension PolicyEvaluationResult {
    static func fails(_ kind: VerificationFailureKind, _ message: String) -> PolicyEvaluationResult {
        let encoded = VerificationFailure(kind, message).encoded
        return .failsToMeetPolicy(reason: PolicyFailureReason(encoded))
    }
}

/// A short, stable label for a certificate in messages.
func label(_ certificate: Certificate) -> String {
    (try? X500DistinguishedName(certificate.subject).name) ?? String(describing: certificate.subject)
}
