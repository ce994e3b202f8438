import GatewayConfiguration

/// Everything the data plane consults, built once from a configuration: TLS contexts per hostname,
/// the route table, the certificate gate. Immutable and `Sendable`; a new configuration builds a new
/// snapshot, and requests in flight finish on the one they started with.
public struct GatewaySnapshot: Sendable {
    public let config: GatewayConfig
    public let hostnames: HostnameTable
    public let router: Router
    let certificateGate = ClientCertificateGate()

    public init(config: GatewayConfig) throws {
        self.config = config
        let hostnames = try config.hostnames.map(TLSHostname.init)
        self.hostnames = HostnameTable(hostnames: hostnames, defaultName: config.defaultHostname)
        for api in config.apis {
            for name in api.hostnames where !hostnames.contains(where: { $0.name == name }) {
                throw GatewayStartupError.route(api: api.name, reason: "hostname '\(name)' is not configured under 'hostnames'")
            }
            if api.requireTrustedClientCertificate {
                let served = api.hostnames.isEmpty ? hostnames : hostnames.filter { api.hostnames.contains($0.name) }
                if let bare = served.first(where: { $0.clientCertificateMode == .off }) {
                    throw GatewayStartupError.route(
                        api: api.name,
                        reason: "requireTrustedClientCertificate is set, but hostname '\(bare.name)' does not ask for client certificates (clientCertificate: off)")
                }
            }
        }
        self.router = try Router(apis: config.apis)
    }
}
