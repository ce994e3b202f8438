import Foundation

/// The whole declarative configuration of one gateway: what it listens on, the hostnames it serves
/// (TLS and client-certificate mode per hostname), the APIs it routes to, and its limits.
///
/// This is the typed, validated form. `GatewayConfigLoader` builds it from YAML; the gateway turns it
/// into an immutable runtime snapshot (TLS contexts, route tables) once, at load.
public struct GatewayConfig: Sendable, Equatable {
    public var listen: ListenConfig
    public var hostnames: [HostnameConfig]
    /// Host name used for connections that send no SNI. `nil`: such connections are refused with a
    /// TLS `unrecognized_name` alert, so a client-certificate requirement cannot silently vanish.
    public var defaultHostname: String?
    public var apis: [APIConfig]
    public var limits: LimitsConfig
    public var backend: BackendConfig
    public var accessLog: Bool

    public init(
        listen: ListenConfig = ListenConfig(),
        hostnames: [HostnameConfig],
        defaultHostname: String? = nil,
        apis: [APIConfig],
        limits: LimitsConfig = LimitsConfig(),
        backend: BackendConfig = BackendConfig(),
        accessLog: Bool = true
    ) {
        self.listen = listen
        self.hostnames = hostnames
        self.defaultHostname = defaultHostname
        self.apis = apis
        self.limits = limits
        self.backend = backend
        self.accessLog = accessLog
    }
}

public struct ListenConfig: Sendable, Equatable {
    public var address: String
    public var port: Int

    public init(address: String = "127.0.0.1", port: Int = 8443) {
        self.address = address
        self.port = port
    }
}
