import NIOCore

extension GatewayServer {
    /// Ready when the gateway port is bound and not draining (`/readyz`).
    public var readiness: OperationsServer.Readiness {
        if stopped.withLockedValue({ $0 }) { return .notReady("draining") }
        if serverChannel.withLockedValue({ $0 }) == nil { return .notReady("starting: the gateway port is not bound yet") }
        return .ready
    }

    /// Starts the operations listener for this gateway (address and port from `operations:` in the
    /// configuration, or the given ones); stop it after `run` returns.
    public func startOperations(address: String? = nil, port: Int? = nil, group: any EventLoopGroup,
                                admin: (any OperationsAdminHandler)? = nil) async throws -> OperationsServer {
        let config = snapshot.config.operations
        var tls: OperationsTLS?
        if let certificate = config.tlsCertificateFile, let key = config.tlsKeyFile {
            do {
                tls = try OperationsTLS(certificateFile: certificate, keyFile: key, clientCAFiles: config.adminClientCAFiles)
            } catch {
                throw GatewayStartupError.file(path: certificate, reason: "operations.tls: \(error)")
            }
        }
        return try await OperationsServer.start(
            address: address ?? config.address, port: port ?? config.port, group: group, logger: logger,
            readiness: { [weak self] in self?.readiness ?? .notReady("stopped") },
            metrics: { [weak self] in self?.metrics.render() ?? "" },
            admin: admin, tls: tls)
    }
}
