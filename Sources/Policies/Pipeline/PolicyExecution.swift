import ClientCertificates
import Foundation
import PolicyExpressions

/// Whether the pipeline goes on after a step, or a response was decided (`return-response`, `mock-response`).
enum Flow {
    case proceed
    case stop
}

/// One run of a pipeline: the request's state, its `context` object and the embedder's backend.
final class PolicyExecution: @unchecked Sendable {
    let pipeline: PolicyPipeline
    let state: RequestState
    let context: ContextObject
    let requestBodySource: (any PolicyBodySource)?
    let backend: any PolicyBackend
    var presented: [X509Certificate2] = []
    var certificatePresentedButUnreadable = false
    var backendCalled = false
    /// The certificate `authentication-certificate` chose for the backend connection.
    var backendCertificate: X509Certificate2?
    /// The `proxy` policy's forward proxy for the forwarded request.
    var backendProxy: BackendProxy?
    /// `set-backend-service backend-id="dapr"` made the backend the sidecar: the forwarded request
    /// carries the gateway's Dapr API token (never one the client sent).
    var daprInvocation = false
    /// Headers counter policies add to whatever response the client gets.
    var extraResponseHeaders: [PolicyHeader] = []
    /// Counter increments whose `increment-condition` is decided once the response is known.
    /// What `cache-lookup` decided, for `cache-store` (nil: nothing to store).
    var responseCache: ResponseCacheLookup?
    /// Bandwidth charges whose `increment-condition` looks at the final response.
    var deferredCharges: [(condition: RuntimeParameter<Bool>, key: String, period: Int, anchor: Date?, step: CompiledStep)] = []
    var deferredIncrements: [(condition: RuntimeParameter<Bool>, key: String, amount: Int, period: Int, anchor: Date?, step: CompiledStep)] = []
    /// The AI-gateway policies' state of this request (nil: none ran). See `LLMUsage.swift`.
    var llm: LLMExchange?

    init(pipeline: PolicyPipeline, state: RequestState, requestBody: (any PolicyBodySource)?, backend: any PolicyBackend) {
        self.pipeline = pipeline
        self.state = state
        context = ContextObject(state: state)
        requestBodySource = requestBody
        self.backend = backend
    }

    var options: PolicyPipelineOptions { pipeline.options }

    // MARK: Certificate

    /// Parses the client chain and, when expressions call `Verify()`/`VerifyNoRevocation()`, verifies
    /// it now, because expression evaluation is synchronous.
    func prepareCertificate(chain: [[UInt8]], parsed preParsed: ParsedClientChain? = nil) async {
        guard !chain.isEmpty else { return }
        let parsed = preParsed ?? ParsedChainCache.shared.entry(for: chain)
        guard let leaf = parsed.leaf else { return certificateUnreadable() }
        var verdicts = ClientCertificateObject.Verdicts.none
        if pipeline.usesVerify {
            verdicts.verify = await ChainVerifier.verify(leaf: leaf, presented: parsed.presented, context: options.verification)
        }
        if pipeline.usesVerifyNoRevocation {
            verdicts.verifyNoRevocation = await ChainVerifier.verify(
                leaf: leaf, presented: parsed.presented, context: options.verification.withoutRevocation)
        }
        installCertificate(leaf, presented: parsed.presented, verdicts: verdicts)
    }

    /// What the synchronous start needs to know about the client certificate before anything runs.
    enum CertificatePreparation {
        case none
        case unreadable
        case ready(leaf: X509Certificate2, presented: [X509Certificate2], verdicts: ClientCertificateObject.Verdicts)
        /// A verdict `Verify()`/`VerifyNoRevocation()` needs is not in the verification cache.
        case needsVerification
    }

    /// The certificate and the verdicts expressions need, from the verification cache only (no work
    /// that waits). Pure: records nothing, so the caller can still fall back to the async run.
    static func preparedCertificate(_ request: PolicyRequest, pipeline: PolicyPipeline) -> CertificatePreparation {
        guard !request.clientCertificateChain.isEmpty else { return .none }
        let parsed = request.parsedClientCertificate ?? ParsedChainCache.shared.entry(for: request.clientCertificateChain)
        guard let leaf = parsed.leaf else { return .unreadable }
        var verdicts = ClientCertificateObject.Verdicts.none
        if pipeline.usesVerify {
            guard let cached = cachedVerdict(leaf: leaf, presented: parsed.presented, context: pipeline.options.verification,
                                             chainDigest: parsed.chainDigest) else {
                return .needsVerification
            }
            verdicts.verify = cached
        }
        if pipeline.usesVerifyNoRevocation {
            guard let cached = cachedVerdict(leaf: leaf, presented: parsed.presented,
                                             context: pipeline.options.verification.withoutRevocation, chainDigest: parsed.chainDigest)
            else { return .needsVerification }
            verdicts.verifyNoRevocation = cached
        }
        return .ready(leaf: leaf, presented: parsed.presented, verdicts: verdicts)
    }

