import HTTPTypes
import NIOHTTPTypes

/// Where a request body's parts come from: an HTTP/2 stream's inbound stream, or the HTTP/1.1
/// connection handler feeding a request served by a task. One reader at a time (`RequestBody`
/// enforces it).
protocol RequestPartSource: Sendable {
    func next() async throws -> HTTPRequestPart?
}
