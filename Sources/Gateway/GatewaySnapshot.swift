import ClientCertificates
import GatewayConfiguration
import Policies

/// Everything the data plane consults, built once from a configuration: TLS contexts per hostname,
/// the route table, the certificate gate. Immutable and `Sendable`; a new configuration builds a new
/// snapshot, and requests in flight finish on the one they started with.
public struct GatewaySnapshot: Sendable {
    public let config: GatewayConfig
    public let hostnames: HostnameTable
    public let router: Router
    let certificateGate = ClientCertificateGate()
    /// Per hostname: what `required` mode (in the handshake) and `requireTrustedClientCertificate`
    /// check client certificates against — the hostname's `trustedCAs`, with the same verifier,
    /// revocation settings and CRL cache as `Verify()`, and EKU clientAuth.
    let clientVerification: [String: VerificationContext]
    /// APIM policies per API operation, compiled.
    let policies: PolicyTable
    /// Products and subscriptions: the subscription-key check (see `RequestHandler.admit`).
    let subscriptions: SubscriptionTable
    /// `policies.loggers` at work (empty for a snapshot built without the server's loggers).
    let eventLoggers: [String: RunningEventLogger]

    /// - Parameters:
    ///   - crlFetcher: how `Verify()` fetches CRLs from distribution points (the gateway's HTTP
    ///     client); nil: only CRLs given to it are used.
    ///   - crlCaches: the server's CRL cache, kept across reloads (fetched CRLs survive them); nil: a
    ///     cache of this snapshot's own, on `crlFetcher`.
    ///   - ocspCache: OCSP responses (the server's, kept across reloads); nil: OCSP gives no answer.
    ///   - keyDocuments: how `validate-jwt` `<openid-config>` fetches its documents (the gateway's
    ///     HTTP client); nil: such policies load but find no keys (a snapshot only checked).
    ///   - policyMetrics: where `emit-metric` records (the server's metrics); nil: nowhere.
    ///   - eventLoggers: the server's loggers for `log-to-eventhub` (prepared from `policies.loggers`,
    ///     started when the server commits this snapshot); nil: loggers that discard (a snapshot only checked).
    public init(
        config: GatewayConfig, crlFetcher: (any CRLFetcher)? = nil, crlCaches: ServerCRLCache? = nil, ocspCache: OCSPCache? = nil,
        keyDocuments: (any PolicyKeyDocumentFetching)? = nil, policyMetrics: (any PolicyMetricsRecording)? = nil,
        eventLoggers: GatewayEventLoggers? = nil
    ) throws {
        self.config = config
        let preparedLoggers = try eventLoggers?.prepare(config.policies.loggers) ?? [:]
        self.eventLoggers = preparedLoggers
        let hostnames = try config.hostnames.map(TLSHostname.init)
        self.hostnames = HostnameTable(hostnames: hostnames, defaultName: config.defaultHostname)
        for api in config.apis {
            for name in api.hostnames where !hostnames.contains(where: { $0.name == name }) {
                throw GatewayStartupError.route(api: api.name, reason: "hostname '\(name)' is not configured under 'hostnames'")
            }
            if api.forwardClientCertificate != .none, !api.requireTrustedClientCertificate {
                // Only a certificate the gateway itself verified is handed on.
                let served = api.hostnames.isEmpty ? hostnames : hostnames.filter { api.hostnames.contains($0.name) }
                if let unverified = served.first(where: { $0.clientCertificateMode != .required }) {
                    throw GatewayStartupError.route(
                        api: api.name,
                        reason: "forwardClientCertificate \(api.forwardClientCertificate.rawValue) forwards only verified certificates: set requireTrustedClientCertificate, or serve the API only on clientCertificate: required hostnames ('\(unverified.name)' is \(unverified.clientCertificateMode.rawValue))")
                }
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
        self.subscriptions = SubscriptionTable(config: config)
        let revocation = config.policies.revocation
        let fetching = CRLFetchConfiguration(timeout: .milliseconds(Int64(revocation.fetchTimeout * 1000)))
        let cache = crlCaches?.cache(configuration: fetching) ?? crlFetcher.map { CRLCache(fetcher: $0, configuration: fetching) }
        // Configured CRL files: the global ones for everyone, a hostname's own for its clients, all of
        // them for Verify() (which trusts every hostname's CAs).
        let everyCRLFile = revocation.crlFiles + hostnames.flatMap(\.config.crlFiles)
        var sources = RevocationSources(store: try CRLFiles.store(everyCRLFile), cache: cache, ocsp: ocspCache)
        sources.ocspTimeout = .milliseconds(Int64(revocation.fetchTimeout * 1000))
        self.policies = try PolicyTable(
            config: config, verification: try Self.verificationContext(hostnames, revocation: revocation, sources: sources),
            keyDocuments: keyDocuments ?? OfflineKeyDocuments(), metrics: policyMetrics,
            loggers: config.policies.loggers.keys.reduce(into: [String: any PolicyEventLogger]()) { table, id in
                table[id] = preparedLoggers[id] ?? DiscardingEventLogger()
            })
        var perHost: [String: VerificationContext] = [:]
        for hostname in hostnames where hostname.clientCertificateMode != .off {
            let own = revocation.crlFiles + hostname.config.crlFiles
            var hostSources = sources
            if own != everyCRLFile { hostSources.store = try CRLFiles.store(own) }
            var hostRevocation = revocation
            if let method = hostname.config.revocationMethod { hostRevocation.method = method }
            perHost[hostname.name] = try Self.verificationContext([hostname], revocation: hostRevocation, sources: hostSources)
        }
        self.clientVerification = perHost
    }

    /// What `Verify()` and `validate-client-certificate` trust: the CA certificates of every
    /// hostname (self-signed ones as roots, the others as intermediates), like APIM's instance-wide
    /// CA store; revocation through configured CRL files and CRL distribution points.
    private static func verificationContext(_ hostnames: [TLSHostname], revocation: RevocationSettings,
                                            sources: RevocationSources) throws -> VerificationContext {
        var roots: [X509Certificate2] = []
        var intermediates: [X509Certificate2] = []
        var seen = Set<String>()
        for hostname in hostnames {
            for file in hostname.config.trustedCAFiles {
                let certificates: [X509Certificate2]
                do {
                    certificates = try PEMFiles.certificates(inFile: file).flatMap { try CertificateLoader.load(pem: $0) }
                } catch {
                    throw GatewayStartupError.file(path: file, reason: "cannot load CA certificates: \(error)")
                }
                for certificate in certificates where seen.insert(certificate.thumbprint).inserted {
                    if certificate.subject == certificate.issuer { roots.append(certificate) } else { intermediates.append(certificate) }
                }
            }
        }
        var options = VerificationOptions(revocationFailureMode: revocation.failOpen ? .failOpen : .failClosed,
                                          revocationScope: revocation.leafOnly ? .leaf : .chain)
        options.revocationMethod = revocation.method
        return VerificationContext(
            trustStore: TrustStore(version: 1, roots: roots, intermediates: intermediates),
            revocation: sources, options: options, cache: VerificationCache())
    }
}
