import AsyncHTTPClient
import Foundation
import Gateway
import GatewayConfiguration
import NIOCore
import Testing

/// End to end through real TLS: client certificates asked for in the handshake, checked per API.
@Suite(.serialized)
struct MutualTLSTests {
    @Test(arguments: [false, true])
    func validClientCertificateReachesTheBackend(http2: Bool) async throws {
        let gateway = try await TestGateway.start()
        try await TestClients.with(pki: gateway.pki, certificate: gateway.pki.clientCertificate,
                                   key: gateway.pki.clientKey, http2: http2) { client in
            let response = try await client.execute(HTTPClientRequest(url: gateway.baseURL + "/echo/users/42?x=1"), timeout: .seconds(10))
            #expect(response.status == .ok)
            #expect(response.version == (http2 ? .http2 : .http1_1))
            let body = try await response.body.collect(upTo: 1 << 20)
            let echoed = try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]
            #expect(echoed?["path"] as? String == "/users/42?x=1")
            let headers = echoed?["headers"] as? [String: String]
            #expect(headers?["x-forwarded-proto"] == "https")
            #expect(headers?["x-forwarded-for"] == "127.0.0.1")
            #expect(headers?["x-forwarded-host"]?.hasPrefix("localhost") == true)
        }
        try await gateway.stop()
    }

    @Test(arguments: ["none", "expired", "unknown-ca"])
    func untrustedOrMissingCertificateIsRefused(kind: String) async throws {
        let gateway = try await TestGateway.start()
        let pki = gateway.pki
        let (certificate, key): (String?, String?) = switch kind {
        case "expired": (pki.expiredClientCertificate, pki.expiredClientKey)
        case "unknown-ca": (pki.unknownClientCertificate, pki.unknownClientKey)
        default: (nil, nil)
        }
        for http2 in [false, true] {
            try await TestClients.with(pki: pki, certificate: certificate, key: key, http2: http2) { client in
                let response = try await client.execute(HTTPClientRequest(url: gateway.baseURL + "/echo/users/42"), timeout: .seconds(10))
                #expect(response.status == .forbidden)
                let body = try await response.body.collect(upTo: 1 << 16)
                #expect(String(buffer: body) == #"{"statusCode":403,"message":"Invalid client certificate"}"#)
            }
        }
        try await gateway.stop()
    }

    @Test func negotiateModeLetsClientsWithoutCertificatesReachOpenAPIs() async throws {
        let gateway = try await TestGateway.start()
        let status = try await TestClients.with(pki: gateway.pki, certificate: nil, key: nil, http2: true) { client in
            try await client.execute(HTTPClientRequest(url: gateway.baseURL + "/public/hello"), timeout: .seconds(10)).status
        }
        #expect(status == .ok)
        try await gateway.stop()
    }

    @Test func requiredModeRefusesTheHandshakeWithoutACertificate() async throws {
        let gateway = try await TestGateway.start(tweaking: { config, pki, echoPort in
            config.hostnames[0].clientCertificate = .required
        })
        let pki = gateway.pki
        for (certificate, key) in [(nil, nil), (pki.unknownClientCertificate, pki.unknownClientKey)] as [(String?, String?)] {
            try await TestClients.with(pki: pki, certificate: certificate, key: key, http2: false) { client in
                await #expect(throws: (any Error).self) {
                    _ = try await client.execute(HTTPClientRequest(url: gateway.baseURL + "/public/hello"), timeout: .seconds(10))
                }
            }
        }
        let status = try await TestClients.with(pki: pki, certificate: pki.clientCertificate, key: pki.clientKey, http2: false) { client in
            try await client.execute(HTTPClientRequest(url: gateway.baseURL + "/echo/users/1"), timeout: .seconds(10)).status
        }
        #expect(status == .ok)
        try await gateway.stop()
    }

    /// 10 MiB streamed up with a client certificate, by curl over each protocol. (curl, not
    /// AsyncHTTPClient: its HTTP/2 client once trapped on a force unwrap in
    /// `HTTP2ClientRequestHandler.errorCaught` during this upload under load, taking the test process
    /// down — a client-side bug, see the session note.)
    @Test(arguments: [false, true])
    func tenMebibytePostStreamsThroughWithAClientCertificate(http2: Bool) async throws {
        let gateway = try await TestGateway.start()
        var generator = SystemRandomNumberGenerator()
        let payload = (0..<(10 * 1024 * 1024)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("drawbridge-upload-\(UUID().uuidString).bin")
        try Data(payload).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try await Curl.run([
            http2 ? "--http2" : "--http1.1", "--cacert", gateway.pki.rootCA,
            "--resolve", "localhost:\(gateway.port):127.0.0.1",
            "--cert", gateway.pki.clientCertificate, "--key", gateway.pki.clientKey,
            "--data-binary", "@\(file.path)", "\(gateway.baseURL)/echo/upload",
        ])
        #expect(result.httpCode == 200, "\(result.stderr)")
        let echoed = try JSONSerialization.jsonObject(with: Data(result.body.utf8)) as? [String: Any]
        #expect(echoed?["bodyBytes"] as? Int == payload.count)
        #expect(echoed?["bodySHA256"] as? String == SHA256Hex.of(payload))
        try await gateway.stop()
    }
}

import Crypto

enum SHA256Hex {
    static func of(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }
}
