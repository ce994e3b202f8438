import NIOSSL
import ClientCertificates
import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import Policies

/// Runs an API operation's compiled APIM policies for one request, with the gateway as the
/// pipeline's backend: bodies stay streaming unless a policy reads or replaces them.
struct PolicyRunner: Sendable {
    let forwarder: BackendForwarder

    func run(_ pipeline: PolicyPipeline, request: GatewayRequest, route: RouteMatch, listenPort: Int, writer: ResponseWriter,
             access: SubscriptionAccess = .none) async -> Int? {
        var policyRequest = Self.policyRequest(request.head, connection: request.connection, route: route, listenPort: listenPort)
        policyRequest.subscription = access.subscription
        policyRequest.product = access.product
        policyRequest.requestId = AccessLogRecord.current?.requestId  // Operations: one id in logs and context.RequestId
        policyRequest.sectionObserver = forwarder.metrics.currentSpans()  // Operations: span per policy section
        policyRequest.usage = AccessLogRecord.current?.usage  // Policies: bandwidth quotas' byte count
        let backend = GatewayPolicyBackend(forwarder: forwarder, body: request.body, connection: request.connection, authority: request.head.authority,
                                           apiBackend: route.api.backend)
        let result = await pipeline.run(policyRequest, body: StreamedRequestBody(body: request.body), backend: backend)
        Self.noteReason(result, api: route.api.config.name, metrics: forwarder.metrics, record: AccessLogRecord.current)
        return await Self.write(result, to: writer)
    }

    /// The request as the policies see it (`context.Request`, `context.Api`, …).
    static func policyRequest(_ head: HTTPRequest, connection: ConnectionInfo, route: RouteMatch, listenPort: Int) -> PolicyRequest {
        let fullPath = head.path ?? "/"
        let split = fullPath.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        // The path routing matched, in its normal form: policies and the backend see what was routed.
        let path = route.normalizedPath
        let query: [(name: String, value: String)] = split.count > 1 ? Self.parseQuery(String(split[1])) : []
        let authority = head.authority ?? connection.serverName ?? connection.hostname.name
        let (host, authorityPort) = RequestHandler.splitAuthority(authority)
        let port = authorityPort ?? listenPort
        var headers: [PolicyHeader] = []
        headers.reserveCapacity(head.headerFields.count + 1)
        headers.append(PolicyHeader("Host", authority))
        // Headers the client's Connection header lists are hop-by-hop: dropped here, before the
        // policies run, so that a client cannot name (and so remove) a header a policy sets.
        var connectionListed: Set<String> = []
        for value in head.headerFields[values: .connection] {
            connectionListed = BackendForwarder.connectionTokens(value, adding: connectionListed)
        }
        for field in head.headerFields {
            if connectionListed.isEmpty && HopByHop.isOrdinary(field.name.rawName) {
                headers.append(PolicyHeader(field.name.rawName, field.value))
                continue
            }
            let lower = field.name.canonicalName
            // Forged forwarded-certificate headers are dropped before policies see the request; a
            // policy may still set its own (the APIM pattern for forwarding the certificate).
            if BackendForwarder.forgeable(lower) { continue }
            if !connectionListed.isEmpty && connectionListed.contains(lower) && !HopByHop.names.contains(lower) { continue }
            headers.append(PolicyHeader(field.name.rawName, field.value))
        }
        let config = route.api.config
        // The verified client certificate for the backend (after the client's copies were dropped):
        // policies see it and forward-request sends it.
        if config.forwardClientCertificate != .none {
            for header in ClientCertificateForwarding.headers(config.forwardClientCertificate, connection: connection) {
                headers.append(PolicyHeader(header.name, header.value))
            }
        }
        var policyRequest = PolicyRequest(
            method: head.method.rawValue, scheme: "https", host: host, port: port, path: path, query: query,
            headers: headers, clientIP: connection.remoteAddress ?? "",
            clientCertificateChain: connection.presentedChainDER,
            matchedParameters: route.matchedParameters.isEmpty
                ? [] : route.matchedParameters.sorted { $0.key < $1.key }.map { (name: $0.key, value: $0.value) },
            identity: route.api.policyIdentity(route))
        policyRequest.parsedClientCertificate = connection.parsedChain
        return policyRequest
    }

