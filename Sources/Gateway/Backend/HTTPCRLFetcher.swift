import AsyncHTTPClient
import ClientCertificates
import NIOCore

/// Fetches CRLs from distribution points (http:// only, as RFC 5280 CDPs are) with the gateway's
/// pooled client; size-capped so a hostile distribution point cannot exhaust memory.
struct HTTPCRLFetcher: CRLFetcher {
    let client: HTTPClient
    let maxBytes: Int

    func fetchCRL(from url: String, timeout: Duration) async throws -> [UInt8] {
        guard url.lowercased().hasPrefix("http://") else {
            throw CRLFetchError.transport(url: url, message: "only http:// distribution points are fetched")
        }
        let seconds = max(1, timeout.components.seconds)
        let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(seconds))
        guard response.status == .ok else {
            throw CRLFetchError.transport(url: url, message: "HTTP status \(response.status.code)")
        }
        let body = try await response.body.collect(upTo: maxBytes)
        return Array(body.readableBytesView)
    }
}
