import Foundation
import PolicyExpressions

/// `<send-request mode="new|copy" response-variable-name="r" timeout="60" ignore-error="false">`
/// with `<set-url>`, `<set-method>`, `<set-header>`s, `<set-body>` and `<authentication-certificate>`:
/// a side call whose response is stored in a variable.
public struct SendRequestPolicy: Sendable, PolicyDefinition {
    public enum Mode: String, Sendable, Hashable {
        /// A request with nothing copied from the current one.
        case new
        /// A copy of the current request, then modified.
        case copy
    }

    public let mode: PolicyParameter<Mode>
    public let responseVariableName: String
    /// Seconds (APIM: 60).
    public let timeout: PolicyParameter<Int>
    /// When true, a failed call stores null in the variable instead of raising an error.
    public let ignoreError: PolicyParameter<Bool>
    public let url: PolicyParameter<String>?
    public let method: SetMethodPolicy?
    public let headers: [SetHeaderPolicy]
    public let body: SetBodyPolicy?
    public let authenticationCertificate: AuthenticationCertificatePolicy?
    /// `<authentication-managed-identity>`: the side request carries a managed-identity token.
    public var authenticationManagedIdentity: AuthenticationManagedIdentityPolicy? = nil
    /// `<proxy>`: the side request goes through an HTTP forward proxy.
    public var proxy: ProxyPolicy? = nil

    static let schema = PolicySchema(
        "send-request",
        attributes: [
            PolicyAttributeSpec("mode", .choice(["new", "copy"]), default: "new"),
            PolicyAttributeSpec("response-variable-name", .nonEmptyText, required: true, expressions: false),
            PolicyAttributeSpec("timeout", .integer(1...240_000), default: "60"),
            PolicyAttributeSpec("ignore-error", .boolean, default: "false"),
        ],
        children: .elements([
            "set-url", "set-method", "set-header", "set-body", "authentication-certificate", "authentication-managed-identity",
            "proxy",
        ]))
    /// APIM children of send-request that Drawbridge does not implement.
    static let unsupportedChildren: Set<String> = []

    /// The side request's `<proxy>` child (at most one), read with the policy's own rules.
    static func sideRequestProxy(_ reader: PolicyElementReader) -> ProxyPolicy? {
        reader.atMostOne("proxy")
        return reader.element.childElements.first { $0.name == "proxy" }.flatMap { ProxyPolicy.make(reader.child($0, ProxyPolicy.schema)) }
    }
    static let urlSchema = PolicySchema("set-url", allowsText: true)

    /// The side request's children (`set-method`, `set-header`s, `set-body`, `authentication-certificate`,
    /// `authentication-managed-identity`), shared with `send-one-way-request`.
    static func sideRequestChildren(_ reader: PolicyElementReader)
        -> (SetMethodPolicy?, [SetHeaderPolicy], SetBodyPolicy?, AuthenticationCertificatePolicy?, AuthenticationManagedIdentityPolicy?)
    {
        var managedIdentity: AuthenticationManagedIdentityPolicy? = nil
        var method: SetMethodPolicy? = nil
        var headers: [SetHeaderPolicy] = []
        var body: SetBodyPolicy? = nil
        var certificate: AuthenticationCertificatePolicy? = nil
        // The children look like policies, but belong to the side request: read them with the
        // policies' own rules, without the section check (set-method is fine here in any section).
        for child in reader.element.childElements {
            switch child.name {
            case "set-method": method = SetMethodPolicy.make(reader.child(child, SetMethodPolicy.schema))
            case "set-header": SetHeaderPolicy.make(reader.child(child, SetHeaderPolicy.schema)).map { headers.append($0) }
            case "set-body": body = SetBodyPolicy.make(reader.child(child, SetBodyPolicy.schema))
            case "authentication-certificate":
                certificate = AuthenticationCertificatePolicy.make(reader.child(child, AuthenticationCertificatePolicy.schema))
            case "authentication-managed-identity":
                managedIdentity = AuthenticationManagedIdentityPolicy.make(reader.child(child, AuthenticationManagedIdentityPolicy.schema))
            case let name where unsupportedChildren.contains(name):
                reader.context.unsupported(child)
            default: break
            }
        }
        return (method, headers, body, certificate, managedIdentity)
    }

