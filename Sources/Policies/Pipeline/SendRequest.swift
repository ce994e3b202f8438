import Foundation
import PolicyExpressions

/// `send-request`: a side call through the embedder's backend; the answer is stored as an
/// `IResponse` in `context.Variables[response-variable-name]` (null when it failed and
/// `ignore-error` is true).
extension PolicyExecution {
    func sendRequest(_ spec: CompiledStep.SendRequest, _ step: CompiledStep) async throws {
        let mode = try string(spec.mode, step).lowercased()
        guard mode == "new" || mode == "copy" else { throw PolicyFailure.expression(step.name, "'\(mode)' is not 'new' or 'copy'.") }
        let copy = mode == "copy"
        var method = copy ? state.method : "GET"
        var headers = copy ? state.requestHeaders : []
        var body: [UInt8] = []
        if copy {
            try await loadRequestBody()
            body = state.requestBody?.bytes ?? []
        }
        var urlText = copy ? state.url.text : ""
        if let url = spec.url { urlText = try string(url, step).trimmingCharacters(in: .whitespacesAndNewlines) }
        guard let url = URL(string: urlText), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https", url.host != nil
        else { throw PolicyFailure.expression(step.name, "'\(urlText)' is not an absolute http(s) URL.") }
        if let given = spec.method {
            method = try string(given, step).trimmingCharacters(in: .whitespaces).uppercased()
            guard SetMethodPolicy.isToken(method) else { throw PolicyFailure.expression(step.name, "'\(method)' is not a valid HTTP method.") }
        }
        for header in spec.headers {
            let (name, action, values) = try evaluated(header, step)
            try checkHeaderField(name: name, values: values, step)
            edit(&headers, name: name, action: action, values: values)
        }
        if case .some(let given) = spec.body {
            switch given {
            case .none: body = []
            case .constant(let text)?: body = Array(text.utf8)
            case .expression(let expression)?: body = ValueConversion.bytes(try evaluate(expression, step))
            }
        }
        HeaderList.remove(&headers, "Content-Length")
        HeaderList.remove(&headers, "Transfer-Encoding")
        let clientCertificate = try spec.certificate.map { try certificate($0, step) }
        let timeout = try int(spec.timeout, step, in: 1...240_000)
        let ignoreError = try bool(spec.ignoreError, step)
        state.record(.backend, "send-request \(method) \(url.absoluteString)")
        do {
            let response = try await Self.send(
                BackendRequest(
                    method: method, url: url, headers: headers, body: .bytes(body), timeout: .seconds(timeout), followRedirects: false,
                    clientCertificate: clientCertificate),
                to: backend)
            let bytes = try await response.body?.collect(upTo: options.maximumBodyBytes) ?? []
            let side = RequestState(request: PolicyRequest(method: method, host: url.host ?? "", path: url.path), deployment: state.deployment, tracing: false)
            side.status = response.status
            side.reason = response.reason
            side.responseHeaders = response.headers
            side.responseBody = MessageBodyObject(bytes)
            state.variables.set(.string(spec.variable), .object(ResponseObject(state: side)))
            state.record(.backend, "send-request answered \(response.status) \(response.reason)")
        } catch {
            let reason = (error as? PolicyBackendError) == .timeout ? "Timeout" : "BackendConnectionFailure"
            guard ignoreError else {
                throw PolicyFailure.generic(step.name, reason: reason, "The side request to \(url.absoluteString) failed: \(error)")
            }
            state.variables.set(.string(spec.variable), .null)
            state.record(.backend, "send-request failed (ignored): \(error)")
        }
    }
}
