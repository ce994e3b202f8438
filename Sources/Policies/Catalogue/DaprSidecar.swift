import Foundation
import PolicyExpressions

/// What the Dapr policies share: the sidecar's address, URL path segments built safely from
/// (possibly client-controlled) names, and one call to the sidecar's HTTP API whose answer becomes
/// an `IResponse` variable.
///
/// APIM's documentation puts the sidecar at `http://localhost:3500` (the Dapr sidecar's default HTTP
/// port) and says nothing of `DAPR_HTTP_PORT`; Drawbridge takes the address from the gateway
/// configuration (`policies.daprSidecar`), with that default.
public enum DaprSidecar {
    /// `http://localhost:3500`.
    public static let defaultAddress: URL = URL(string: "http://localhost:3500") ?? URL(fileURLWithPath: "/")

    /// The header of Dapr's API token authentication.
    static let apiTokenHeader = "dapr-api-token"

    /// Dapr's API token from the environment (`DAPR_API_TOKEN`, which Dapr's sidecar injector sets and its
    /// SDKs read): nil when unset, empty, longer than 4 KiB or not printable ASCII (it goes into a header).
    public static func apiToken(environment: [String: String]) -> String? {
        guard let token = environment["DAPR_API_TOKEN"]?.trimmingCharacters(in: .whitespaces), !token.isEmpty, token.utf8.count <= 4096,
              token.utf8.allSatisfy({ $0 >= 0x21 && $0 < 0x7F })
        else { return nil }
        return token
    }

    /// The most bytes one name (pubsub, topic, binding, app id, method) may have.
    static let maximumNameBytes = 1024

    /// `text` as one percent-encoded path segment (RFC 3986 unreserved characters as they are, every
    /// other UTF-8 byte `%XX`, so no `/`, `?`, `#` or `%` of the name reaches the path as itself);
    /// nil when it is empty, `.`/`..`, or longer than `maximumNameBytes`.
    static func segment(_ text: String) -> String? {
        guard !text.isEmpty, text != ".", text != "..", text.utf8.count <= maximumNameBytes else { return nil }
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                out.unicodeScalars.append("%")
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(byte >> 4)]))
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(byte & 0x0F)]))
            }
        }
        return out
    }

    /// A method path (`dapr-method` may be "a URL": `orders/42`): each `/`-separated segment encoded
    /// as `segment` does; nil when a segment is empty or a dot segment (no way out of `/method/`).
    static func methodPath(_ text: String) -> String? {
        var trimmed = Substring(text)
        while trimmed.hasPrefix("/") { trimmed = trimmed.dropFirst() }
        guard !trimmed.isEmpty, trimmed.utf8.count <= maximumNameBytes else { return nil }
        var segments: [String] = []
        for part in trimmed.split(separator: "/", omittingEmptySubsequences: false) {
            guard let encoded = segment(String(part)) else { return nil }
            segments.append(encoded)
        }
        return segments.joined(separator: "/")
    }

    /// The sidecar's address followed by `path` (which starts with `/`).
    static func url(_ sidecar: URL, _ path: String) -> String {
        var base = sidecar.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        return base + path
    }

    /// The policies' common settings: where the answer goes, whether failures are the policy's, how
    /// long to wait.
    struct CallSettings: Sendable {
        let variable: String?
        let ignoreError: Bool
        let timeout: RuntimeParameter<Int>
        let contentType: String?
    }
}

extension PolicyExecution {
    /// A name for a Dapr URL path, or APIM's expression failure naming what was wrong.
    func daprSegment(_ text: String, _ what: String, _ step: CompiledStep) throws -> String {
        guard let segment = DaprSidecar.segment(text) else {
            let shown = text.count <= 80 ? text : String(text.prefix(77)) + "…"
            throw PolicyFailure.expression(
                step.name, "The \(what) '\(ErrorBody.escape(shown))' is not a usable Dapr name (empty, '.', '..' or over \(DaprSidecar.maximumNameBytes) bytes).")
        }
        return segment
    }

