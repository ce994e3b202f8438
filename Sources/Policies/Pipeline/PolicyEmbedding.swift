import ClientCertificates
import Foundation

/// One header field, in the order received. Names compare case-insensitively.
public struct PolicyHeader: Sendable, Hashable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// Who the request is for: the API and operation it matched (`context.Api`, `context.Operation`).
public struct PolicyAPIIdentity: Sendable, Hashable {
    public var apiId: String
    public var apiName: String
    /// The API URL suffix, e.g. `/echo` (`context.Api.Path`); the part of the request path after it
    /// is appended to the service URL for the backend.
    public var apiPath: String { didSet { normalizedAPIPath = Self.normalizedPrefix(apiPath) } }
    /// `apiPath` as a path prefix (a leading `/`, no trailing ones; empty for the root), made when the
    /// identity is, so that an embedder that builds the identity once per API does not pay for it
    /// per request.
    public private(set) var normalizedAPIPath: String
    /// The backend base URL (`context.Api.ServiceUrl`). Without it (and without `set-backend-service`),
    /// `forward-request` fails with `BackendConnectionFailure` rather than call the gateway itself.
    public var serviceURL: URL?
    public var version: String
    public var revision: String
    public var operationId: String
    public var operationName: String
    public var operationMethod: String
    public var urlTemplate: String

    public init(
        apiId: String = "", apiName: String = "", apiPath: String = "", serviceURL: URL? = nil, version: String = "",
        revision: String = "1", operationId: String = "", operationName: String = "", operationMethod: String = "",
        urlTemplate: String = ""
    ) {
        self.apiId = apiId
        self.apiName = apiName
        self.apiPath = apiPath
        normalizedAPIPath = Self.normalizedPrefix(apiPath)
        self.serviceURL = serviceURL
        self.version = version
        self.revision = revision
        self.operationId = operationId
        self.operationName = operationName
        self.operationMethod = operationMethod
        self.urlTemplate = urlTemplate
    }

    static func normalizedPrefix(_ path: String) -> String {
        if path.utf8.first == UInt8(ascii: "/"), path.utf8.last != UInt8(ascii: "/") { return path }
        var trimmed = path
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        if trimmed.isEmpty { return "" }
        return trimmed.hasPrefix("/") ? trimmed : "/" + trimmed
    }
}

/// Everything the pipeline needs to know about one client request, as the gateway received it.
/// Learns when the sections of a request's pipeline start (the gateway's spans per section). Called
/// on the thread running the pipeline, synchronously: it must not block.
public protocol PolicySectionObserver: AnyObject, Sendable {
    func policySectionEntered(_ section: PolicySection)
}

public struct PolicyRequest: Sendable {
    public var method: String
    public var scheme: String
    public var host: String
    public var port: Int
    /// The path as received (percent-encoded), starting with `/`.
    public var path: String
    /// Query parameters in order (decoded); a name may repeat.
    public var query: [(name: String, value: String)]
    public var headers: [PolicyHeader]
    public var clientIP: String
    /// The client's certificate chain as DER, leaf first; empty when none was presented.
    public var clientCertificateChain: [[UInt8]]
    /// The same chain already parsed (optional): saves looking it up per request.
    public var parsedClientCertificate: ParsedClientChain?
    /// Template parameters the operation's URL template matched (`context.Request.MatchedParameters`).
    public var matchedParameters: [(name: String, value: String)]
    public var identity: PolicyAPIIdentity
    /// `context.RequestId` when the gateway already gave the request an id (its access-log record's,
    /// so logs, error bodies' `activityId` and policies agree); nil: drawn when first read.
    public var requestId: UUID? = nil
    /// Where `quota` / `quota-by-key` `bandwidth` register the request for its byte count, which the
    /// gateway reports after the response (nil: bandwidth is checked but never charged).
    public var usage: RequestUsage? = nil
    /// `context.Subscription`: the subscription the gateway admitted the request with (nil: none).
    public var subscription: PolicySubscription? = nil
    /// `context.Product`: the product the request runs under (nil: none).
    public var product: PolicyProduct? = nil
    /// Told when each section (inbound, backend, outbound, on-error) starts: the gateway's span export.
    public var sectionObserver: (any PolicySectionObserver)? = nil
    /// In a GraphQL resolver's run: the field being resolved (`context.GraphQL`).
    public var graphQL: PolicyGraphQLField? = nil

