import Foundation

/// `<set-backend-service base-url="https://…"/>` or `backend-id="name"`: where `forward-request`
/// sends the request. The Dapr form, `backend-id="dapr" dapr-app-id="…" dapr-method="…"
/// [dapr-namespace="…"]`, sends it to the Dapr sidecar's service invocation API,
/// `{sidecar}/v1.0/invoke/{app-id}[.{namespace}]/method/{method}` (the request's query kept).
public struct SetBackendServicePolicy: Sendable, PolicyDefinition {
    public enum Target: Sendable {
        case baseURL(PolicyParameter<URL>)
        case backendID(PolicyParameter<String>)
        case dapr(appID: PolicyParameter<String>, method: PolicyParameter<String>, namespace: PolicyParameter<String>?)
    }

    public let target: Target
    /// Service Fabric settings (`sf-*`), kept for completeness; Drawbridge does not route by them.
    public let serviceFabric: [String: PolicyParameter<String>]

    static let serviceFabricAttributes = [
        "sf-partition-key", "sf-replica-type", "sf-resolve-condition", "sf-service-instance-name", "sf-listener-name",
    ]

    static let schema = PolicySchema(
        "set-backend-service", sections: [.inbound, .backend],
        attributes: [
            PolicyAttributeSpec("base-url", .absoluteURL),
            PolicyAttributeSpec("backend-id", .nonEmptyText),
            PolicyAttributeSpec("dapr-app-id", .nonEmptyText),
            PolicyAttributeSpec("dapr-method", .nonEmptyText),
            PolicyAttributeSpec("dapr-namespace", .nonEmptyText),
        ] + serviceFabricAttributes.map { PolicyAttributeSpec($0) })

    static let daprAttributes = ["dapr-app-id", "dapr-method", "dapr-namespace"]

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        let hasBaseURL = reader.element.attribute("base-url") != nil
        let hasBackendID = reader.element.attribute("backend-id") != nil
        guard hasBaseURL != hasBackendID else {
            reader.error("\(reader.tag) requires exactly one of the attributes 'base-url' and 'backend-id'")
            return nil
        }
        var serviceFabric: [String: PolicyParameter<String>] = [:]
        for name in serviceFabricAttributes {
            if let value = reader.string(name) { serviceFabric[name] = value }
        }
        if daprAttributes.contains(where: { reader.element.attribute($0) != nil }) {
            return parseDapr(reader, serviceFabric: serviceFabric)
        }
        if hasBaseURL {
            guard let url = reader.url("base-url") else { return nil }
            return .setBackendService(SetBackendServicePolicy(target: .baseURL(url), serviceFabric: serviceFabric))
        }
        guard let backendID = reader.string("backend-id") else { return nil }
        return .setBackendService(SetBackendServicePolicy(target: .backendID(backendID), serviceFabric: serviceFabric))
    }
}

extension SetBackendServicePolicy {
    /// The Dapr form: `backend-id` must be the literal "dapr", `dapr-app-id` and `dapr-method` are required.
    static func parseDapr(_ reader: PolicyElementReader, serviceFabric: [String: PolicyParameter<String>]) -> Policy? {
        guard case .literal("dapr")? = reader.element.attribute("backend-id")?.value else {
            reader.error("\(reader.tag) with 'dapr-app-id', 'dapr-method' or 'dapr-namespace' requires backend-id=\"dapr\"")
            return nil
        }
        for required in ["dapr-app-id", "dapr-method"] where reader.element.attribute(required) == nil {
            reader.error("\(reader.tag) with backend-id=\"dapr\" requires the attribute '\(required)'")
        }
        if !serviceFabric.isEmpty { reader.error("\(reader.tag) with backend-id=\"dapr\" takes no Service Fabric ('sf-*') attributes") }
        guard let appID = reader.string("dapr-app-id"), let method = reader.string("dapr-method"), reader.isValid else { return nil }
        let namespace = reader.element.attribute("dapr-namespace") == nil ? nil : reader.string("dapr-namespace")
        return .setBackendService(SetBackendServicePolicy(target: .dapr(appID: appID, method: method, namespace: namespace), serviceFabric: [:]))
    }
}

