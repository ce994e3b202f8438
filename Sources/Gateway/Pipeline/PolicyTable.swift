import ClientCertificates
import Foundation
import GatewayConfiguration
import Policies

/// APIM policies compiled for every API operation, once per configuration snapshot: global → API →
/// operation documents merged with `<base/>`, every expression compiled. Requests only look up.
struct PolicyTable: Sendable {
    private let pipelines: [String: PolicyPipeline]
    /// `policies.certificates` as loaded (Operations: their expiry is exported).
    private(set) var deploymentCertificates: DeploymentCertificateStore? = nil

    static func key(api: String, operation: String, product: String? = nil) -> String {
        product.map { api + "\u{0}" + operation + "\u{0}" + $0 } ?? api + "\u{0}" + operation
    }

    /// The pipeline of an operation; with a product, the one that runs that product's policies
    /// (global → product → API → operation) when the product has a document of its own.
    func pipeline(api: String, operation: String, product: String? = nil) -> PolicyPipeline? {
        if let product, let withProduct = pipelines[Self.key(api: api, operation: operation, product: product)] { return withProduct }
        return pipelines[Self.key(api: api, operation: operation)]
    }

    var isEmpty: Bool { pipelines.isEmpty }

    /// Whether some pipeline counts `bandwidth` (requests then carry a `RequestUsage`).
    var countsBandwidth: Bool { pipelines.values.contains { $0.countsBandwidth } }

    /// Rate-limit, quota and concurrency counters of this gateway process: one store that every
    /// configuration snapshot's pipelines share, so that a reload (SIGHUP) does not reset them (a
    /// client at 429 stayed limited). Counter keys name the statement's document and path.
    static let gatewayCounters = PolicyCounters()

    /// The cache of `cache-*-value` policies of this gateway process, shared the same way (entries
    /// survive reloads); bounded in bytes (LRU) with per-entry lifetimes.
    static let gatewayCache = InternalPolicyCache(maximumBytes: 64 << 20)

    /// `<openid-config>` keys per provider, shared by every operation and kept across reloads.
    static let gatewayOpenIDKeys = OpenIDKeyRegistry()

    /// `authentication-managed-identity` tokens, shared the same way (cached until shortly before expiry).
    static let gatewayManagedIdentityTokens = ManagedIdentityTokenCache()

    /// Credential manager connection tokens (`get-authorization-context`), shared the same way; keyed by
    /// what makes each token, so a changed provider or connection never reuses an old one.
    static let gatewayCredentialTokens = CredentialTokenStore()
    /// The answers of `llm-semantic-cache-store`, shared the same way (bounded; see `SemanticResponseCache`).
    static let gatewaySemanticCache = SemanticResponseCache()