    public init(
        method: String, scheme: String = "https", host: String, port: Int? = nil, path: String,
        query: [(name: String, value: String)] = [], headers: [PolicyHeader] = [], clientIP: String = "127.0.0.1",
        clientCertificateChain: [[UInt8]] = [], matchedParameters: [(name: String, value: String)] = [],
        identity: PolicyAPIIdentity = PolicyAPIIdentity()
    ) {
        self.method = method
        self.scheme = scheme
        self.host = host
        self.port = port ?? (scheme == "http" ? 80 : 443)
        self.path = path.isEmpty ? "/" : path
        self.query = query
        self.headers = headers
        self.clientIP = clientIP
        self.clientCertificateChain = clientCertificateChain
        self.matchedParameters = matchedParameters
        self.identity = identity
    }
}

/// A message body the embedder owns; the pipeline reads it only when a policy needs its content.
public protocol PolicyBodySource: Sendable {
    /// Reads the whole body, failing when it is longer than `limit` bytes.
    func collect(upTo limit: Int) async throws -> [UInt8]
}

/// A body already in memory.
public struct BufferedBody: PolicyBodySource {
    public let bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public init(_ text: String) { self.bytes = Array(text.utf8) }

    public func collect(upTo limit: Int) async throws -> [UInt8] {
        guard bytes.count <= limit else { throw PolicyBodyTooLarge(limit: limit) }
        return bytes
    }
}

/// Thrown by a body source when the body exceeds the limit the pipeline asked for.
public struct PolicyBodyTooLarge: Error, Sendable, Hashable {
    public let limit: Int
    public init(limit: Int) { self.limit = limit }
}

/// What the pipeline asks the backend to send.
public struct BackendRequest: Sendable {
    public enum Body: Sendable {
        /// Send the client's body as received (stream it; the pipeline did not read it).
        case client
        /// Send these bytes instead (a policy read or replaced the body).
        case bytes([UInt8])
    }

    public var method: String
    /// The backend URL as the pipeline composed it (what `context.Request.Url` renders), kept as text:
    /// the gateway splits it for its own client without a `URL` parse per request.
    public var urlText: String
    /// `urlText` as a `URL` (parsed on each use; an unparsable text gives `about:invalid`).
    public var url: URL {
        get { URL(string: urlText) ?? Self.invalidURL }
        set { urlText = newValue.absoluteString }
    }
    public var headers: [PolicyHeader]
    public var body: Body
    public var timeout: Duration
    public var followRedirects: Bool
    /// The client certificate (with its private key) to present to the backend, chosen by
    /// `authentication-certificate`; nil for none.
    public var clientCertificate: X509Certificate2? = nil
    /// The HTTP forward proxy to reach the backend through (`proxy`); nil: directly.
    public var proxy: BackendProxy? = nil

    private static let invalidURL = URL(fileURLWithPath: "/invalid")

    public init(
        method: String, url: URL, headers: [PolicyHeader] = [], body: Body = .client, timeout: Duration = .seconds(300),
        followRedirects: Bool = false, clientCertificate: X509Certificate2? = nil
    ) {
        self.init(method: method, urlText: url.absoluteString, headers: headers, body: body, timeout: timeout,
                  followRedirects: followRedirects, clientCertificate: clientCertificate)
    }