    /// The cached verdict `ChainVerifier.verify` would return without verifying again: a valid one
    /// only while every certificate of its chain is within its validity period (as `verify` checks).
    static func cachedVerdict(leaf: X509Certificate2, presented: [X509Certificate2], context: VerificationContext,
                              chainDigest: CertificateChainDigest? = nil) -> VerificationResult? {
        guard let hit = ChainVerifier.cachedResult(leaf: leaf, presented: presented, context: context, chainDigest: chainDigest)
        else { return nil }
        if hit.isValid {
            let time = context.options.validationTime ?? context.clock()
            guard hit.chain.allSatisfy({ $0.notBefore <= time && time <= $0.notAfter }) else { return nil }
        }
        return hit
    }

    func certificateUnreadable() {
        certificatePresentedButUnreadable = true
        state.record(.info, "the client certificate could not be parsed; context.Request.Certificate is null")
    }

    func installCertificate(_ leaf: X509Certificate2, presented: [X509Certificate2], verdicts: ClientCertificateObject.Verdicts) {
        self.presented = presented
        if let result = verdicts.verify {
            state.record(.info, "Verify() = \(result.isValid ? "True" : "False")\(result.isValid ? "" : " (\(result.message))")", path: "")
        }
        if let result = verdicts.verifyNoRevocation {
            state.record(.info, "VerifyNoRevocation() = \(result.isValid ? "True" : "False")\(result.isValid ? "" : " (\(result.message))")", path: "")
        }
        state.certificate = ClientCertificateObject(leaf, verdicts: verdicts)
    }

    // MARK: Sections

    func steps(_ section: PolicySection) -> [CompiledStep] { pipeline.sections[section] ?? [] }

    func run() async {
        do {
            state.section = .inbound
            if pipeline.readsBody || pipeline.buffersRequestBody { try await loadRequestBody() }
            if try await run(steps(.inbound)) == .stop { return applyDeferredIncrements() }
            state.section = .backend
            if try await run(steps(.backend)) == .stop { return applyDeferredIncrements() }
            try await runOutbound()
        } catch let failure as PolicyFailure {
            await handle(failure)
        } catch {
            await handle(PolicyFailure.generic("policy", reason: "InternalError", String(describing: error)))
        }
        applyDeferredIncrements()
    }

    /// The outbound section, once the backend answered (or the backend section ended without a call).
    func runOutbound() async throws {
        state.section = .outbound
        if llm != nil { try await collectLLMUsage() }
        if pipeline.readsResponseBody { try await loadResponseBody() }
        _ = try await run(steps(.outbound))
    }

    func run(_ steps: [CompiledStep]) async throws -> Flow {
        for step in steps {
            // Steps that never wait run on the synchronous path: the same code as `startSynchronously`,
            // and no async frame per nesting level.
            let flow = step.runsSynchronously ? try runSynchronously(step) : try await run(step)
            if flow == .stop { return .stop }
        }
        return .proceed
    }

    func run(_ step: CompiledStep) async throws -> Flow {
        enter(step)
        do {
            return try await perform(step)
        } catch let failure as PolicyFailure {
            throw Self.attributed(failure, to: step)
        }
    }

    func enter(_ step: CompiledStep) {
        state.currentPath = step.path
        state.record(.policy, "\(step.name) (\(step.scope) scope, \(step.position))")
    }

    /// A failure with the step it happened in (unless an inner step already claimed it).
    static func attributed(_ failure: PolicyFailure, to step: CompiledStep) -> PolicyFailure {
        var failure = failure
        if failure.path == nil {
            failure.path = step.path
            failure.policyId = step.id ?? ""
            failure.scope = step.scope
        }
        return failure
    }

