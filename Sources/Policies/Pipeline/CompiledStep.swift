import Foundation
import PolicyExpressions

/// One statement of the effective policy, with its settings ready to run.
struct CompiledStep: Sendable {
    let name: String
    let id: String?
    let path: String
    let scope: PolicyScope
    let position: SourcePosition
    let action: Action
    /// Whether the step (with everything nested in it) never waits: no backend or HTTP call, no
    /// timer, no verification that is not already cached. Such steps run on the synchronous path.
    let runsSynchronously: Bool

    init(name: String, id: String?, path: String, scope: PolicyScope, position: SourcePosition, action: Action) {
        self.name = name
        self.id = id
        self.path = path
        self.scope = scope
        self.position = position
        self.action = action
        runsSynchronously = Self.runsSynchronously(action)
    }

    /// Whether the step or one nested in it satisfies `predicate`.
    func contains(where predicate: (CompiledStep) -> Bool) -> Bool {
        if predicate(self) { return true }
        switch action {
        case .choose(let whens, let otherwise):
            return whens.contains { $0.steps.contains { $0.contains(where: predicate) } } || (otherwise ?? []).contains { $0.contains(where: predicate) }
        case .waiting(let policy): return policy.children.contains { $0.contains(where: predicate) }
        default: return false
        }
    }

    static func runsSynchronously(_ action: Action) -> Bool {
        switch action {
        case .choose(let whens, let otherwise):
            return whens.allSatisfy { $0.steps.allSatisfy(\.runsSynchronously) } && (otherwise ?? []).allSatisfy(\.runsSynchronously)
        case .forwardRequest, .waiting:
            return false
        case .synchronous:
            return true
        }
    }

    struct When: Sendable {
        let condition: RuntimeParameter<Bool>
        let steps: [CompiledStep]
        let path: String
    }

    struct NamedValues: Sendable {
        let name: RuntimeParameter<String>
        let existsAction: RuntimeParameter<String>
        let values: [RuntimeParameter<String>]
    }

    struct Status: Sendable {
        let code: RuntimeParameter<Int>
        let reason: RuntimeParameter<String>?
    }

    // indirect: payloads are boxed, so matching a statement copies a pointer, not the largest
    // payload, into the async frames of the pipeline (kept per request in flight).
    indirect enum Action: Sendable {
        /// A policy whose runtime lives in its own file (see `SynchronousPolicyStep`).
        case synchronous(any SynchronousPolicyStep)
        /// A policy that may wait, with its runtime in its own file (see `WaitingPolicyStep`).
        case waiting(any WaitingPolicyStep)
        case choose([When], otherwise: [CompiledStep]?)
        case forwardRequest(timeout: RuntimeParameter<Int>, followRedirects: RuntimeParameter<Bool>, failOnErrorStatus: RuntimeParameter<Bool>)
    }

    /// Where `authentication-certificate` takes the backend client certificate from.
    enum CertificateSource: Sendable {
        case thumbprint(RuntimeParameter<String>)
        case id(RuntimeParameter<String>)
        /// A PKCS#12 (or PEM/DER) blob from an expression, with its password.
        case body(RuntimeExpression, password: RuntimeParameter<String>?)
    }
}

/// Compiles statements into steps, collecting what cannot run and what the run will need.
struct StepCompiler {
    let compiler = ContextExpressionCompiler()
    let skipUnsupported: Bool
    var diagnostics: [PolicyDiagnostic] = []
    /// What the expressions compiled so far read (from the binder), to decide at load what the
    /// request path must prepare (body buffering, certificate verification).
    var uses = ExpressionUses()
    var hasForwardRequest = false
    var hasValidateClientCertificate = false
    var hasRetry = false
    /// A `quota` / `quota-by-key` with `bandwidth`: the gateway must report the request's bytes.
    var countsBandwidth = false
    /// Whether `PolicyPipelineOptions.keyDocuments` is set (`validate-jwt` `<openid-config>`).
    var canFetchKeyDocuments = false
    /// `PolicyPipelineOptions.entraAuthority` (`validate-azure-ad-token`).
    var entraAuthority: URL?
    /// Whether `PolicyPipelineOptions.cache` is shared with other instances (`caching-type`).
    var cacheIsExternal = false
    /// The section being compiled (policies that work on "the" message body need it).
    var section: PolicySection = .inbound
    /// Whether a policy (not an expression) reads the request or the response body, so that the
    /// pipeline buffers it (`find-and-replace`, `jsonp`, conversions).
    var policyReadsRequestBody = false
    var policyReadsResponseBody = false
    /// An AI-gateway policy waits for the answer's token usage (outbound must see the backend's answer).
    var observesLLMResponse = false
    /// The semantic-cache policies compiled so far (each may appear once: APIM's usage note).
    var semanticCachePolicies: Set<String> = []

