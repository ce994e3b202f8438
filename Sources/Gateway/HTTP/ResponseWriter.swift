import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Writes one response on a stream (HTTP/2) or connection (HTTP/1.1). Writes suspend while the
/// client is slow to read: back-pressure from client to backend.
struct ResponseWriter: Sendable {
    enum Sink: Sendable {
        /// A connection (HTTP/1.1) whose handler handed this request to a task.
        case channel(ChannelResponseSink)
        /// An HTTP/2 stream whose request went to a task.
        case http2(HTTP2StreamSink)
    }

    let sink: Sink

    init(channel: ChannelResponseSink) {
        self.sink = .channel(channel)
    }

    init(http2: HTTP2StreamSink) {
        self.sink = .http2(http2)
    }

    private func write(_ parts: [HTTPResponsePart]) async throws {
        switch sink {
        case .channel(let channel): try await channel.write(parts)
        case .http2(let stream): try await stream.write(parts)
        }
    }

    func write(_ error: GatewayError, extraFields: HTTPFields = HTTPFields()) async throws {
        var (head, body) = error.response(activityId: AccessLogRecord.current?.requestId)  // Operations: request id in 5xx bodies
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
            try await write([.head(head), .body(body), .end(nil)])
        } else {
            try await write([.head(head), .end(nil)])
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

    func writeHead(_ head: HTTPResponse) async throws { try await write([.head(head)]) }
    func writeBody(_ buffer: ByteBuffer) async throws { try await write([.body(buffer)]) }
    func writeEnd(_ trailers: HTTPFields? = nil) async throws { try await write([.end(trailers)]) }

    func writeContinue() async throws {
        try await write([.head(HTTPResponse(status: .continue))])
    }
}

/// The response side of an HTTP/1.1 connection for a request served by a task: a batch of parts
/// per call with one flush, in NIOHTTP1's form (that connection's one representation). A call
/// returns once its parts are queued while the channel is writable, and waits for them to reach the
/// socket when it is not (back-pressure). (HTTP/2 streams write through `HTTP2StreamSink`.)
struct ChannelResponseSink: Sendable {
    let channel: any Channel

    func write(_ parts: [HTTPResponsePart]) async throws {
        guard !parts.isEmpty else { return }
        let promise = channel.eventLoop.makePromise(of: Void.self)
        let channel = self.channel
        let body: @Sendable () -> Void = {
            for (index, part) in parts.enumerated() {
                let converted = Self.convert(part)
                if index == parts.count - 1 {
                    channel.writeAndFlush(converted, promise: promise)
                } else {
                    channel.write(converted, promise: nil)
                }
            }
        }
        if channel.eventLoop.inEventLoop { body() } else { channel.eventLoop.execute(body) }
        if channel.isWritable, channel.isActive {
            // Queued; a failure shows on the next write (the channel closes) or in the handler.
            return
        }
        try await promise.futureResult.get()
    }

    /// swift-http-types → NIOHTTP1, keeping a response's own reason phrase (APIM's
    /// `<set-status reason="…">`), unless it holds control characters.
    static func convert(_ part: HTTPResponsePart) -> HTTPServerResponsePart {
        switch part {
        case .head(let response): return .head(http1Head(response))
        case .body(let buffer): return .body(.byteBuffer(buffer))
        case .end(let trailers): return .end(trailers.map { HTTPHeaders($0) })
        }
    }

    static func http1Head(_ response: HTTPResponse) -> HTTPResponseHead {
        var headers = HTTPHeaders()
        headers.reserveCapacity(response.headerFields.count)
        for field in response.headerFields { headers.add(name: field.name.rawName, value: field.value) }
        return HTTPResponseHead(version: .http1_1, status: status(response.status), headers: headers)
    }

    static func status(_ status: HTTPResponse.Status) -> HTTPResponseStatus {
        let standard = HTTPResponseStatus(statusCode: status.code)
        let phrase = status.reasonPhrase
        if phrase.isEmpty || phrase == standard.reasonPhrase
            || phrase.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            return standard
        }
        return .custom(code: UInt(status.code), reasonPhrase: phrase)
    }
}

/// A backend sent more body than its Content-Length declared.
struct RelayedBodyTooLong: Error, CustomStringConvertible {
    let declaredLength: Int
    var description: String { "the backend sent more than its declared \(declaredLength) bytes" }
}