    init(
        config: GatewayConfig, verification: VerificationContext, counters: PolicyCounters = PolicyTable.gatewayCounters,
        cache: any PolicyCacheStore = PolicyTable.gatewayCache, keyDocuments: any PolicyKeyDocumentFetching = OfflineKeyDocuments(),
        metrics: (any PolicyMetricsRecording)? = nil, loggers: [String: any PolicyEventLogger] = [:]
    ) throws {
        let settings = config.policies
        let hasPolicies = settings.globalFile != nil || config.products.contains { $0.policyFile != nil } || config.apis.contains { api in
            api.policyFile != nil || api.operations.contains { $0.policyFile != nil } || api.graphQL != nil
        }
        guard hasPolicies else {
            pipelines = [:]
            return
        }
        let namedValues = NamedValues(settings.namedValues.sorted { $0.key < $1.key }.map { name, value in
            NamedValue(name: name, value: value, isSecret: settings.secretNamedValues.contains(name))
        })
        let loadOptions = PolicyLoadOptions(namedValues: namedValues, skipUnsupportedPolicies: settings.skipUnsupported)
        let loader = PolicyLoader(options: loadOptions, compiler: ContextExpressionCompiler())
        let fragments: PolicyFragments
        do {
            fragments = try loader.fragments(try settings.fragmentFiles.sorted { $0.key < $1.key }.map { id, file in
                PolicyLoader.FragmentText(id: id, file: file, text: try Self.read(file))
            })
        } catch let error as GatewayStartupError {
            throw error
        } catch {
            throw GatewayStartupError.policy(reason: "\(error)")
        }
        var uploaded: [(id: String, certificate: X509Certificate2)] = []
        for (id, file) in settings.certificateFiles.sorted(by: { $0.key < $1.key }) {
            guard let bytes = FileManager.default.contents(atPath: file) else {
                throw GatewayStartupError.file(path: file, reason: "cannot read certificate '\(id)'")
            }
            var keyBytes: [UInt8]?
            if let keyFile = settings.certificateKeyFiles[id] {
                guard let data = FileManager.default.contents(atPath: keyFile) else {
                    throw GatewayStartupError.file(path: keyFile, reason: "cannot read the key of certificate '\(id)'")
                }
                keyBytes = Array(data)
            }
            do {
                // Certificates alone, with a key (combined PEM or key file), or a PKCS#12 with its password.
                for certificate in try CertificateKeyLoader.load(certificate: Array(bytes), key: keyBytes,
                                                                 password: settings.certificatePasswords[id]) {
                    uploaded.append((id: id, certificate: certificate))
                }
            } catch {
                throw GatewayStartupError.file(path: file, reason: "certificate '\(id)': \(error)")
            }
        }
        let certificates = uploaded.isEmpty ? nil : DeploymentCertificateStore(version: 1, certificates: uploaded)
        deploymentCertificates = certificates
        // `set-backend-service backend-id`: the configuration's backend entities (URLs checked when read).
        let backends = settings.backendURLs.compactMapValues { URL(string: $0) }
        let managedIdentity = settings.managedIdentityEndpoint.flatMap(URL.init(string:)).map {
            ManagedIdentitySettings(endpoint: $0, tokens: Self.gatewayManagedIdentityTokens)
        }
        // publish-to-dapr, invoke-dapr-binding, set-backend-service backend-id="dapr": the sidecar (URL checked when read).
        let sidecar = settings.daprSidecar.flatMap(URL.init(string:))
        let daprAPIToken = DaprSidecar.apiToken(environment: ProcessInfo.processInfo.environment)
        // get-authorization-context: the credential manager, its tokens kept across reloads.
        let credentials = settings.credentialProviders.isEmpty
            ? nil : CredentialManager(providers: settings.credentialProviders, tokens: Self.gatewayCredentialTokens)
        // Without a global document, APIM's default global policy applies: its backend section is
        // `<forward-request />`, which is what `<base />` in an API's backend section brings in.
        let global = try settings.globalFile.map { (text: try Self.read($0), file: $0, scope: PolicyScope.global) }
            ?? (text: Self.defaultGlobalPolicy, file: "(default global policy)", scope: PolicyScope.global)
        var pipelines: [String: PolicyPipeline] = [:]
        // Product-scope documents: a product's APIs get one more pipeline per operation, chosen for
        // requests that run under that product (see `SubscriptionTable`).
        var productDocuments: [String: [(id: String, document: (text: String, file: String, scope: PolicyScope))]] = [:]
        for product in config.products.sorted(by: { $0.id < $1.id }) {
            guard let file = product.policyFile else { continue }
            let document = (text: try Self.read(file), file: file, scope: PolicyScope.product)
            for api in product.apis { productDocuments[api, default: []].append((product.id, document)) }
        }
        for api in config.apis {
            let apiDocument = try api.policyFile.map { (text: try Self.read($0), file: $0, scope: PolicyScope.api) }
            // A GraphQL API: its schema and resolvers, built once for all its operations' pipelines.
            var graphQL: GraphQLAPI? = nil
            if let given = api.graphQL {
                do {
                    let resolvers = try given.resolvers.map {
                        GraphQLAPI.ResolverDocument(type: $0.type, field: $0.field, text: try Self.read($0.policyFile), file: $0.policyFile)
                    }
                    graphQL = try GraphQLAPI.load(
                        schema: try Self.read(given.schemaFile), schemaFile: given.schemaFile, resolvers: resolvers, synthetic: !given.resolvers.isEmpty,
                        loader: loader,
                        options: PolicyPipelineOptions(
                            skipUnsupportedPolicies: settings.skipUnsupported, verification: verification, certificates: certificates, counters: counters,
                            backends: backends, keyDocuments: keyDocuments, cache: cache, metrics: metrics, openIDKeys: Self.gatewayOpenIDKeys,
                            managedIdentity: managedIdentity, entraAuthority: settings.entraAuthority.flatMap(URL.init(string:)), loggers: loggers))
                } catch let error as GatewayStartupError {
                    throw error
                } catch {
                    throw GatewayStartupError.route(api: api.name, reason: "graphql:\n\(error)")
                }
            }
            let operations = api.operations.isEmpty ? [RoutableAPI.catchAllOperation] : api.operations
            for operation in operations {
                let operationDocument = try operation.policyFile.map { (text: try Self.read($0), file: $0, scope: PolicyScope.operation) }
                let variants: [(product: String?, document: (text: String, file: String, scope: PolicyScope)?)] =
                    [(nil, nil)] + (productDocuments[api.name] ?? []).map { ($0.id, $0.document) }
                for variant in variants {
                    // An operation with no document of its own at any scope but the default keeps the plain
                    // (policy-free) forwarding path.
                    guard settings.globalFile != nil || variant.document != nil || apiDocument != nil || operationDocument != nil || graphQL != nil
                    else { continue }
                    let documents = [global, variant.document, apiDocument, operationDocument].compactMap { $0 }
                    do {
                        var options = PolicyPipelineOptions(skipUnsupportedPolicies: settings.skipUnsupported, verification: verification,
                                                           certificates: certificates, counters: counters, backends: backends,
                                                           keyDocuments: keyDocuments, cache: cache, metrics: metrics,
                                                           openIDKeys: Self.gatewayOpenIDKeys, managedIdentity: managedIdentity,
                                                           entraAuthority: settings.entraAuthority.flatMap(URL.init(string:)),
                                                           loggers: loggers, semanticCache: Self.gatewaySemanticCache)
                        // The validation policies: the API's OpenAPI description and the gateway's schemas.
                        options.apiDescription = api.openAPI
                        options.schemas = settings.schemas
                        if let sidecar { options.daprSidecar = sidecar }
                        options.daprAPIToken = daprAPIToken
                        options.credentials = credentials
                        options.graphQL = graphQL
                        let pipeline = try PolicyPipeline.load(documents, fragments: fragments, loadOptions: loadOptions, options: options)
                        pipelines[Self.key(api: api.name, operation: operation.name, product: variant.product)] = pipeline
                    } catch {
                        let product = variant.product.map { " with product '\($0)'" } ?? ""
                        throw GatewayStartupError.route(api: api.name, reason: "policy for operation '\(operation.name)'\(product):\n\(error)")
                    }
                }
            }
        }
        self.pipelines = pipelines
    }

    static let defaultGlobalPolicy = """
        <policies>
            <inbound />
            <backend>
                <forward-request />
            </backend>
            <outbound />
            <on-error />
        </policies>
        """

    private static func read(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw GatewayStartupError.file(path: path, reason: "cannot read policy document")
        }
        return text
    }
}
