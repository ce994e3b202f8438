import ClientCertificates
import NIOCore
import NIOHTTP1

/// Asks OCSP responders (http:// only, as authorityInfoAccess names them) with the gateway's pooled
/// backend client: HTTP POST of the DER request (RFC 6960 Appendix A.1), size-capped answer.
struct HTTPOCSPFetcher: OCSPFetcher {
    let forwarder: BackendForwarder
    let maxBytes: Int

    func fetchOCSP(request: [UInt8], from url: String, timeout: Duration) async throws -> [UInt8] {
        guard url.lowercased().hasPrefix("http://"), let target = BackendTarget(url) else {
            throw OCSPFetchError(url: url, message: "only http:// responders are asked")
        }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/ocsp-request")
        headers.add(name: "Accept", value: "application/ocsp-response")
        let body = ByteBuffer(bytes: request)
        let head = BackendForwarder.requestHead(method: "POST", uri: target.requestTarget, headers: headers,
                                                hostHeader: target.hostHeader, body: .bytes(body), declaredLength: nil)
        let seconds = min(max(timeout.components.seconds, 0), 86_400)
        let milliseconds = max(100, seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        let answer: BackendAnswer
        do {
            // (Not the request's backend: its access-log record does not see OCSP exchanges.)
            answer = try await AccessLogRecord.$current.withValue(nil) {
                try await forwarder.exchange(tls: false, host: target.host, port: target.port, head: head, body: .bytes(body),
                                             timeout: .milliseconds(milliseconds))
            }
        } catch {
            throw OCSPFetchError(url: url, message: "\(error)")
        }
        guard answer.head.status == .ok else {
            throw OCSPFetchError(url: url, message: "HTTP status \(answer.head.status.code)")
        }
        return try await answer.body.collect(upTo: maxBytes) {
            OCSPFetchError(url: url, message: "the response is larger than \(maxBytes) bytes")
        }
    }
}