    /// Goes to `on-error` with `context.LastError` set; without one (or if it fails too), the client
    /// gets APIM's JSON error body.
    func handle(_ failure: PolicyFailure) async {
        let errorSection = state.section
        setError(failure, section: errorSection)
        let onError = steps(.onError)
        guard errorSection != .onError, !onError.isEmpty else { return }
        state.section = .onError
        do {
            _ = try await run(onError)
        } catch let second as PolicyFailure {
            setError(second, section: .onError)
        } catch {
            setError(PolicyFailure.generic("on-error", reason: "InternalError", String(describing: error)), section: .onError)
        }
    }

    // MARK: Synchronous path (steps that never wait)

    func runSynchronously(_ steps: [CompiledStep]) throws -> Flow {
        for step in steps {
            if try runSynchronously(step) == .stop { return .stop }
        }
        return .proceed
    }

    func runSynchronously(_ step: CompiledStep) throws -> Flow {
        enter(step)
        do {
            if case .choose(let whens, let otherwise) = step.action {
                return try chooseSynchronously(whens, otherwise: otherwise, step)
            }
            return try performImmediately(step)
        } catch let failure as PolicyFailure {
            throw Self.attributed(failure, to: step)
        }
    }

    /// `choose` whose branches never wait (the same decisions as `choose(_:otherwise:_:)`).
    func chooseSynchronously(_ whens: [CompiledStep.When], otherwise: [CompiledStep]?, _ step: CompiledStep) throws -> Flow {
        for when in whens {
            state.currentPath = when.path
            if try bool(when.condition, step) {
                state.record(.branch, "matched", path: when.path)
                return try runSynchronously(when.steps)
            }
            if state.tracing { state.record(.branch, "not matched", path: when.path) }
        }
        if let otherwise {
            state.record(.branch, "otherwise taken", path: step.path + "/otherwise[1]")
            return try runSynchronously(otherwise)
        }
        return .proceed
    }

    /// `handle(_:)` when `on-error` never waits.
    func handleSynchronously(_ failure: PolicyFailure) {
        let errorSection = state.section
        setError(failure, section: errorSection)
        let onError = steps(.onError)
        guard errorSection != .onError, !onError.isEmpty else { return }
        state.section = .onError
        do {
            _ = try runSynchronously(onError)
        } catch let second as PolicyFailure {
            setError(second, section: .onError)
        } catch {
            setError(PolicyFailure.generic("on-error", reason: "InternalError", String(describing: error)), section: .onError)
        }
    }

    /// Inbound (and the backend section's `forward-request` up to the call) on the caller's thread.
    /// Only for pipelines whose `inboundRunsSynchronously` holds, with the certificate installed.
    func startSynchronously() -> PolicyStart {
        do {
            state.section = .inbound
            if try runSynchronously(steps(.inbound)) == .stop {
                applyDeferredIncrements()
                return .respond(result())
            }
            state.section = .backend
            if let step = pipeline.backendForward, case .forwardRequest(let timeout, let followRedirects, let failOnErrorStatus) = step.action {
                enter(step)
                let call: BackendCall
                do {
                    call = try backendCall(timeout: timeout, followRedirects: followRedirects, failOnErrorStatus: failOnErrorStatus, step)
                } catch let failure as PolicyFailure {
                    throw Self.attributed(failure, to: step)
                }
                let relay = pipeline.outboundIsEmpty && extraResponseHeaders.isEmpty && deferredIncrements.isEmpty && deferredCharges.isEmpty && state.trace.isEmpty
                    && llm == nil
                return .forward(PolicyExchange(execution: self, call: call, step: step, outboundIsEmpty: relay))
            }
            // No backend call: outbound follows inbound (it never waits and has no backend body to read).
            state.section = .outbound
            _ = try runSynchronously(steps(.outbound))
        } catch let failure as PolicyFailure {
            handleSynchronously(failure)
        } catch {
            handleSynchronously(PolicyFailure.generic("policy", reason: "InternalError", String(describing: error)))
        }
        applyDeferredIncrements()
        return .respond(result())
    }

    /// The rest of the run once the backend answered a synchronous start's `forward-request`.
    func finish(_ call: BackendCall, response: BackendResponse, step: CompiledStep) async -> PolicyResult {
        do {
            do {
                try receive(response, failOnErrorStatus: call.failOnErrorStatus, step)
            } catch let failure as PolicyFailure {
                throw Self.attributed(failure, to: step)
            }
            try await runOutbound()
        } catch let failure as PolicyFailure {
            await handle(failure)
        } catch {
            await handle(PolicyFailure.generic("policy", reason: "InternalError", String(describing: error)))
        }
        applyDeferredIncrements()
        return result()
    }