    /// `<set-url>`: a literal absolute URL or an expression (nil when absent).
    static func sideRequestURL(_ reader: PolicyElementReader) -> PolicyParameter<String>? {
        var url: PolicyParameter<String>? = nil
        if let element = reader.element.childElements.first(where: { $0.name == "set-url" }) {
            let urlReader = reader.child(element, urlSchema)
            url = urlReader.text
            if let literal = url?.constant?.trimmingCharacters(in: .whitespacesAndNewlines) {
                if PolicyAttributeType.absoluteURL(literal) == nil {
                    reader.context.error(
                        at: element.textNodes.first?.position ?? element.position,
                        "invalid URL \(urlReader.quoteText(literal)) in '<set-url>': expected an absolute http or https URL")
                }
                url = .constant(literal)
            } else if url == nil {
                urlReader.error("'<set-url>' requires the URL as its text")
            }
        }
        return url
    }

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        for name in ["set-url", "set-method", "set-body", "authentication-certificate", "authentication-managed-identity"] { reader.atMostOne(name) }
        let url = sideRequestURL(reader)
        let (method, headers, body, certificate, managedIdentity) = sideRequestChildren(reader)
        let proxy = sideRequestProxy(reader)
        guard let mode = reader.choice("mode", as: Mode.self), let variable = reader.literal("response-variable-name"),
            let timeout = reader.integer("timeout"), let ignoreError = reader.boolean("ignore-error")
        else { return nil }
        if mode.constant == .new, url == nil, reader.isValid {
            reader.error("'<send-request mode=\"new\">' requires '<set-url>'")
            return nil
        }
        return .sendRequest(
            SendRequestPolicy(
                mode: mode, responseVariableName: variable, timeout: timeout, ignoreError: ignoreError, url: url,
                method: method, headers: headers, body: body, authenticationCertificate: certificate,
                authenticationManagedIdentity: managedIdentity, proxy: proxy))
    }
}

// MARK: Run

extension SendRequestPolicy {
    struct Step: WaitingPolicyStep {
        let mode: RuntimeParameter<String>
        let variable: String
        let timeout: RuntimeParameter<Int>
        let ignoreError: RuntimeParameter<Bool>
        let url: RuntimeParameter<String>?
        let method: RuntimeParameter<String>?
        let headers: [CompiledStep.NamedValues]
        let body: RuntimeParameter<String>??
        let certificate: CompiledStep.CertificateSource?
        var managedIdentity: AuthenticationManagedIdentityPolicy.Step? = nil
        var proxy: ProxyPolicy.Step? = nil

        func run(_ execution: PolicyExecution, _ step: CompiledStep) async throws -> Flow {
            try await execution.sendRequest(self, step)
            return .proceed
        }
    }

    func compile(_ compiler: inout StepCompiler, _ statement: PolicyStatement) -> (any WaitingPolicyStep)? {
        var certificate: CompiledStep.CertificateSource? = nil
        if let given = self.authenticationCertificate {
            guard let made = compiler.certificateSource(given) else { return nil }
            certificate = made
        }
        var managedIdentity: AuthenticationManagedIdentityPolicy.Step? = nil
        if let given = self.authenticationManagedIdentity {
            guard let made = given.compile(&compiler) else { return nil }
            managedIdentity = made
        }
        var proxy: ProxyPolicy.Step? = nil
        if let given = self.proxy {
            guard let made = given.compiled(&compiler) else { return nil }
            proxy = made
        }
        let mode: PolicyParameter<String>
        switch self.mode {
        case .constant(let value): mode = .constant(value.rawValue)
        case .expression(let expression): mode = .expression(expression)
        }
        guard let modeParameter = compiler.parameter(mode), let timeout = compiler.parameter(self.timeout), let ignore = compiler.parameter(self.ignoreError)
        else { return nil }
        var url: RuntimeParameter<String>? = nil
        if let given = self.url {
            guard let made = compiler.parameter(given) else { return nil }
            url = made
        }
        var method: RuntimeParameter<String>? = nil
        if let given = self.method {
            guard let made = compiler.parameter(given.method) else { return nil }
            method = made
        }
        var headers: [CompiledStep.NamedValues] = []
        for header in self.headers {
            guard let made = compiler.namedValues(header.name, header.existsAction, header.values) else { return nil }
            headers.append(made)
        }
        var body: RuntimeParameter<String>?? = .none
        if let given = self.body {
            guard let made = compiler.body(given, at: statement) else { return nil }
            body = .some(made)
        }
        return Step(
            mode: modeParameter, variable: self.responseVariableName, timeout: timeout, ignoreError: ignore, url: url,
            method: method, headers: headers, body: body, certificate: certificate, managedIdentity: managedIdentity, proxy: proxy)
    }
}

/// `send-request`: a side call through the embedder's backend; the answer is stored as an
/// `IResponse` in `context.Variables[response-variable-name]` (null when it failed and
/// `ignore-error` is true).
extension PolicyExecution {
    /// A side request ready to go, with what the answer is checked against.
    struct SideCall: Sendable {
        let request: BackendRequest
        let timeout: Int
    }

    func sendRequest(_ spec: SendRequestPolicy.Step, _ step: CompiledStep) async throws {
        let call = try await prepareSideCall(
            mode: spec.mode, url: spec.url, method: spec.method, headers: spec.headers, body: spec.body, certificate: spec.certificate,
            managedIdentity: spec.managedIdentity, proxy: spec.proxy, timeout: spec.timeout, step)
        let ignoreError = try bool(spec.ignoreError, step)
        try applySideCall(await performSideCall(call), call, variable: spec.variable, ignoreError: ignoreError, step)
    }

