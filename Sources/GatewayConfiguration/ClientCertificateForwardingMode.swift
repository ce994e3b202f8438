/// How an API hands the verified client certificate to its backend (`forwardClientCertificate`).
/// The client's own copies of every certificate header are always stripped first.
public enum ClientCertificateForwardingMode: String, Sendable, Equatable, CaseIterable {
    /// Nothing is added (default).
    case none
    /// RFC 9440: `Client-Cert: :<base64 DER>:` and `Client-Cert-Chain` (the other presented certificates).
    case rfc9440
    /// Envoy's `X-Forwarded-Client-Cert`: `Hash=…;Cert="…";Chain="…";Subject="…";URI=…;DNS=…`.
    case xfcc
}