    public init(
        method: String, urlText: String, headers: [PolicyHeader] = [], body: Body = .client, timeout: Duration = .seconds(300),
        followRedirects: Bool = false, clientCertificate: X509Certificate2? = nil
    ) {
        self.method = method
        self.urlText = urlText
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.followRedirects = followRedirects
        self.clientCertificate = clientCertificate
    }
}

/// What the backend answered. The body is read by the pipeline only when an outbound policy needs it.
public struct BackendResponse: Sendable {
    public var status: Int
    public var reason: String
    public var headers: [PolicyHeader]
    public var body: (any PolicyBodySource)?

    public init(status: Int, reason: String? = nil, headers: [PolicyHeader] = [], body: (any PolicyBodySource)? = nil) {
        self.status = status
        self.reason = reason ?? HTTPReason.phrase(status)
        self.headers = headers
        self.body = body
    }
}

/// Errors a backend may throw that the pipeline maps to APIM's reasons; anything else is a
/// `BackendConnectionFailure`.
public enum PolicyBackendError: Error, Sendable, Hashable {
    case timeout
    case connectionFailed(String)
}

/// The gateway's side of `forward-request`.
public protocol PolicyBackend: Sendable {
    func send(_ request: BackendRequest) async throws -> BackendResponse
    /// True when `send` itself gives up after `request.timeout` (throwing `PolicyBackendError.timeout`);
    /// otherwise the pipeline races it against a timer (a child task and a sleep per request).
    var enforcesTimeout: Bool { get }
}

extension PolicyBackend {
    public var enforcesTimeout: Bool { false }
}

/// The answer for the client.
public struct PolicyResult: Sendable {
    public enum Body: Sendable {
        case bytes([UInt8])
        /// Stream the backend's body through untouched.
        case backend(any PolicyBodySource)
    }

    public var status: Int
    public var reason: String
    public var headers: [PolicyHeader]
    public var body: Body
    /// What happened, step by step (filled when tracing is on, and always for `trace` policies).
    public var trace: [PolicyTraceEntry]
    /// Set when the pipeline went to `on-error` or answered with an error.
    public var lastError: PolicyLastError?
    /// Whether `forward-request` reached the backend.
    public var backendCalled: Bool

    /// The body when it is in memory.
    public var bodyBytes: [UInt8]? {
        if case .bytes(let bytes) = body { return bytes }
        return nil
    }

    public var bodyText: String? { bodyBytes.map { String(decoding: $0, as: UTF8.self) } }

    public func header(_ name: String) -> String? {
        headers.first { $0.name.equalsHeaderName(name) }?.value
    }
}

/// `context.LastError`.
public struct PolicyLastError: Sendable, Hashable {
    public var source: String
    public var reason: String
    public var message: String
    public var scope: String
    public var section: String
    public var path: String
    public var policyId: String
}

/// One line of the per-request trace.
public struct PolicyTraceEntry: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        /// A policy started.
        case policy
        /// An expression was evaluated (message: source → value).
        case expression
        /// A `when` matched or `otherwise` was taken.
        case branch
        /// A `<trace>` policy or `context.Trace(…)`.
        case trace
        case backend
        case error
        case info
    }

    public let kind: Kind
    public let section: String
    public let path: String
    public let message: String
    /// For `.trace`: the `<trace>` policy's `source` and `severity` (nil for `context.Trace(…)`), and
    /// its message alone (`message` is the formatted line) — the gateway's trace log filters on them.
    public var source: String? = nil
    public var severity: String? = nil
    public var text: String? = nil

    public var description: String {
        let place = [section, path].filter { !$0.isEmpty }.joined(separator: " ")
        return "[\(kind.rawValue)] \(place): \(message)"
    }
}

enum HTTPReason {
    static func phrase(_ status: Int) -> String {
        switch status {
        case 100: "Continue"
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 304: "Not Modified"
        case 307: "Temporary Redirect"
        case 308: "Permanent Redirect"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 409: "Conflict"
        case 413: "Payload Too Large"
        case 415: "Unsupported Media Type"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        default: ""
        }
    }
}
