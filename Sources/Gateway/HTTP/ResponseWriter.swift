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
        try await writeWhole(head, body: body)
    }

    /// Answers with a gateway error: its status, or nil when the client has gone away.
    func answer(_ error: GatewayError) async -> Int? {
        AccessLogRecord.current?.noteReason(error.message)  // Operations: JSON access log reason
        do {
            try await write(error)
            return error.status.code
        } catch {
            return nil
        }
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

    /// Reading a relayed body failed before anything was written: the caller can still answer.
    struct RelayNotStarted: Error {
        let cause: any Error
    }

    /// Relays a backend's answer: a body declared at most `wholeBodyLimit` long is read whole and
    /// written with its head at once; any other streams through chunk by chunk, with back-pressure.
    func relay<Body: AsyncSequence>(_ head: HTTPResponse, body: Body, declaredLength: Int?) async throws
    where Body.Element == ByteBuffer {
        if let declaredLength, declaredLength <= Self.wholeBodyLimit {
            var whole = ByteBuffer()
            do {
                for try await chunk in body {
                    guard whole.readableBytes + chunk.readableBytes <= declaredLength else {
                        throw RelayedBodyTooLong(declaredLength: declaredLength)
                    }
                    whole.writeImmutableBuffer(chunk)
                }
            } catch {
                throw RelayNotStarted(cause: error)
            }
            try await writeWhole(head, body: whole)
            return
        }
        try await writeHead(head)
        for try await chunk in body { try await writeBody(chunk) }
        try await writeEnd()
    }

    func writeHead(_ head: HTTPResponse) async throws { try await outbound.write(.head(head)) }
    func writeBody(_ buffer: ByteBuffer) async throws { try await outbound.write(.body(buffer)) }
    func writeEnd(_ trailers: HTTPFields? = nil) async throws { try await outbound.write(.end(trailers)) }

    func writeContinue() async throws {
        try await outbound.write(.head(HTTPResponse(status: .continue)))
    }
}

/// A backend sent more body than its Content-Length declared.
struct RelayedBodyTooLong: Error, CustomStringConvertible {
    let declaredLength: Int
    var description: String { "the backend sent more than its declared \(declaredLength) bytes" }
}
