import ClientCertificates
import Foundation
import GatewayConfiguration
import HTTPTypes
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOSSL

/// Sends requests to backends through the gateway's own pooled client (`BackendClient`) and streams
/// answers back. Bodies stream both ways with back-pressure: nothing here buffers a whole body.
final class BackendForwarder: Sendable {
    let client: BackendClient
    let timeout: TimeAmount
    /// The backend TLS settings (trusted CAs); a backend client certificate is added per identity.
    private let tlsConfiguration: TLSConfiguration
    let defaultSSLContext: NIOSSLContext
    private let logger: Logger
    /// Operations: backend latency and failures by kind.
    let metrics: GatewayMetrics

    init(config: BackendConfig, eventLoopGroup: any EventLoopGroup, logger: Logger, metrics: GatewayMetrics = GatewayMetrics()) throws {
        self.metrics = metrics
        var tls = TLSConfiguration.makeClientConfiguration()
        if !config.trustedCAFiles.isEmpty {
            let certificates = try config.trustedCAFiles.flatMap { path -> [NIOSSLCertificate] in
                do {
                    return try NIOSSLCertificate.fromPEMFile(path)
                } catch {
                    throw GatewayStartupError.file(path: path, reason: "cannot read backend CA certificates: \(error)")
                }
            }
            tls.trustRoots = .certificates(certificates)
        }
        self.tlsConfiguration = tls
        self.client = BackendClient(
            group: eventLoopGroup, connectTimeout: .milliseconds(Int64(config.connectTimeout * 1000)),
            maxConnectionsPerHost: config.maxConnectionsPerHost, tls: tls)
        do {
            self.defaultSSLContext = try client.sslContext(identity: "", configuration: tls)
        } catch {
            throw GatewayStartupError.tls(hostname: "backend", reason: "cannot build the backend TLS context: \(error)")
        }
        self.timeout = .milliseconds(Int64(config.timeout * 1000))
        self.logger = logger
    }

    func shutdown() async {
        await client.shutdown()
    }

    func syncShutdown() throws {}

    /// The TLS context presenting `certificate` to backends (`authentication-certificate`), built once
    /// per certificate.
    func sslContext(presenting certificate: X509Certificate2) throws -> NIOSSLContext {
        try client.sslContext(identity: certificate.thumbprint, configuration: try self.tlsConfiguration(presenting: certificate))
    }

