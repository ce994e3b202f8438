/// The TLS parameters of one hostname (`tls:`): protocol versions, TLS 1.2 cipher suites and key
/// exchange groups. The default is Mozilla's "intermediate" recommendation (TLS 1.2 and 1.3, ECDHE
/// with AEAD ciphers only, X25519/P-256/P-384). TLS 1.3 suites are all AEAD and not configurable.
public struct TLSProfile: Sendable, Equatable {
    public enum MinimumVersion: String, Sendable, Equatable {
        case tls12 = "1.2"
        case tls13 = "1.3"
    }

    public var minimumVersion: MinimumVersion = .tls12
    /// TLS 1.2 cipher suites by their OpenSSL names, in order of preference.
    public var cipherSuites: [String] = TLSProfile.intermediateCipherSuites
    /// Key exchange groups, in order of preference.
    public var curves: [String] = TLSProfile.intermediateCurves

    public init() {}

    public static let intermediateCipherSuites = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    ]
    public static let intermediateCurves = ["x25519", "secp256r1", "secp384r1"]

    /// Every cipher suite name a profile may list (what BoringSSL offers for TLS 1.2).
    public static let knownCipherSuites: Set<String> = Set(intermediateCipherSuites).union([
        "ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA", "ECDHE-RSA-AES256-SHA",
        "AES128-GCM-SHA256", "AES256-GCM-SHA384", "AES128-SHA", "AES256-SHA",
    ])
    public static let knownCurves: Set<String> = ["x25519", "secp256r1", "secp384r1", "secp521r1", "x25519mlkem768"]
}
