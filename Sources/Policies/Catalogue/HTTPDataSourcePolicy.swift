import Foundation
import PolicyExpressions

/// `<http-data-source>`: the root of a GraphQL resolver document (an API's `graphql.resolvers`), never a
/// statement of `<policies>`. `<http-request>` says what to call — `<set-method>` and `<set-url>` (both
/// required), `<set-header>`s, `<set-body>`, `<authentication-certificate>`, `<authentication-managed-identity>`
/// — evaluated like `send-request`'s settings, with `context.GraphQL.Arguments` / `.Parent` and, for Liquid,
/// `body.arguments` / `body.parent`. `<backend><forward-request timeout="…"/></backend>` sets the call's timeout.
/// `<http-response>` runs `<set-body>`, `<xml-to-json>`, `<find-and-replace>`, `<publish-event>` on the answer
/// (as outbound policies). The answer's body is the field's value: JSON, or else the raw text.
public struct HTTPDataSourcePolicy: Sendable, PolicyDefinition {
    public let url: PolicyParameter<String>
    public let method: SetMethodPolicy
    public let headers: [SetHeaderPolicy]
    public let body: SetBodyPolicy?
    public let authenticationCertificate: AuthenticationCertificatePolicy?
    public let authenticationManagedIdentity: AuthenticationManagedIdentityPolicy?
    /// `<backend><forward-request timeout>` (seconds; APIM's forward-request default, 300, otherwise).
    public let timeout: PolicyParameter<Int>
    /// `<http-response>`'s policies (nil: none, the answer is taken as it is).
    public let response: [PolicyStatement]?

    /// No section: the policy is a resolver document's root only (see `PolicyParsingContext`).
    static let schema = PolicySchema("http-data-source", sections: [], children: .elements(["http-request", "backend", "http-response"]))
    static let requestSchema = PolicySchema(
        "http-request",
        children: .elements([
            "get-authorization-context", "set-backend-service", "include-fragment", "set-method", "set-url", "set-header", "set-body",
            "authentication-certificate", "authentication-managed-identity",
        ]))
    static let backendSchema = PolicySchema("backend", children: .elements(["forward-request"]))
    static let forwardSchema = PolicySchema(
        "forward-request", attributes: [PolicyAttributeSpec("timeout", .integer(1...240_000), default: "300")])
    static let responsePolicies = ["set-body", "xml-to-json", "find-and-replace", "publish-event", "include-fragment"]
    static let responseSchema = PolicySchema("http-response", children: .elements(responsePolicies))

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        for name in ["http-request", "backend", "http-response"] { reader.atMostOne(name) }
        guard let requestElement = reader.element.childElements.first(where: { $0.name == "http-request" }) else {
            reader.error("'<http-data-source>' requires '<http-request>'")
            return nil
        }
        let request = reader.child(requestElement, requestSchema)
        for name in ["set-method", "set-url", "set-body", "authentication-certificate", "authentication-managed-identity"] { request.atMostOne(name) }
        for child in requestElement.childElements where ["get-authorization-context", "set-backend-service", "include-fragment"].contains(child.name) {
            reader.context.error(
                at: child.position, "'<\(child.name)>' inside '<http-request>' is not supported yet by Drawbridge (set the URL with '<set-url>')")
        }
        let url = SendRequestPolicy.sideRequestURL(request)
        let (method, headers, body, certificate, managedIdentity) = SendRequestPolicy.sideRequestChildren(request)
        if url == nil, !requestElement.childElements.contains(where: { $0.name == "set-url" }) { request.error("'<http-request>' requires '<set-url>'") }
        if method == nil, !requestElement.childElements.contains(where: { $0.name == "set-method" }) { request.error("'<http-request>' requires '<set-method>'") }
        var timeout: PolicyParameter<Int> = .constant(300)
        if let backendElement = reader.element.childElements.first(where: { $0.name == "backend" }) {
            let backend = reader.child(backendElement, backendSchema)
            backend.atMostOne("forward-request")
            if let forward = backendElement.childElements.first(where: { $0.name == "forward-request" }) {
                timeout = backend.child(forward, forwardSchema).integer("timeout") ?? timeout
            }
        }
        var response: [PolicyStatement]? = nil
        if let responseElement = reader.element.childElements.first(where: { $0.name == "http-response" }) {
            let responseReader = reader.child(responseElement, responseSchema)
            for name in ["set-body", "xml-to-json", "find-and-replace", "publish-event"] { responseReader.atMostOne(name) }
            var statements: [PolicyStatement] = []
            let path = responseReader.path
            for (index, child) in responseElement.childElements.enumerated() where responsePolicies.contains(child.name) {
                if child.name == "publish-event" {
                    let eventReader = responseReader.child(child, PublishEventPolicy.schema)
                    if let policy = PublishEventPolicy.parse(eventReader) {
                        statements.append(PolicyStatement(
                            policy: policy, name: child.name, id: nil, path: "\(path)/publish-event[1]", scope: reader.context.scope,
                            position: child.position, element: child))
                    }
                } else if child.name == "include-fragment" {
                    reader.context.error(at: child.position, "'<include-fragment>' inside '<http-response>' is not supported yet by Drawbridge")
                } else {
                    _ = index
                    statements += reader.context.statements([child], section: .outbound, parentPath: path, allowsBase: false)
                }
            }
            response = statements
        }
        guard reader.isValid, let url, let method else { return nil }
        return .httpDataSource(
            HTTPDataSourcePolicy(
                url: url, method: method, headers: headers, body: body, authenticationCertificate: certificate,
                authenticationManagedIdentity: managedIdentity, timeout: timeout, response: response))
    }
}

