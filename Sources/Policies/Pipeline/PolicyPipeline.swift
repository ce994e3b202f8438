import ClientCertificates
import Foundation

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

    public init(
        skipUnsupportedPolicies: Bool = false, tracing: Bool = false, maximumBodyBytes: Int = 4 << 20,
        verification: VerificationContext = VerificationContext(trustStore: .empty), certificates: DeploymentCertificateStore? = nil,
        deployment: DeploymentObject? = nil, counters: PolicyCounters = PolicyCounters(), backends: [String: URL] = [:]
    ) {
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
public struct PolicyPipeline: Sendable {
    let sections: [PolicySection: [CompiledStep]]
    let options: PolicyPipelineOptions
    /// Load-time warnings (policies skipped).
    public let warnings: [PolicyDiagnostic]
    /// Whether the backend section calls the backend at all (without it outbound follows inbound).
    public let forwardsRequest: Bool
    /// Whether some expression may read a message body (then the pipeline buffers the request body first).
    public let readsBody: Bool
    /// Whether an outbound or on-error expression may read the backend's body (then it is buffered
    /// before outbound; otherwise it streams through).
    public let readsResponseBody: Bool
    /// Whether some expression calls `Verify()` / `VerifyNoRevocation()` (verified before evaluation).
    public let usesVerify: Bool
    public let usesVerifyNoRevocation: Bool
    /// Whether the request body is buffered before inbound (a `retry` may send it more than once).
    public let buffersRequestBody: Bool

    public init(_ policy: EffectivePolicy, options: PolicyPipelineOptions = PolicyPipelineOptions()) throws(PolicyPipelineError) {
        var compiler = StepCompiler(skipUnsupported: options.skipUnsupportedPolicies, backends: options.backends)
        var sections: [PolicySection: [CompiledStep]] = [:]
        var responseSources: [String] = []
        for section in PolicySection.allCases {
            let before = compiler.sources.count
            sections[section] = compiler.steps(policy.statements(in: section))
            if section == .outbound || section == .onError { responseSources += compiler.sources[before...] }
        }
        if compiler.diagnostics.contains(where: { $0.severity == .error }) {
            throw PolicyPipelineError(compiler.diagnostics.map {
                PolicyDiagnostic($0.severity, at: $0.position, policy.secrets.redact($0.message))
            })
        }
        self.sections = sections
        self.options = options
        warnings = compiler.diagnostics
        forwardsRequest = compiler.hasForwardRequest
        buffersRequestBody = compiler.hasRetry
        readsBody = compiler.sources.contains { $0.contains("Body") }
        readsResponseBody = responseSources.contains { $0.contains("Body") }
        usesVerify = compiler.sources.contains { $0.range(of: #"\bVerify\s*\("#, options: .regularExpression) != nil }
        usesVerifyNoRevocation = compiler.sources.contains { $0.range(of: #"\bVerifyNoRevocation\s*\("#, options: .regularExpression) != nil }
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
        let execution = PolicyExecution(pipeline: self, state: state, requestBody: body, backend: backend)
        await execution.prepareCertificate(chain: request.clientCertificateChain, parsed: request.parsedClientCertificate)
        await execution.run()
        return execution.result()
    }
}
