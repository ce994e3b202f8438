import Policies
import ClientCertificates
import Foundation
import Policies

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
    /// `text` (key=value, through the logger) or `json` (one JSON object a line on stdout).
    public var accessLogFormat: AccessLogFormat = .text
    /// Policies: the global-scope document, fragments by id, and named values.
    public var policies: PolicySettings
    /// The operations listener (health, readiness, metrics): plain HTTP, loopback by default.
    public var operations: OperationsConfig
    /// Which `<trace>` / `context.Trace()` entries reach the log (`traceLog:`).
    public var traceLog: TraceLogConfig = TraceLogConfig()
    /// Span export to an OpenTelemetry collector (`tracing:`); nil: none. Needs a build with the
    /// `OTel` package trait (`ConfigurationCheck` calls it an error otherwise).
    public var tracing: TracingConfig? = nil
    /// APIM products (APIs grouped for subscriptions, product-scope policies).
    public var products: [ProductConfig] = []
    /// APIM subscriptions (keys per product, API or all APIs).
    public var subscriptions: [SubscriptionConfig] = []

    public init(
        listen: ListenConfig = ListenConfig(),
        hostnames: [HostnameConfig],
        defaultHostname: String? = nil,
        apis: [APIConfig],
        limits: LimitsConfig = LimitsConfig(),
        backend: BackendConfig = BackendConfig(),
        accessLog: Bool = true,
        policies: PolicySettings = PolicySettings(),
        operations: OperationsConfig = OperationsConfig()
    ) {
        self.operations = operations
        self.listen = listen
        self.hostnames = hostnames
        self.defaultHostname = defaultHostname
        self.apis = apis
        self.limits = limits
        self.backend = backend
        self.accessLog = accessLog
        self.policies = policies
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

public enum AccessLogFormat: String, Sendable, Equatable {
    case text
    case json
}

/// The operations listener: `/healthz`, `/readyz`, `/metrics` over plain HTTP. Loopback by default:
/// put it on another address only behind a network boundary (it needs no credentials).
/// `traceLog:` — the `<trace>` policy's entries (and `context.Trace(…)`) written to the log, one line
/// each, when their severity reaches the threshold of their source (`sources`) or the default one.
public struct TraceLogConfig: Sendable, Equatable {
    /// APIM's trace severities, in order; `off` logs nothing.
    public enum Severity: String, Sendable, Equatable, Comparable, CaseIterable {
        case verbose, information, error, off

        var rank: Int { Self.allCases.firstIndex(of: self) ?? 0 }
        public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }
    }

    /// The least severity logged, for sources not named in `sources`.
    public var severity: Severity
    /// Per source (the `<trace source="…">` attribute; `context.Trace` for the expression method).
    public var sources: [String: Severity]
    /// At most this many trace lines a second (the rest are counted and reported with the next line).
    public var perSecond: Int

    public init(severity: Severity = .information, sources: [String: Severity] = [:], perSecond: Int = 100) {
        self.severity = severity
        self.sources = sources
        self.perSecond = perSecond
    }

    /// Whether an entry of `source` at `severity` is logged.
    public func admits(source: String, severity: Severity) -> Bool {
        let threshold = sources[source] ?? self.severity
        return threshold != .off && severity >= threshold
    }
}

/// `tracing:` — the request's spans (request, policy sections, backend calls) exported over OTLP/HTTP.
public struct TracingConfig: Sendable, Equatable {
    public enum WireFormat: String, Sendable, Equatable, CaseIterable {
        case protobuf = "http/protobuf"
        case json = "http/json"
    }

    /// The collector's OTLP/HTTP base URL (`/v1/traces` is appended unless the path already ends so).
    public var endpoint: String
    public var wireFormat: WireFormat
    /// The resource's `service.name`.
    public var serviceName: String
    /// Finished spans are sent in batches at least this often (seconds).
    public var exportInterval: Double

    public init(endpoint: String, wireFormat: WireFormat = .protobuf, serviceName: String = "drawbridge", exportInterval: Double = 5) {
        self.endpoint = endpoint
        self.wireFormat = wireFormat
        self.serviceName = serviceName
        self.exportInterval = exportInterval
    }

    /// The URL spans are posted to.
    public var tracesURL: String {
        let trimmed = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        return trimmed.hasSuffix("/v1/traces") ? trimmed : trimmed + "/v1/traces"
    }
}

public struct OperationsConfig: Sendable, Equatable {
    /// The documented default port.
    public static let defaultPort = 9464
    public var address: String
    public var port: Int
    public var enabled: Bool
    /// TLS on the operations listener (PEM certificate chain and key); nil: plain HTTP.
    public var tlsCertificateFile: String?
    public var tlsKeyFile: String?
    /// CA certificates (PEM files) that admin client certificates must chain to. A client that
    /// presents a certificate not issued by them is refused in the handshake; one that presents a
    /// trusted certificate is an admin (as a bearer token is). Needs `tls`.
    public var adminClientCAFiles: [String] = []

