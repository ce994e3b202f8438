import ClientCertificates
import Foundation
import PolicyExpressions

/// How a pipeline runs.
public struct PolicyPipelineOptions: Sendable {
    /// Leave out policies that cannot run here, with a warning, instead of failing the build.
    public var skipUnsupportedPolicies: Bool
    /// Record every policy, expression value and branch in `PolicyResult.trace`.
    public var tracing: Bool
    /// The most body bytes a policy may make the pipeline read.
    public var maximumBodyBytes: Int
    /// Trust store, revocation sources, options and cache for `Verify()` and `validate-client-certificate`.
    /// The default trusts nothing, so `Verify()` is false.
    public var verification: VerificationContext
    /// `context.Deployment`, including `Certificates`.
    public var deployment: DeploymentObject
    /// Certificates uploaded by id (`issuer-certificate-id`).
    public var certificates: DeploymentCertificateStore?
    /// Rate-limit, quota and concurrency counters (share one instance across reloads).
    public var counters: PolicyCounters
    /// Backend entities by id, for `set-backend-service backend-id` (their base URLs).
    public var backends: [String: URL]
    /// Fetches `validate-jwt` `<openid-config>` documents; without it such a policy does not load.
    public var keyDocuments: (any PolicyKeyDocumentFetching)?
    /// The cache of `cache-*-value` (and `cache-lookup`/`cache-store`); share one across reloads.
    public var cache: any PolicyCacheStore
    /// Where `emit-metric` records (nil: nowhere).
    public var metrics: (any PolicyMetricsRecording)?
    /// `validate-jwt` `<openid-config>` keys per provider URL (share one across reloads).
    public var openIDKeys: OpenIDKeyRegistry
    /// Where `authentication-managed-identity` gets tokens (nil: it fails closed at run time).
    public var managedIdentity: ManagedIdentitySettings?
    /// The Entra ID authority of `validate-azure-ad-token` (nil: `https://login.microsoftonline.com`).
    public var entraAuthority: URL?
    /// The loggers `log-to-eventhub` writes to, by logger id (an id not here does not load).
    public var loggers: [String: any PolicyEventLogger]
    /// The API's GraphQL schema and resolvers (`validate-graphql-request`; a synthetic API's `forward-request`
    /// executes the query with the resolvers instead of calling a backend). Nil: not a GraphQL API.
    public var graphQL: GraphQLAPI? = nil
    /// The Dapr sidecar's HTTP API (`publish-to-dapr`, `invoke-dapr-binding`, `set-backend-service
    /// backend-id="dapr"`); by default `http://localhost:3500`, where APIM's documentation puts it.
    public var daprSidecar: URL = DaprSidecar.defaultAddress
    /// Dapr's API token (`dapr-api-token` on every call to the sidecar, when the sidecar requires one);
    /// the gateway takes it from `DAPR_API_TOKEN`, as Dapr's SDKs do.
    public var daprAPIToken: String?
    /// The credential manager's providers and token store (`get-authorization-context`); nil: none configured
    /// (the policy then fails closed at run time).
    public var credentials: CredentialManager?
    /// The store of `llm-semantic-cache-lookup`/`-store` (share one across reloads).
    public var semanticCache: SemanticResponseCache
    /// The API's OpenAPI description (`validate-parameters`, `-headers`, `-status-code`, `-content`);
    /// nil: the API has none, and those policies report "API's schema doesn't exist".
    public var apiDescription: APIDescription? = nil
    /// Schemas added to the gateway, by id (`validate-content schema-id`; an id not here does not load).
    public var schemas: [String: NamedSchema] = [:]

    public init(
        skipUnsupportedPolicies: Bool = false, tracing: Bool = false, maximumBodyBytes: Int = 4 << 20,
        verification: VerificationContext = VerificationContext(trustStore: .empty), certificates: DeploymentCertificateStore? = nil,
        deployment: DeploymentObject? = nil, counters: PolicyCounters = PolicyCounters(), backends: [String: URL] = [:],
        keyDocuments: (any PolicyKeyDocumentFetching)? = nil, cache: (any PolicyCacheStore)? = nil,
        metrics: (any PolicyMetricsRecording)? = nil, openIDKeys: OpenIDKeyRegistry? = nil,
        managedIdentity: ManagedIdentitySettings? = nil, entraAuthority: URL? = nil, loggers: [String: any PolicyEventLogger] = [:],
        semanticCache: SemanticResponseCache? = nil
    ) {
        self.semanticCache = semanticCache ?? SemanticResponseCache()
        self.loggers = loggers
        self.entraAuthority = entraAuthority
        self.managedIdentity = managedIdentity
        self.metrics = metrics
        self.openIDKeys = openIDKeys ?? OpenIDKeyRegistry()
        self.cache = cache ?? InternalPolicyCache()
        self.keyDocuments = keyDocuments
        self.counters = counters
        self.backends = backends
        self.skipUnsupportedPolicies = skipUnsupportedPolicies
        self.tracing = tracing
        self.maximumBodyBytes = maximumBodyBytes
        self.verification = verification
        self.certificates = certificates
        self.deployment = deployment ?? DeploymentObject(certificates: certificates)
    }
}

