import Foundation
import Gateway
import HTTPTypes
import Testing

/// RFC 9113 lets an HTTP/2 request omit `:authority`; common clients always send it, so this test
/// speaks HTTP/2 directly: several streams on one connection, each carrying the client certificate.
@Suite(.serialized)
struct HTTP2WithoutAuthorityTests {
    @Test func requestsWithoutAuthorityAreServedAndShareTheConnectionCertificate() async throws {
        let gateway = try await TestGateway.start()
        let (_, multiplexer) = try await RawHTTP2Client.connect(gateway)
        for index in 0..<3 {
            let request = HTTPRequest(method: .get, scheme: "https", authority: nil, path: "/echo/users/\(index)")
            let (status, body) = try await RawHTTP2Client.send(request, on: multiplexer)
            #expect(status == 200, "stream \(index): \(body)")
            #expect(body.contains("\"path\":\"/users/\(index)\""))
        }
        try await gateway.stop()
    }
}
