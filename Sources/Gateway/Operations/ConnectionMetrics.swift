import CoreMetrics
import Foundation
import Logging
import NIOCore
import NIOSSL
import NIOTLS

// Operations: what the connection accept/handshake path reports (one call site each in
// `GatewayServer.serveConnection`). Runs once per connection, never per request.
extension GatewayMetrics {
    /// TLS and ALPN are done: counts the handshake by version and the open connection by protocol
    /// until the channel closes.
    func connectionNegotiated(_ negotiated: NegotiatedConnection, channel: any Channel) {
        let info: ConnectionInfo
        let meter: Meter
        switch negotiated {
        case .http1_1(let connectionInfo):
            info = connectionInfo
            meter = openConnections[0]
        case .http2(let connectionInfo):
            info = connectionInfo
            meter = openConnections[1]
        }
        switch info.tlsVersion {
        case "TLSv1.3": handshakeTLS13.increment()
        case "TLSv1.2": handshakeTLS12.increment()
        default: handshakeOtherVersion.increment()
        }
        meter.increment()
        channel.closeFuture.whenComplete { _ in meter.decrement() }
    }

    /// The connection ended before TLS and ALPN were done (`GatewayServer.serveConnection`). TLS
    /// errors themselves are counted and logged by `TLSHandshakeObserver`, which sees them first-hand
    /// (the negotiation future only reports that the channel closed).
    func handshakeFailed(_ error: any Error, remoteAddress: String?, logger: Logger) {
        switch error {
        case ConnectionRefused.unrecognizedName:
            // Logged (with the server name) where the alert is sent.
            handshakeUnrecognizedName.increment()
        case ConnectionRefused.closedDuringHandshake:
            // A client that connects and leaves (a TCP probe) or the handshake timeout: no refusal.
            handshakeClosed.increment()
        default:
            break
        }
    }

    /// A TLS error before the handshake completed: counted, and logged at info with a plain reason,
    /// at most `handshakeLogLimiter.perSecond` lines a second (a scanner must not flood the log).
    func tlsHandshakeRefused(_ error: any Error, remoteAddress: String?, logger: Logger) {
        handshakeFailed.increment()
        guard let suppressed = handshakeLogLimiter.admit() else { return }
        var metadata: Logger.Metadata = [
            "reason": "\(Self.plainHandshakeReason(error))",
            "remote": "\(LogText.escape(remoteAddress ?? "?"))",
        ]
        if suppressed > 0 { metadata["suppressed"] = "\(suppressed)" }
        logger.info("TLS handshake refused", metadata: metadata)
    }

    /// A handshake error in words an operator can act on (no library internals).
    static func plainHandshakeReason(_ error: any Error) -> String {
        let text = String(describing: error).uppercased()
        let known: [(String, String)] = [
            ("CERTIFICATE_VERIFY_FAILED", "client certificate not accepted"),
            ("PEER_DID_NOT_RETURN_A_CERTIFICATE", "no client certificate presented (clientCertificate: required)"),
            ("NO_SHARED_CIPHER", "no cipher suite in common"),
            ("UNSUPPORTED_PROTOCOL", "TLS version not supported (TLS 1.2 or 1.3 needed)"),
            ("PROTOCOL_VERSION", "TLS version not supported (TLS 1.2 or 1.3 needed)"),
            ("HTTP_REQUEST", "plain HTTP sent to the TLS port"),
            ("WRONG_VERSION_NUMBER", "not a TLS client hello"),
            ("NO_APPLICATION_PROTOCOL", "no application protocol (ALPN) in common"),
            ("ALERT", "the client aborted the handshake with an alert"),
            ("UNEXPECTEDEOF", "the client closed the connection during the handshake"),
            ("EOF", "the client closed the connection during the handshake"),
        ]
        for (marker, reason) in known where text.contains(marker) { return reason }
        return "TLS handshake failed"
    }
}

/// Sits right after the TLS handler: sees a TLS error before the handshake completed (which the
/// negotiation future loses), and reports it once.
final class TLSHandshakeObserver: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let metrics: GatewayMetrics
    private let logger: Logger
    private var remoteAddress: String?
    private var settled = false

    init(metrics: GatewayMetrics, logger: Logger) {
        self.metrics = metrics
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        remoteAddress = context.channel.remoteAddress?.ipAddress
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tlsEvent = event as? TLSUserEvent, case .handshakeCompleted = tlsEvent {
            settled = true
            context.fireUserInboundEventTriggered(event)
            // Nothing more to watch: out of the pipeline, so requests do not pass through it.
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !settled {
            settled = true
            metrics.tlsHandshakeRefused(error, remoteAddress: remoteAddress, logger: logger)
        }
        context.fireErrorCaught(error)
    }
}
