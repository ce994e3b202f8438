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

    /// A whole response in one write and one flush (one TLS record batch, one syscall) instead of
    /// three: used for answers whose body is already in hand.
    func writeWhole(_ head: HTTPResponse, body: ByteBuffer) async throws {
        if body.readableBytes > 0 {
            try await outbound.write(contentsOf: [.head(head), .body(body), .end(nil)])
        } else {
            try await outbound.write(contentsOf: [.head(head), .end(nil)])
        }
    }

    /// Backend bodies up to this size (declared by Content-Length) are read whole and written with
    /// their head in one go; larger or unsized ones stream.
    static let wholeBodyLimit = 64 << 10

    func writeHead(_ head: HTTPResponse) async throws { try await outbound.write(.head(head)) }
    func writeBody(_ buffer: ByteBuffer) async throws { try await outbound.write(.body(buffer)) }
    func writeEnd(_ trailers: HTTPFields? = nil) async throws { try await outbound.write(.end(trailers)) }

    func writeContinue() async throws {
        try await outbound.write(.head(HTTPResponse(status: .continue)))
    }
}
