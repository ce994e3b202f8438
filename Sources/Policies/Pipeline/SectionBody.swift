import PolicyExpressions

/// The message body a body-transforming policy works on: the request's in inbound and backend, the
/// response's in outbound and on-error (buffered before the section ran, because the policy
/// declared it reads it: `StepCompiler.readsMessageBody`).
extension PolicyExecution {
    var worksOnResponse: Bool { state.section == .outbound || state.section == .onError }

    /// The current body's bytes (nil: the message has no body, e.g. a GET without one).
    func sectionBody() -> [UInt8]? {
        worksOnResponse ? state.responseBody?.bytes : state.requestBody?.bytes
    }

    /// Replaces the current body; fails when the result is larger than the pipeline's body limit
    /// (a transformation must not grow memory without bound).
    func replaceSectionBody(_ bytes: [UInt8], _ step: CompiledStep) throws {
        guard bytes.count <= options.maximumBodyBytes else {
            throw PolicyFailure.generic(
                step.name, reason: "BodyTooLarge", "The transformed body would be larger than \(options.maximumBodyBytes) bytes.")
        }
        if worksOnResponse {
            state.responseBody = MessageBodyObject(bytes)
            state.backendBody = nil
        } else {
            state.requestBody = MessageBodyObject(bytes)
        }
    }

    /// Sets a header of the current message (replacing its values).
    func setSectionHeader(_ name: String, _ value: String) {
        var headers = worksOnResponse ? state.responseHeaders : state.requestHeaders
        HeaderList.remove(&headers, name)
        headers.append(PolicyHeader(name, value))
        if worksOnResponse { state.responseHeaders = headers } else { state.requestHeaders = headers }
    }
}
