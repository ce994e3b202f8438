/// `<return-response>`: ends the pipeline and answers with the given (or a stored) response.
public struct ReturnResponsePolicy: Sendable, PolicyDefinition {
    /// A variable holding a response (from `send-request`) to start from.
    public let responseVariableName: String?
    public let status: SetStatusPolicy?
    public let headers: [SetHeaderPolicy]
    public let body: SetBodyPolicy?

    static let schema = PolicySchema(
        "return-response",
        attributes: [PolicyAttributeSpec("response-variable-name", .nonEmptyText, expressions: false)],
        children: .elements(["set-status", "set-header", "set-body"]))

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        reader.atMostOne("set-status")
        reader.atMostOne("set-body")
        var status: SetStatusPolicy? = nil
        var headers: [SetHeaderPolicy] = []
        var body: SetBodyPolicy? = nil
        for statement in reader.policies(named: ["set-status", "set-header", "set-body"]) {
            switch statement.policy {
            case .setStatus(let policy): status = policy
            case .setHeader(let policy): headers.append(policy)
            case .setBody(let policy): body = policy
            default: break
            }
        }
        return .returnResponse(
            ReturnResponsePolicy(responseVariableName: reader.literal("response-variable-name"), status: status, headers: headers, body: body))
    }
}
