import Foundation
import GatewayConfiguration
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// One-shot HTTP/1.1 exchanges for the command line (`drawbridge admin …`), through the gateway's own
/// backend client.
///
/// Why not `URLSession`: on Linux it lives in FoundationNetworking, which links libcurl with its TLS,
/// Kerberos and LDAP libraries; any executable that uses it loads them at start — ≈ 6 MB resident in
/// every gateway process (measured with /proc/PID/smaps), for a client only the CLI needs.
public final class OneShotHTTPClient: Sendable {
    public struct Response: Sendable {
        public let status: Int
        public let headers: [(name: String, value: String)]
        public let body: [UInt8]

        /// The first value of a header (names compared case-insensitively).
        public func header(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }
    }

    public enum ClientError: Error, CustomStringConvertible {
        case invalidURL(String)
        case tooLarge(Int)

        public var description: String {
            switch self {
            case .invalidURL(let url): return "invalid URL \(url) (http:// or https:// with a host)"
            case .tooLarge(let limit): return "the response is larger than \(limit) bytes"
            }
        }
    }

    private let forwarder: BackendForwarder

    /// `trustedCAFiles`: PEM files trusted for https:// (the system's roots when empty).
    public init(trustedCAFiles: [String] = []) throws {
        var config = BackendConfig()
        config.trustedCAFiles = trustedCAFiles
        config.maxConnectionsPerHost = 4
        self.forwarder = try BackendForwarder(config: config, eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
                                              logger: Logger(label: "drawbridge.client"))
    }

    /// Sends one request and reads the whole answer (at most `maxBytes` of body).
    public func send(method: String, url: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
                     timeout: Duration = .seconds(30), maxBytes: Int = 64 << 20) async throws -> Response {
        guard let target = BackendTarget(url) else { throw ClientError.invalidURL(url) }
        var fields = HTTPHeaders()
        for (name, value) in headers { fields.add(name: name, value: value) }
        let requestBody: BackendRequestBody = body.map { .bytes(ByteBuffer(bytes: $0)) } ?? .none
        let head = BackendForwarder.requestHead(method: method, uri: target.requestTarget, headers: fields,
                                                hostHeader: target.hostHeader, body: requestBody,
                                                declaredLength: body.map { Int64($0.count) })
        let seconds = max(1, min(timeout.components.seconds, 86_400))
        let answer = try await AccessLogRecord.$current.withValue(nil) {
            try await forwarder.exchange(tls: target.isTLS, host: target.host, port: target.port, head: head,
                                         body: requestBody, timeout: .seconds(seconds))
        }
        let bytes = try await answer.body.collect(upTo: maxBytes) { ClientError.tooLarge(maxBytes) }
        return Response(status: Int(answer.head.status.code),
                        headers: answer.head.headers.map { (name: $0.name, value: $0.value) }, body: bytes)
    }

    public func shutdown() async {
        await forwarder.shutdown()
    }
}
