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

    /// Handles the request and writes the whole response. Returns the status written (for the access
    /// log), or nil when the response could not be written (the client went away).
    func handle(_ request: GatewayRequest, writer: ResponseWriter) async -> Int? {
        if let refusal = checkLimits(request.head) {
            return await writer.answer(refusal)
        }

        // Which configured hostname does the request name? Host (HTTP/1.1) or :authority (HTTP/2);
        // a request without one (allowed by RFC 9113) is served by the connection's hostname.
        let connectionHost = request.connection.hostname
        var routedHost = connectionHost
        if let authority = request.head.authority, let named = snapshot.hostnames.lookup(Self.hostPart(of: authority)) {
            if named.name != connectionHost.name
                && (named.clientCertificateMode != .off || connectionHost.clientCertificateMode != .off) {
                // The TLS handshake (and its client-certificate decision) was made for another host name.
                return await writer.answer(.misdirected)
            }
            routedHost = named
        }

        let path = request.head.path ?? "/"
        let route: RouteMatch
        switch snapshot.router.route(hostname: routedHost, method: request.head.method.rawValue, path: path) {
        case .matched(let match): route = match
        case .notFound: return await writer.answer(.notFound)
        case .badPath: return await writer.answer(.badPath)
        }

        if route.api.config.requireTrustedClientCertificate {
            let verdict = await snapshot.certificateGate.evaluate(request.connection)
            guard verdict.isTrusted else {
                logger.debug("client certificate refused", metadata: ["reason": "\(verdict.reason)"])
                return await writer.answer(.invalidClientCertificate)
            }
        }

        if let pipeline = snapshot.policies.pipeline(api: route.api.config.name, operation: route.operation.name) {
            return await PolicyRunner(forwarder: forwarder).run(
                pipeline, request: request, route: route, listenPort: snapshot.config.listen.port, writer: writer)
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

    /// `example.com:8443` → `example.com`; `[::1]:8443` → `::1`.
    static func hostPart(of authority: String) -> String {
        if authority.hasPrefix("[") {
            if let close = authority.firstIndex(of: "]") {
                return String(authority[authority.index(after: authority.startIndex)..<close])
            }
            return authority
        }
        if let colon = authority.lastIndex(of: ":") {
            return String(authority[..<colon])
        }
        return authority
    }
}
