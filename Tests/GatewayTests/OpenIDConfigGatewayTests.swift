import Crypto
import Foundation
import GatewayConfiguration
import Logging
import NIOPosix
import Testing
import _CryptoExtras

@testable import Gateway

/// Tokens signed in the test (RS256 and ES256 with JWKS keys, HS256 with an inline key).
struct TestSigner {
    let rsa: _RSA.Signing.PrivateKey
    let ec = P256.Signing.PrivateKey()
    let secret = Array((0..<32).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 1) })

    init() throws { rsa = try _RSA.Signing.PrivateKey(keySize: .bits2048) }

    static func base64URL(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// The JWKS publishing the RSA key as `rsa-1` and the P-256 key as `ec-1`.
    func jwks() throws -> String {
        let primitives = try rsa.publicKey.getKeyPrimitives()
        let point = ec.publicKey.rawRepresentation  // x || y
        return """
            {"keys":[
              {"kty":"RSA","use":"sig","alg":"RS256","kid":"rsa-1","n":"\(Self.base64URL(primitives.modulus))","e":"\(Self.base64URL(primitives.publicExponent))"},
              {"kty":"EC","use":"sig","alg":"ES256","kid":"ec-1","crv":"P-256","x":"\(Self.base64URL(point.prefix(32)))","y":"\(Self.base64URL(point.suffix(32)))"},
              {"kty":"oct","kid":"ignored","k":"c2VjcmV0"}
            ]}
            """
    }

    func token(_ algorithm: String, kid: String? = nil, claims: String) throws -> String {
        let header = kid.map { #"{"alg":"\#(algorithm)","typ":"JWT","kid":"\#($0)"}"# } ?? #"{"alg":"\#(algorithm)","typ":"JWT"}"#
        let input = Self.base64URL(Array(header.utf8)) + "." + Self.base64URL(Array(claims.utf8))
        let data = Data(input.utf8)
        let signature: [UInt8]
        switch algorithm {
        case "RS256": signature = Array(try rsa.signature(for: SHA256.hash(data: data), padding: .insecurePKCS1v1_5).rawRepresentation)
        case "ES256": signature = Array(try ec.signature(for: data).rawRepresentation)
        case "HS256": signature = Array(HMAC<SHA256>.authenticationCode(for: data, using: SymmetricKey(data: secret)))
        default: signature = []
        }
        return input + "." + Self.base64URL(signature)
    }
}

@Suite struct HTTPKeyDocumentFetcherTests {
    static func fetcher(timeout: Duration = .seconds(5)) throws -> HTTPKeyDocumentFetcher {
        let forwarder = try BackendForwarder(config: BackendConfig(), eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "test"))
        return HTTPKeyDocumentFetcher(forwarder: forwarder, timeout: timeout)
    }

    @Test func fetchesWithContentLengthAndCloseDelimitedHTTP10() async throws {
        let server = try await DocumentServer.start([
            "/keys": .json(#"{"keys":[]}"#),
            "/old": .http10(#"{"keys":["http/1.0"]}"#),
            "/gone": .status(404),
            "/big": .json(String(repeating: "x", count: 5000)),
        ])
        let fetcher = try Self.fetcher()
        let keys = try await fetcher.fetch(URL(string: server.baseURL + "/keys")!, limit: 1 << 20)
        #expect(String(decoding: keys, as: UTF8.self) == #"{"keys":[]}"#)
        // An HTTP/1.0 answer without Content-Length (Python's http.server) ends with the connection.
        let old = try await fetcher.fetch(URL(string: server.baseURL + "/old")!, limit: 1 << 20)
        #expect(String(decoding: old, as: UTF8.self) == #"{"keys":["http/1.0"]}"#)
        await #expect(throws: HTTPKeyDocumentFetcher.Failure.self) { try await fetcher.fetch(URL(string: server.baseURL + "/gone")!, limit: 1 << 20) }
        await #expect(throws: HTTPKeyDocumentFetcher.Failure.self) { try await fetcher.fetch(URL(string: server.baseURL + "/big")!, limit: 1000) }
        await server.stop()
    }

    /// Why the earlier loopback test hung: an HTTP/1.1 answer with neither Content-Length nor
    /// chunking, on a connection the server keeps open, has a body that never ends, and the pooled
    /// client's deadline covers only the response head. The fetcher bounds head and body.
    @Test func aBodyThatNeverEndsTimesOut() async throws {
        let server = try await DocumentServer.start(["/stall": .neverEnding(#"{"keys":["#)])
        let fetcher = try Self.fetcher(timeout: .milliseconds(500))
        let started = ContinuousClock.now
        await #expect(throws: HTTPKeyDocumentFetcher.Failure.self) { try await fetcher.fetch(URL(string: server.baseURL + "/stall")!, limit: 1 << 20) }
        #expect(ContinuousClock.now - started < .seconds(5))
        await server.stop()
    }
}

/// `validate-jwt` with `<openid-config>` end to end: curl through a real gateway, keys from a JWKS
/// served by a loopback server and fetched through the gateway's backend client.
@Suite(.serialized, .enabled(if: Curl.isAvailable, "needs /usr/bin/curl"))
struct OpenIDConfigGatewayTests {
    static let issuer = "https://issuer.drawbridge.test"
    static let audience = "api://drawbridge"

    static func serve(_ signer: TestSigner) async throws -> DocumentServer {
        let server = try await DocumentServer.start()
        server.set("/.well-known/openid-configuration", .json(#"{"issuer":"\#(issuer)","jwks_uri":"\#(server.baseURL)/jwks"}"#))
        server.set("/jwks", .json(try signer.jwks()))
        return server
    }

    static func gateway(policy: String) async throws -> (TestGateway, String) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("openid-\(UUID().uuidString).xml").path
        try policy.write(toFile: path, atomically: true, encoding: .utf8)
        return (try await TestGateway.start(tweaking: { config, _, _ in config.apis[1].policyFile = path }), path)
    }

    static func call(_ gateway: TestGateway, _ token: String, certificate: String? = nil, key: String? = nil) async throws -> Curl.Result {
        var arguments = SecurityProbeTests.common(gateway, cert: certificate == nil) + ["--http1.1", "--max-time", "15"]
        if let certificate, let key { arguments += ["--cert", certificate, "--key", key] }
        return try await Curl.run(arguments + ["-H", "Authorization: Bearer \(token)", "\(gateway.baseURL)/public/jwt"])
    }

    static func claims(exp: Int? = nil, nbf: Int? = nil, aud: String = audience, iss: String = issuer, extra: String = "") -> String {
        let now = Int(Date().timeIntervalSince1970)
        var fields = [#""aud":"\#(aud)""#, #""iss":"\#(iss)""#, #""exp":\#(exp ?? now + 300)"#]
        if let nbf { fields.append(#""nbf":\#(nbf)"#) }
        if !extra.isEmpty { fields.append(extra) }
        return "{" + fields.joined(separator: ",") + "}"
    }

    @Test func jwksKeysAndInlineKeyThroughTheGateway() async throws {
        let signer = try TestSigner()
        let server = try await Self.serve(signer)
        let (gateway, path) = try await Self.gateway(policy: """
            <policies><inbound>
            <validate-jwt header-name="Authorization" require-scheme="Bearer">
              <openid-config url="\(server.baseURL)/.well-known/openid-configuration" />
              <issuer-signing-keys><key>\(Data(signer.secret).base64EncodedString())</key></issuer-signing-keys>
              <audiences><audience>\(Self.audience)</audience></audiences>
              <issuers><issuer>\(Self.issuer)</issuer></issuers>
            </validate-jwt>
            </inbound><backend><forward-request /></backend><outbound /><on-error /></policies>
            """)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let now = Int(Date().timeIntervalSince1970)
        for (algorithm, kid) in [("RS256", "rsa-1"), ("ES256", "ec-1"), ("HS256", nil)] as [(String, String?)] {
            let accepted = try await Self.call(gateway, try signer.token(algorithm, kid: kid, claims: Self.claims()))
            #expect(accepted.httpCode == 200, "\(algorithm): \(accepted.httpCode ?? 0) \(accepted.body) \(accepted.stderr)")
        }
        // The provider's documents were fetched once (cached) through the gateway's backend client.
        #expect(server.requests == ["/.well-known/openid-configuration", "/jwks"])

        let good = try signer.token("RS256", kid: "rsa-1", claims: Self.claims())
        let parts = good.split(separator: ".")
        let tampered = parts[0] + "." + TestSigner.base64URL(Array(Self.claims(extra: #""admin":true"#).utf8)) + "." + parts[2]
        let refusals: [(String, String, String)] = [
            ("expired", try signer.token("RS256", kid: "rsa-1", claims: Self.claims(exp: now - 600)), "Lifetime validation failed. The token is expired."),
            ("not yet valid", try signer.token("ES256", kid: "ec-1", claims: Self.claims(nbf: now + 600)), "Lifetime validation failed. The token is not yet valid."),
            ("wrong audience", try signer.token("RS256", kid: "rsa-1", claims: Self.claims(aud: "api://other")), "Audience validation failed."),
            ("wrong issuer", try signer.token("HS256", claims: Self.claims(iss: "https://evil.example")), "Issuer validation failed."),
            ("bad signature", String(tampered), "Signature validation failed."),
            ("alg none", try signer.token("none", claims: Self.claims()), "JWT is not signed."),
            ("unknown kid", try signer.token("ES256", kid: "ec-2", claims: Self.claims()),
             "Signature validation failed. No key matches the token's algorithm or key id."),
        ]
        for (name, token, message) in refusals {
            let refused = try await Self.call(gateway, token)
            #expect(refused.httpCode == 401, "\(name)")
            #expect(refused.body == #"{"statusCode":401,"message":"\#(message)"}"#, "\(name): \(refused.body)")
        }
        try await gateway.stop()
        await server.stop()
    }

    @Test func aCertificateBoundTokenNeedsItsCertificate() async throws {
        let signer = try TestSigner()
        let server = try await Self.serve(signer)
        let (gateway, path) = try await Self.gateway(policy: """
            <policies><inbound>
            <validate-jwt header-name="Authorization" require-certificate-binding="true">
              <openid-config url="\(server.baseURL)/.well-known/openid-configuration" />
              <audiences><audience>\(Self.audience)</audience></audiences>
            </validate-jwt>
            </inbound><backend><forward-request /></backend><outbound /><on-error /></policies>
            """)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let pem = try String(contentsOfFile: gateway.pki.clientCertificate, encoding: .utf8)
        let base64 = pem.components(separatedBy: "-----BEGIN CERTIFICATE-----")[1].components(separatedBy: "-----END CERTIFICATE-----")[0]
            .filter { !$0.isWhitespace }
        let der = try #require(Data(base64Encoded: base64))
        let thumbprint = TestSigner.base64URL(SHA256.hash(data: der))
        let bound = try signer.token("RS256", kid: "rsa-1", claims: Self.claims(extra: #""cnf":{"x5t#S256":"\#(thumbprint)"}"#))
        let own = try await Self.call(gateway, bound)
        #expect(own.httpCode == 200, "\(own.body) \(own.stderr)")
        let other = try await Self.call(gateway, bound, certificate: gateway.pki.revokedClientCertificate, key: gateway.pki.revokedClientKey)
        #expect(other.httpCode == 401)
        #expect(other.body == #"{"statusCode":401,"message":"The token is bound to another client certificate."}"#, "\(other.body)")
        try await gateway.stop()
        await server.stop()
    }

    @Test func anUnreachableProviderFailsClosed() async throws {
        let signer = try TestSigner()
        let server = try await DocumentServer.start(["/.well-known/openid-configuration": .status(503)])
        let (gateway, path) = try await Self.gateway(policy: """
            <policies><inbound>
            <validate-jwt header-name="Authorization">
              <openid-config url="\(server.baseURL)/.well-known/openid-configuration" />
            </validate-jwt>
            </inbound><backend><forward-request /></backend><outbound /><on-error /></policies>
            """)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let refused = try await Self.call(gateway, try signer.token("RS256", kid: "rsa-1", claims: Self.claims()))
        #expect(refused.httpCode == 401)
        #expect(refused.body.contains("No key matches"), "\(refused.body)")
        try await gateway.stop()
        await server.stop()
    }
}
