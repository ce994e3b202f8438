/// An object identifier with the friendly name .NET gives it (`System.Security.Cryptography.Oid`).
public struct Oid: Sendable, Hashable, CustomStringConvertible {
    public let value: String
    public let friendlyName: String?

    public init(value: String, friendlyName: String? = nil) {
        self.value = value
        self.friendlyName = friendlyName ?? Oid.friendlyNames[value]
    }

    public var description: String { friendlyName.map { "\($0) (\(value))" } ?? value }

    /// Friendly names as .NET reports them (Windows OID database names, which .NET on Linux mirrors).
    static let friendlyNames: [String: String] = [
        // Signature algorithms
        "1.2.840.113549.1.1.4": "md5RSA", "1.2.840.113549.1.1.5": "sha1RSA",
        "1.2.840.113549.1.1.11": "sha256RSA", "1.2.840.113549.1.1.12": "sha384RSA",
        "1.2.840.113549.1.1.13": "sha512RSA", "1.2.840.113549.1.1.10": "RSASSA-PSS",
        "1.2.840.10045.4.1": "sha1ECDSA", "1.2.840.10045.4.3.2": "sha256ECDSA",
        "1.2.840.10045.4.3.3": "sha384ECDSA", "1.2.840.10045.4.3.4": "sha512ECDSA",
        "1.2.840.10040.4.3": "sha1DSA", "1.3.101.112": "Ed25519",
        // Public key algorithms
        "1.2.840.113549.1.1.1": "RSA", "1.2.840.10045.2.1": "ECC", "1.2.840.10040.4.1": "DSA",
        // Extended key usages
        "1.3.6.1.5.5.7.3.1": "Server Authentication", "1.3.6.1.5.5.7.3.2": "Client Authentication",
        "1.3.6.1.5.5.7.3.3": "Code Signing", "1.3.6.1.5.5.7.3.4": "Secure Email",
        "1.3.6.1.5.5.7.3.8": "Time Stamping", "1.3.6.1.5.5.7.3.9": "OCSP Signing",
        "2.5.29.37.0": "Any Purpose",
        // Curves
        "1.2.840.10045.3.1.7": "nistP256", "1.3.132.0.34": "nistP384", "1.3.132.0.35": "nistP521",
    ]
}