// MARK: Run

extension HTTPDataSourcePolicy {
    struct Step: WaitingPolicyStep {
        let request: SendRequestPolicy.Step
        let response: [CompiledStep]?

        var children: [CompiledStep] { response ?? [] }

        func run(_ execution: PolicyExecution, _ step: CompiledStep) async throws -> Flow {
            let call = try await execution.prepareSideCall(
                mode: request.mode, url: request.url, method: request.method, headers: request.headers, body: request.body,
                certificate: request.certificate, managedIdentity: request.managedIdentity, proxy: nil, timeout: request.timeout, step)
            let state = execution.state
            switch await execution.performSideCall(call) {
            case .failure(let error):
                throw PolicyExecution.backendFailure(error, timeout: call.timeout, step)
            case .success(let (answer, bytes)):
                execution.backendCalled = true
                state.record(.backend, "http-data-source: the data source answered \(answer.status)")
                state.status = answer.status
                state.reason = answer.reason
                state.responseHeaders = answer.headers
                state.responseBody = MessageBodyObject(bytes)
                state.backendBody = nil
            }
            guard let response else {
                if state.status >= 400 {
                    throw PolicyFailure(
                        source: step.name, reason: "DataSourceErrorStatusCode", message: "The data source answered with status code \(state.status).",
                        status: 502, clientMessage: "Bad gateway")
                }
                return .stop
            }
            state.section = .outbound
            _ = try await execution.run(response)
            return .stop
        }
    }

    func compile(_ compiler: inout StepCompiler, _ statement: PolicyStatement) -> (any WaitingPolicyStep)? {
        let asRequest = SendRequestPolicy(
            mode: .constant(.new), responseVariableName: "", timeout: timeout, ignoreError: .constant(false), url: url, method: method,
            headers: headers, body: body, authenticationCertificate: authenticationCertificate,
            authenticationManagedIdentity: authenticationManagedIdentity, proxy: nil)
        guard let made = asRequest.compile(&compiler, statement) as? SendRequestPolicy.Step else { return nil }
        var steps: [CompiledStep]? = nil
        if let response {
            let section = compiler.section
            compiler.section = .outbound
            steps = compiler.steps(response)
            compiler.section = section
        }
        return Step(request: made, response: steps)
    }
}
