import Foundation
import NIOCore
import NIOHTTP1
import Policies

/// Fetches `validate-jwt` `<openid-config>` documents (the OpenID configuration and its JWKS) with
/// the gateway's pooled backend client: http or https (the backend TLS settings: system roots or
/// `backend.trustedCAFiles`). Fail closed: anything but a 200 within the deadline and the size
/// limit is an error, and the policy's key cache (`OpenIDKeys`) then serves no new key.
///
/// The whole exchange — head and body — is bounded by `timeout`: the pooled client's own deadline
/// covers only the wait for the response head, so a server that sends a head and then keeps the
/// connection open without finishing the body (an HTTP/1.1 answer with neither Content-Length nor
/// chunking, which only the close would end) would otherwise hold the fetch, and every request
/// waiting for those keys, for ever.
struct HTTPKeyDocumentFetcher: PolicyKeyDocumentFetching {
    let forwarder: BackendForwarder
    let timeout: Duration

    enum Failure: Error, CustomStringConvertible {
        case url(String)
        case status(Int)
        case tooLarge(Int)
        case timedOut(Duration)

        var description: String {
            switch self {
            case .url(let url): "'\(url)' is not an http(s) URL"
            case .status(let code): "HTTP status \(code)"
            case .tooLarge(let limit): "the document is larger than \(limit) bytes"
            case .timedOut(let timeout): "no complete answer within \(timeout)"
            }
        }
    }

    func fetch(_ url: URL, limit: Int) async throws -> [UInt8] {
        guard let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https", let target = BackendTarget(url) else {
            throw Failure.url(url.absoluteString)
        }
        let timeout = self.timeout
        return try await withThrowingTaskGroup(of: [UInt8]?.self) { group in
            group.addTask { try await self.download(target, tls: scheme == "https", limit: limit) }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let bytes = first else { throw Failure.timedOut(timeout) }
            return bytes
        }
    }

    private func download(_ target: BackendTarget, tls: Bool, limit: Int) async throws -> [UInt8] {
        var headers = HTTPHeaders()
        headers.add(name: "Accept", value: "application/json")
        let head = BackendForwarder.requestHead(method: "GET", uri: target.requestTarget, headers: headers,
                                                hostHeader: target.hostHeader, body: .none, declaredLength: nil)
        let (seconds, attoseconds) = timeout.components
        let milliseconds = max(100, min(seconds, 3600) * 1000 + attoseconds / 1_000_000_000_000_000)
        // (Not the request's backend: its access-log record does not see key downloads.)
        let answer = try await AccessLogRecord.$current.withValue(nil) {
            try await forwarder.exchange(tls: tls, host: target.host, port: target.port, head: head, body: .none,
                                         timeout: .milliseconds(milliseconds))
        }
        guard answer.head.status == .ok else { throw Failure.status(Int(answer.head.status.code)) }
        return try await answer.body.collect(upTo: limit) { Failure.tooLarge(limit) }
    }
}
