import ClientCertificates
import Foundation

/// `drawbridge policy test`: runs a policy offline against a request described in JSON, an optional
/// client certificate (PEM) and a canned backend response, and reports what the client would get
/// plus a step-by-step trace.
///
/// Request JSON (every field optional except `url`):
///
///     { "method": "POST", "url": "https://gw.example/echo/items/7?x=1",
///       "headers": { "Accept": "application/json", "X-Multi": ["a", "b"] },
///       "body": "text" | { json }, "ipAddress": "10.0.0.1",
///       "matchedParameters": { "id": "7" },
///       "api": { "id": "echo", "name": "Echo", "path": "/echo", "serviceUrl": "https://backend.example/api" },
///       "operation": { "id": "get-item", "name": "Get item", "method": "GET", "urlTemplate": "/items/{id}" } }
///
/// Backend response JSON: `{ "statusCode": 200, "reason": "OK", "headers": {…}, "body": "…" | {json} }`.
public enum PolicyTestRunner {
    public struct Report: Sendable {
        public let result: PolicyResult
        /// What the pipeline sent to the (fake) backend, if it called it.
        public let backendRequest: BackendRequest?
        public let warnings: [PolicyDiagnostic]

        /// The response as the client would see it, then the trace.
        public var text: String {
            var lines = ["HTTP \(result.status) \(result.reason)"]
            lines += result.headers.map { "\($0.name): \($0.value)" }
            lines.append("")
            switch result.body {
            case .bytes(let bytes): lines.append(String(decoding: bytes, as: UTF8.self))
            case .backend: lines.append("<backend body streamed through>")
            }
            if let request = backendRequest {
                lines.append("")
                lines.append("Backend request: \(request.method) \(request.url.absoluteString)")
                lines += request.headers.map { "  \($0.name): \($0.value)" }
                if case .bytes(let bytes) = request.body { lines.append("  body: \(String(decoding: bytes, as: UTF8.self))") }
            }
            if let error = result.lastError {
                lines.append("")
                lines.append(
                    "LastError: source=\(error.source) reason=\(error.reason) message=\(error.message) section=\(error.section) path=\(error.path) policyId=\(error.policyId)"
                )
            }
            lines.append("")
            lines.append("Trace:")
            lines += result.trace.enumerated().map { "  \($0.offset + 1). \($0.element)" }
            for warning in warnings { lines.append(warning.description) }
            return lines.joined(separator: "\n")
        }
    }

    public struct InputError: Error, Sendable, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// Runs one policy document (attached at `scope`) for one request.
    public static func run(
        policy: String, file: String, scope: PolicyScope = .api, requestJSON: String, clientCertificatePEM: String? = nil,
        backendResponseJSON: String? = nil, loadOptions: PolicyLoadOptions = PolicyLoadOptions(),
        options: PolicyPipelineOptions = PolicyPipelineOptions(), fragments: PolicyFragments = PolicyFragments()
    ) async throws -> Report {
        var options = options
        options.tracing = true
        let pipeline = try PolicyPipeline.load([(policy, file, scope)], fragments: fragments, loadOptions: loadOptions, options: options)
        let (request, body) = try parseRequest(requestJSON, clientCertificatePEM: clientCertificatePEM)
        let backend = try FakeBackend(responseJSON: backendResponseJSON)
        var result = await pipeline.run(request, body: body, backend: backend)
        if case .backend(let source) = result.body {
            result.body = .bytes((try? await source.collect(upTo: options.maximumBodyBytes)) ?? [])
        }
        return Report(result: result, backendRequest: backend.received, warnings: pipeline.warnings)
    }