// MARK: Run

extension SetBackendServicePolicy {
    /// `base-url`: the backend base URL for `forward-request`.
    struct BaseURLStep: SynchronousPolicyStep {
        let url: RuntimeParameter<URL>

        func run(_ execution: PolicyExecution, _ step: CompiledStep) throws -> Flow {
            let state = execution.state
            state.backendBase = try execution.url(url, step)
            execution.daprInvocation = false
            state.record(.info, "backend base URL \(state.backendBase?.absoluteString ?? "")")
            return .proceed
        }
    }

    /// `backend-id`: the base URL of a configured backend entity.
    struct BackendIDStep: SynchronousPolicyStep {
        let id: RuntimeParameter<String>

        func run(_ execution: PolicyExecution, _ step: CompiledStep) throws -> Flow {
            let id = try execution.string(id, step)
            guard let url = execution.options.backends[id] else {
                throw PolicyFailure.generic(step.name, reason: "BackendNotFound", "No backend with the id '\(id)' is configured.")
            }
            execution.state.backendBase = url
            execution.daprInvocation = false
            execution.state.record(.info, "backend '\(id)' at \(url.absoluteString)")
            return .proceed
        }
    }

    /// The Dapr form: the backend becomes the sidecar's service invocation URL for the app and method;
    /// the operation path is replaced by the method (the query stays).
    struct DaprStep: SynchronousPolicyStep {
        let appID: RuntimeParameter<String>
        let method: RuntimeParameter<String>
        let namespace: RuntimeParameter<String>?

        func run(_ execution: PolicyExecution, _ step: CompiledStep) throws -> Flow {
            var app = try execution.daprSegment(try execution.string(appID, step), "dapr-app-id", step)
            if let namespace { app += "." + (try execution.daprSegment(try execution.string(namespace, step), "dapr-namespace", step)) }
            let methodText = try execution.string(method, step)
            guard let methodPath = DaprSidecar.methodPath(methodText) else {
                throw PolicyFailure.expression(
                    step.name, "The dapr-method '\(ErrorBody.escape(String(methodText.prefix(80))))' is not a usable Dapr method (empty, with an empty or dot segment, or too long).")
            }
            let urlText = DaprSidecar.url(execution.options.daprSidecar, "/v1.0/invoke/\(app)/method/\(methodPath)")
            guard let url = URL(string: urlText) else {
                throw PolicyFailure.expression(step.name, "'\(urlText)' is not a URL.")
            }
            let state = execution.state
            state.backendBase = url
            state.operationPath = ""
            execution.daprInvocation = true
            state.record(.info, "backend: Dapr service invocation \(url.absoluteString)")
            return .proceed
        }
    }

    func compile(_ compiler: inout StepCompiler, _ statement: PolicyStatement) -> (any SynchronousPolicyStep)? {
        switch target {
        case .dapr(let appID, let method, let namespace):
            guard let appID = compiler.parameter(appID), let method = compiler.parameter(method) else { return nil }
            var ns: RuntimeParameter<String>? = nil
            if let namespace {
                guard let made = compiler.parameter(namespace) else { return nil }
                ns = made
            }
            return DaprStep(appID: appID, method: method, namespace: ns)
        case .baseURL(let url):
            if !serviceFabric.isEmpty {
                compiler.unsupported(statement, "Service Fabric attributes of '<set-backend-service>' are not supported")
                return nil
            }
            return compiler.parameter(url).map { BaseURLStep(url: $0) }
        case .backendID(let id):
            if let literal = id.constant, compiler.backends[literal] == nil {
                let known = compiler.backends.keys.sorted()
                compiler.diagnostics.append(
                    PolicyDiagnostic(
                        at: statement.position,
                        "unknown backend-id '\(literal)' in '<set-backend-service>'"
                            + (known.isEmpty ? " (no backends are configured)" : "; configured: \(known.joined(separator: ", "))")))
                return nil
            }
            return compiler.parameter(id).map { BackendIDStep(id: $0) }
        }
    }
}
