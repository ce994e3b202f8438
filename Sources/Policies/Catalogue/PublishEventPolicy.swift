import Foundation

/// `<publish-event><targets><graphql-subscription id="onUserCreated"/>…</targets></publish-event>`, in the
/// `<http-response>` of an `<http-data-source>` resolver only: the resolver's answer (its response body, as
/// JSON) is published as an event to each named subscription field of the API's schema (checked at load).
/// Drawbridge delivers events to the API's in-process subscribers (`GraphQLAPI.events`); the gateway has no
/// GraphQL WebSocket (graphql-ws) transport yet, so no client connection receives them (README, GraphQL APIs).
public struct PublishEventPolicy: Sendable, PolicyDefinition {
    public let targets: [String]

    static let schema = PolicySchema("publish-event", sections: [], children: .elements(["targets"]))
    static let targetsSchema = PolicySchema("targets", children: .elements(["graphql-subscription"]))
    static let subscriptionSchema = PolicySchema(
        "graphql-subscription", attributes: [PolicyAttributeSpec("id", .nonEmptyText, required: true, expressions: false)])

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        reader.atMostOne("targets")
        guard let targetsElement = reader.element.childElements.first(where: { $0.name == "targets" }) else {
            reader.error("'<publish-event>' requires '<targets>'")
            return nil
        }
        let targetsReader = reader.child(targetsElement, targetsSchema)
        let targets = targetsReader.children(named: "graphql-subscription", subscriptionSchema).compactMap { $0.literal("id") }
        if targets.isEmpty { targetsReader.error("'<targets>' requires at least one '<graphql-subscription id=\"…\">'") }
        guard reader.isValid else { return nil }
        return .publishEvent(PublishEventPolicy(targets: targets))
    }
}

extension PublishEventPolicy {
    struct Step: SynchronousPolicyStep {
        let targets: [String]

        func run(_ execution: PolicyExecution, _ step: CompiledStep) throws -> Flow {
            guard let events = execution.options.graphQL?.events else {
                throw PolicyFailure.generic(step.name, reason: "GraphQLSchemaMissing", "publish-event runs only in a resolver of a GraphQL API.")
            }
            let payload = String(decoding: execution.state.responseBody?.bytes ?? [], as: UTF8.self)
            for target in targets {
                let delivered = events.publish(GraphQLEvent(subscription: target, json: payload))
                execution.state.record(.info, "publish-event: '\(target)' to \(delivered) subscriber(s)")
            }
            return .proceed
        }
    }

    func compile(_ compiler: inout StepCompiler) -> (any SynchronousPolicyStep)? {
        Step(targets: targets)
    }
}
