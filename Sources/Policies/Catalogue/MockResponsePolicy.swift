/// `<mock-response status-code="200" content-type="application/json"/>`: answers with a sample
/// response and ends the pipeline.
public struct MockResponsePolicy: Sendable, PolicyDefinition {
    public let statusCode: Int
    public let contentType: String

    static let schema = PolicySchema(
        "mock-response", sections: [.inbound, .outbound, .onError],
        attributes: [
            PolicyAttributeSpec("status-code", .integer(100...599), default: "200", expressions: false),
            PolicyAttributeSpec("content-type", .nonEmptyText, default: "application/json", expressions: false),
        ])

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        guard let statusCode = reader.integer("status-code")?.constant, let contentType = reader.literal("content-type")
        else { return nil }
        return .mockResponse(MockResponsePolicy(statusCode: statusCode, contentType: contentType))
    }
}
