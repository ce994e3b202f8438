import HTTPTypes

/// One request as the gateway's pipeline sees it, the same for HTTP/1.1 and HTTP/2.
public struct GatewayRequest: Sendable {
    public let head: HTTPRequest
    public let body: RequestBody
    public let connection: ConnectionInfo
    /// `HTTP/1.1` or `HTTP/2`.
    public let protocolName: String
}
