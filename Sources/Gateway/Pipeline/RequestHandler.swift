import Foundation
import GatewayConfiguration
import HTTPTypes
import Logging
import NIOCore

/// The path of one request after the HTTP layer: limits → Host ↔ SNI check → route → certificate gate
/// → backend → response. Everything it consults was built at load, in `GatewaySnapshot`.
struct RequestHandler: Sendable {
    let snapshot: GatewaySnapshot
    let forwarder: BackendForwarder
    let logger: Logger
    /// Operations: request counters resolved for this snapshot.
    let requestMetrics: RequestMetricsTable

    /// What the head alone decides, before anything waits: a refusal, APIM's status probe, or the
    /// route (with the hostname it was routed on).
    enum Resolution {
        case answer(GatewayError)
        case apimStatus
        case route(RouteMatch, TLSHostname)
    }

    /// Limits → target and Host checks → Host ↔ SNI → APIM's status path → route. Synchronous and
    /// cheap: both the event-loop path and the task path start here.
    func resolve(_ head: HTTPRequest, connection: ConnectionInfo, protocolName: String) -> Resolution {
        if let refusal = checkLimits(head) ?? Self.checkTarget(head, protocolName: protocolName) {
            return .answer(refusal)
        }

        // Which configured hostname does the request name? Host (HTTP/1.1) or :authority (HTTP/2);
        // a request without one (allowed by RFC 9113) is served by the connection's hostname.
        let connectionHost = connection.hostname
        var routedHost = connectionHost
        if let authority = head.authority, let named = snapshot.hostnames.lookup(Self.hostPart(of: authority)) {
            if named.config.name != connectionHost.config.name
                && (named.clientCertificateMode != .off || connectionHost.clientCertificateMode != .off) {
                // The TLS handshake (and its client-certificate decision) was made for another host name.
                return .answer(.misdirected)
            }
            routedHost = named
        }

        // Operations: APIM's self-hosted gateway health probe path, answered before routing.
        let path = head.path ?? "/"
        if OperationsProbe.isAPIMStatusRequest(head, path: path) { return .apimStatus }

        switch snapshot.router.route(hostname: routedHost, method: head.method.rawValue, path: path) {
        case .matched(let match): return .route(match, routedHost)
        case .notFound: return .answer(.notFound)
        case .badPath: return .answer(.badPath)
        }
    }

    /// Handles the request and writes the whole response. Returns the status written (for the access
    /// log), or nil when the response could not be written (the client went away). `outcome` collects
    /// what the metrics need (the matched route).
    func handle(_ request: GatewayRequest, writer: ResponseWriter, outcome: inout RequestOutcome) async -> Int? {
        if let spans = requestMetrics.spans, let record = AccessLogRecord.current {  // Operations: span export
            record.startSpans(spans, head: request.head, hostname: request.connection.hostname.config.name)
        }
        let route: RouteMatch
        switch resolve(request.head, connection: request.connection, protocolName: request.protocolName) {
        case .answer(let error): return await writer.answer(error)
        case .apimStatus: return await OperationsProbe.answerAPIMStatus(writer)
        case .route(let match, let routedHost):
            route = match
            outcome.route = requestMetrics.route(route, hostname: routedHost)  // Operations
        }

        if route.api.config.requireTrustedClientCertificate {
            let verdict = await snapshot.certificateGate.evaluate(
                request.connection, context: snapshot.clientVerification[request.connection.hostname.name])
            // Operations: client-certificate outcome by reason.
            requestMetrics.metrics.clientCertificate(ClientCertificateOutcome(verdictReason: verdict.reason, trusted: verdict.isTrusted),
                                                     reason: verdict.reason)
            guard verdict.isTrusted else {
                logger.debug("client certificate refused", metadata: ["reason": "\(LogText.escape(verdict.reason))"])
                return await writer.answer(.invalidClientCertificate)
            }
        }

        // Products and subscriptions: the key is checked, and removed before the backend.
        var head = request.head
        let access: SubscriptionAccess
        switch admit(&head, route: route) {
        case .refused(let refusal): return await writer.answer(refusal)
        case .admitted(let admitted): access = admitted
        }
        let request = GatewayRequest(head: head, body: request.body, connection: request.connection, protocolName: request.protocolName)

        if let pipeline = snapshot.policies.pipeline(api: route.api.config.name, operation: route.operation.name, product: access.product?.id) {
            return await PolicyRunner(forwarder: forwarder).run(
                pipeline, request: request, route: route, listenPort: snapshot.config.listen.port, writer: writer, access: access)
        }
        return await forwarder.forward(request, route: route, writer: writer)
    }