    /// The rest of the run when a synchronous start's backend call failed.
    func backendFailed(_ call: BackendCall, error: any Error, step: CompiledStep) async -> PolicyResult {
        await handle(Self.attributed(Self.backendFailure(error, timeout: call.timeoutSeconds, step), to: step))
        applyDeferredIncrements()
        return result()
    }

    func setError(_ failure: PolicyFailure, section: PolicySection) {
        state.lastError = PolicyLastError(
            source: failure.source, reason: failure.reason, message: failure.message, scope: failure.scope?.rawValue ?? "",
            section: section.rawValue, path: failure.path ?? "", policyId: failure.policyId ?? "")
        state.record(.error, "\(failure.source): \(failure.reason): \(failure.message)", path: failure.path ?? "")
        state.status = failure.status
        state.reason = HTTPReason.phrase(failure.status)
        state.responseHeaders = [PolicyHeader("Content-Type", "application/json")]
        state.backendBody = nil
        state.responseBody = MessageBodyObject(
            ErrorBody.json(status: failure.status, message: failure.clientMessage, activityId: failure.status >= 500 ? state.requestId : nil))
    }

    func result() -> PolicyResult {
        let body: PolicyResult.Body
        var headers = state.responseHeaders + extraResponseHeaders
        if let responseBody = state.responseBody {
            body = .bytes(responseBody.bytes)
            HeaderList.remove(&headers, "Content-Length")
            HeaderList.remove(&headers, "Transfer-Encoding")
        } else if let backendBody = state.backendBody {
            body = .backend(backendBody)
        } else {
            body = .bytes([])
        }
        return PolicyResult(
            status: state.status, reason: state.reason, headers: headers, body: body, trace: state.trace, lastError: state.lastError,
            backendCalled: backendCalled)
    }

    // MARK: Bodies

    func loadRequestBody() async throws {
        guard state.requestBody == nil, let source = requestBodySource else { return }
        do {
            state.requestBody = MessageBodyObject(try await source.collect(upTo: options.maximumBodyBytes))
        } catch is PolicyBodyTooLarge {
            throw PolicyFailure(
                source: "request", reason: "RequestEntityTooLarge", message: "The request body is larger than \(options.maximumBodyBytes) bytes.",
                status: 413, clientMessage: "Request entity too large")
        } catch {
            throw PolicyFailure(
                source: "request", reason: "ClientConnectionFailure", message: "Reading the request body failed: \(error)", status: 400,
                clientMessage: "Bad request")
        }
    }

    func loadResponseBody() async throws {
        guard state.responseBody == nil, let source = state.backendBody else { return }
        do {
            state.responseBody = MessageBodyObject(try await source.collect(upTo: options.maximumBodyBytes))
            state.backendBody = nil
        } catch {
            throw PolicyFailure.generic("forward-request", reason: "BackendConnectionFailure", "Reading the backend response body failed: \(error)")
        }
    }

    // MARK: Expressions

    func evaluate(_ expression: RuntimeExpression, _ step: CompiledStep) throws -> Value {
        let value: Value
        do {
            value = try expression.compiled.evaluate(context: context)
        } catch {
            if state.tracing { state.record(.expression, "\(expression.source) threw \(error.exceptionType): \(error.message)") }
            throw PolicyFailure.expression(step.name, "\(error.exceptionType): \(error.message)")
        }
        if state.tracing { state.record(.expression, "\(expression.source) = \(ExpressionTool.display(value, type: expression.compiled.resultType))") }
        return value
    }

    // The parameter readers below are not inlined: inlined into the async statement runners, their
    // locals would sit in those runners' heap frames, allocated per request in flight.
    @inline(never)
    func value(_ parameter: RuntimeParameter<String>, _ step: CompiledStep) throws -> Value {
        switch parameter {
        case .constant(let text): return .string(text)
        case .expression(let expression): return try evaluate(expression, step)
        }
    }

    @inline(never)
    func string(_ parameter: RuntimeParameter<String>, _ step: CompiledStep) throws -> String {
        switch parameter {
        case .constant(let text): return text
        case .expression(let expression): return ValueConversion.string(try evaluate(expression, step))
        }
    }