/// An effective policy compiled once into steps; `run` executes it for one request.
///
///     let loader = PolicyLoader(compiler: ContextExpressionCompiler())
///     let policy = EffectivePolicy.merge([try loader.load(xml, file: "api.xml", scope: .api)])
///     let pipeline = try PolicyPipeline(policy, options: PolicyPipelineOptions(verification: context))
///     let result = await pipeline.run(request, body: body, backend: backend)
///
/// A class (immutable, shared): a request refers to its operation's pipeline; as a struct it was
/// copied out of the gateway's table and into each run, retaining every field twice per request.
public final class PolicyPipeline: Sendable {
    let sections: [PolicySection: [CompiledStep]]
    let options: PolicyPipelineOptions
    /// Load-time warnings (policies skipped).
    public let warnings: [PolicyDiagnostic]
    /// Whether the backend section calls the backend at all (without it outbound follows inbound).
    public let forwardsRequest: Bool
    /// Whether some expression reads the request body (`IRequest.Body`, as the expression binder
    /// reports): then the pipeline buffers the request body first.
    public let readsBody: Bool
    /// Whether an outbound or on-error expression reads a response body (`IResponse.Body`): then the
    /// backend's body is buffered before outbound; otherwise it streams through.
    public let readsResponseBody: Bool
    /// Whether some expression calls `Verify()` / `VerifyNoRevocation()` on a certificate (verified
    /// before evaluation).
    public let usesVerify: Bool
    public let usesVerifyNoRevocation: Bool
    /// Whether the request body is buffered before inbound (a `retry` may send it more than once).
    public let buffersRequestBody: Bool
    /// Whether a `quota` / `quota-by-key` counts `bandwidth`: the gateway then gives each request a
    /// `RequestUsage` and reports its bytes after the response.
    public let countsBandwidth: Bool
    /// What the expressions of each section read, as the expression binder resolved it.
    public let expressionUses: [PolicySection: ExpressionUses]
    /// Decided at load from the compiled steps and the binder's data: inbound (and on-error) never
    /// wait, no expression reads the request body, and the backend section is a plain
    /// `forward-request` (or empty, with an outbound that never waits). See `startSynchronously(_:)`.
    public let inboundRunsSynchronously: Bool
    /// No outbound or on-error step, and a `forward-request` that cannot turn the backend's answer
    /// into an error (`fail-on-error-status-code` is the constant false), without tracing: the
    /// backend's answer goes to the client as it is.
    let outboundIsEmpty: Bool
    /// The backend section's only step, when it is a `forward-request`.
    let backendForward: CompiledStep?