    static func object(_ json: String, what: String) throws -> [String: Any] {
        guard let data = json.data(using: .utf8), let object = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]),
            let dictionary = object as? [String: Any]
        else { throw InputError("\(what) is not a JSON object") }
        return dictionary
    }

    static func text(_ value: Any?) -> String? {
        switch value {
        case let string as String: return string
        case let number as NSNumber: return number.stringValue
        default: return nil
        }
    }

    static func headers(_ value: Any?) -> [PolicyHeader] {
        guard let dictionary = value as? [String: Any] else { return [] }
        return dictionary.keys.sorted().flatMap { name -> [PolicyHeader] in
            if let list = dictionary[name] as? [Any] { return list.compactMap { text($0).map { PolicyHeader(name, $0) } } }
            return text(dictionary[name]).map { [PolicyHeader(name, $0)] } ?? []
        }
    }

    static func body(_ value: Any?) throws -> [UInt8]? {
        guard let value, !(value is NSNull) else { return nil }
        if let string = value as? String { return Array(string.utf8) }
        return Array(try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed]))
    }

    static func parseRequest(_ json: String, clientCertificatePEM: String?) throws -> (PolicyRequest, (any PolicyBodySource)?) {
        let root = try object(json, what: "the request")
        guard let urlText = text(root["url"]), let components = URLComponents(string: urlText), let host = components.host else {
            throw InputError("the request needs an absolute \"url\"")
        }
        let api = root["api"] as? [String: Any] ?? [:]
        let operation = root["operation"] as? [String: Any] ?? [:]
        let identity = PolicyAPIIdentity(
            apiId: text(api["id"]) ?? "", apiName: text(api["name"]) ?? "", apiPath: text(api["path"]) ?? "",
            serviceURL: text(api["serviceUrl"]).flatMap(URL.init(string:)) ?? defaultServiceURL(components), version: text(api["version"]) ?? "",
            revision: text(api["revision"]) ?? "1", operationId: text(operation["id"]) ?? "",
            operationName: text(operation["name"]) ?? "", operationMethod: text(operation["method"]) ?? "",
            urlTemplate: text(operation["urlTemplate"]) ?? "")
        let matched = (root["matchedParameters"] as? [String: Any] ?? [:]).keys.sorted().compactMap { name in
            text((root["matchedParameters"] as? [String: Any])?[name]).map { (name: name, value: $0) }
        }
        var chain: [[UInt8]] = []
        if let pem = clientCertificatePEM {
            chain = try pemCertificates(pem)
            guard !chain.isEmpty else { throw InputError("the client certificate file holds no PEM certificate") }
        }
        let request = PolicyRequest(
            method: text(root["method"]) ?? "GET", scheme: components.scheme ?? "https", host: host, port: components.port,
            path: components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath,
            query: (components.queryItems ?? []).map { (name: $0.name, value: $0.value ?? "") }, headers: headers(root["headers"]),
            clientIP: text(root["ipAddress"]) ?? "127.0.0.1", clientCertificateChain: chain, matchedParameters: matched,
            identity: identity)
        let body = try self.body(root["body"]).map { BufferedBody($0) as any PolicyBodySource }
        return (request, body)
    }

    /// Without `api.serviceUrl` the fake backend is addressed as the request's own scheme and host.
    static func defaultServiceURL(_ components: URLComponents) -> URL? {
        var base = URLComponents()
        base.scheme = components.scheme ?? "https"
        base.host = components.host
        base.port = components.port
        return base.url
    }

    /// The DER of every `CERTIFICATE` block, in order.
    public static func pemCertificates(_ pem: String) throws -> [[UInt8]] {
        var result: [[UInt8]] = []
        var remaining = Substring(pem)
        let begin = "-----BEGIN CERTIFICATE-----"
        let end = "-----END CERTIFICATE-----"
        while let start = remaining.range(of: begin), let stop = remaining.range(of: end, range: start.upperBound..<remaining.endIndex) {
            let base64 = remaining[start.upperBound..<stop.lowerBound].filter { !$0.isWhitespace }
            guard let data = Data(base64Encoded: String(base64)) else { throw InputError("a PEM certificate is not valid base64") }
            result.append(Array(data))
            remaining = remaining[stop.upperBound...]
        }
        return result
    }

    /// Answers every request with the canned response and remembers the request.
    final class FakeBackend: PolicyBackend, @unchecked Sendable {
        let response: BackendResponse
        private let lock = NSLock()
        private var request: BackendRequest?

        var received: BackendRequest? { lock.withLock { request } }

        init(responseJSON: String?) throws {
            guard let responseJSON else {
                response = BackendResponse(status: 200, headers: [PolicyHeader("Content-Type", "text/plain")], body: BufferedBody("backend reached"))
                return
            }
            let root = try PolicyTestRunner.object(responseJSON, what: "the backend response")
            let status = Int(PolicyTestRunner.text(root["statusCode"]) ?? "200") ?? 200
            let body = try PolicyTestRunner.body(root["body"]).map { BufferedBody($0) as any PolicyBodySource }
            response = BackendResponse(
                status: status, reason: PolicyTestRunner.text(root["reason"]), headers: PolicyTestRunner.headers(root["headers"]), body: body)
        }

        func send(_ request: BackendRequest) async throws -> BackendResponse {
            lock.withLock { self.request = request }
            return response
        }
    }
}