    public init(address: String = "127.0.0.1", port: Int = OperationsConfig.defaultPort, enabled: Bool = true) {
        self.address = address
        self.port = port
        self.enabled = enabled
    }
}

/// Where APIM policy documents come from (API and operation documents are set on each API).
public struct PolicySettings: Sendable, Equatable {
    /// The global-scope `<policies>` document.
    public var globalFile: String?
    /// Policy fragments (`<fragment>` documents) by fragment id.
    public var fragmentFiles: [String: String]
    /// Named values substituted into `{{name}}` placeholders; secret ones are never printed.
    public var namedValues: [String: String]
    public var secretNamedValues: Set<String>
    /// Skip policies the gateway does not implement, with a warning, instead of refusing to load.
    public var skipUnsupported: Bool
    /// Uploaded certificates (`context.Deployment.Certificates`, keyed by thumbprint; ids for
    /// `issuer-certificate-id`): certificate id → PEM/DER file.
    public var certificateFiles: [String: String]
    /// Separate private key files (PEM or DER) of uploaded certificates, by certificate id.
    public var certificateKeyFiles: [String: String] = [:]
    /// Passwords of PKCS#12 files or encrypted keys, by certificate id (never printed).
    public var certificatePasswords: [String: String] = [:]
    /// How `Verify()` and `validate-client-certificate` treat revocation.
    public var revocation: RevocationSettings = RevocationSettings()
    /// Backend entities for `set-backend-service backend-id="…"`: id → absolute http(s) base URL.
    public var backendURLs: [String: String] = [:]
    /// Loggers for `log-to-eventhub logger-id="…"`, by id (an unknown literal id is refused at load).
    public var loggers: [String: LoggerConfig] = [:]
    /// `schemas:` schemas for `validate-content schema-id` (APIM's schemas), by id: the files and the
    /// schemas read from them at load.
    public var schemaFiles: [String: String] = [:]
    public var schemas: [String: NamedSchema] = [:]
    /// `authentication-managed-identity`: the IMDS-compatible token endpoint (Azure's
    /// `http://169.254.169.254/metadata/identity/oauth2/token` on an Azure VM); nil: the policy fails closed.
    public var managedIdentityEndpoint: String?
    /// `validate-azure-ad-token`: the Entra ID authority whose `{tenant}/v2.0/.well-known/openid-configuration`
    /// is read (default `https://login.microsoftonline.com`; sovereign clouds or a test server otherwise).
    public var entraAuthority: String?
    /// The Dapr sidecar's HTTP API (`publish-to-dapr`, `invoke-dapr-binding`, `set-backend-service
    /// backend-id="dapr"`); nil: `http://localhost:3500`, as APIM's documentation has it.
    public var daprSidecar: String?
    /// `get-authorization-context`: the credential manager's providers and connections, by provider id.
    public var credentialProviders: [String: CredentialProvider] = [:]

    public init(globalFile: String? = nil, fragmentFiles: [String: String] = [:], namedValues: [String: String] = [:],
                secretNamedValues: Set<String> = [], skipUnsupported: Bool = false, certificateFiles: [String: String] = [:]) {
        self.certificateFiles = certificateFiles
        self.globalFile = globalFile
        self.fragmentFiles = fragmentFiles
        self.namedValues = namedValues
        self.secretNamedValues = secretNamedValues
        self.skipUnsupported = skipUnsupported
    }
}

/// Revocation checking for client certificates (CRLs from the certificates' distribution points).
public struct RevocationSettings: Sendable, Equatable {
    /// `fail-closed` (default, as .NET): no fresh CRL means not verified; `fail-open`: accepted.
    public var failOpen: Bool = false
    /// `chain` (default, as .NET): every certificate but the root; `leaf`: the client certificate only.
    public var leafOnly: Bool = false
    /// Seconds a CRL download may take.
    public var fetchTimeout: Double = 5
    /// CRL files (PEM, one or more `X509 CRL` blocks, or DER) used for every hostname and `Verify()`,
    /// besides CRLs fetched from distribution points. Re-read on SIGHUP.
    public var crlFiles: [String] = []
    /// crl (default), ocsp, ocsp-then-crl or crl-then-ocsp; a hostname may override it.
    public var method: RevocationMethod = .crl
    /// Seconds between checks of the CRL files for changes (a changed file reloads); 0: only SIGHUP.
    public var crlFileCheck: Double = 30

    public init() {}
}
