import Foundation
import PolicyExpressions
import Synchronization

/// The mutable state of one request as policies see and change it. One request runs in one task,
/// so the state is never shared between threads; host objects read it live, so that a `set-header`
/// changes what `context.Request.Headers` returns next.
final class RequestState: @unchecked Sendable {
    // Request
    var method: String
    let frontScheme: String
    let frontHost: String
    let frontPort: Int
    let apiPath: String
    /// Backend base URL (`set-backend-service` changes it); nil = the frontend URL.
    var backendBase: URL? { didSet { urlObject = nil } }
    /// The path after the API suffix (what `rewrite-uri` replaces), starting with `/`.
    var operationPath: String { didSet { urlObject = nil } }
    var query: [(name: String, value: String)] { didSet { urlObject = nil } }
    var requestHeaders: [PolicyHeader] { didSet { requestHeadersBox = nil } }
    /// The request body once read or replaced; nil = untouched (streamed to the backend as is).
    var requestBody: MessageBodyObject?
    /// `context.Request.OriginalUrl`, made when first read.
    private(set) lazy var originalURL = UrlObject(
        scheme: frontScheme, host: frontHost, port: frontPort, path: originalPath, query: originalQuery)
    /// The path the client asked for (`context.Request.OriginalUrl.Path`).
    let originalPath: String
    private let originalQuery: [(name: String, value: String)]
    let clientIP: String
    let matchedParameters: [(name: String, value: String)]
    /// `context.Request.MatchedParameters`, made when first read.
    private(set) lazy var matchedParametersBox = DictionaryBox(
        matchedParameters.map { ($0.name, Value.string($0.value)) }, ignoresCase: true)
    var certificate: ClientCertificateObject?
    let identity: PolicyAPIIdentity
    /// `context.Subscription` and `context.Product` (nil: the request has none).
    let subscription: PolicySubscription?
    let product: PolicyProduct?
    /// `context.GraphQL` (a resolver's run only).
    let graphQL: PolicyGraphQLField?

    // Response
    var status: Int = 200
    var reason: String = "OK"
    var responseHeaders: [PolicyHeader] = [] { didSet { responseHeadersBox = nil } }
    var responseBody: MessageBodyObject?
    /// The backend's body, not read yet (streamed through unless a policy reads or replaces it).
    var backendBody: (any PolicyBodySource)?

    // Context
    /// `context.Variables`, made when first used.
    private(set) lazy var variables = DictionaryBox()
    var lastError: PolicyLastError?
    /// `context.RequestId`, drawn when first read (and then fixed for the request).
    private(set) lazy var requestId = givenRequestId ?? RandomGuid.make()
    private let givenRequestId: UUID?
    /// The gateway's byte count of this request (bandwidth quotas).
    let usage: RequestUsage?
    let timestamp = DateTimeValue.utcNow()
    let started = ContinuousClock.now
    let deployment: DeploymentObject
    let tracing: Bool
    var trace: [PolicyTraceEntry] = []
    /// The section running; the gateway's span export is told of each one entered.
    var section: PolicySection = .inbound {
        didSet { sectionObserver?.policySectionEntered(section) }
    }
    /// Operations: `PolicyRequest.sectionObserver` (nil unless spans are exported).
    let sectionObserver: (any PolicySectionObserver)?
    var currentPath = ""

    private var requestHeadersBox: DictionaryBox?
    private var responseHeadersBox: DictionaryBox?
    private var urlObject: UrlObject?

    init(request: PolicyRequest, deployment: DeploymentObject, tracing: Bool) {
        method = ASCII.uppercased(request.method)
        givenRequestId = request.requestId
        sectionObserver = request.sectionObserver
        usage = request.usage
        frontScheme = request.scheme
        frontHost = request.host
        frontPort = request.port
        identity = request.identity
        subscription = request.subscription
        product = request.product
        graphQL = request.graphQL
        let apiPath = request.identity.normalizedAPIPath
        self.apiPath = apiPath
        backendBase = request.identity.serviceURL
        var rest = request.path
        if !apiPath.isEmpty, let after = ASCII.droppingPrefixIgnoringCase(apiPath, from: rest) { rest = after }
        operationPath = rest.isEmpty || rest.hasPrefix("/") ? rest : "/" + rest
        query = request.query
        requestHeaders = request.headers
        clientIP = request.clientIP
        matchedParameters = request.matchedParameters
        originalPath = request.path
        originalQuery = request.query
        self.deployment = deployment
        self.tracing = tracing
    }