    private func checkLimits(_ head: HTTPRequest) -> GatewayError? {
        let limits = snapshot.config.limits
        if let path = head.path, path.utf8.count > limits.maxRequestTargetBytes {
            return .uriTooLong
        }
        if head.headerFields.count > limits.maxHeaderCount {
            return .requestHeaderFieldsTooLarge
        }
        var bytes = 0
        for field in head.headerFields {
            bytes += field.name.rawName.utf8.count + field.value.utf8.count
        }
        if bytes > limits.maxHeaderBytes {
            return .requestHeaderFieldsTooLarge
        }
        return nil
    }

    /// What the request line and Host say, checked before routing: CONNECT is never tunnelled (405);
    /// an HTTP/1.1 request needs a Host header (RFC 9112 §3.2: 400 without one); a Host or
    /// :authority must be a host name or IP literal with an optional port (it is forwarded as
    /// `X-Forwarded-Host`, so nothing else may pass).
    static func checkTarget(_ head: HTTPRequest, protocolName: String) -> GatewayError? {
        if head.method == .connect { return .connectRefused }
        guard let authority = head.authority else {
            return protocolName == "HTTP/1.1" ? .missingHost : nil
        }
        // The HTTP/1.1 conversion moves the first Host into :authority; a second one stays a field.
        if protocolName == "HTTP/1.1", head.headerFields.contains(where: { $0.name.canonicalName == "host" }) {
            return .missingHost
        }
        return isValidAuthority(authority) ? nil : .badHost
    }

    /// `host[:port]` with host a reg-name (RFC 3986 unreserved / sub-delims / pct-encoded, no
    /// userinfo) or a bracketed IP literal, and port 1–5 digits.
    static func isValidAuthority(_ authority: String) -> Bool {
        let bytes = Array(authority.utf8)
        guard !bytes.isEmpty, bytes.count <= 261 else { return false }
        var hostEnd = bytes.count
        if bytes[0] == UInt8(ascii: "[") {
            guard let close = bytes.firstIndex(of: UInt8(ascii: "]")), close > 1 else { return false }
            let inside = bytes[1..<close]
            guard inside.allSatisfy({ isHex($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") }) else { return false }
            hostEnd = close + 1
            guard hostEnd == bytes.count || bytes[hostEnd] == UInt8(ascii: ":") else { return false }
        } else if let colon = bytes.lastIndex(of: UInt8(ascii: ":")) {
            hostEnd = colon
        }
        if hostEnd < bytes.count {
            let port = bytes[(hostEnd + 1)...]
            guard !port.isEmpty, port.count <= 5, port.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return false }
        }
        if bytes[0] == UInt8(ascii: "[") { return true }
        let host = bytes[..<hostEnd]
        return !host.isEmpty && host.allSatisfy(isRegNameByte)
    }

    private static func isHex(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66)
    }

    private static func isRegNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "%"),
             UInt8(ascii: "!"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("),
             UInt8(ascii: ")"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: ";"),
             UInt8(ascii: "="):
            return true
        default:
            return false
        }
    }

    /// `example.com:8443` → `example.com`; `[::1]:8443` → `::1` (byte-level: no grapheme breaking;
    /// no copy without a port).
    static func hostPart(of authority: String) -> String {
        splitAuthority(authority).host
    }

    /// Host and port of `host[:port]` or `[v6][:port]`; port nil when absent or not a number.
    static func splitAuthority(_ authority: String) -> (host: String, port: Int?) {
        let utf8 = authority.utf8
        if utf8.first == UInt8(ascii: "[") {
            guard let close = utf8.firstIndex(of: UInt8(ascii: "]")) else { return (authority, nil) }
            let host = String(Substring(utf8[utf8.index(after: utf8.startIndex)..<close]))
            let afterClose = utf8.index(after: close)
            guard afterClose < utf8.endIndex, utf8[afterClose] == UInt8(ascii: ":") else { return (host, nil) }
            return (host, Int(Substring(utf8[utf8.index(after: afterClose)...])))
        }
        guard let colon = utf8.lastIndex(of: UInt8(ascii: ":")) else { return (authority, nil) }
        return (String(Substring(utf8[..<colon])), Int(Substring(utf8[utf8.index(after: colon)...])))
    }
}