    @inline(never)
    func bool(_ parameter: RuntimeParameter<Bool>, _ step: CompiledStep) throws -> Bool {
        switch parameter {
        case .constant(let flag): return flag
        case .expression(let expression):
            let value = try evaluate(expression, step)
            guard let flag = ValueConversion.bool(value) else {
                throw PolicyFailure.expression(step.name, "'\(ValueConversion.string(value))' is not a valid boolean value.")
            }
            return flag
        }
    }

    @inline(never)
    func int(_ parameter: RuntimeParameter<Int>, _ step: CompiledStep, in range: ClosedRange<Int>? = nil) throws -> Int {
        let number: Int
        switch parameter {
        case .constant(let value): number = value
        case .expression(let expression):
            let value = try evaluate(expression, step)
            guard let converted = ValueConversion.int(value) else {
                throw PolicyFailure.expression(step.name, "'\(ValueConversion.string(value))' is not a valid integer value.")
            }
            number = converted
        }
        if let range, !range.contains(number) {
            throw PolicyFailure.expression(step.name, "\(number) is outside the range \(range.lowerBound)–\(range.upperBound).")
        }
        return number
    }

    func url(_ parameter: RuntimeParameter<URL>, _ step: CompiledStep) throws -> URL {
        switch parameter {
        case .constant(let url): return url
        case .expression(let expression):
            let text = ValueConversion.string(try evaluate(expression, step))
            guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https", url.host != nil
            else { throw PolicyFailure.expression(step.name, "'\(text)' is not an absolute http(s) URL.") }
            return url
        }
    }

    // MARK: Policies

    /// Runs one statement. Statements that may suspend (they call the backend or run nested
    /// statements) are handled here; the others in `performImmediately`, a synchronous function, so
    /// their many locals stay on the thread's stack instead of enlarging this async frame, which is
    /// allocated for every nesting level of every request in flight (23 KB before, 6 KB now).
    func perform(_ step: CompiledStep) async throws -> Flow {
        switch step.action {
        case .choose(let whens, let otherwise):
            return try await choose(whens, otherwise: otherwise, step)

        case .forwardRequest(let timeout, let followRedirects, let failOnErrorStatus):
            try await forward(try backendCall(timeout: timeout, followRedirects: followRedirects, failOnErrorStatus: failOnErrorStatus, step), step)
            return .proceed

        case .waiting(let policy):
            return try await policy.run(self, step)


        default:
            return try performImmediately(step)
        }
    }

    /// `choose`: the first `when` whose condition holds, else `otherwise`. Its own function (not
    /// inlined) so its locals stay out of perform(_:)'s frame.
    @inline(never)
    func choose(_ whens: [CompiledStep.When], otherwise: [CompiledStep]?, _ step: CompiledStep) async throws -> Flow {
        for when in whens {
            state.currentPath = when.path
            if try bool(when.condition, step) {
                state.record(.branch, "matched", path: when.path)
                return try await run(when.steps)
            }
            if state.tracing { state.record(.branch, "not matched", path: when.path) }
        }
        if let otherwise {
            state.record(.branch, "otherwise taken", path: step.path + "/otherwise[1]")
            return try await run(otherwise)
        }
        return .proceed
    }

    /// The statements that never suspend.
    @inline(never)
    func performImmediately(_ step: CompiledStep) throws -> Flow {
        switch step.action {
        case .synchronous(let policy):
            return try policy.run(self, step)

        case .choose, .forwardRequest, .waiting:
            preconditionFailure("\(step.name) suspends: perform(_:) runs it")
        }
    }

    /// The certificate (with its private key) an `authentication-certificate` names.
    func certificate(_ source: CompiledStep.CertificateSource, _ step: CompiledStep) throws -> X509Certificate2 {
        let found: X509Certificate2?
        let what: String
        switch source {
        case .thumbprint(let parameter):
            let thumbprint = try string(parameter, step).trimmingCharacters(in: .whitespaces).uppercased()
            found = options.certificates?[thumbprint]
            what = "No uploaded certificate with a private key has the thumbprint '\(thumbprint)'."
        case .id(let parameter):
            let id = try string(parameter, step).trimmingCharacters(in: .whitespaces)
            found = options.certificates?.certificate(id: id)
            what = "No uploaded certificate with a private key has the id '\(id)'."
        case .body(let expression, let passwordParameter):
            let bytes = ValueConversion.bytes(try evaluate(expression, step))
            let password = try passwordParameter.map { try string($0, step) }
            found = (try? CertificateLoader.load(bytes, password: password))?.first
            what = "The certificate body holds no certificate with a private key (or the password is wrong)."
        }
        guard let found, found.hasPrivateKey else { throw PolicyFailure.generic(step.name, reason: "CertificateNotFound", what) }
        state.record(.info, "backend client certificate \(found.thumbprint)")
        return found
    }

