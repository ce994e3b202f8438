/// The `context.LastError.Reason` codes a verification failure maps to.
public enum VerificationFailureReason: String, Sendable, Hashable, CaseIterable {
    case notTrusted = "ClientCertificateNotTrusted"
    case expired = "ClientCertificateExpired"
    case notYetValid = "ClientCertificateNotYetValid"
    case revoked = "ClientCertificateRevoked"
    /// No CRL or OCSP answer could be had (none published, stale, unreachable) and the policy is
    /// fail-closed. Drawbridge's own code (APIM documents none): never confused with `revoked`.
    case revocationUnknown = "ClientCertificateRevocationUnknown"
}

/// What precisely went wrong; each kind maps to one reason code.
public enum VerificationFailureKind: String, Sendable, Hashable, CaseIterable {
    case noPathToTrustedRoot
    case expired
    case notYetValid
    case notCertificateAuthority
    case pathLengthExceeded
    case keyUsage
    case extendedKeyUsage
    case nameConstraints
    case certificatePolicies
    case unhandledCriticalExtension
    case chainTooDeep
    /// The client presented more certificates than `maxPresentedCertificates`.
    case presentedChainTooLong
    /// Chain building tried `maxPathBuildingCandidates` candidate issuers without finding a valid path.
    case pathBuildingLimitExceeded
    case invalidCertificate
    case revoked
    /// No fresh, valid CRL could be had and the policy is fail-closed.
    case revocationStatusUnknown

    public var reason: VerificationFailureReason {
        switch self {
        case .expired: return .expired
        case .notYetValid: return .notYetValid
        case .revoked: return .revoked
        // An undeterminable status is not a revocation: its own code, so operators see that a CRL
        // (or OCSP answer) is missing rather than a revoked certificate.
        case .revocationStatusUnknown: return .revocationUnknown
        default: return .notTrusted
        }
    }
}

/// One failure: the reason code, the precise kind and a human message.
public struct VerificationFailure: Sendable, Hashable, CustomStringConvertible, Error {
    public let kind: VerificationFailureKind
    public let message: String
    public var reason: VerificationFailureReason { kind.reason }

    public init(_ kind: VerificationFailureKind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "\(reason.rawValue) (\(kind.rawValue)): \(message)" }

    // Policies report through swift-certificates' string-only PolicyFailureReason; the kind travels
    // as a prefix and is decoded again by the verifier.
    private static let separator = "|"

    var encoded: String { kind.rawValue + Self.separator + message }

    init(decoding text: String) {
        if let range = text.range(of: Self.separator),
            let kind = VerificationFailureKind(rawValue: String(text[..<range.lowerBound]))
        {
            self.init(kind, String(text[range.upperBound...]))
        } else {
            self.init(.noPathToTrustedRoot, text)
        }
    }
}

/// The outcome of `Verify()` / `VerifyNoRevocation()`.
public struct VerificationResult: Sendable, Hashable {
    /// The validated chain, leaf first, trust anchor last (empty on failure).
    public let chain: [X509Certificate2]
    public let failure: VerificationFailure?
    public var isValid: Bool { failure == nil }
    /// The `context.LastError.Reason` code, nil when valid.
    public var reason: VerificationFailureReason? { failure?.reason }
    /// A precise human message.
    public var message: String { failure?.message ?? "The certificate chain is valid." }

    public static func valid(_ chain: [X509Certificate2]) -> VerificationResult {
        VerificationResult(chain: chain, failure: nil)
    }

    public static func invalid(_ failure: VerificationFailure) -> VerificationResult {
        VerificationResult(chain: [], failure: failure)
    }
}