    /// `context.Request.Url`: the backend URL as it stands.
    var url: UrlObject {
        if let urlObject { return urlObject }
        let made: UrlObject
        if let base = backendBase, let parts = BaseURLParts.of(base) {
            made = UrlObject(
                scheme: parts.scheme, host: parts.host, port: parts.port,
                path: parts.path + (operationPath.isEmpty ? "" : operationPath), query: query)
        } else {
            made = UrlObject(scheme: frontScheme, host: frontHost, port: frontPort, path: apiPath + operationPath, query: query)
        }
        urlObject = made
        return made
    }

    var requestHeadersDictionary: DictionaryBox {
        if let requestHeadersBox { return requestHeadersBox }
        let box = Self.headerBox(requestHeaders)
        requestHeadersBox = box
        return box
    }

    var responseHeadersDictionary: DictionaryBox {
        if let responseHeadersBox { return responseHeadersBox }
        let box = Self.headerBox(responseHeaders)
        responseHeadersBox = box
        return box
    }

    static func headerBox(_ headers: [PolicyHeader]) -> DictionaryBox {
        DictionaryBox(multiValued: headers.map { ($0.name, [$0.value]) }, ignoresCase: true)
    }

    /// Adds a trace entry. Without tracing only `trace` policies, `context.Trace(…)` and errors are
    /// kept, and other messages are not even built.
    func record(_ kind: PolicyTraceEntry.Kind, _ message: @autoclosure () -> String, path: String? = nil) {
        guard tracing || kind == .trace || kind == .error else { return }
        trace.append(PolicyTraceEntry(kind: kind, section: section.rawValue, path: path ?? currentPath, message: message()))
    }

    /// A `<trace>` entry or `context.Trace(…)` (always kept): the formatted line plus its parts.
    func recordTrace(_ message: String, source: String?, severity: String?, text: String) {
        trace.append(PolicyTraceEntry(kind: .trace, section: section.rawValue, path: currentPath, message: message,
                                      source: source, severity: severity, text: text))
    }
}

/// Header list editing shared by request and response headers.
enum HeaderList {
    static func values(_ headers: [PolicyHeader], _ name: String) -> [String] {
        headers.filter { $0.name.equalsHeaderName(name) }.map(\.value)
    }

    static func remove(_ headers: inout [PolicyHeader], _ name: String) {
        headers.removeAll { $0.name.equalsHeaderName(name) }
    }

    static func set(_ headers: inout [PolicyHeader], _ name: String, _ value: String) {
        remove(&headers, name)
        headers.append(PolicyHeader(name, value))
    }
}

/// The parts of a backend base URL the request URL is built from, parsed once per URL (a
/// `URLComponents` parse per request cost more than the rest of a small pipeline). The set of base
/// URLs is the configuration's (service URLs, backends) plus what `set-backend-service` expressions
/// compute, so the cache is bounded: emptied when full.
struct BaseURLParts: Sendable {
    let scheme: String
    let host: String
    let port: Int
    /// The percent-encoded path without trailing slashes.
    let path: String

    private static let cache = Mutex<[URL: BaseURLParts]>([:])
    private static let capacity = 1024

    static func of(_ url: URL) -> BaseURLParts? {
        if let hit = cache.withLock({ $0[url] }) { return hit }
        guard let components = URLComponents(url: url, resolvingAgainstBaseURL: false) else { return nil }
        let scheme = components.scheme ?? "https"
        var path = components.percentEncodedPath
        while path.hasSuffix("/") { path.removeLast() }
        let parts = BaseURLParts(
            scheme: scheme, host: components.host ?? "", port: components.port ?? (scheme == "http" ? 80 : 443), path: path)
        cache.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[url] = parts
        }
        return parts
    }
}
