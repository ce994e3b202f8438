import NIOHTTP1

/// Something mounted under `/admin` on the operations listener (the admin API of `GatewayAdmin`).
/// The listener hands it whole requests (body limited to `maxBodyBytes`) and writes its answer.
public protocol OperationsAdminHandler: Sendable {
    func handle(_ request: OperationsRequest) async -> OperationsResponse
}

/// A complete request to the operations listener.
public struct OperationsRequest: Sendable {
    public var method: String
    /// Path and query, as sent.
    public var uri: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// The subject of the client certificate the TLS handshake verified against the admin client
    /// CAs (`operations.tls.adminClientCAs`); nil without TLS, without those CAs, or without a certificate.
    public var verifiedClientCertificate: String?

    public init(method: String, uri: String, headers: [(name: String, value: String)], body: [UInt8],
                verifiedClientCertificate: String? = nil) {
        self.method = method
        self.uri = uri
        self.headers = headers
        self.body = body
        self.verifiedClientCertificate = verifiedClientCertificate
    }

    /// The first value of a header (case-insensitive name).
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}

/// The answer to an `OperationsRequest`.
public struct OperationsResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// Bodies above this are refused (413) before the handler sees them: PFX files, CRLs and
    /// policies are far smaller.
    public static let maxBodyBytes = 8 * 1024 * 1024
}