    /// POSTs `body` to the sidecar at `path`; the answer (any status) is stored as an `IResponse` in
    /// the settings' variable. A status other than 2xx, a timeout or a sidecar that does not answer is
    /// the policy's error (on-error) unless `ignore-error`: then the request goes on (the variable
    /// holds the answer, or null when there was none).
    func callDapr(path: String, body: [UInt8], _ settings: DaprSidecar.CallSettings, _ step: CompiledStep) async throws {
        let timeout = try int(settings.timeout, step, in: 1...240)
        let urlText = DaprSidecar.url(options.daprSidecar, path)
        var headers: [PolicyHeader] = []
        if let contentType = settings.contentType { headers.append(PolicyHeader("Content-Type", contentType)) }
        if let token = options.daprAPIToken { headers.append(PolicyHeader(DaprSidecar.apiTokenHeader, token)) }
        let request = BackendRequest(
            method: "POST", urlText: urlText, headers: headers, body: .bytes(body), timeout: .seconds(timeout), followRedirects: false)
        state.record(.backend, "\(step.name) POST \(urlText)")
        let response: BackendResponse
        let bytes: [UInt8]
        do {
            response = try await Self.send(request, to: backend)
            bytes = try await response.body?.collect(upTo: options.maximumBodyBytes) ?? []
        } catch {
            let timedOut = (error as? PolicyBackendError) == .timeout
            if let variable = settings.variable { state.variables.set(.string(variable), .null) }
            let message = timedOut
                ? "The Dapr runtime at \(options.daprSidecar.absoluteString) did not answer within \(timeout) seconds."
                : "The Dapr runtime at \(options.daprSidecar.absoluteString) could not be reached: \(error)"
            guard settings.ignoreError else {
                throw PolicyFailure.generic(step.name, reason: timedOut ? "Timeout" : "BackendConnectionFailure", message)
            }
            state.record(.backend, "\(step.name) failed (ignore-error): \(message)")
            return
        }
        if let variable = settings.variable {
            let side = RequestState(
                request: PolicyRequest(method: "POST", host: request.url.host ?? "", path: request.url.path), deployment: state.deployment,
                tracing: false)
            side.status = response.status
            side.reason = response.reason
            side.responseHeaders = response.headers
            side.responseBody = MessageBodyObject(bytes)
            state.variables.set(.string(variable), .object(ResponseObject(state: side)))
        }
        state.record(.backend, "\(step.name): the Dapr runtime answered \(response.status)")
        guard (200...299).contains(response.status) else {
            // Dapr's error answers are `{"errorCode":"ERR_…","message":"…"}`: the code is named, escaped.
            var detail = ""
            // (Read with the expression library's bounded JSON reader.)
            if bytes.count <= 64 << 10, case .object(let members)? = (try? JToken.parse(json: String(decoding: bytes, as: UTF8.self)))?.storage,
               let member = members.first(where: { $0.0 == "errorCode" })?.1, case .value(.string(let code)) = member.storage {
                detail = " (\(ErrorBody.escape(String(code.prefix(80)))))"
            }
            let message = "The Dapr runtime answered \(response.status)\(detail) to POST \(path)."
            guard settings.ignoreError else { throw PolicyFailure.generic(step.name, reason: "DaprRequestFailed", message) }
            state.record(.backend, "\(step.name) failed (ignore-error): \(message)")
            return
        }
    }

    /// A Dapr message's bytes: a literal, an expression's value (null: empty), or none.
    func daprMessage(_ message: RuntimeParameter<String>?, _ step: CompiledStep) throws -> [UInt8] {
        switch message {
        case nil: return []
        case .constant(let text)?: return Array(text.utf8)
        case .expression(let expression)?: return ValueConversion.bytes(try evaluate(expression, step))
        }
    }
}
