/// Why a certificate file or buffer could not be loaded. Each case names the problem precisely so
/// an operator can fix the upload.
public enum CertificateLoadingError: Error, Sendable, Equatable, CustomStringConvertible {
    case empty
    /// Neither PEM, DER certificate, PKCS#7 nor PKCS#12.
    case unrecognizedFormat(String)
    /// The data ends before the structure it starts (a cut-off upload).
    case truncated(String)
    /// A private key was given where certificates were expected.
    case privateKeyInsteadOfCertificate(String)
    /// A PEM block of a type that holds no certificate (e.g. `CERTIFICATE REQUEST`).
    case unsupportedPEMBlock(String)
    /// The PKCS#12 password is wrong (or missing for a protected file).
    case wrongPassword
    /// The PKCS#12/PFX file is damaged or uses an unsupported algorithm.
    case invalidPKCS12(String)
    /// The PKCS#7 bundle is malformed.
    case invalidPKCS7(String)
    /// The DER parsed, but is not a valid X.509 certificate (or uses an unsupported key type).
    case invalidCertificate(String)
    /// The container held no certificate at all.
    case noCertificates
    case unexpectedCount(expected: Int, found: Int)

    public var description: String {
        switch self {
        case .empty: return "The certificate data is empty."
        case .unrecognizedFormat(let detail):
            return "The data is not a certificate in PEM, DER, PKCS#7 or PKCS#12 format (\(detail))."
        case .truncated(let detail): return "The certificate data is truncated: \(detail)."
        case .privateKeyInsteadOfCertificate(let kind):
            return "Expected a certificate but found a private key (\(kind))."
        case .unsupportedPEMBlock(let label): return "PEM block '\(label)' does not contain a certificate."
        case .wrongPassword: return "The PKCS#12/PFX password is incorrect."
        case .invalidPKCS12(let detail): return "The PKCS#12/PFX data is invalid: \(detail)."
        case .invalidPKCS7(let detail): return "The PKCS#7 certificate bundle is invalid: \(detail)."
        case .invalidCertificate(let detail): return "The certificate is invalid: \(detail)."
        case .noCertificates: return "The data contains no certificate."
        case .unexpectedCount(let expected, let found):
            return "Expected \(expected) certificate(s) but found \(found)."
        }
    }
}
