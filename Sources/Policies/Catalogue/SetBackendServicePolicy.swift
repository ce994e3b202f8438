import Foundation

/// `<set-backend-service base-url="https://…"/>` or `backend-id="name"`: where `forward-request`
/// sends the request.
public struct SetBackendServicePolicy: Sendable, PolicyDefinition {
    public enum Target: Sendable {
        case baseURL(PolicyParameter<URL>)
        case backendID(PolicyParameter<String>)
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
        ] + serviceFabricAttributes.map { PolicyAttributeSpec($0) })

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
        if hasBaseURL {
            guard let url = reader.url("base-url") else { return nil }
            return .setBackendService(SetBackendServicePolicy(target: .baseURL(url), serviceFabric: serviceFabric))
        }
        guard let backendID = reader.string("backend-id") else { return nil }
        return .setBackendService(SetBackendServicePolicy(target: .backendID(backendID), serviceFabric: serviceFabric))
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
            execution.state.record(.info, "backend '\(id)' at \(url.absoluteString)")
            return .proceed
        }
    }

    func compile(_ compiler: inout StepCompiler, _ statement: PolicyStatement) -> (any SynchronousPolicyStep)? {
        switch target {
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
