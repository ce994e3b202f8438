/// Why a certificate and its key do not go together.
public enum CertificateKeyError: Error, Sendable, Equatable, CustomStringConvertible {
    case conflictingKeys(String)
    case unusableKey(String)
    case keyMismatch

    public var description: String {
        switch self {
        case .conflictingKeys(let detail): return "Conflicting private keys: \(detail)."
        case .unusableKey(let detail): return "The private key cannot be used: \(detail)."
        case .keyMismatch: return "The private key does not belong to any certificate in the file."
        }
    }
}
