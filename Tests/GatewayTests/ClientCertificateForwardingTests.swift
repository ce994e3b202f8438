import Crypto
import Foundation
import Gateway
import GatewayConfiguration
import Testing

/// `forwardClientCertificate` end to end: curl presents the demo client certificate (leaf and
/// intermediate) plus forged copies of the certificate headers; the echo backend reports what it got.
@Suite(.serialized, .enabled(if: Curl.isAvailable))
struct ClientCertificateForwardingTests {
    static let forged = [
        "Client-Cert: :Zm9yZ2Vk:", "Client-Cert-Chain: :Zm9yZ2Vk:", "client_cert: :Zm9yZ2Vk:",
        "X-Forwarded-Client-Cert: Hash=forged;Subject=\"CN=forged\"", "x_forwarded_client_cert: forged",
    ]

    /// The DER of each certificate of a PEM file, in order (read independently of the gateway's code).
    static func derBlocks(_ path: String) throws -> [[UInt8]] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return text.components(separatedBy: "-----BEGIN CERTIFICATE-----").dropFirst().compactMap { block in
            let body = block.components(separatedBy: "-----END CERTIFICATE-----")[0].filter { !$0.isWhitespace }
            return Data(base64Encoded: body).map { [UInt8]($0) }
        }
    }

    /// The request headers the echo backend received.
    static func received(_ gateway: TestGateway, path: String, http2: Bool = false, post: Bool = false) async throws -> [String: String] {
        let pki = gateway.pki
        var arguments = ["--cacert", pki.rootCA, http2 ? "--http2" : "--http1.1", "--cert", pki.clientCertificate, "--key", pki.clientKey]
        for header in forged { arguments += ["-H", header] }
        if post { arguments += ["--data-binary", "hello"] }
        let result = try await Curl.run(arguments + ["\(gateway.baseURL)\(path)"])
        #expect(result.httpCode == 200, "\(path): \(result.stdout) \(result.stderr)")
        #expect(!result.body.contains("Zm9yZ2Vk") && !result.body.contains("forged"), "a forged copy reached the backend: \(result.body)")
        let object = try JSONSerialization.jsonObject(with: Data(result.body.utf8)) as? [String: Any]
        return object?["headers"] as? [String: String] ?? [:]
    }

    static func policy() throws -> String {
        try SeedPolicyTests.write("""
        <policies>
          <inbound><base /><set-header name="X-Policy-Saw-Client-Cert" exists-action="override"><value>@(context.Request.Headers.GetValueOrDefault("Client-Cert", "") != "" ? "yes" : "no")</value></set-header></inbound>
          <backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error>
        </policies>
        """)
    }

    @Test func rfc9440CarriesTheExactDERAndForgedCopiesNeverArrive() async throws {
        let policy = try Self.policy()
        let gateway = try await TestGateway.start(tweaking: { config, _, echoPort in
            config.apis[0].forwardClientCertificate = .rfc9440    // /echo: requireTrustedClientCertificate, no policy
            config.apis.append(APIConfig(name: "with-policy", pathPrefix: "/policy", backendURL: "http://127.0.0.1:\(echoPort)",
                                         requireTrustedClientCertificate: true, policyFile: policy))
            config.apis[2].forwardClientCertificate = .rfc9440
            config.apis[1].requireTrustedClientCertificate = true  // /public: gate, forwarding none
        })
        let chain = try Self.derBlocks(gateway.pki.clientCertificate)
        try #require(chain.count == 2)
        let expectedLeaf = ":" + Data(chain[0]).base64EncodedString() + ":"
        let expectedChain = ":" + Data(chain[1]).base64EncodedString() + ":"
        for (path, http2, post) in [("/echo/a", false, false), ("/echo/a", true, false), ("/echo/a", false, true),
                                    ("/policy/a", false, false), ("/policy/a", true, true)] {
            let headers = try await Self.received(gateway, path: path, http2: http2, post: post)
            #expect(headers["client-cert"] == expectedLeaf, "\(path) http2 \(http2) post \(post)")
            #expect(headers["client-cert-chain"] == expectedChain, "\(path)")
            #expect(headers["x-forwarded-client-cert"] == nil)
            if path.hasPrefix("/policy") { #expect(headers["x-policy-saw-client-cert"] == "yes") }
        }
        // Forwarding off (the default): nothing, forged or real, arrives.
        let none = try await Self.received(gateway, path: "/public/a")
        #expect(none["client-cert"] == nil && none["client-cert-chain"] == nil && none["x-forwarded-client-cert"] == nil)
        try await gateway.stop()
    }

    @Test func xfccInEnvoysFormat() async throws {
        let gateway = try await TestGateway.start(tweaking: { config, _, _ in
            config.apis[0].forwardClientCertificate = .xfcc
        })
        let chain = try Self.derBlocks(gateway.pki.clientCertificate)
        let headers = try await Self.received(gateway, path: "/echo/a")
        let xfcc = try #require(headers["x-forwarded-client-cert"])
        #expect(headers["client-cert"] == nil)
        let hash = SHA256.hash(data: chain[0]).map { String(format: "%02x", $0) }.joined()
        #expect(xfcc.hasPrefix("Hash=\(hash);Cert=\""), "\(xfcc)")
        #expect(xfcc.contains(";Subject=\"CN=demo-client,"), "\(xfcc)")
        // Cert and Chain are URL-encoded PEM: decoded, they hold exactly the presented DER.
        func field(_ name: String) -> String? {
            guard let start = xfcc.range(of: ";\(name)=\"") ?? xfcc.range(of: "\(name)=\"") else { return nil }
            return xfcc[start.upperBound...].split(separator: "\"", maxSplits: 1).first.map(String.init)?.removingPercentEncoding
        }
        let certPEM = try #require(field("Cert"))
        let chainPEM = try #require(field("Chain"))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("drawbridge-xfcc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data(certPEM.utf8).write(to: directory.appendingPathComponent("cert.pem"))
        try Data(chainPEM.utf8).write(to: directory.appendingPathComponent("chain.pem"))
        #expect(try Self.derBlocks(directory.appendingPathComponent("cert.pem").path) == [chain[0]])
        #expect(try Self.derBlocks(directory.appendingPathComponent("chain.pem").path) == chain)
        try await gateway.stop()
    }

    @Test func forwardingAnUnverifiedCertificateIsAConfigurationError() async throws {
        let pki = try await SharedPKI.shared.pki()
        var config = DemoGateway.configuration(pki: pki, echoPort: 9, port: 0)
        config.apis[1].forwardClientCertificate = .rfc9440    // /public on a negotiate hostname, no gate
        #expect { _ = try GatewaySnapshot(config: config) } throws: { error in
            "\(error)".contains("api 'public-echo': forwardClientCertificate rfc9440 forwards only verified certificates")
        }
        config.hostnames[0].clientCertificate = .required
        _ = try GatewaySnapshot(config: config)
    }
}
