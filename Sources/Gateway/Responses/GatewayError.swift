import Foundation
import HTTPTypes
import NIOCore
import Policies

/// Responses the gateway itself produces, with APIM's JSON body `{"statusCode":N,"message":"..."}`.
public struct GatewayError: Sendable, Equatable {
    public let status: HTTPResponse.Status
    public let message: String

    public init(status: HTTPResponse.Status, message: String) {
        self.status = status
        self.message = message
    }

    public static let notFound = GatewayError(status: .notFound, message: "Resource not found")
    public static let misdirected = GatewayError(
        status: .misdirectedRequest,
        message: "Misdirected request: this connection was established for another host name")
    public static let badPath = GatewayError(status: .badRequest, message: "Bad request: malformed or dot-segment path")
    public static let invalidClientCertificate = GatewayError(status: .forbidden, message: "Invalid client certificate")
    public static let badGateway = GatewayError(status: .badGateway, message: "Bad gateway: the backend could not be reached")
    public static let gatewayTimeout = GatewayError(status: .gatewayTimeout, message: "Gateway timeout: the backend did not answer in time")
    public static let requestHeaderFieldsTooLarge = GatewayError(status: .requestHeaderFieldsTooLarge, message: "Request header fields too large")
    public static let uriTooLong = GatewayError(status: .uriTooLong, message: "Request URI too long")
    public static let requestTimeout = GatewayError(status: .requestTimeout, message: "Request timeout: the request head was not received in time")
    public static let badRequest = GatewayError(status: .badRequest, message: "Bad request")
    public static let missingHost = GatewayError(status: .badRequest, message: "Bad request: an HTTP/1.1 request needs one valid Host header")
    public static let badHost = GatewayError(status: .badRequest, message: "Bad request: malformed Host or :authority")
    public static let upgradeNeedsWaitingPolicies = GatewayError(
        status: .notImplemented,
        message: "Not implemented: WebSocket upgrades are served when the API's inbound policies run without waiting")
    public static let connectRefused = GatewayError(status: .methodNotAllowed, message: "Method not allowed: the gateway does not tunnel CONNECT")
    public static let bodyTimeout = GatewayError(status: .requestTimeout, message: "Request timeout: the request body stopped arriving")
    public static let serviceUnavailable = GatewayError(status: .serviceUnavailable, message: "Service unavailable: the gateway is shutting down")

    /// The JSON body, escaped so any message text stays valid JSON.
    public var body: String {
        String(decoding: ErrorBody.json(status: status.code, message: message, activityId: nil), as: UTF8.self)
    }

    /// - Parameter activityId: the request id (Operations: with `accessLog: json`), shown in a 5xx
    ///   body as the policy path's errors show it, so a client's error names its access-log line.
    func response(allocator: ByteBufferAllocator = ByteBufferAllocator(), activityId: UUID? = nil) -> (HTTPResponse, ByteBuffer) {
        let buffer = activityId != nil && status.code >= 500
            ? allocator.buffer(bytes: ErrorBody.json(status: status.code, message: message, activityId: activityId))
            : allocator.buffer(string: body)
        var fields = HTTPFields()
        fields[.contentType] = "application/json; charset=utf-8"
        fields[.contentLength] = String(buffer.readableBytes)
        return (HTTPResponse(status: status, headerFields: fields), buffer)
    }
}
