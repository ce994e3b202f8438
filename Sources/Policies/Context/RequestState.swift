import Foundation
import PolicyExpressions

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
    let originalURL: UrlObject
    let clientIP: String
    let matchedParameters: [(name: String, value: String)]
    let matchedParametersBox: DictionaryBox
    var certificate: ClientCertificateObject?
    let identity: PolicyAPIIdentity

    // Response
    var status: Int = 200
    var reason: String = "OK"
    var responseHeaders: [PolicyHeader] = [] { didSet { responseHeadersBox = nil } }
    var responseBody: MessageBodyObject?
    /// The backend's body, not read yet (streamed through unless a policy reads or replaces it).
    var backendBody: (any PolicyBodySource)?

    // Context
    let variables = DictionaryBox()
    var lastError: PolicyLastError?
    let requestId = RandomGuid.make()
    let timestamp = DateTimeValue.utcNow()
    let started = ContinuousClock.now
    let deployment: DeploymentObject
    let tracing: Bool
    var trace: [PolicyTraceEntry] = []
    var section: PolicySection = .inbound
    var currentPath = ""

    private var requestHeadersBox: DictionaryBox?
    private var responseHeadersBox: DictionaryBox?
    private var urlObject: UrlObject?

    init(request: PolicyRequest, deployment: DeploymentObject, tracing: Bool) {
        method = request.method.uppercased()
        frontScheme = request.scheme
        frontHost = request.host
        frontPort = request.port
        identity = request.identity
        let apiPath = Self.normalizedPrefix(request.identity.apiPath)
        self.apiPath = apiPath
        backendBase = request.identity.serviceURL
        var rest = request.path
        if !apiPath.isEmpty, rest.lowercased().hasPrefix(apiPath.lowercased()) {
            rest = String(rest.dropFirst(apiPath.count))
        }
        operationPath = rest.isEmpty || rest.hasPrefix("/") ? rest : "/" + rest
        query = request.query
        requestHeaders = request.headers
        clientIP = request.clientIP
        matchedParameters = request.matchedParameters
        matchedParametersBox = DictionaryBox(request.matchedParameters.map { ($0.name, Value.string($0.value)) }, ignoresCase: true)
        originalURL = UrlObject(
            scheme: request.scheme, host: request.host, port: request.port, path: request.path, query: request.query)
        self.deployment = deployment
        self.tracing = tracing
    }

    static func normalizedPrefix(_ path: String) -> String {
        var trimmed = path
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        if trimmed.isEmpty { return "" }
        return trimmed.hasPrefix("/") ? trimmed : "/" + trimmed
    }

    /// `context.Request.Url`: the backend URL as it stands.
    var url: UrlObject {
        if let urlObject { return urlObject }
        let made: UrlObject
        if let base = backendBase, let components = URLComponents(url: base, resolvingAgainstBaseURL: false) {
            let scheme = components.scheme ?? "https"
            var basePath = components.percentEncodedPath
            while basePath.hasSuffix("/") { basePath.removeLast() }
            made = UrlObject(
                scheme: scheme, host: components.host ?? "", port: components.port ?? (scheme == "http" ? 80 : 443),
                path: basePath + (operationPath.isEmpty ? "" : operationPath), query: query)
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