    /// Operations: a policy error is counted (by API and source) and is the JSON access log's reason.
    /// `<trace>` entries go to the trace log.
    static func noteReason(_ result: PolicyResult, api: String, metrics: GatewayMetrics, record: AccessLogRecord?) {
        if !result.trace.isEmpty { metrics.traceLog.write(result.trace, api: api, requestId: record?.requestId) }
        guard let error = result.lastError else {
            // A policy's own refusal (`return-response` 401/403, as the seed policy's certificate check answers).
            if !result.backendCalled, result.status == 401 || result.status == 403 {
                metrics.clientCertificate(.policyRefused, reason: "", record: nil)
                record?.noteReason("policy answered \(result.status) (return-response)")
            }
            return
        }
        if error.source == "validate-client-certificate" {
            metrics.clientCertificate(ClientCertificateOutcome(verdictReason: error.reason, trusted: false), reason: "", record: nil)
        }
        metrics.policyError(api: api, source: error.source)
        if let limit = LimitPolicyKind(source: error.source, reason: error.reason) { metrics.limitRefused(limit) }
        record?.noteReason("policy error: \(error.source) \(error.reason) (\(error.path)): \(error.message)")
    }

    /// A result whose body is in hand (`return-response`, an error body), as one response.
    static func wholeResponse(_ result: PolicyResult) -> (HTTPResponse, ByteBuffer)? {
        guard case .bytes(let bytes) = result.body else { return nil }
        var fields = BackendForwarder.responseFields(result.headers.lazy.map { ($0.name, $0.value) })
        fields[.contentLength] = String(bytes.count)
        return (HTTPResponse(status: HTTPResponse.Status(code: result.status, reasonPhrase: result.reason), headerFields: fields),
                ByteBuffer(bytes: bytes))
    }

    /// The response a policy run produced, as the client gets it. Returns the status written, or nil
    /// when the client went away.
    static func write(_ result: PolicyResult, to writer: ResponseWriter) async -> Int? {
        var fields = BackendForwarder.responseFields(result.headers.lazy.map { ($0.name, $0.value) })
        fields[.contentLength] = nil
        let status = HTTPResponse.Status(code: result.status, reasonPhrase: result.reason)
        do {
            switch result.body {
            case .bytes(let bytes):
                fields[.contentLength] = String(bytes.count)
                try await writer.writeWhole(HTTPResponse(status: status, headerFields: fields), body: ByteBuffer(bytes: bytes))
            case .backend(let streamed as BackendResponseBody):
                if let length = streamed.declaredLength { fields[.contentLength] = String(length) }
                try await writer.relay(HTTPResponse(status: status, headerFields: fields), body: streamed.body,
                                       declaredLength: streamed.declaredLength)
            case .backend(let observed as ObservedResponseBody):
                // AI gateway: a streamed answer whose token usage policies wait for is relayed as it
                // streams, each chunk shown to them; the usage is delivered when it ends (or fails).
                defer { observed.finish() }
                guard let streamed = observed.inner as? BackendResponseBody else {
                    let bytes = try await observed.collect(upTo: 64 << 20)
                    fields[.contentLength] = String(bytes.count)
                    try await writer.writeWhole(HTTPResponse(status: status, headerFields: fields), body: ByteBuffer(bytes: bytes))
                    return result.status
                }
                if let length = streamed.declaredLength { fields[.contentLength] = String(length) }
                let watched = streamed.body.map { chunk -> ByteBuffer in
                    observed.observe(chunk.readableBytesView)
                    return chunk
                }
                try await writer.relay(HTTPResponse(status: status, headerFields: fields), body: watched, declaredLength: streamed.declaredLength)
            case .backend(let source):
                let bytes = try await source.collect(upTo: 64 << 20)
                fields[.contentLength] = String(bytes.count)
                try await writer.writeWhole(HTTPResponse(status: status, headerFields: fields), body: ByteBuffer(bytes: bytes))
            }
            return result.status
        } catch is ResponseWriter.RelayNotStarted {
            // The backend's body failed before anything was written: the client still gets an answer.
            return await writer.answer(.badGateway)
        } catch {
            return nil
        }
    }