    private func tlsConfiguration(presenting certificate: X509Certificate2) throws -> TLSConfiguration {
        guard let keyDER = certificate.privateKeyDER else {
            throw GatewayStartupError.tls(hostname: "backend", reason: "certificate \(certificate.thumbprint) has no private key")
        }
        var tls = tlsConfiguration
        tls.certificateChain = [.certificate(try NIOSSLCertificate(bytes: certificate.rawData, format: .der))]
        tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: keyDER, format: .der))
        return tls
    }

    /// CRLs for `Verify()` come through the same pooled client.
    var crlFetcher: any CRLFetcher { HTTPCRLFetcher(forwarder: self, maxBytes: 64 << 20) }

    /// OCSP responders are asked through it too.
    var ocspFetcher: any OCSPFetcher { HTTPOCSPFetcher(forwarder: self, maxBytes: 1 << 20) }

    /// Sends one request through the pool: `identity` picks the TLS client certificate ("" for none).
    func exchange(tls: Bool, host: String, port: Int, identity: String = "", sslContext: NIOSSLContext? = nil,
                  head: HTTPRequestHead, body: BackendRequestBody, timeout: TimeAmount) async throws -> BackendAnswer {
        let key = BackendPoolKey(tls: tls, host: host, port: port, identity: identity)
        // Operations: one measurement per backend exchange (see Operations/BackendMetrics.swift).
        let started = NIODeadline.now()
        do {
            let answer = try await client.execute(key: key, sslContext: tls ? (sslContext ?? defaultSSLContext) : nil, head: head,
                                                  body: body, deadline: started + timeout)
            metrics.backendAnswered(status: answer.head.status.code, since: started)
            return answer
        } catch {
            metrics.backendFailed(error)
            throw error
        }
    }

    /// The request head for a backend: method, target, the headers and framing for the body.
    static func requestHead(method: String, uri: String, headers: HTTPHeaders, hostHeader: String,
                            body: BackendRequestBody, declaredLength: Int64?) -> HTTPRequestHead {
        var headers = headers
        headers.add(name: "Host", value: hostHeader)
        switch body {
        case .none:
            if !["GET", "HEAD", "OPTIONS", "TRACE", "DELETE", "CONNECT"].contains(method) {
                headers.add(name: "Content-Length", value: "0")
            }
        case .bytes(let bytes):
            headers.add(name: "Content-Length", value: String(bytes.readableBytes))
        case .stream:
            if let declaredLength {
                headers.add(name: "Content-Length", value: String(declaredLength))
            } else {
                headers.add(name: "Transfer-Encoding", value: "chunked")
            }
        }
        return HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: uri, headers: headers)
    }

    /// The head sent to the route's backend for a client request: target, filtered headers, framing.
    func backendHead(for head: HTTPRequest, route: RouteMatch, connection: ConnectionInfo, body: BackendRequestBody,
                     declaredLength: Int64?, spans: (any RequestSpans)?) -> HTTPRequestHead {
        let path = head.path ?? "/"
        let query = path.firstIndex(of: "?").map { path[path.index(after: $0)...] }
        let backend = route.api.backend
        var headers = Self.forwardedHeaders(head.headerFields.lazy.map { ($0.name.rawName, $0.value) },
                                            connection: connection, authority: head.authority, spans: spans)
        let forwarding = route.api.config.forwardClientCertificate
        if forwarding != .none { ClientCertificateForwarding.add(forwarding, connection: connection, to: &headers) }
        return Self.requestHead(
            method: head.method.rawValue, uri: backend.target(remainingPath: route.remainingPath, query: query),
            headers: headers, hostHeader: backend.hostHeader, body: body, declaredLength: declaredLength)
    }

    /// A bodiless request to the route's backend, on the calling event loop (the one that owns the
    /// client connection: the pool of that loop serves it, no hops). The future completes on it.
    func forwardOnLoop(_ head: HTTPRequest, route: RouteMatch, connection: ConnectionInfo, upgrade: Bool = false,
                       spans: (any RequestSpans)? = nil) -> EventLoopFuture<BackendAnswer> {
        let backend = route.api.backend
        var outbound = backendHead(for: head, route: route, connection: connection, body: .none, declaredLength: 0, spans: spans)
        if upgrade { Self.askToUpgrade(&outbound.headers) }
        let key = BackendPoolKey(tls: backend.isTLS, host: backend.host, port: backend.port, identity: "")
        return client.executeOnLoop(key: key, sslContext: backend.isTLS ? defaultSSLContext : nil, head: outbound,
                                    bytes: nil, deadline: .now() + timeout)
    }

    /// A WebSocket handshake's own hop-by-hop pair, put back for the backend (the client's were
    /// dropped with the other hop-by-hop headers).
    static func askToUpgrade(_ headers: inout HTTPHeaders) {
        headers.add(name: "Connection", value: "Upgrade")
        headers.add(name: "Upgrade", value: "websocket")
    }

    /// Forwards the request and writes the backend's answer. Returns the status written, or nil when
    /// the client went away mid-response.
    func forward(_ request: GatewayRequest, route: RouteMatch, writer: ResponseWriter) async -> Int? {
        let backend = route.api.backend
        let length = request.body.declaredLength
        let body: BackendRequestBody = length == 0 ? .none : .stream(request.body)
        let outbound = backendHead(for: request.head, route: route, connection: request.connection, body: body,
                                   declaredLength: length, spans: metrics.currentSpans())

        let answer: BackendAnswer
        do {
            answer = try await exchange(tls: backend.isTLS, host: backend.host, port: backend.port, head: outbound,
                                        body: body, timeout: timeout)
        } catch {
            let failure = Self.classify(error)
            logger.warning("backend request failed", metadata: [
                "api": "\(route.api.config.name)", "backend": "\(backend.host):\(backend.port)",
                "error": "\(error)",
            ])
            return await writer.answer(failure)
        }

        let fields = Self.responseFields(answer.head.headers.lazy.map { ($0.name, $0.value) })
        let status = Int(answer.head.status.code)
        let responseHead = HTTPResponse(status: .init(code: status, reasonPhrase: answer.head.status.reasonPhrase), headerFields: fields)
        do {
            let length = answer.head.headers.first(name: "content-length").flatMap { Int($0) }
            try await writer.relay(responseHead, body: answer.body, declaredLength: length)
            return status
        } catch let failure as ResponseWriter.RelayNotStarted {
            // Nothing is written yet, so the client still gets a clear answer.
            logger.warning("backend response body failed", metadata: ["api": "\(route.api.config.name)", "error": "\(failure.cause)"])
            return await writer.answer(.badGateway)
        } catch {
            // Either side went away mid-body; the response head is out, so the stream is cut.
            logger.debug("response streaming stopped", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// The headers sent to a backend: the client's (or the policies') headers without hop-by-hop
    /// headers, Host, Content-Length (set from the body) or forged certificate headers, plus
    /// `X-Forwarded-For`/`-Proto`/`-Host`.
    /// - Parameters:
    ///   - keepCertificateHeaders: the source is a policy's output, whose certificate headers are its
    ///     own (the client's copies were dropped before the policies ran).
    ///   - honorConnectionTokens: drop what a `Connection` header in the source lists. Off for a
    ///     policy's output: the client's Connection-listed headers were dropped before the policies
    ///     ran, and a client must not be able to remove a header a policy set.
    ///   - spans: the request's spans when they are exported (the call's span makes the `traceparent`).
    static func forwardedHeaders<S: Sequence>(_ source: S, connection: ConnectionInfo, authority: String?,
                                              keepCertificateHeaders: Bool = false,
                                              honorConnectionTokens: Bool = true,
                                              spans: (any RequestSpans)? = nil) -> HTTPHeaders where S.Element == (String, String) {
        // Collected as pairs and wrapped once: `HTTPHeaders.add` re-validates every name (a scan per
        // header); these names come from the client's parsed head or a policy's checked output.
        var fields: [(String, String)] = []
        fields.reserveCapacity(16)
        var connectionListed: Set<String>?
        var priorForwardedFor: String?
        for (name, value) in source {
            if HopByHop.isOrdinary(name) {
                fields.append((name, value))
                continue
            }
            let lower = HopByHop.lowercased(name)
            if HopByHop.names.contains(lower) {
                if lower == "connection" && honorConnectionTokens { connectionListed = Self.connectionTokens(value, adding: connectionListed) }
                continue
            }
            // The gateway's own headers first (none of them is forgeable as spelt here), so the common
            // X-Forwarded-For of a client behind a load balancer skips the certificate-header checks.
            switch lower {
            case "host", "content-length", "x-forwarded-proto", "x-forwarded-host":
                continue
            case "x-forwarded-for":
                priorForwardedFor = priorForwardedFor.map { $0 + ", " + value } ?? value
                continue
            default:
                break
            }
            if forgeable(lower) {
                // `X_Forwarded_Host` or `SSL_Client_Cert`: CGI-style servers read them as the dashed
                // names. Such spellings of these headers are always dropped.
                if !keepCertificateHeaders || lower.utf8.contains(UInt8(ascii: "_")) { continue }
            }
            fields.append((name, value))
        }
        if let connectionListed {
            // Headers the client's Connection header names are hop-by-hop too.
            fields.removeAll { connectionListed.contains(HopByHop.lowercased($0.0)) }
        }
        // Content-Length is set by the client library from the body's declared length.
        if let address = connection.remoteAddress {
            fields.append(("X-Forwarded-For", priorForwardedFor.map { $0 + ", " + address } ?? address))
        } else if let priorForwardedFor {
            fields.append(("X-Forwarded-For", priorForwardedFor))
        }
        fields.append(("X-Forwarded-Proto", "https"))
        if let host = authority ?? connection.serverName, RequestHandler.isValidAuthority(host) {
            fields.append(("X-Forwarded-Host", host))
        }
        TraceParent.propagate(&fields, spans: spans)  // Operations: W3C trace context to the backend
        return HTTPHeaders(fields)
    }

    /// A backend's response headers as the client gets them: without hop-by-hop headers.
    static func responseFields<S: Sequence>(_ source: S) -> HTTPFields where S.Element == (String, String) {
        var fields = HTTPFields()
        var connectionListed: Set<String>?
        for (name, value) in source {
            guard let fieldName = HTTPField.Name(name) else { continue }
            let lower = fieldName.canonicalName
            if HopByHop.names.contains(lower) {
                if lower == "connection" { connectionListed = Self.connectionTokens(value, adding: connectionListed) }
                continue
            }
            fields.append(HTTPField(name: fieldName, value: value))
        }
        if let connectionListed {
            fields.removeAll { connectionListed.contains($0.name.canonicalName) }
        }
        return fields
    }

    /// The header names a Connection header lists, lower-cased (ASCII; no Foundation on this path).
    /// `close` and `keep-alive` — the usual tokens — name nothing that is not dropped anyway, so they
    /// are left out: the common header adds nothing to the set.
    static func connectionTokens(_ value: String, adding existing: Set<String>?) -> Set<String> {
        var tokens = existing ?? []
        for token in value.utf8.split(separator: UInt8(ascii: ",")) {
            var bytes = token
            while let first = bytes.first, first == 0x20 || first == 0x09 { bytes = bytes.dropFirst() }
            while let last = bytes.last, last == 0x20 || last == 0x09 { bytes = bytes.dropLast() }
            if bytes.isEmpty { continue }
            let lower = String(decoding: bytes.lazy.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
            if lower == "close" || lower == "keep-alive" { continue }
            tokens.insert(lower)
        }
        return tokens
    }

    /// Headers that carry a client certificate, or a verdict on one, between proxies (App Service's
    /// X-ARR-ClientCert, Envoy's XFCC, RFC 9440 Client-Cert, nginx/HAProxy/Traefik/AGW conventions).
    /// Copies sent by clients are always dropped, in any case and with `_` for `-`.
    static func isClientCertificateHeader(_ lowerName: String) -> Bool {
        let name = lowerName.utf8.contains(UInt8(ascii: "_")) ? lowerName.replacingOccurrences(of: "_", with: "-") : lowerName
        if clientCertificateHeaders.contains(name) { return true }
        return clientCertificatePrefixes.contains { name.hasPrefix($0) }
    }

    /// True for a header a client could forge to pose as verified or as coming from elsewhere: the
    /// certificate headers and, spelt with underscores, the X-Forwarded-* and Host headers the
    /// gateway sets itself.
    static func forgeable(_ lowerName: String) -> Bool {
        if isClientCertificateHeader(lowerName) { return true }
        guard lowerName.utf8.contains(UInt8(ascii: "_")) else { return false }
        let dashed = lowerName.replacingOccurrences(of: "_", with: "-")
        return dashed == "host" || dashed.hasPrefix("x-forwarded-") || dashed == "forwarded" || dashed == "content-length"
            || dashed == "transfer-encoding" || HopByHop.names.contains(dashed)
    }

    static let clientCertificateHeaders: Set<String> = [
        "x-arr-clientcert", "x-forwarded-client-cert", "client-cert", "client-cert-chain",
        "x-client-cert", "x-client-certificate", "x-ssl-client-cert", "ssl-client-cert", "x-client-verify",
        "x-client-dn", "x-client-s-dn", "x-client-i-dn",
    ]

    static let clientCertificatePrefixes = [
        "x-ssl-client", "ssl-client", "x-client-cert", "x-forwarded-tls-client-cert", "x-forwarded-client-cert",
        "x-arr-clientcert", "x-arr-ssl", "client-cert",
    ]

    static func classify(_ error: any Error) -> GatewayError {
        if let clientError = error as? BackendClientError, clientError == .timeout {
            return .gatewayTimeout
        }
        return .badGateway
    }
}
