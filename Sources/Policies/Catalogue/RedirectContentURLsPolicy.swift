/// `<redirect-content-urls/>`: in outbound, every occurrence of the backend's base URL in the
/// response body becomes the gateway's URL for the API (scheme, host, port unless the default, API
/// path); in inbound, the other way round in the request body. Headers (`Location`) are left alone,
/// as in APIM. Ordinal, linear (`ByteReplacement`), bounded by the pipeline's body limit.
public struct RedirectContentURLsPolicy: Sendable, PolicyDefinition {
    static let schema = PolicySchema("redirect-content-urls", sections: [.inbound, .outbound])

    static func parse(_ reader: PolicyElementReader) -> Policy? { .redirectContentURLs(RedirectContentURLsPolicy()) }
}

// MARK: Run

extension RedirectContentURLsPolicy {
    struct Step: SynchronousPolicyStep {
        func run(_ execution: PolicyExecution, _ step: CompiledStep) throws -> Flow {
            let state = execution.state
            guard let backend = state.backendBase?.absoluteString, !backend.isEmpty else { return .proceed }
            let defaultPort = state.frontScheme.lowercased() == "https" ? 443 : 80
            let port = state.frontPort == defaultPort ? "" : ":\(state.frontPort)"
            let gateway = "\(state.frontScheme)://\(state.frontHost)\(port)\(state.apiPath)"
            let backendBase = backend.hasSuffix("/") ? String(backend.dropLast()) : backend
            let (from, to) = execution.worksOnResponse ? (backendBase, gateway) : (gateway, backendBase)
            guard !from.isEmpty, from != to, let body = execution.sectionBody(), !body.isEmpty else { return .proceed }
            guard let replaced = ByteReplacement.replacingAll(
                in: body, Array(from.utf8), with: Array(to.utf8), limit: execution.options.maximumBodyBytes)
            else {
                throw PolicyFailure.generic(
                    step.name, reason: "BodyTooLarge", "The body after rewriting URLs would be larger than \(execution.options.maximumBodyBytes) bytes.")
            }
            try execution.replaceSectionBody(replaced, step)
            return .proceed
        }
    }

    func compile(_ compiler: inout StepCompiler) -> (any SynchronousPolicyStep)? {
        compiler.readsMessageBody()
        return Step()
    }
}
