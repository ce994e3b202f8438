import Logging

/// The access log line of one request (`accessLog: true`), the same for HTTP/1.1 and HTTP/2.
/// Client-supplied text is escaped.
enum AccessLog {
    static func write(_ logger: Logger, method: String, path: String, status: Int?, elapsed: Duration,
                      protocolName: String, connection: ConnectionInfo) {
        let millis = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        var metadata: Logger.Metadata = [
            "method": "\(LogText.escape(method))",
            "path": "\(LogText.escape(path))",
            "status": "\(status.map(String.init) ?? "aborted")",
            "duration_ms": "\(Double(Int(millis * 1000)) / 1000)",
            "protocol": "\(protocolName)",
            "host": "\(connection.hostname.name)",
        ]
        if let thumbprint = connection.clientThumbprint {
            metadata["client_cert"] = "\(thumbprint)"
        }
        logger.info("request", metadata: metadata)
    }
}
