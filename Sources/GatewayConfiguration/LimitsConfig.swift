/// Protective limits against hostile or broken clients. Defaults are documented in the README.
public struct LimitsConfig: Sendable, Equatable {
    /// Total bytes of all request header names and values (431 above it).
    public var maxHeaderBytes: Int = 32 * 1024
    /// Number of request header fields (431 above it).
    public var maxHeaderCount: Int = 100
    /// Length of the request target (414 above it).
    public var maxRequestTargetBytes: Int = 8 * 1024
    /// Seconds a client may take to send a complete request head once it started one (408).
    public var headerReadTimeout: Double = 10
    /// Seconds a request body may pause between two reads while the gateway is ready to read more
    /// (408, or the connection closed once a response has started). Time the gateway itself holds
    /// reading back (back-pressure from a slow backend) does not count.
    public var bodyReadTimeout: Double = 10
    /// Seconds an idle keep-alive connection is kept open.
    public var idleTimeout: Double = 60
    /// Seconds an upgraded (WebSocket) connection may pass without a byte either way.
    public var tunnelIdleTimeout: Double = 600
    /// Seconds a client may take to complete the TLS handshake.
    public var handshakeTimeout: Double = 10
    /// Concurrent client connections; further connections are closed at once.
    public var maxConnections: Int = 10_000
    /// Concurrent HTTP/2 streams per connection.
    public var maxConcurrentStreams: Int = 100
    /// Seconds in-flight requests get to finish after SIGTERM/SIGINT.
    public var drainGracePeriod: Double = 30

    public init() {}
}