    static func parseQuery(_ text: String) -> [(name: String, value: String)] {
        text.split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (s: Substring) in (PercentDecoding.decode(s.replacingOccurrences(of: "+", with: " ")) ?? String(s)) }
            return (name: decode(parts[0]), value: parts.count > 1 ? decode(parts[1]) : "")
        }
    }
}

/// The client's request body, read whole only when a policy asks for it.
struct StreamedRequestBody: PolicyBodySource {
    let body: RequestBody

    func collect(upTo limit: Int) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        for try await chunk in body {
            guard bytes.count + chunk.readableBytes <= limit else { throw PolicyBodyTooLarge(limit: limit) }
            bytes.append(contentsOf: chunk.readableBytesView)
        }
        return bytes
    }
}

/// A backend response body: streamed to the client, or read whole when an outbound policy needs it.
struct BackendResponseBody: PolicyBodySource {
    let body: BackendBodyStream
    let declaredLength: Int?

    func collect(upTo limit: Int) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        for try await chunk in body {
            guard bytes.count + chunk.readableBytes <= limit else { throw PolicyBodyTooLarge(limit: limit) }
            bytes.append(contentsOf: chunk.readableBytesView)
        }
        return bytes
    }
}

/// `forward-request` and `send-request` through the gateway's pooled backend client.
struct GatewayPolicyBackend: PolicyBackend {
    /// A header name and value safe to write on an HTTP/1.1 connection: a token name, no CR/LF/NUL.
    static func isWritable(_ name: String, _ value: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") }
            && !value.utf8.contains { $0 == 0x0D || $0 == 0x0A || $0 == 0x00 }
    }

    let forwarder: BackendForwarder
    let body: RequestBody
    let connection: ConnectionInfo
    let authority: String?
    /// The API's backend, split at load (a policy's URL on its origin is not split again).
    let apiBackend: BackendTarget?

    /// The pooled client's deadline is the request's timeout.
    var enforcesTimeout: Bool { true }

    /// A policy's backend request, ready for the pooled client.
    struct Prepared {
        let key: BackendPoolKey
        let sslContext: NIOSSLContext?
        let head: HTTPRequestHead
        let body: BackendRequestBody
        let timeout: TimeAmount
    }