    public init(_ policy: EffectivePolicy, options: PolicyPipelineOptions = PolicyPipelineOptions()) throws(PolicyPipelineError) {
        var compiler = StepCompiler(skipUnsupported: options.skipUnsupportedPolicies, backends: options.backends)
        compiler.canFetchKeyDocuments = options.keyDocuments != nil
        compiler.entraAuthority = options.entraAuthority
        compiler.loggers = Set(options.loggers.keys)
        compiler.schemas = options.schemas
        compiler.cacheIsExternal = options.cache.isExternal
        var sections: [PolicySection: [CompiledStep]] = [:]
        var uses: [PolicySection: ExpressionUses] = [:]
        for section in PolicySection.allCases {
            compiler.uses = ExpressionUses()
            compiler.section = section
            sections[section] = compiler.steps(policy.statements(in: section))
            uses[section] = compiler.uses
        }
        if compiler.diagnostics.contains(where: { $0.severity == .error }) {
            throw PolicyPipelineError(compiler.diagnostics.map {
                PolicyDiagnostic($0.severity, at: $0.position, policy.secrets.redact($0.message))
            })
        }
        self.sections = sections
        self.options = options
        expressionUses = uses
        warnings = compiler.diagnostics
        forwardsRequest = compiler.hasForwardRequest
        buffersRequestBody = compiler.hasRetry
        countsBandwidth = compiler.countsBandwidth
        let all = uses.values.reduce(ExpressionUses()) { $0.union($1) }
        let responseUses = (uses[.outbound] ?? ExpressionUses()).union(uses[.onError] ?? ExpressionUses())
        // A synthetic GraphQL API executes the request's body in the gateway: it is read first.
        let executesGraphQL = options.graphQL?.isSynthetic == true
        readsBody = all.uses("IRequest", "Body") || compiler.policyReadsRequestBody || executesGraphQL
        readsResponseBody = responseUses.uses("IResponse", "Body") || compiler.policyReadsResponseBody
        usesVerify = all.uses("X509Certificate2", "Verify")
        usesVerifyNoRevocation = all.uses("X509Certificate2", "VerifyNoRevocation")

        let inbound = sections[.inbound] ?? [], backend = sections[.backend] ?? []
        let outbound = sections[.outbound] ?? [], onError = sections[.onError] ?? []
        var forward: CompiledStep? = nil
        if backend.count == 1, case .forwardRequest = backend[0].action { forward = backend[0] }
        backendForward = forward
        // Outbound runs later (async is fine) but with no backend or client body of its own:
        // a `send-request` there needs both, so such a pipeline always runs async.
        let outboundSends = outbound.contains { $0.contains { if case .waiting(let policy) = $0.action { policy is SendRequestPolicy.Step || policy is SendOneWayRequestPolicy.Step } else { false } } }
        inboundRunsSynchronously = !readsBody && !buffersRequestBody && !outboundSends
            && inbound.allSatisfy(\.runsSynchronously) && onError.allSatisfy(\.runsSynchronously)
            && (forward != nil || (backend.isEmpty && outbound.allSatisfy(\.runsSynchronously)))
        var failsOnErrorStatus = true
        if let forward, case .forwardRequest(_, _, .constant(let fails)) = forward.action { failsOnErrorStatus = fails }
        outboundIsEmpty = outbound.isEmpty && onError.isEmpty && !failsOnErrorStatus && !options.tracing && !compiler.observesLLMResponse
    }

    /// Loads documents of several scopes with the context compiler, merges them and builds the pipeline.
    public static func load(
        _ documents: [(text: String, file: String, scope: PolicyScope)], fragments: PolicyFragments = PolicyFragments(),
        loadOptions: PolicyLoadOptions = PolicyLoadOptions(), options: PolicyPipelineOptions = PolicyPipelineOptions()
    ) throws -> PolicyPipeline {
        let loader = PolicyLoader(options: loadOptions, compiler: ContextExpressionCompiler())
        let scoped = try documents.map { try loader.load($0.text, file: $0.file, scope: $0.scope, fragments: fragments) }
        var options = options
        options.skipUnsupportedPolicies = options.skipUnsupportedPolicies || loadOptions.skipUnsupportedPolicies
        return try PolicyPipeline(EffectivePolicy.merge(scoped), options: options)
    }

    /// Runs the policy for one request. Never throws: every failure becomes the response APIM would send.
    public func run(_ request: PolicyRequest, body: (any PolicyBodySource)? = nil, backend: any PolicyBackend) async -> PolicyResult {
        let state = RequestState(request: request, deployment: options.deployment, tracing: options.tracing)
        // A synthetic GraphQL API's forward-request reaches the executor; its resolvers reach `backend`.
        let backend: any PolicyBackend = options.graphQL.map { $0.isSynthetic ? GraphQLExecutorBackend(api: $0, client: request, inner: backend) : backend }
            ?? backend
        let execution = PolicyExecution(pipeline: self, state: state, requestBody: body, backend: backend)
        await execution.prepareCertificate(chain: request.clientCertificateChain, parsed: request.parsedClientCertificate)
        await execution.run()
        return execution.result()
    }

