import Foundation

/// What `rate-limit` and `quota` share: their `<api>`/`<operation>` children, and the counter keys
/// of a subscription.
struct SubscriptionLimit: Sendable {
    /// Which API or operation a child limits (by `name` or `id`; here both are the configured name).
    enum Target: Sendable {
        case all
        case api(String)
        case operation(api: String, operation: String)
    }

    let target: Target
    let calls: Int?
    /// Kilobytes (`quota` only).
    let bandwidth: Int?
    let renewalPeriod: Int

    func applies(to identity: PolicyAPIIdentity) -> Bool {
        switch target {
        case .all: true
        case .api(let api): identity.apiName == api || identity.apiId == api
        case .operation(let api, let operation):
            (identity.apiName == api || identity.apiId == api)
                && (identity.operationName == operation || identity.operationId == operation)
        }
    }

    var label: String {
        switch target {
        case .all: ""
        case .api(let api): "|api:" + api
        case .operation(let api, let operation): "|api:" + api + "|operation:" + operation
        }
    }

    /// The counter of one limit for the request's subscription. Keyed by policy, scope, the owner of
    /// the document (product, API, operation), the statement's path and the subscription id — not by
    /// the document's file, so that the counts survive an edit of the policy and any other reload.
    /// Requests without a subscription share one counter (they are limited together, not unlimited).
    static func counterKey(_ step: CompiledStep, state: RequestState, limit: SubscriptionLimit) -> String {
        let owner: String
        switch step.scope {
        case .global, .workspace: owner = ""
        case .product: owner = state.product?.id ?? ""
        case .api: owner = state.identity.apiName
        case .operation: owner = state.identity.apiName + "|" + state.identity.operationName
        }
        let subscription = state.subscription.map { "subscription:" + $0.id } ?? "anonymous"
        return "\(step.name)|\(step.scope)|\(owner)|\(step.path)\(limit.label)|\(subscription)"
    }

    static func apiSchema(_ policy: String, bandwidth: Bool) -> PolicySchema {
        PolicySchema("api", attributes: attributes(bandwidth: bandwidth), children: .elements(["operation"]))
    }

    static func operationSchema(_ policy: String, bandwidth: Bool) -> PolicySchema {
        PolicySchema("operation", attributes: attributes(bandwidth: bandwidth))
    }

    private static func attributes(bandwidth: Bool) -> [PolicyAttributeSpec] {
        var attributes = [
            PolicyAttributeSpec("name", .nonEmptyText, expressions: false),
            PolicyAttributeSpec("id", .nonEmptyText, expressions: false),
            PolicyAttributeSpec("calls", .integer(1...Int.max), required: !bandwidth, expressions: false),
            PolicyAttributeSpec("renewal-period", .integer(bandwidth ? 0...Int.max : 1...300), required: true, expressions: false),
        ]
        if bandwidth { attributes.append(PolicyAttributeSpec("bandwidth", .integer(1...Int.max), expressions: false)) }
        return attributes
    }

    /// The `<api>` children and their `<operation>` children of a `rate-limit` or `quota` element.
    static func children(_ reader: PolicyElementReader, bandwidth: Bool) -> [SubscriptionLimit]? {
        var limits: [SubscriptionLimit] = []
        var valid = true
        func limit(_ child: PolicyElementReader, _ target: (String) -> Target) -> SubscriptionLimit? {
            guard let name = child.literal("name") ?? child.literal("id") else {
                child.error("\(child.tag) needs 'name' or 'id'")
                return nil
            }
            let calls = child.integer("calls")?.constant
            let kilobytes = bandwidth ? child.integer("bandwidth")?.constant : nil
            if bandwidth, child.element.attribute("calls") == nil, child.element.attribute("bandwidth") == nil {
                child.error("\(child.tag) requires 'calls', 'bandwidth' or both")
                return nil
            }
            guard let period = child.integer("renewal-period")?.constant, child.isValid else { return nil }
            return SubscriptionLimit(target: target(name), calls: calls, bandwidth: kilobytes, renewalPeriod: period)
        }
        for apiReader in reader.children(named: "api", apiSchema(reader.element.name, bandwidth: bandwidth)) {
            guard let api = limit(apiReader, { .api($0) }) else { valid = false; continue }
            guard case .api(let apiName) = api.target else { continue }
            limits.append(api)
            for operationReader in apiReader.children(named: "operation", operationSchema(reader.element.name, bandwidth: bandwidth)) {
                guard let operation = limit(operationReader, { .operation(api: apiName, operation: $0) }) else { valid = false; continue }
                limits.append(operation)
            }
        }
        return valid ? limits : nil
    }
}
