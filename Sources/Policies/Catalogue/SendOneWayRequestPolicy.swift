import Foundation
import Synchronization

/// `<send-one-way-request mode="new|copy" timeout="60">` with `<set-url>`, `<set-method>`,
/// `<set-header>`s, `<set-body>` and `<authentication-certificate>`: a side request sent without
/// waiting for its answer (which is discarded, as are its failures). Its settings are evaluated in
/// the request (an expression error fails the policy); the call then runs on its own. At most
/// `maximumInFlight` such calls are outstanding in the process; past that a call is dropped (and
/// traced) rather than letting a slow target pile up tasks without bound.
public struct SendOneWayRequestPolicy: Sendable, PolicyDefinition {
    public let mode: PolicyParameter<SendRequestPolicy.Mode>
    public let timeout: PolicyParameter<Int>
    public let url: PolicyParameter<String>?
    public let method: SetMethodPolicy?
    public let headers: [SetHeaderPolicy]
    public let body: SetBodyPolicy?
    public let authenticationCertificate: AuthenticationCertificatePolicy?
    public var authenticationManagedIdentity: AuthenticationManagedIdentityPolicy? = nil
    public var proxy: ProxyPolicy? = nil

    static let maximumInFlight = 256
    static let inFlight = Mutex(0)

    static let schema = PolicySchema(
        "send-one-way-request",
        attributes: [
            PolicyAttributeSpec("mode", .choice(["new", "copy"]), default: "new"),
            PolicyAttributeSpec("timeout", .integer(1...240_000), default: "60"),
        ],
        children: .elements([
            "set-url", "set-method", "set-header", "set-body", "authentication-certificate", "authentication-managed-identity", "proxy",
        ]))

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        for name in ["set-url", "set-method", "set-body", "authentication-certificate", "authentication-managed-identity"] { reader.atMostOne(name) }
        let url = SendRequestPolicy.sideRequestURL(reader)
        let (method, headers, body, certificate, managedIdentity) = SendRequestPolicy.sideRequestChildren(reader)
        let proxy = SendRequestPolicy.sideRequestProxy(reader)
        guard let mode = reader.choice("mode", as: SendRequestPolicy.Mode.self), let timeout = reader.integer("timeout") else { return nil }
        if mode.constant == .new, url == nil, reader.isValid {
            reader.error("'<send-one-way-request mode=\"new\">' requires '<set-url>'")
            return nil
        }
        return .sendOneWayRequest(
            SendOneWayRequestPolicy(
                mode: mode, timeout: timeout, url: url, method: method, headers: headers, body: body, authenticationCertificate: certificate,
                authenticationManagedIdentity: managedIdentity, proxy: proxy))
    }
}

// MARK: Run

extension SendOneWayRequestPolicy {
    struct Step: WaitingPolicyStep {
        /// The settings, compiled as `send-request`'s (its variable and ignore-error unused).
        let request: SendRequestPolicy.Step

        func run(_ execution: PolicyExecution, _ step: CompiledStep) async throws -> Flow {
            let call = try await execution.prepareSideCall(
                mode: request.mode, url: request.url, method: request.method, headers: request.headers, body: request.body,
                certificate: request.certificate, managedIdentity: request.managedIdentity, proxy: request.proxy, timeout: request.timeout, step)
            let admitted = SendOneWayRequestPolicy.inFlight.withLock { count -> Bool in
                guard count < SendOneWayRequestPolicy.maximumInFlight else { return false }
                count += 1
                return true
            }
            guard admitted else {
                execution.state.record(.backend, "send-one-way-request dropped: \(SendOneWayRequestPolicy.maximumInFlight) already in flight")
                return .proceed
            }
            // Detached: the call outlives the request and must not report into its access-log record.
            Task.detached {
                _ = await execution.performSideCall(call)
                SendOneWayRequestPolicy.inFlight.withLock { $0 -= 1 }
            }
            return .proceed
        }
    }

    func compile(_ compiler: inout StepCompiler, _ statement: PolicyStatement) -> (any WaitingPolicyStep)? {
        let asRequest = SendRequestPolicy(
            mode: mode, responseVariableName: "", timeout: timeout, ignoreError: .constant(true), url: url, method: method, headers: headers,
            body: body, authenticationCertificate: authenticationCertificate, authenticationManagedIdentity: authenticationManagedIdentity,
            proxy: proxy)
        guard let made = asRequest.compile(&compiler, statement) as? SendRequestPolicy.Step else { return nil }
        return Step(request: made)
    }
}
