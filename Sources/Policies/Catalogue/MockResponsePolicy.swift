import PolicyExpressions

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

// MARK: Run

extension MockResponsePolicy {
    struct Step: SynchronousPolicyStep {
        let status: Int
        let contentType: String

        func run(_ execution: PolicyExecution, _ step: CompiledStep) throws -> Flow {
            let state = execution.state
            state.status = status
            state.reason = HTTPReason.phrase(status)
            state.responseHeaders = [PolicyHeader("Content-Type", contentType)]
            state.responseBody = MessageBodyObject([])
            state.backendBody = nil
            state.record(.info, "mock-response \(status)")
            return .stop
        }
    }

    func compile(_ compiler: inout StepCompiler) -> (any SynchronousPolicyStep)? {
        Step(status: statusCode, contentType: contentType)
    }
}
