import HTTPTypes
import NIOCore

/// APIM's self-hosted gateway answers `GET /status-0123456789abcdef` on its data-plane port with
/// 200 and no body: load balancers and Kubernetes probes written for APIM use it. Drawbridge does the
/// same on the gateway port (before routing, so no API can shadow it).
enum OperationsProbe {
    static let apimStatusPath = "/status-0123456789abcdef"

    static func isAPIMStatusRequest(_ head: HTTPRequest, path: String) -> Bool {
        guard path.utf8.count >= 24, path.hasPrefix(apimStatusPath), head.method == .get || head.method == .head else { return false }
        let rest = path.utf8.dropFirst(apimStatusPath.utf8.count)
        return rest.isEmpty || rest.first == UInt8(ascii: "?")
    }

    static func answerAPIMStatus(_ writer: ResponseWriter) async -> Int? {
        var fields = HTTPFields()
        fields[.contentLength] = "0"
        fields[.cacheControl] = "no-store"
        do {
            try await writer.writeWhole(HTTPResponse(status: .ok, headerFields: fields), body: ByteBuffer())
            return 200
        } catch {
            return nil
        }
    }
}
