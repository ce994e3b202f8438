import ClientCertificates
import NIOCore
import NIOHTTP1

/// Fetches CRLs from distribution points (http:// only, as RFC 5280 CDPs are) with the gateway's
/// pooled backend client; size-capped so a hostile distribution point cannot exhaust memory.
struct HTTPCRLFetcher: CRLFetcher {
    let forwarder: BackendForwarder
    let maxBytes: Int

    func fetchCRL(from url: String, timeout: Duration) async throws -> [UInt8] {
        guard url.lowercased().hasPrefix("http://"), let target = BackendTarget(url) else {
            throw CRLFetchError.transport(url: url, message: "only http:// distribution points are fetched")
        }
        let head = BackendForwarder.requestHead(method: "GET", uri: target.requestTarget, headers: HTTPHeaders(),
                                                hostHeader: target.hostHeader, body: .none, declaredLength: nil)
        let milliseconds = max(1000, min(timeout.components.seconds, 86_400) * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        let answer: BackendAnswer
        do {
            // (Not the request's backend: its access-log record does not see CRL downloads.)
            answer = try await AccessLogRecord.$current.withValue(nil) {
                try await forwarder.exchange(tls: false, host: target.host, port: target.port, head: head, body: .none,
                                             timeout: .milliseconds(milliseconds))
            }
        } catch {
            throw CRLFetchError.transport(url: url, message: "\(error)")
        }
        guard answer.head.status == .ok else {
            throw CRLFetchError.transport(url: url, message: "HTTP status \(answer.head.status.code)")
        }
        return try await answer.body.collect(upTo: maxBytes) {
            CRLFetchError.transport(url: url, message: "the CRL is larger than \(maxBytes) bytes")
        }
    }
}
