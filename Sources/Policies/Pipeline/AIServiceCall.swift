import Foundation

/// How the AI-gateway policies call the services behind a configured backend (Azure AI Content
/// Safety, an embeddings endpoint): a JSON POST through the gateway's backend client, with a
/// managed-identity token for Azure AI services when the gateway has a managed identity
/// (`policies.managedIdentityEndpoint`; APIM's backends authenticate with the instance's identity),
/// bounded in time and answer size.
enum AIServiceCall {
    static let timeout: Duration = .seconds(20)
    static let maximumAnswerBytes = 4 << 20
    /// The audience of managed-identity tokens for Azure AI services (Content Safety, Azure OpenAI).
    static let cognitiveServicesResource = "https://cognitiveservices.azure.com"

    enum Failure: Error {
        /// The service could not be reached, refused, or answered something unreadable.
        case unavailable(String)
        /// The service answered with this status.
        case status(Int, String)
    }

    /// The base URL of the backend `id` (nil when no backend has it).
    static func backend(_ id: String, _ execution: PolicyExecution) -> URL? { execution.options.backends[id] }

    /// `base` with `path` appended (keeping its query), as text.
    static func url(_ base: URL, appending path: String, query: String) -> String {
        var text = base.absoluteString
        var existingQuery = ""
        if let mark = text.firstIndex(of: "?") {
            existingQuery = String(text[text.index(after: mark)...])
            text = String(text[..<mark])
        }
        while text.hasSuffix("/") { text.removeLast() }
        text += path
        let queries = [existingQuery, query].filter { !$0.isEmpty }
        return queries.isEmpty ? text : text + "?" + queries.joined(separator: "&")
    }

    /// POSTs `payload` as JSON to `url` and returns the decoded JSON object of a 2xx answer.
    static func post(_ url: String, _ payload: [String: Any], _ execution: PolicyExecution) async throws(Failure) -> [String: Any] {
        guard let body = try? JSONSerialization.data(withJSONObject: payload) else { throw .unavailable("the request could not be encoded") }
        var headers = [PolicyHeader("Content-Type", "application/json"), PolicyHeader("Accept", "application/json")]
        if execution.options.managedIdentity != nil {
            let identity = AuthenticationManagedIdentityPolicy.Step(
                resource: .constant(cognitiveServicesResource), clientID: nil, output: nil, ignoreError: .constant(false))
            do {
                headers.append(PolicyHeader("Authorization", "Bearer " + (try await identity.fetch(cognitiveServicesResource, execution))))
            } catch {
                throw .unavailable("no managed identity token: \(error.message)")
            }
        }
        let request = BackendRequest(method: "POST", urlText: url, headers: headers, body: .bytes(Array(body)), timeout: timeout)
        let status: Int
        let bytes: [UInt8]
        do {
            let response = try await PolicyExecution.send(request, to: execution.backend)
            status = response.status
            bytes = try await response.body?.collect(upTo: maximumAnswerBytes) ?? []
        } catch {
            throw .unavailable("\(error)")
        }
        guard (200..<300).contains(status) else {
            throw .status(status, String(decoding: bytes.prefix(200), as: UTF8.self))
        }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] else {
            throw .unavailable("the answer is not a JSON object")
        }
        return object
    }

    /// The failure's text for logs and `context.LastError` (the service's words cut and escaped).
    static func describe(_ failure: Failure) -> String {
        switch failure {
        case .unavailable(let why): return why
        case .status(let status, let body):
            let shown = body.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : String($0) }.joined()
            return "the service answered \(status)" + (shown.isEmpty ? "" : ": \(shown)")
        }
    }
}