    /// Evaluates a side request's settings (`send-request`, `send-one-way-request`) in APIM's order.
    func prepareSideCall(
        mode modeParameter: RuntimeParameter<String>, url urlParameter: RuntimeParameter<String>?, method methodParameter: RuntimeParameter<String>?,
        headers headerSpecs: [CompiledStep.NamedValues], body bodyParameter: RuntimeParameter<String>??,
        certificate certificateSource: CompiledStep.CertificateSource?, managedIdentity: AuthenticationManagedIdentityPolicy.Step?,
        proxy: ProxyPolicy.Step?, timeout timeoutParameter: RuntimeParameter<Int>, _ step: CompiledStep
    ) async throws -> SideCall {
        let mode = try string(modeParameter, step).lowercased()
        guard mode == "new" || mode == "copy" else { throw PolicyFailure.expression(step.name, "'\(mode)' is not 'new' or 'copy'.") }
        let copy = mode == "copy"
        var method = copy ? state.method : "GET"
        var headers = copy ? state.requestHeaders : []
        var body: [UInt8] = []
        if copy {
            try await loadRequestBody()
            body = state.requestBody?.bytes ?? []
        }
        var urlText = copy ? state.url.text : ""
        if let given = urlParameter { urlText = try string(given, step).trimmingCharacters(in: .whitespacesAndNewlines) }
        guard let url = URL(string: urlText), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https", url.host != nil
        else { throw PolicyFailure.expression(step.name, "'\(urlText)' is not an absolute http(s) URL.") }
        if let given = methodParameter {
            method = try string(given, step).trimmingCharacters(in: .whitespaces).uppercased()
            guard SetMethodPolicy.isToken(method) else { throw PolicyFailure.expression(step.name, "'\(method)' is not a valid HTTP method.") }
        }
        for header in headerSpecs {
            let (name, action, values) = try evaluated(header, step)
            try checkHeaderField(name: name, values: values, step)
            edit(&headers, name: name, action: action, values: values)
        }
        if case .some(let given) = bodyParameter {
            switch given {
            case .none: body = []
            case .constant(let text)?: body = Array(text.utf8)
            case .expression(let expression)?: body = ValueConversion.bytes(try evaluate(expression, step))
            }
        }
        if let managedIdentity { try await managedIdentity.authenticate(&headers, self, step) }
        HeaderList.remove(&headers, "Content-Length")
        HeaderList.remove(&headers, "Transfer-Encoding")
        let clientCertificate = try certificateSource.map { try certificate($0, step) }
        let timeout = try int(timeoutParameter, step, in: 1...240_000)
        state.record(.backend, "\(step.name) \(method) \(url.absoluteString)")
        var request = BackendRequest(
            method: method, url: url, headers: headers, body: .bytes(body), timeout: .seconds(timeout), followRedirects: false,
            clientCertificate: clientCertificate)
        request.proxy = try proxy?.resolve(self, step)
        return SideCall(request: request, timeout: timeout)
    }

    /// Sends a prepared side call and reads its answer (bounded). Touches no request state, so
    /// several can run at once (`wait`).
    func performSideCall(_ call: SideCall) async -> Result<(BackendResponse, [UInt8]), any Error> {
        do {
            let response = try await Self.send(call.request, to: backend)
            let bytes = try await response.body?.collect(upTo: options.maximumBodyBytes) ?? []
            return .success((response, bytes))
        } catch {
            return .failure(error)
        }
    }

    /// Stores a side call's answer as an `IResponse` in `context.Variables[variable]` (null when it
    /// failed and `ignoreError` holds; otherwise the failure is the policy's).
    func applySideCall(_ outcome: Result<(BackendResponse, [UInt8]), any Error>, _ call: SideCall, variable: String, ignoreError: Bool,
                       _ step: CompiledStep) throws {
        let url = call.request.url
        switch outcome {
        case .success(let (response, bytes)):
            let side = RequestState(
                request: PolicyRequest(method: call.request.method, host: url.host ?? "", path: url.path), deployment: state.deployment, tracing: false)
            side.status = response.status
            side.reason = response.reason
            side.responseHeaders = response.headers
            side.responseBody = MessageBodyObject(bytes)
            state.variables.set(.string(variable), .object(ResponseObject(state: side)))
            state.record(.backend, "send-request answered \(response.status) \(response.reason)")
        case .failure(let error):
            let reason = (error as? PolicyBackendError) == .timeout ? "Timeout" : "BackendConnectionFailure"
            guard ignoreError else {
                throw PolicyFailure.generic(step.name, reason: reason, "The side request to \(url.absoluteString) failed: \(error)")
            }
            state.variables.set(.string(variable), .null)
            state.record(.backend, "send-request failed (ignored): \(error)")
        }
    }
}
