/// How the gateway talks to backends.
public struct BackendConfig: Sendable, Equatable {
    /// Seconds from sending the request to the end of the backend's response head (504 when exceeded).
    public var timeout: Double = 30
    /// Seconds to establish a connection (502 when exceeded or refused).
    public var connectTimeout: Double = 5
    /// PEM files of CAs that HTTPS backends' certificates must chain to; empty = system trust store.
    public var trustedCAFiles: [String] = []
    /// Connections kept per backend host.
    public var maxConnectionsPerHost: Int = 64

    public init() {}
}
