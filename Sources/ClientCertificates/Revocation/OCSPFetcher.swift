/// Sends a DER OCSP request to a responder URL (HTTP POST, `application/ocsp-request`) and returns
/// the DER response. The gateway implements it with its HTTP client; tests use a fake.
/// Implementations must bound the response size and honour `timeout`.
public protocol OCSPFetcher: Sendable {
    func fetchOCSP(request: [UInt8], from url: String, timeout: Duration) async throws -> [UInt8]
}

/// Why no OCSP response could be had.
public struct OCSPFetchError: Error, Sendable, Hashable, CustomStringConvertible {
    public let url: String
    public let message: String

    public init(url: String, message: String) {
        self.url = url
        self.message = message
    }

    public var description: String { "the OCSP responder \(url) gave no answer: \(message)" }
}
