import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Writes one response on a stream (HTTP/2) or connection (HTTP/1.1). Writes suspend while the
/// client is slow to read: back-pressure from client to backend.
struct ResponseWriter: Sendable {
    let outbound: NIOAsyncChannelOutboundWriter<HTTPResponsePart>

    func write(_ error: GatewayError, extraFields: HTTPFields = HTTPFields()) async throws {
        var (head, body) = error.response()
        for field in extraFields { head.headerFields.append(field) }
        try await outbound.write(contentsOf: [.head(head), .body(body), .end(nil)])
    }

    func writeHead(_ head: HTTPResponse) async throws { try await outbound.write(.head(head)) }
    func writeBody(_ buffer: ByteBuffer) async throws { try await outbound.write(.body(buffer)) }
    func writeEnd(_ trailers: HTTPFields? = nil) async throws { try await outbound.write(.end(trailers)) }

    func writeContinue() async throws {
        try await outbound.write(.head(HTTPResponse(status: .continue)))
    }
}
