import PolicyExpressions

/// `context.GraphQL` of a resolver's run: the field's arguments and its parent's value as `JObject`s.
final class GraphQLContextObject: HostObject, @unchecked Sendable {
    let field: PolicyGraphQLField
    // Read when first used; the texts are the gateway's own JSON (an object each).
    private(set) lazy var arguments: JToken = Self.object(field.arguments)
    private(set) lazy var parent: JToken = Self.object(field.parent)
    var hostType: HostType { PolicyContextTypes.graphQL }

    init(_ field: PolicyGraphQLField) { self.field = field }

    static func object(_ text: String) -> JToken {
        guard let token = try? JToken.parse(json: text), case .object = token.storage else { return JToken.object() }
        return token
    }
}