    func applyStatus(_ status: CompiledStep.Status, _ step: CompiledStep) throws {
        let code = try int(status.code, step, in: 100...599)
        state.status = code
        state.reason = try status.reason.map { try string($0, step) } ?? HTTPReason.phrase(code)
    }

    /// `set-header` and `set-query-parameter` with their `exists-action`.
    func applyNamedValues(_ spec: CompiledStep.NamedValues, _ step: CompiledStep, query: Bool, response: Bool) throws {
        let (name, action, values) = try evaluated(spec, step)
        if !query { try checkHeaderField(name: name, values: values, step) }
        if query {
            var items = state.query
            let first = items.firstIndex { $0.name == name }
            switch action {
            case .delete: items.removeAll { $0.name == name }
            case .skip where first != nil: break
            case .override, .skip:
                items.removeAll { $0.name == name }
                items.insert(contentsOf: values.map { (name: name, value: $0) }, at: first ?? items.endIndex)
            case .append: items += values.map { (name: name, value: $0) }
            }
            state.query = items
            return
        }
        var headers = response ? state.responseHeaders : state.requestHeaders
        edit(&headers, name: name, action: action, values: values)
        if response { state.responseHeaders = headers } else { state.requestHeaders = headers }
    }

    /// Header names must be tokens and values free of line breaks and NUL (no response splitting).
    func checkHeaderField(name: String, values: [String], _ step: CompiledStep) throws {
        guard SetMethodPolicy.isToken(name) else {
            throw PolicyFailure.expression(step.name, "'\(name)' is not a valid header name.")
        }
        // On the UTF-8 bytes: CR, LF (and so CRLF) and NUL never occur inside another character's encoding.
        if values.contains(where: { $0.utf8.contains { $0 == 0x0D || $0 == 0x0A || $0 == 0x00 } }) {
            throw PolicyFailure.expression(step.name, "the value of header '\(name)' contains a line break or NUL character.")
        }
    }

    func edit(_ headers: inout [PolicyHeader], name: String, action: ExistsAction, values: [String]) {
        let first = headers.firstIndex { $0.name.equalsHeaderName(name) }
        switch action {
        case .delete: HeaderList.remove(&headers, name)
        case .skip where first != nil: break
        case .override, .skip:
            HeaderList.remove(&headers, name)
            headers.insert(contentsOf: values.map { PolicyHeader(name, $0) }, at: min(first ?? headers.endIndex, headers.endIndex))
        case .append: headers += values.map { PolicyHeader(name, $0) }
        }
    }

    /// The values of a `set-header`-like element, with its action (null values are left out).
    func evaluated(_ spec: CompiledStep.NamedValues, _ step: CompiledStep) throws -> (name: String, action: ExistsAction, values: [String]) {
        let name = try string(spec.name, step)
        let actionText = try string(spec.existsAction, step).lowercased()
        guard let action = ExistsAction(rawValue: actionText) else {
            throw PolicyFailure.expression(step.name, "'\(actionText)' is not a valid exists-action.")
        }
        var values: [String] = []
        for parameter in spec.values {
            let value = try self.value(parameter, step)
            if !value.isNull { values.append(ValueConversion.string(value)) }
        }
        return (name, action, values)
    }

    func applyBody(_ body: RuntimeParameter<String>?, _ step: CompiledStep, response: Bool) throws {
        let bytes: [UInt8]
        if let body {
            switch body {
            case .constant(let text): bytes = Array(text.utf8)
            case .expression(let expression):
                let value = try evaluate(expression, step)
                bytes = ValueConversion.bytes(value)
            }
        } else {
            bytes = []
        }
        if response {
            state.responseBody = MessageBodyObject(bytes)
            state.backendBody = nil
        } else {
            state.requestBody = MessageBodyObject(bytes)
        }
    }


