/// What the TLS handshake asks of the client, per hostname.
public enum ClientCertificateMode: String, Sendable, Equatable, CaseIterable {
    /// No CertificateRequest is sent.
    case off
    /// APIM's "Negotiate client certificate": asked for in the initial handshake, any presented chain is
    /// accepted by TLS and kept for policies; a client without a certificate still connects.
    case negotiate
    /// The handshake fails unless the client presents a certificate that chains to the hostname's CAs.
    case required
}
