import PolicyExpressions

/// `<cross-domain><cross-domain-policy>…</cross-domain-policy></cross-domain>` (global scope,
/// inbound): a `GET /crossdomain.xml` is answered with that Adobe cross-domain policy document
/// (`200`, `application/xml`) and goes no further; other requests pass. The requests it sees are
/// those routed to an API (an API at `/` receives `/crossdomain.xml`).
public struct CrossDomainPolicy: Sendable, PolicyDefinition {
    public let document: String

    static let schema = PolicySchema("cross-domain", sections: [.inbound], children: .markup)

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        if reader.context.scope != .global {
            reader.error("'<cross-domain>' is only allowed in the global scope")
            return nil
        }
        let roots = reader.element.childElements
        guard roots.count == 1, roots[0].name == "cross-domain-policy", case .constant(let markup)? = reader.text else {
            reader.error("'<cross-domain>' must hold one '<cross-domain-policy>' element")
            return nil
        }
        return .crossDomain(CrossDomainPolicy(document: "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n" + markup))
    }
}

// MARK: Run

extension CrossDomainPolicy {
    struct Step: SynchronousPolicyStep {
        let document: [UInt8]

        func run(_ execution: PolicyExecution, _ step: CompiledStep) throws -> Flow {
            let state = execution.state
            guard state.method == "GET", state.originalPath.lowercased() == "/crossdomain.xml" else { return .proceed }
            state.status = 200
            state.reason = "OK"
            state.responseHeaders = [PolicyHeader("Content-Type", "application/xml")]
            state.responseBody = MessageBodyObject(document)
            state.backendBody = nil
            return .stop
        }
    }

    func compile(_ compiler: inout StepCompiler) -> (any SynchronousPolicyStep)? { Step(document: Array(document.utf8)) }
}