    /// Sends through the embedder's backend and gives up after the request's timeout: the backend's
    /// own deadline when it has one, otherwise a race with a timer (the backend's task is cancelled).
    static func send(_ request: BackendRequest, to backend: any PolicyBackend) async throws -> BackendResponse {
        if backend.enforcesTimeout { return try await backend.send(request) }
        return try await withThrowingTaskGroup(of: BackendResponse?.self) { group in
            group.addTask { try await backend.send(request) }
            group.addTask {
                try await Task.sleep(for: request.timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let response = first else { throw PolicyBackendError.timeout }
            return response
        }
    }

    /// What `forward-request` sends, with its settings evaluated (in the order APIM reads them).
    struct BackendCall: Sendable {
        let request: BackendRequest
        let timeoutSeconds: Int
        let failOnErrorStatus: Bool
    }

    func backendCall(
        timeout: RuntimeParameter<Int>, followRedirects: RuntimeParameter<Bool>, failOnErrorStatus: RuntimeParameter<Bool>, _ step: CompiledStep
    ) throws -> BackendCall {
        let seconds = try int(timeout, step, in: 0...240_000)
        let follow = try bool(followRedirects, step)
        let fail = try bool(failOnErrorStatus, step)
        return BackendCall(request: try backendRequest(timeout: seconds, followRedirects: follow, step), timeoutSeconds: seconds, failOnErrorStatus: fail)
    }

    func backendRequest(timeout: Int, followRedirects: Bool, _ step: CompiledStep) throws -> BackendRequest {
        guard state.backendBase != nil else {
            throw PolicyFailure.generic(
                step.name, reason: "BackendConnectionFailure",
                "No backend service URL is configured for this API (give it a service URL or use set-backend-service).")
        }
        // (The gateway splits the text itself and refuses one that is no absolute http(s) URL.)
        let urlText = state.url.text
        var headers = state.requestHeaders
        let body: BackendRequest.Body
        if let requestBody = state.requestBody {
            body = .bytes(requestBody.bytes)
            HeaderList.remove(&headers, "Content-Length")
            HeaderList.remove(&headers, "Transfer-Encoding")
        } else {
            body = .client
        }
        var request = BackendRequest(
            method: state.method, urlText: urlText, headers: headers, body: body, timeout: .seconds(timeout == 0 ? 300 : timeout),
            followRedirects: followRedirects, clientCertificate: backendCertificate)
        request.proxy = backendProxy
        if daprInvocation {
            HeaderList.remove(&request.headers, DaprSidecar.apiTokenHeader)
            if let token = options.daprAPIToken { request.headers.append(PolicyHeader(DaprSidecar.apiTokenHeader, token)) }
        }
        state.record(.backend, "\(state.method) \(urlText)")
        return request
    }

    /// APIM's failure for a backend call that did not answer.
    static func backendFailure(_ error: any Error, timeout: Int, _ step: CompiledStep) -> PolicyFailure {
        if let backendError = error as? PolicyBackendError, backendError == .timeout {
            return PolicyFailure.generic(step.name, reason: "Timeout", "Request to the backend service timed out after \(timeout) seconds.")
        }
        return PolicyFailure.generic(step.name, reason: "BackendConnectionFailure", "Error occured while calling backend service: \(error)")
    }

    func forward(_ call: BackendCall, _ step: CompiledStep) async throws {
        let response: BackendResponse
        do {
            response = try await Self.send(call.request, to: backend)
        } catch {
            throw Self.backendFailure(error, timeout: call.timeoutSeconds, step)
        }
        try receive(response, failOnErrorStatus: call.failOnErrorStatus, step)
    }

    /// The backend's answer becomes the response outbound sees.
    func receive(_ response: BackendResponse, failOnErrorStatus: Bool, _ step: CompiledStep) throws {
        backendCalled = true
        state.record(.backend, "backend answered \(response.status) \(response.reason)")
        state.status = response.status
        state.reason = response.reason
        state.responseHeaders = response.headers
        state.responseBody = nil
        state.backendBody = response.body
        if failOnErrorStatus, response.status >= 400 {
            throw PolicyFailure(
                source: step.name, reason: "BackendErrorStatusCode", message: "The backend answered with status code \(response.status).",
                status: response.status, clientMessage: response.reason.isEmpty ? HTTPReason.phrase(response.status) : response.reason)
        }
    }
}
