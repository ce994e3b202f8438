/// CRLReason (RFC 5280 §5.3.1).
public enum CRLReason: Int, Sendable, Hashable {
    case unspecified = 0
    case keyCompromise = 1
    case cACompromise = 2
    case affiliationChanged = 3
    case superseded = 4
    case cessationOfOperation = 5
    case certificateHold = 6
    case removeFromCRL = 8
    case privilegeWithdrawn = 9
    case aACompromise = 10

    /// The ReasonFlags bit this reason is covered by (unspecified is covered by any CRL scope).
    var flag: RevocationReasonFlags? {
        switch self {
        case .keyCompromise: return .keyCompromise
        case .cACompromise: return .cACompromise
        case .affiliationChanged: return .affiliationChanged
        case .superseded: return .superseded
        case .cessationOfOperation: return .cessationOfOperation
        case .certificateHold: return .certificateHold
        case .privilegeWithdrawn: return .privilegeWithdrawn
        case .aACompromise: return .aACompromise
        case .unspecified, .removeFromCRL: return nil
        }
    }
}

/// Why a CRL could not be parsed or used.
public enum CRLError: Error, Sendable, Equatable, CustomStringConvertible {
    case malformed(String)
    case unsupportedCriticalExtension(String)
    case unsupportedCriticalEntryExtension(String)
    case deltaCRLNotSupported
    case notPEMCRL(String)

    public var description: String {
        switch self {
        case .malformed(let detail): return "Malformed CRL: \(detail)"
        case .unsupportedCriticalExtension(let oid): return "CRL has an unsupported critical extension \(oid)"
        case .unsupportedCriticalEntryExtension(let oid):
            return "CRL entry has an unsupported critical extension \(oid)"
        case .deltaCRLNotSupported: return "Delta CRLs are not supported"
        case .notPEMCRL(let label): return "PEM block '\(label)' is not an X509 CRL"
        }
    }
}