    /// Runs the inbound section on the caller's thread (see `PolicyStart`). Never throws, never
    /// blocks, and never runs a step that has a side effect unless it can finish: when the run
    /// cannot complete synchronously for this request (the pipeline waits somewhere, reads the
    /// request body, or a `Verify()` verdict for this chain is not cached yet), it answers
    /// `.runAsync` before anything ran, and the caller uses `run(_:body:backend:)` instead.
    public func startSynchronously(_ request: PolicyRequest) -> PolicyStart {
        guard inboundRunsSynchronously else { return .runAsync }
        let certificate = PolicyExecution.preparedCertificate(request, pipeline: self)
        if case .needsVerification = certificate { return .runAsync }
        let state = RequestState(request: request, deployment: options.deployment, tracing: options.tracing)
        let execution = PolicyExecution(pipeline: self, state: state, requestBody: nil, backend: NoBackend())
        switch certificate {
        case .none, .needsVerification: break
        case .unreadable: execution.certificateUnreadable()
        case .ready(let leaf, let presented, let verdicts): execution.installCertificate(leaf, presented: presented, verdicts: verdicts)
        }
        return execution.startSynchronously()
    }
}

extension PolicyPipeline {
    /// Computes and caches what `startSynchronously` needs from the request's client certificate —
    /// the `Verify()`/`VerifyNoRevocation()` verdicts of its chain — so that a synchronous start of
    /// the same request right after does not answer `.runAsync` for want of them. For callers that
    /// must serve a request synchronously (a WebSocket handshake becomes a tunnel on its loop).
    public func prepareSynchronousStart(_ request: PolicyRequest) async {
        guard inboundRunsSynchronously, !request.clientCertificateChain.isEmpty else { return }
        let parsed = request.parsedClientCertificate ?? ParsedChainCache.shared.entry(for: request.clientCertificateChain)
        guard let leaf = parsed.leaf else { return }
        if usesVerify {
            _ = await ChainVerifier.verify(leaf: leaf, presented: parsed.presented, context: options.verification)
        }
        if usesVerifyNoRevocation {
            _ = await ChainVerifier.verify(leaf: leaf, presented: parsed.presented, context: options.verification.withoutRevocation)
        }
    }
}

/// How a synchronous start (`PolicyPipeline.startSynchronously(_:)`) ended.
public enum PolicyStart: Sendable {
    /// Inbound (or on-error) produced the whole response; the backend is not called.
    case respond(PolicyResult)
    /// Send `exchange.request` to the backend, then finish with the exchange.
    case forward(PolicyExchange)
    /// The request cannot run synchronously (a step waits, the request body is needed, or a
    /// certificate verdict is not cached): nothing has run; call `run(_:body:backend:)`.
    case runAsync
}

/// A request that inbound let through, on its way to the backend. Call exactly one of `finish(_:)`
/// and `backendFailed(_:)`, once, unless `outboundIsEmpty` (then the caller may relay the backend's
/// answer as it is and call neither).
public struct PolicyExchange: Sendable {
    /// The request as inbound left it: method, URL, headers, body (`.client` = the client's body as
    /// received; `.bytes` = what a policy set), timeout (the caller enforces it and reports
    /// `PolicyBackendError.timeout`), redirects, and the `authentication-certificate` to present.
    public var request: BackendRequest
    /// True when no outbound or on-error step, counter, CORS header or trace entry can touch the
    /// response: the caller relays the backend's answer unchanged (status, headers, streamed body)
    /// without calling back; `finish(_:)` would return exactly that answer.
    public var outboundIsEmpty: Bool
    let execution: PolicyExecution
    let call: PolicyExecution.BackendCall
    let step: CompiledStep

    init(execution: PolicyExecution, call: PolicyExecution.BackendCall, step: CompiledStep, outboundIsEmpty: Bool) {
        self.execution = execution
        self.call = call
        self.step = step
        request = call.request
        self.outboundIsEmpty = outboundIsEmpty
    }

    /// Runs outbound with the backend's response and returns what the client gets.
    public func finish(_ response: BackendResponse) async -> PolicyResult {
        await execution.finish(call, response: response, step: step)
    }

    /// The backend did not answer (connection failure or timeout): on-error runs; returns APIM's response.
    public func backendFailed(_ error: PolicyBackendError) async -> PolicyResult {
        await execution.backendFailed(call, error: error, step: step)
    }
}

/// The backend of a synchronous start: never called (the caller sends `PolicyExchange.request`).
struct NoBackend: PolicyBackend {
    func send(_ request: BackendRequest) async throws -> BackendResponse {
        throw PolicyBackendError.connectionFailed("no backend on the synchronous path")
    }
}