    /// Records that the statement being compiled works on its section's message body.
    mutating func readsMessageBody() {
        if section == .outbound || section == .onError { policyReadsResponseBody = true } else { policyReadsRequestBody = true }
    }

    let backends: [String: URL]
    /// The ids of `PolicyPipelineOptions.loggers` (`log-to-eventhub logger-id`).
    var loggers: Set<String> = []
    /// `PolicyPipelineOptions.schemas` (`validate-content schema-id`).
    var schemas: [String: NamedSchema] = [:]

    init(skipUnsupported: Bool, backends: [String: URL] = [:]) {
        self.skipUnsupported = skipUnsupported
        self.backends = backends
    }

    mutating func steps(_ statements: [PolicyStatement]) -> [CompiledStep] {
        statements.compactMap { step($0) }
    }

    mutating func parameter<T: Sendable>(_ parameter: PolicyParameter<T>) -> RuntimeParameter<T>? {
        do {
            let made = try RuntimeParameter.make(parameter, compiler: compiler)
            uses.formUnion(made.uses)
            return made
        } catch {
            diagnostics += error.diagnostics
            return nil
        }
    }

    mutating func parameters<T: Sendable>(_ list: [PolicyParameter<T>]) -> [RuntimeParameter<T>]? {
        var result: [RuntimeParameter<T>] = []
        for item in list {
            guard let made = parameter(item) else { return nil }
            result.append(made)
        }
        return result
    }

    mutating func namedValues(_ name: PolicyParameter<String>, _ action: PolicyParameter<ExistsAction>, _ values: [PolicyParameter<String>])
        -> CompiledStep.NamedValues?
    {
        let actionText: PolicyParameter<String>
        switch action {
        case .constant(let value): actionText = .constant(value.rawValue)
        case .expression(let expression): actionText = .expression(expression)
        }
        guard let name = parameter(name), let existsAction = parameter(actionText), let values = parameters(values) else { return nil }
        return CompiledStep.NamedValues(name: name, existsAction: existsAction, values: values)
    }

    mutating func status(_ policy: SetStatusPolicy) -> CompiledStep.Status? {
        guard let code = parameter(policy.code) else { return nil }
        var reason: RuntimeParameter<String>? = nil
        if let given = policy.reason {
            guard let made = parameter(given) else { return nil }
            reason = made
        }
        return CompiledStep.Status(code: code, reason: reason)
    }

    mutating func body(_ policy: SetBodyPolicy, at statement: PolicyStatement) -> RuntimeParameter<String>?? {
        guard let body = policy.body else { return .some(nil) }
        guard let made = parameter(body) else { return nil }
        return .some(made)
    }

    mutating func certificateSource(_ policy: AuthenticationCertificatePolicy) -> CompiledStep.CertificateSource? {
        switch policy.source {
        case .thumbprint(let thumbprint):
            return parameter(thumbprint).map { .thumbprint($0) }
        case .certificateID(let id):
            return parameter(id).map { .id($0) }
        case .body(let expression, let password):
            let body: RuntimeExpression
            do {
                body = try RuntimeExpression.make(expression, compiler: compiler)
            } catch {
                diagnostics += error.diagnostics
                return nil
            }
            uses.formUnion(body.compiled.uses)
            var passwordParameter: RuntimeParameter<String>? = nil
            if let password {
                guard let made = parameter(password) else { return nil }
                passwordParameter = made
            }
            return .body(body, password: passwordParameter)
        }
    }