    /// Checks and translates a policy's backend request: an absolute http(s) URL, the TLS identity of
    /// `authentication-certificate`, headers safe to write, the request's timeout.
    static func prepare(_ request: BackendRequest, forwarder: BackendForwarder, body: RequestBody?, connection: ConnectionInfo,
                        authority: String?, apiBackend: BackendTarget? = nil, spans: (any RequestSpans)? = nil) throws -> Prepared {
        // Most often the API's own backend and a path: its origin was split at load.
        guard let backend = apiBackend?.onSameOrigin(request.urlText) ?? BackendTarget(plain: request.urlText)
                ?? BackendTarget(request.urlText) else {
            throw PolicyBackendError.connectionFailed("the backend URL '\(LogText.escape(request.urlText))' is not an absolute http(s) URL")
        }
        let tls = backend.isTLS

        var identity = ""
        var sslContext: NIOSSLContext?
        if let certificate = request.clientCertificate {
            guard tls else { throw PolicyBackendError.connectionFailed("a client certificate needs an https:// backend") }
            do {
                sslContext = try forwarder.sslContext(presenting: certificate)
                identity = certificate.thumbprint
            } catch {
                throw PolicyBackendError.connectionFailed("the backend client certificate cannot be used: \(error)")
            }
        } else if tls {
            sslContext = forwarder.defaultSSLContext
        }
        let outboundBody: BackendRequestBody
        switch request.body {
        case .client:
            if let body, body.declaredLength != 0 { outboundBody = .stream(body) } else { outboundBody = .none }
        case .bytes(let bytes):
            outboundBody = bytes.isEmpty && request.method == "GET" ? .none : .bytes(ByteBuffer(bytes: bytes))
        }
        // A policy can build any text: a header that would break the request's framing is refused
        // here (the backend connection does not validate what it writes).
        for header in request.headers where !Self.isWritable(header.name, header.value) {
            throw PolicyBackendError.connectionFailed("the header '\(LogText.escape(header.name))' holds CR, LF or NUL and cannot be sent")
        }
        // A header set by a policy is kept even when it carries a certificate: forged client copies
        // were already dropped before the policies ran.
        var head = BackendForwarder.requestHead(
            method: request.method, uri: backend.requestTarget,
            headers: BackendForwarder.forwardedHeaders(
                request.headers.lazy.map { ($0.name, $0.value) }, connection: connection, authority: authority,
                keepCertificateHeaders: true, honorConnectionTokens: false, spans: spans),
            hostHeader: backend.hostHeader, body: outboundBody, declaredLength: body?.declaredLength ?? 0)
        let seconds = request.timeout.components.seconds
        let timeout: TimeAmount = seconds > 0 ? .seconds(min(seconds, 86_400)) : forwarder.timeout
        var key = BackendPoolKey(tls: tls, host: backend.host, port: backend.port, identity: identity)
        if let proxy = request.proxy {
            // `proxy`: an https backend through a CONNECT tunnel (BackendProxyTunnel); an http one
            // with the absolute-form target and the proxy's credentials on the request itself.
            key.proxy = proxy
            if !tls {
                head.uri = "http://" + backend.hostHeader + backend.requestTarget
                if let authorization = proxy.authorization { head.headers.replaceOrAdd(name: "Proxy-Authorization", value: authorization) }
            }
        }
        return Prepared(key: key, sslContext: sslContext, head: head, body: outboundBody, timeout: timeout)
    }

    /// What the pipeline sees of a backend's answer.
    static func response(_ answer: BackendAnswer) -> BackendResponse {
        let headers = answer.head.headers.map { PolicyHeader($0.name, $0.value) }
        let length = answer.head.headers.first(name: "content-length").flatMap { Int($0) }
        return BackendResponse(status: Int(answer.head.status.code), reason: answer.head.status.reasonPhrase, headers: headers,
                               body: BackendResponseBody(body: answer.body, declaredLength: length))
    }

    static func policyError(_ error: any Error) -> PolicyBackendError {
        if let policyError = error as? PolicyBackendError { return policyError }
        switch BackendForwarder.classify(error).status {
        case .gatewayTimeout: return .timeout
        default: return .connectionFailed("\(error)")
        }
    }

    func send(_ request: BackendRequest) async throws -> BackendResponse {
        let prepared = try Self.prepare(request, forwarder: forwarder, body: body, connection: connection, authority: authority,
                                        apiBackend: apiBackend, spans: forwarder.metrics.currentSpans())
        let answer: BackendAnswer
        let started = NIODeadline.now()
        do {
            answer = try await forwarder.client.execute(key: prepared.key, sslContext: prepared.sslContext, head: prepared.head,
                                                        body: prepared.body, deadline: started + prepared.timeout)
            forwarder.metrics.backendAnswered(status: answer.head.status.code, since: started)
        } catch {
            forwarder.metrics.backendFailed(error)
            throw Self.policyError(error)
        }
        return Self.response(answer)
    }
}
