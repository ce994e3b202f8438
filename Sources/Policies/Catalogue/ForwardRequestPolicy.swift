/// `<forward-request/>`: calls the backend. Defaults as documented by APIM.
public struct ForwardRequestPolicy: Sendable, PolicyDefinition {
    public enum HTTPVersion: String, Sendable, Hashable {
        case http1 = "1"
        case http2 = "2"
        case http2OrHTTP1 = "2or1"
    }

    /// Seconds to wait for the backend's response headers (APIM: 300).
    public let timeout: PolicyParameter<Int>
    public let followRedirects: PolicyParameter<Bool>
    public let bufferRequestBody: PolicyParameter<Bool>
    public let bufferResponse: PolicyParameter<Bool>
    /// When true, a 4xx/5xx backend answer becomes an error handled by `on-error`.
    public let failOnErrorStatusCode: PolicyParameter<Bool>
    public let httpVersion: HTTPVersion

    static let schema = PolicySchema(
        "forward-request", sections: [.backend],
        attributes: [
            PolicyAttributeSpec("timeout", .integer(0...240_000), default: "300"),
            PolicyAttributeSpec("follow-redirects", .boolean, default: "false"),
            PolicyAttributeSpec("buffer-request-body", .boolean, default: "false"),
            PolicyAttributeSpec("buffer-response", .boolean, default: "true"),
            PolicyAttributeSpec("fail-on-error-status-code", .boolean, default: "false"),
            PolicyAttributeSpec("http-version", .choice(["1", "2", "2or1"]), default: "1", expressions: false),
        ])

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        guard let timeout = reader.integer("timeout"), let followRedirects = reader.boolean("follow-redirects"),
            let bufferRequestBody = reader.boolean("buffer-request-body"), let bufferResponse = reader.boolean("buffer-response"),
            let failOnError = reader.boolean("fail-on-error-status-code"),
            let httpVersion = reader.literal("http-version").flatMap(HTTPVersion.init(rawValue:))
        else { return nil }
        return .forwardRequest(
            ForwardRequestPolicy(
                timeout: timeout, followRedirects: followRedirects, bufferRequestBody: bufferRequestBody,
                bufferResponse: bufferResponse, failOnErrorStatusCode: failOnError, httpVersion: httpVersion))
    }
}