    mutating func unsupported(_ statement: PolicyStatement, _ what: String) {
        if skipUnsupported {
            diagnostics.append(PolicyDiagnostic(.warning, at: statement.position, "\(what); skipped (skipUnsupportedPolicies)"))
        } else {
            diagnostics.append(PolicyDiagnostic(at: statement.position, what))
        }
    }

    mutating func step(_ statement: PolicyStatement) -> CompiledStep? {
        func made(_ action: CompiledStep.Action?) -> CompiledStep? {
            action.map { CompiledStep(
                    name: statement.name, id: statement.id, path: statement.path, scope: statement.scope, position: statement.position, action: $0) }
        }
        switch statement.policy {
        case .base:
            return nil
        case .choose(let choose):
            var whens: [CompiledStep.When] = []
            for when in choose.whens {
                guard let condition = parameter(when.condition) else { continue }
                whens.append(CompiledStep.When(condition: condition, steps: steps(when.statements), path: when.path))
            }
            return made(.choose(whens, otherwise: choose.otherwise.map { steps($0) }))
        case .returnResponse(let policy): return made(policy.compile(&self, statement).map(CompiledStep.Action.synchronous))
        case .setStatus(let policy): return made(policy.compile(&self).map(CompiledStep.Action.synchronous))
        case .setHeader(let policy): return made(policy.compile(&self).map(CompiledStep.Action.synchronous))
        case .setQueryParameter(let policy): return made(policy.compile(&self).map(CompiledStep.Action.synchronous))
        case .setBody(let policy): return made(policy.compile(&self, statement).map(CompiledStep.Action.synchronous))
        case .setVariable(let policy): return made(policy.compile(&self).map(CompiledStep.Action.synchronous))
        case .setMethod(let policy): return made(policy.compile(&self).map(CompiledStep.Action.synchronous))
        case .rewriteURI(let policy): return made(policy.compile(&self).map(CompiledStep.Action.synchronous))
        case .setBackendService(let policy): return made(policy.compile(&self, statement).map(CompiledStep.Action.synchronous))
        case .forwardRequest(let policy):
            hasForwardRequest = true
            guard let timeout = parameter(policy.timeout), let follow = parameter(policy.followRedirects),
                let fail = parameter(policy.failOnErrorStatusCode)
            else { return nil }
            return made(.forwardRequest(timeout: timeout, followRedirects: follow, failOnErrorStatus: fail))
        case .checkHeader(let policy): return made(policy.compile(&self).map(CompiledStep.Action.synchronous))
        case .ipFilter(let policy): return made(policy.compile(&self).map(CompiledStep.Action.synchronous))
        case .mockResponse(let policy): return made(policy.compile(&self).map(CompiledStep.Action.synchronous))
        case .trace(let policy): return made(policy.compile(&self).map(CompiledStep.Action.synchronous))
        case .validateClientCertificate(let policy):
            hasValidateClientCertificate = true
            return made(.waiting(policy.compile()))
        case .sendRequest(let policy): return made(policy.compile(&self, statement).map(CompiledStep.Action.waiting))
        case .rateLimitByKey(let policy): return made(policy.compile(&self).map(CompiledStep.Action.synchronous))
        case .quotaByKey(let policy): return made(policy.compile(&self, statement).map(CompiledStep.Action.synchronous))
        case .rateLimit(let policy): return made(.synchronous(policy.compile()))
        case .quota(let policy): return made(policy.compile(&self, statement).map(CompiledStep.Action.synchronous))
        case .retry(let policy): return made(policy.compile(&self).map(CompiledStep.Action.waiting))
        case .limitConcurrency(let policy): return made(policy.compile(&self).map(CompiledStep.Action.waiting))
        case .cors(let policy): return made(policy.compile(&self).map(CompiledStep.Action.synchronous))
        case .authenticationCertificate(let policy): return made(policy.compile(&self).map(CompiledStep.Action.synchronous))
        case .validateJWT(let policy): return made(policy.compile(&self, statement).map(CompiledStep.Action.waiting))
        case .cacheLookupValue(let policy): return made(policy.compile(&self, statement).map(CompiledStep.Action.waiting))
        case .cacheStoreValue(let policy): return made(policy.compile(&self, statement).map(CompiledStep.Action.waiting))
        case .cacheRemoveValue(let policy): return made(policy.compile(&self, statement).map(CompiledStep.Action.waiting))
        case .findAndReplace(let policy): return made(policy.compile(&self).map(CompiledStep.Action.synchronous))
        case .authenticationBasic(let policy): return made(policy.compile(&self).map(CompiledStep.Action.synchronous))
        case .jsonp(let policy): return made(policy.compile(&self).map(CompiledStep.Action.synchronous))
        case .emitMetric(let policy): return made(policy.compile(&self).map(CompiledStep.Action.synchronous))
        case .cacheLookup(let policy): return made(policy.compile(&self, statement).map(CompiledStep.Action.waiting))
        case .cacheStore(let policy): return made(policy.compile(&self).map(CompiledStep.Action.waiting))
        case .sendOneWayRequest(let policy): return made(policy.compile(&self, statement).map(CompiledStep.Action.waiting))
        case .wait(let policy): return made(policy.compile(&self).map(CompiledStep.Action.waiting))
        case .redirectContentURLs(let policy): return made(policy.compile(&self).map(CompiledStep.Action.synchronous))
        case .crossDomain(let policy): return made(policy.compile(&self).map(CompiledStep.Action.synchronous))
        case .authenticationManagedIdentity(let policy): return made(policy.compile(&self).map(CompiledStep.Action.waiting))
        case .validateAzureADToken(let policy): return made(policy.compile(&self, statement).map(CompiledStep.Action.waiting))
        case .jsonToXML(let policy): return made(policy.compile(&self).map(CompiledStep.Action.synchronous))
        case .xmlToJSON(let policy): return made(policy.compile(&self).map(CompiledStep.Action.synchronous))
        case .xslTransform(let policy): return made(policy.compile(&self).map(CompiledStep.Action.synchronous))
        case .proxy(let policy): return made(policy.compile(&self).map(CompiledStep.Action.synchronous))
        case .logToEventHub(let policy): return made(policy.compile(&self, statement).map(CompiledStep.Action.synchronous))
        case .validateGraphQLRequest(let policy): return made(policy.compile(&self, statement).map(CompiledStep.Action.waiting))
        case .httpDataSource(let policy): return made(policy.compile(&self, statement).map(CompiledStep.Action.waiting))
        case .publishEvent(let policy): return made(policy.compile(&self).map(CompiledStep.Action.synchronous))
        case .cosmosDBDataSource(let policy): return made(policy.compile(&self, statement).map(CompiledStep.Action.waiting))
        case .publishToDapr(let policy): return made(policy.compile(&self, statement).map(CompiledStep.Action.waiting))
        case .invokeDaprBinding(let policy): return made(policy.compile(&self, statement).map(CompiledStep.Action.waiting))
        case .getAuthorizationContext(let policy): return made(policy.compile(&self, statement).map(CompiledStep.Action.waiting))
        case .llmTokenLimit(let policy): return made(policy.compile(&self).map(CompiledStep.Action.synchronous))
        case .llmEmitTokenMetric(let policy): return made(policy.compile(&self).map(CompiledStep.Action.synchronous))
        case .llmContentSafety(let policy): return made(policy.compile(&self, statement).map(CompiledStep.Action.waiting))
        case .llmSemanticCacheLookup(let policy): return made(policy.compile(&self, statement).map(CompiledStep.Action.waiting))
        case .llmSemanticCacheStore(let policy): return made(policy.compile(&self, statement).map(CompiledStep.Action.waiting))
        case .validateParameters(let policy): return made(policy.compile(&self).map(CompiledStep.Action.synchronous))
        case .validateHeaders(let policy): return made(policy.compile(&self).map(CompiledStep.Action.synchronous))
        case .validateStatusCode(let policy): return made(policy.compile(&self).map(CompiledStep.Action.synchronous))
        case .validateContent(let policy): return made(policy.compile(&self, statement).map(CompiledStep.Action.synchronous))
        case .validateODataRequest(let policy): return made(policy.compile(&self).map(CompiledStep.Action.synchronous))
        }
    }
}
