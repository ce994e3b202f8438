import ClientCertificates
import Crypto
import Foundation
import GatewayConfiguration
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL
import Policies

/// What the TLS handshake established for one client connection. Built once, right after the
/// handshake, and shared (immutable) by every request on the connection — every HTTP/2 stream too.
public struct ConnectionInfo: Sendable {
    /// The server name the client sent (SNI), lower-cased; `nil` when it sent none.
    public let serverName: String?
    /// The hostname configuration that served the handshake.
    public let hostname: TLSHostname
    /// `h2` or `http/1.1` (or nil when the client offered no ALPN).
    public let alpn: String?
    public let tlsVersion: String
    /// The certificates the client presented, leaf first, DER-encoded. With a resumed TLS session the
    /// verification callback does not run, so this can be just the leaf (read from the session).
    public let presentedChainDER: [[UInt8]]
    public let remoteAddress: String?
    /// The built-in certificate gate's last verdict for this connection.
    let gateVerdict = NIOLockedValueBox<ClientCertificateGate.Verdict?>(nil)
    /// The certificate headers for the backend by forwarding format, built on the first request of an
    /// API that forwards the certificate (`ClientCertificateForwarding`).
    let forwardedCertificate = NIOLockedValueBox<[ClientCertificateForwardingMode: [(name: String, value: String)]]>([:])
    /// The presented chain parsed, once per connection (on its first request that needs it).
    private let parsed = NIOLockedValueBox<ParsedClientChain?>(nil)

    /// The presented chain parsed (nil without a certificate); every request of the connection after
    /// the first gets it without hashing the chain again.
    public var parsedChain: ParsedClientChain? {
        guard !presentedChainDER.isEmpty else { return nil }
        if let known = parsed.withLockedValue({ $0 }) { return known }
        let chain = ParsedClientChain.parse(presentedChainDER)
        parsed.withLockedValue { $0 = chain }
        return chain
    }

    /// The client certificate (leaf), DER; `nil` when the client presented none.
    public var clientCertificateDER: [UInt8]? { presentedChainDER.first }

    public init(serverName: String?, hostname: TLSHostname, alpn: String?, tlsVersion: String,
                presentedChainDER: [[UInt8]], remoteAddress: String?) {
        self.serverName = serverName
        self.hostname = hostname
        self.alpn = alpn
        self.tlsVersion = tlsVersion
        self.presentedChainDER = presentedChainDER
        self.remoteAddress = remoteAddress
        self.clientThumbprint = presentedChainDER.first.map { der in
            Hex.upper(Insecure.SHA1.hash(data: der))
        }
    }

    /// Uppercase hex SHA-1 of the client certificate (as .NET's `Thumbprint`), for logs.
    public let clientThumbprint: String?
}

extension TLSVersion {
    var displayName: String {
        switch self {
        case .tlsv1: return "TLSv1"
        case .tlsv11: return "TLSv1.1"
        case .tlsv12: return "TLSv1.2"
        case .tlsv13: return "TLSv1.3"
        }
    }
}
