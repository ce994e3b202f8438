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
