import Foundation

/// The extended key usage the leaf must allow.
public enum KeyUsageRequirement: Sendable, Hashable, CustomStringConvertible {
    case clientAuth
    case serverAuth
    /// No EKU requirement.
    case any
    case oid(String)

    /// Parses `clientAuth|serverAuth|any|<dotted OID>`.
    public init?(parsing text: String) {
        switch text.lowercased() {
        case "clientauth", "client": self = .clientAuth
        case "serverauth", "server": self = .serverAuth
        case "any", "none": self = .any
        default:
            guard text.split(separator: ".").count >= 2, text.allSatisfy({ $0.isNumber || $0 == "." }) else { return nil }
            self = .oid(text)
        }
    }

    var requiredOID: String? {
        switch self {
        case .clientAuth: return "1.3.6.1.5.5.7.3.2"
        case .serverAuth: return "1.3.6.1.5.5.7.3.1"
        case .any: return nil
        case .oid(let oid): return oid
        }
    }

    public var description: String {
        switch self {
        case .clientAuth: return "clientAuth"
        case .serverAuth: return "serverAuth"
        case .any: return "any"
        case .oid(let oid): return oid
        }
    }
}

/// What to do when no fresh CRL can be had.
public enum RevocationFailureMode: String, Sendable, Hashable {
    case failClosed = "fail-closed"
    case failOpen = "fail-open"
}

/// Which certificates are checked for revocation.
public enum RevocationScope: String, Sendable, Hashable {
    case leaf
    /// Every certificate but the trust anchor (.NET's default, X509RevocationFlag.ExcludeRoot).
    case chain
}

/// The knobs of one verification.
public struct VerificationOptions: Sendable, Hashable {
    public var requiredUsage: KeyUsageRequirement
    /// Maximum number of intermediates between leaf and trust anchor (self-issued ones not counted).
    public var maxDepth: Int
    /// The time to validate at; nil = now.
    public var validationTime: Date?
    public var checkNotBefore: Bool
    public var checkNotAfter: Bool
    public var checkRevocation: Bool
    public var revocationFailureMode: RevocationFailureMode
    public var revocationScope: RevocationScope
    /// CRLs, OCSP, or one then the other when the first gives no answer.
    public var revocationMethod: RevocationMethod = .crl
    /// Enforce the RFC 5280 certificate profile (AKI/SKI present, serial length, SAN syntax, ...).
    /// On by default (x509-limbo); turn off to accept chains .NET accepts from sloppy private CAs.
    public var enforceRFC5280Profile = true
    /// RFC 5280 user-initial-policy-set (OIDs; "2.5.29.32.0" = anyPolicy, the default).
    public var initialPolicySet: Set<String> = ["2.5.29.32.0"]
    /// RFC 5280 initial-explicit-policy, initial-policy-mapping-inhibit, initial-any-policy-inhibit.
    public var initialExplicitPolicy = false
    public var initialPolicyMappingInhibit = false
    public var initialAnyPolicyInhibit = false
    /// Most certificates the client may present, leaf included (the TLS Certificate message); a longer
    /// chain is refused before any parsing of its extensions or chain building (`presentedChainTooLong`).
    /// Real client chains are 2–4 certificates; x509-limbo's pathological chains present 101.
    public var maxPresentedCertificates = VerificationOptions.defaultMaxPresentedCertificates
    /// Most candidate issuers the path builder may be offered in one verification (each one costs a
    /// signature check, and swift-certificates' depth-first search would otherwise try every path
    /// through same-subject certificates). Past it, verification stops with `pathBuildingLimitExceeded`.
    /// Includes the chains built to validate CRL signers.
    public var maxPathBuildingCandidates = VerificationOptions.defaultMaxPathBuildingCandidates

    public static let defaultMaxPresentedCertificates = 10
    public static let defaultMaxPathBuildingCandidates = 128

    public init(
        requiredUsage: KeyUsageRequirement = .clientAuth, maxDepth: Int = 5, validationTime: Date? = nil,
        checkNotBefore: Bool = true, checkNotAfter: Bool = true, checkRevocation: Bool = true,
        revocationFailureMode: RevocationFailureMode = .failClosed, revocationScope: RevocationScope = .chain
    ) {
        self.requiredUsage = requiredUsage
        self.maxDepth = maxDepth
        self.validationTime = validationTime
        self.checkNotBefore = checkNotBefore
        self.checkNotAfter = checkNotAfter
        self.checkRevocation = checkRevocation
        self.revocationFailureMode = revocationFailureMode
        self.revocationScope = revocationScope
    }
}
