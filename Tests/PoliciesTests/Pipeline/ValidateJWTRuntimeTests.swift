import ClientCertificates
import Crypto
import Foundation
import JWTKit
import Testing
import _CryptoExtras

@testable import Policies

/// Claims signed into test tokens with jwt-kit (absent optionals are left out of the JSON).
struct TestClaims: JWTPayload {
    var iss: String? = "https://issuer.example"
    var aud: [String]? = ["api://drawbridge"]
    var sub: String? = "alice"
    var exp: Int? = Int(Date().timeIntervalSince1970) + 3600
    var nbf: Int? = nil
    var scp: String? = nil
    var roles: [String]? = nil
    var cnf: [String: String]? = nil

    func verify(using algorithm: some JWTAlgorithm) async throws {}
}

/// Keys made once: the RSA one is slow to generate in debug builds.
enum JWTTestKeys {
    static let secret = Data((0..<32).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) })
    static let otherSecret = Data((0..<32).map { UInt8(truncatingIfNeeded: $0 &* 11 &+ 5) })
    static let rsa: _RSA.Signing.PrivateKey = {
        // A test fixture: generation of a 2048-bit key does not fail.
        guard let key = try? _RSA.Signing.PrivateKey(keySize: .bits2048) else { fatalError("RSA key generation failed") }
        return key
    }()
    static let ec = ES256PrivateKey()

    static func hmac(_ claims: TestClaims = TestClaims(), secret: Data = secret, kid: String? = nil) async throws -> String {
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256, kid: kid.map { JWKIdentifier(string: $0) })
        return try await keys.sign(claims, kid: kid.map { JWKIdentifier(string: $0) })
    }

    static func rs256(_ claims: TestClaims = TestClaims()) async throws -> String {
        let keys = JWTKeyCollection()
        await keys.add(rsa: try JWTKit.Insecure.RSA.PrivateKey(backing: rsa), digestAlgorithm: .sha256)
        return try await keys.sign(claims)
    }

    static func es256(_ claims: TestClaims = TestClaims()) async throws -> String {
        let keys = JWTKeyCollection()
        await keys.add(ecdsa: ec)
        return try await keys.sign(claims)
    }

    static func base64URL(_ bytes: some DataProtocol) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// A token assembled by hand (for `alg: none` and malformed ones).
    static func handmade(header: String, payload: String, signature: String = "") -> String {
        base64URL(Array(header.utf8)) + "." + base64URL(Array(payload.utf8)) + "." + signature
    }

    static var rsaKeyElement: String {
        // Standard base64, as APIM users paste it.
        guard let primitives = try? rsa.publicKey.getKeyPrimitives() else { return "" }
        return "<key n=\"\(primitives.modulus.base64EncodedString())\" e=\"\(primitives.publicExponent.base64EncodedString())\" />"
    }

    static var ecKeyElement: String {
        guard let parameters = ec.parameters else { return "" }
        return "<key crv=\"P-256\" x=\"\(parameters.x)\" y=\"\(parameters.y)\" />"
    }
}

@Suite struct ValidateJWTRuntimeTests {
    static let onError = """
        <set-header name="X-Reason" exists-action="override"><value>@(context.LastError.Reason)</value></set-header>\
        <set-header name="X-Source" exists-action="override"><value>@(context.LastError.Source)</value></set-header>
        """

    func policy(
        _ attributes: String = "header-name=\"Authorization\"", keys: String = "<key>\(JWTTestKeys.secret.base64EncodedString())</key>",
        extra: String = "<audiences><audience>api://drawbridge</audience></audiences><issuers><issuer>https://issuer.example</issuer></issuers>",
        after: String = ""
    ) -> String {
        document(
            inbound: "<validate-jwt \(attributes)><issuer-signing-keys>\(keys)</issuer-signing-keys>\(extra)</validate-jwt>\(after)",
            onError: Self.onError)
    }

    func run(_ xml: String, token: String?, header: String = "Authorization", scheme: String = "Bearer ", query: [(name: String, value: String)] = [])
        async throws -> (PolicyResult, [BackendRequest])
    {
        let headers = token.map { [PolicyHeader(header, scheme + $0)] } ?? []
        return try await execute(xml, request(query: query, headers: headers))
    }

    func expectRefused(
        _ result: PolicyResult, _ sent: [BackendRequest], reason: String, message: String, status: Int = 401,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(result.status == status, sourceLocation: sourceLocation)
        #expect(result.bodyText == "{\"statusCode\":\(status),\"message\":\"\(message)\"}", sourceLocation: sourceLocation)
        #expect(result.lastError?.source == "validate-jwt", sourceLocation: sourceLocation)
        #expect(result.lastError?.reason == reason, sourceLocation: sourceLocation)
        #expect(result.header("X-Reason") == reason, sourceLocation: sourceLocation)
        #expect(sent.isEmpty, sourceLocation: sourceLocation)
    }

    // MARK: Accepted

    @Test func hs256Passes() async throws {
        let (result, sent) = try await run(policy(), token: try await JWTTestKeys.hmac())
        #expect(result.status == 200)
        #expect(sent.count == 1)
        #expect(result.lastError == nil)
    }

    @Test func hs384AndHS512NeedLongEnoughSecrets() async throws {
        let long = Data((0..<64).map { UInt8($0) })
        for digest in [DigestAlgorithm.sha384, .sha512] {
            let keys = JWTKeyCollection()
            await keys.add(hmac: HMACKey(from: long), digestAlgorithm: digest)
            let token = try await keys.sign(TestClaims())
            let (result, _) = try await run(policy(keys: "<key>\(long.base64EncodedString())</key>"), token: token)
            #expect(result.status == 200)
        }
        // A 256-bit secret serves HS256 only: an HS512 token finds no key.
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: long), digestAlgorithm: .sha512)
        let token = try await keys.sign(TestClaims())
        let (refused, sent) = try await run(policy(), token: token)
        expectRefused(refused, sent, reason: "TokenSignatureKeyNotFound", message: "Signature validation failed. No key matches the token's algorithm or key id.")
    }

    @Test func rs256Passes() async throws {
        let (result, sent) = try await run(policy(keys: JWTTestKeys.rsaKeyElement), token: try await JWTTestKeys.rs256())
        #expect(result.status == 200)
        #expect(sent.count == 1)
    }

    @Test func es256Passes() async throws {
        let (result, sent) = try await run(policy(keys: JWTTestKeys.ecKeyElement), token: try await JWTTestKeys.es256())
        #expect(result.status == 200)
        #expect(sent.count == 1)
    }

    @Test func severalKeysAndKeyIds() async throws {
        let keys = "<key id=\"one\">\(JWTTestKeys.otherSecret.base64EncodedString())</key>\(JWTTestKeys.rsaKeyElement)<key id=\"two\">\(JWTTestKeys.secret.base64EncodedString())</key>"
        let (plain, _) = try await run(policy(keys: keys), token: try await JWTTestKeys.hmac())
        #expect(plain.status == 200)
        let (matchingKid, _) = try await run(policy(keys: keys), token: try await JWTTestKeys.hmac(kid: "two"))
        #expect(matchingKid.status == 200)
        let (otherKid, sent) = try await run(policy(keys: keys), token: try await JWTTestKeys.hmac(kid: "one"))
        expectRefused(otherKid, sent, reason: "TokenSignatureInvalid", message: "Signature validation failed.")
        // Keys with another id do not serve the token; the RSA key (no id) is not for HS256.
        let (unknownKid, _) = try await run(policy(keys: keys), token: try await JWTTestKeys.hmac(kid: "three"))
        #expect(unknownKid.lastError?.reason == "TokenSignatureKeyNotFound")
    }

    // MARK: Refused

    @Test func expiredAndNotYetValid() async throws {
        let now = Int(Date().timeIntervalSince1970)
        let (expired, sent) = try await run(policy(), token: try await JWTTestKeys.hmac(TestClaims(exp: now - 600)))
        expectRefused(expired, sent, reason: "TokenExpired", message: "Lifetime validation failed. The token is expired.")
        let (skewed, _) = try await run(policy("header-name=\"Authorization\" clock-skew=\"900\""), token: try await JWTTestKeys.hmac(TestClaims(exp: now - 600)))
        #expect(skewed.status == 200)
        let (early, earlySent) = try await run(policy(), token: try await JWTTestKeys.hmac(TestClaims(nbf: now + 600)))
        expectRefused(early, earlySent, reason: "TokenNotYetValid", message: "Lifetime validation failed. The token is not yet valid.")
        let (noExpiry, noExpirySent) = try await run(policy(), token: try await JWTTestKeys.hmac(TestClaims(exp: nil)))
        expectRefused(noExpiry, noExpirySent, reason: "JwtInvalid", message: "Lifetime validation failed. The token is missing an Expiration Time.")
        let (allowed, _) = try await run(policy("header-name=\"Authorization\" require-expiration-time=\"false\""), token: try await JWTTestKeys.hmac(TestClaims(exp: nil)))
        #expect(allowed.status == 200)
    }

    @Test func wrongAudienceAndIssuer() async throws {
        let (audience, sent) = try await run(policy(), token: try await JWTTestKeys.hmac(TestClaims(aud: ["api://other"])))
        expectRefused(audience, sent, reason: "TokenAudienceNotAllowed", message: "Audience validation failed.")
        let (noAudience, _) = try await run(policy(), token: try await JWTTestKeys.hmac(TestClaims(aud: nil)))
        #expect(noAudience.lastError?.reason == "TokenAudienceNotAllowed")
        let (several, _) = try await run(policy(), token: try await JWTTestKeys.hmac(TestClaims(aud: ["api://other", "api://drawbridge"])))
        #expect(several.status == 200)
        let (issuer, issuerSent) = try await run(policy(), token: try await JWTTestKeys.hmac(TestClaims(iss: "https://evil.example")))
        expectRefused(issuer, issuerSent, reason: "TokenIssuerNotAllowed", message: "Issuer validation failed.")
    }

    @Test func badSignatures() async throws {
        let (otherKey, sent) = try await run(policy(), token: try await JWTTestKeys.hmac(secret: JWTTestKeys.otherSecret))
        expectRefused(otherKey, sent, reason: "TokenSignatureInvalid", message: "Signature validation failed.")
        // A payload changed after signing (RS256 and ES256).
        for (keys, token) in [(JWTTestKeys.rsaKeyElement, try await JWTTestKeys.rs256()), (JWTTestKeys.ecKeyElement, try await JWTTestKeys.es256())] {
            let parts = token.split(separator: ".")
            let forged = TestClaims(sub: "mallory")
            let forgedPayload = JWTTestKeys.base64URL(try JSONEncoder().encode(forged))
            let (tampered, tamperedSent) = try await run(policy(keys: keys), token: "\(parts[0]).\(forgedPayload).\(parts[2])")
            expectRefused(tampered, tamperedSent, reason: "TokenSignatureInvalid", message: "Signature validation failed.")
            let (garbled, _) = try await run(policy(keys: keys), token: "\(parts[0]).\(parts[1]).AAAA")
            #expect(garbled.lastError?.reason == "TokenSignatureInvalid")
        }
        // An RS256 token against an HMAC key only: no key for the algorithm (no algorithm confusion).
        let (confused, _) = try await run(policy(), token: try await JWTTestKeys.rs256())
        #expect(confused.lastError?.reason == "TokenSignatureKeyNotFound")
    }

    @Test func unsignedTokens() async throws {
        let exp = Int(Date().timeIntervalSince1970) + 3600
        let payload = "{\"iss\":\"https://issuer.example\",\"aud\":\"api://drawbridge\",\"exp\":\(exp)}"
        for alg in ["none", "None", "NONE"] {
            let token = JWTTestKeys.handmade(header: "{\"alg\":\"\(alg)\",\"typ\":\"JWT\"}", payload: payload)
            let (result, sent) = try await run(policy(), token: token)
            expectRefused(result, sent, reason: "TokenSignatureInvalid", message: "JWT is not signed.")
        }
        // An HS256 header with the signature stripped is unsigned too.
        let stripped = JWTTestKeys.handmade(header: "{\"alg\":\"HS256\"}", payload: payload)
        let (strippedResult, _) = try await run(policy(), token: stripped)
        #expect(strippedResult.lastError?.reason == "TokenSignatureInvalid")
        // require-signed-tokens="false" accepts it (audience, issuer and lifetime still apply).
        let none = JWTTestKeys.handmade(header: "{\"alg\":\"none\"}", payload: payload)
        let (relaxed, _) = try await run(policy("header-name=\"Authorization\" require-signed-tokens=\"false\""), token: none)
        #expect(relaxed.status == 200)
    }

    @Test func missingTokenAndScheme() async throws {
        let (missing, sent) = try await run(policy(), token: nil)
        expectRefused(missing, sent, reason: "TokenNotPresent", message: "JWT not present.")
        let (empty, _) = try await run(policy(), token: "")
        #expect(empty.lastError?.reason == "TokenNotPresent")
        let token = try await JWTTestKeys.hmac()
        // Without require-scheme a bare token and a Bearer one are both accepted.
        let (bare, _) = try await run(policy(), token: token, scheme: "")
        #expect(bare.status == 200)
        let schemed = policy("header-name=\"Authorization\" require-scheme=\"Bearer\"")
        let (bearer, _) = try await run(schemed, token: token, scheme: "bearer ")
        #expect(bearer.status == 200)
        let (wrongScheme, wrongSent) = try await run(schemed, token: token, scheme: "Basic ")
        expectRefused(wrongScheme, wrongSent, reason: "TokenNotPresent", message: "JWT not present.")
        let (noScheme, _) = try await run(schemed, token: token, scheme: "")
        #expect(noScheme.lastError?.reason == "TokenNotPresent")
    }

    @Test func customStatusAndMessage() async throws {
        let xml = policy("header-name=\"Authorization\" failed-validation-httpcode=\"403\" failed-validation-error-message=\"Unauthorized. Access token is missing or invalid.\"")
        let (result, sent) = try await run(xml, token: nil)
        expectRefused(result, sent, reason: "TokenNotPresent", message: "Unauthorized. Access token is missing or invalid.", status: 403)
        #expect(result.lastError?.message == "JWT Validation Failed: JWT not present.")
    }

    @Test func malformedTokensAreRefusedWithoutCrashing() async throws {
        let hostile = [
            "abc", "a.b", "a.b.c", "....", "eyJ.eyJ.", String(repeating: "A", count: 20_000), "ä.ö.ü",
            JWTTestKeys.handmade(header: "[1,2]", payload: "{}", signature: "AAAA"),
            JWTTestKeys.handmade(header: "{\"alg\":\"HS256\"}", payload: String(repeating: "[", count: 5000), signature: "AAAA"),
            JWTTestKeys.handmade(header: "{\"alg\":\"HS256\"}", payload: "{\"exp\":1e400}", signature: "AAAA"),
            "a.b.c.d.e",
        ]
        for token in hostile {
            let (result, sent) = try await run(policy(), token: token)
            #expect(result.status == 401, "\(token.prefix(40))")
            #expect(["JwtInvalid", "TokenSignatureInvalid"].contains(result.lastError?.reason ?? ""), "\(token.prefix(40))")
            #expect(sent.isEmpty)
        }
        // A numeric claim that is not a finite number, in a correctly signed token.
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: JWTTestKeys.secret), digestAlgorithm: .sha256)
        struct Odd: JWTPayload {
            var exp = "soon"
            func verify(using algorithm: some JWTAlgorithm) async throws {}
        }
        let odd = try await keys.sign(Odd())
        let (result, _) = try await run(policy(extra: ""), token: odd)
        #expect(result.lastError?.reason == "JwtInvalid")
    }

    @Test func requiredClaims() async throws {
        func claims(_ body: String) -> String {
            "<required-claims>\(body)</required-claims>"
        }
        let token = try await JWTTestKeys.hmac(TestClaims(scp: "read write", roles: ["admin", "ops"]))
        let cases: [(String, String?)] = [
            ("<claim name=\"roles\" />", nil),
            ("<claim name=\"roles\" match=\"all\"><value>admin</value><value>ops</value></claim>", nil),
            ("<claim name=\"roles\" match=\"any\"><value>root</value><value>ops</value></claim>", nil),
            ("<claim name=\"scp\" separator=\" \"><value>write</value></claim>", nil),
            ("<claim name=\"scp\"><value>write</value></claim>", "TokenClaimValueNotAllowed"),
            ("<claim name=\"roles\"><value>admin</value><value>root</value></claim>", "TokenClaimValueNotAllowed"),
            ("<claim name=\"tid\" />", "TokenClaimNotFound"),
        ]
        for (body, reason) in cases {
            let (result, _) = try await run(policy(extra: claims(body)), token: token)
            #expect(result.lastError?.reason == reason, "\(body)")
            #expect(result.status == (reason == nil ? 200 : 401), "\(body)")
        }
    }

    @Test func querySourceAndTokenValue() async throws {
        let token = try await JWTTestKeys.hmac()
        let byQuery = policy("query-parameter-name=\"access_token\"")
        let (query, _) = try await run(byQuery, token: nil, query: [("access_token", token)])
        #expect(query.status == 200)
        let (noQuery, _) = try await run(byQuery, token: nil)
        #expect(noQuery.lastError?.reason == "TokenNotPresent")
        let byValue = policy("token-value=\"@(context.Request.Headers.GetValueOrDefault(&quot;X-Token&quot;, &quot;&quot;))\"")
        let (value, _) = try await run(byValue, token: token, header: "X-Token", scheme: "")
        #expect(value.status == 200)
    }

    @Test func outputTokenVariable() async throws {
        let xml = policy(
            "header-name=\"Authorization\" output-token-variable-name=\"jwt\"",
            after: "<set-header name=\"X-Subject\" exists-action=\"override\"><value>@(((Jwt)context.Variables[&quot;jwt&quot;]).Subject)</value></set-header>")
        let (result, sent) = try await run(xml, token: try await JWTTestKeys.hmac())
        #expect(result.status == 200)
        #expect(sent.first?.headers.first { $0.name == "X-Subject" }?.value == "alice")
    }

    @Test func pipelineWithValidateJWTRunsOnTheAsyncPath() throws {
        let built = try pipeline(policy())
        #expect(built.inboundRunsSynchronously == false)
    }

    // MARK: Load

    @Test func loadTimeErrors() {
        let key = "<issuer-signing-keys><key>\(JWTTestKeys.secret.base64EncodedString())</key></issuer-signing-keys>"
        #expect(loadErrors("<validate-jwt>\(key)</validate-jwt>").count == 1)
        #expect(loadErrors("<validate-jwt header-name=\"a\" query-parameter-name=\"b\">\(key)</validate-jwt>").count == 1)
        #expect(loadErrors("<validate-jwt header-name=\"a\"><issuer-signing-keys><key>c2hvcnQ=</key></issuer-signing-keys></validate-jwt>").first?
            .contains("at least 256") == true)
        #expect(loadErrors("<validate-jwt header-name=\"a\"><openid-config url=\"https://login.example/.well-known/openid-configuration\" /></validate-jwt>").isEmpty)
        #expect(loadErrors("<validate-jwt header-name=\"a\"><openid-config /></validate-jwt>").count == 1)
        #expect(loadErrors("<validate-jwt header-name=\"a\"><decryption-keys /></validate-jwt>").first?.contains("not supported yet") == true)
        #expect(loadErrors("<validate-jwt header-name=\"a\"><issuer-signing-keys><key n=\"AQAB\" /></issuer-signing-keys></validate-jwt>").count == 1)
        #expect(loadErrors("<validate-jwt header-name=\"a\"><issuer-signing-keys><key n=\"!!\" e=\"AQAB\" /></issuer-signing-keys></validate-jwt>").count == 1)
        #expect(loadErrors("<validate-jwt header-name=\"a\">\(key)</validate-jwt>").isEmpty)
        #expect(loadErrors("<validate-jwt header-name=\"a\" clock-skew=\"-1\">\(key)</validate-jwt>").count == 1)
    }
}

/// Serves an OpenID configuration and its JWKS from memory, counting fetches.
final class FakeKeyDocuments: PolicyKeyDocumentFetching, @unchecked Sendable {
    private let lock = NSLock()
    private var fetched: [URL] = []
    var documents: [String: String]
    init(_ documents: [String: String]) { self.documents = documents }
    var fetches: [URL] { lock.withLock { fetched } }

    func fetch(_ url: URL, limit: Int) async throws -> [UInt8] {
        let document: String? = lock.withLock {
            fetched.append(url)
            return documents[url.absoluteString]
        }
        guard let document else { throw URLError(.fileDoesNotExist) }
        return Array(document.utf8)
    }
}

/// A clock the test moves forward.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current = Date()
    var now: Date { lock.withLock { current } }
    func advance(_ seconds: TimeInterval) { lock.withLock { current += seconds } }
}

@Suite struct ValidateJWTOpenIDTests {
    static let configurationURL = "https://login.example/.well-known/openid-configuration"
    static let jwksURL = "https://login.example/keys"

    static var jwks: String {
        guard let rsa = try? JWTTestKeys.rsa.publicKey.getKeyPrimitives(), let ec = JWTTestKeys.ec.parameters else { return "" }
        return """
            {"keys":[
              {"kty":"oct","kid":"ignored","k":"AAAA"},
              {"kty":"RSA","kid":"rsa-1","use":"sig","n":"\(JWTTestKeys.base64URL(rsa.modulus))","e":"\(JWTTestKeys.base64URL(rsa.publicExponent))"},
              {"kty":"EC","kid":"ec-1","crv":"P-256","x":"\(ec.x)","y":"\(ec.y)","alg":"ES256"}
            ]}
            """
    }

    static func fake() -> FakeKeyDocuments {
        FakeKeyDocuments([configurationURL: "{\"issuer\":\"https://issuer.example\",\"jwks_uri\":\"\(jwksURL)\"}", jwksURL: jwks])
    }

    let xml = document(
        inbound: """
            <validate-jwt header-name="Authorization"><openid-config url="\(configurationURL)" />\
            <audiences><audience>api://drawbridge</audience></audiences></validate-jwt>
            """,
        onError: ValidateJWTRuntimeTests.onError)

    func signed(kid: String, ec: Bool = false) async throws -> String {
        let keys = JWTKeyCollection()
        if ec {
            await keys.add(ecdsa: JWTTestKeys.ec, kid: JWKIdentifier(string: kid))
        } else {
            await keys.add(rsa: try JWTKit.Insecure.RSA.PrivateKey(backing: JWTTestKeys.rsa), digestAlgorithm: .sha256, kid: JWKIdentifier(string: kid))
        }
        // Valid for a day: the test clock moves forward.
        return try await keys.sign(TestClaims(exp: Int(Date().timeIntervalSince1970) + 86_400), kid: JWKIdentifier(string: kid))
    }

    func run(_ pipeline: PolicyPipeline, _ token: String) async -> PolicyResult {
        await pipeline.run(request(headers: [PolicyHeader("Authorization", "Bearer " + token)]), body: nil, backend: RecordingBackend())
    }

    @Test func pipelinesSharingARegistryFetchOnce() async throws {
        // Two operations naming the same provider, and a reload: one fetch of each document.
        let fake = Self.fake()
        let registry = OpenIDKeyRegistry()
        func options() -> PolicyPipelineOptions { PolicyPipelineOptions(tracing: true, keyDocuments: fake, openIDKeys: registry) }
        let first = try pipeline(xml, options: options())
        let second = try pipeline(xml, options: options())
        #expect(await run(first, try await signed(kid: "rsa-1")).status == 200)
        #expect(await run(second, try await signed(kid: "ec-1", ec: true)).status == 200)
        let reloaded = try pipeline(xml, options: options())
        #expect(await run(reloaded, try await signed(kid: "rsa-1")).status == 200)
        #expect(fake.fetches.count == 2)
        #expect(registry.count == 1)
        // Separate registries (separate gateways) fetch for themselves.
        _ = await run(try pipeline(xml, options: PolicyPipelineOptions(tracing: true, keyDocuments: fake)), try await signed(kid: "rsa-1"))
        #expect(fake.fetches.count == 4)
    }

    @Test func keysComeFromTheJWKSAndAreCached() async throws {
        let fake = Self.fake()
        let clock = TestClock()
        let verification = VerificationContext(trustStore: .empty, clock: { clock.now })
        let built = try pipeline(xml, options: PolicyPipelineOptions(tracing: true, verification: verification, keyDocuments: fake))
        #expect(await run(built, try await signed(kid: "rsa-1")).status == 200)
        #expect(fake.fetches.map(\.absoluteString) == [Self.configurationURL, Self.jwksURL])
        #expect(await run(built, try await signed(kid: "ec-1", ec: true)).status == 200)
        #expect(fake.fetches.count == 2)  // cached
        // An unknown kid refetches at most once per five minutes.
        let unknown = await run(built, try await signed(kid: "rsa-2"))
        #expect(unknown.lastError?.reason == "TokenSignatureKeyNotFound")
        #expect(fake.fetches.count == 2)
        clock.advance(301)
        _ = await run(built, try await signed(kid: "rsa-2"))
        #expect(fake.fetches.count == 4)
        _ = await run(built, try await signed(kid: "rsa-2"))
        #expect(fake.fetches.count == 4)
        // Known keys are kept for an hour, then fetched again.
        clock.advance(3600)
        #expect(await run(built, try await signed(kid: "rsa-1")).status == 200)
        #expect(fake.fetches.count == 6)
        // A token signed by the RSA key but naming the EC key's kid does not verify.
        let mislabelled = await run(built, try await signed(kid: "ec-1"))
        #expect(mislabelled.lastError?.reason == "TokenSignatureKeyNotFound")
    }

    @Test func failsClosed() async throws {
        let broken = FakeKeyDocuments([Self.configurationURL: "{\"jwks_uri\":\"\(Self.jwksURL)\"}", Self.jwksURL: "not json"])
        let built = try pipeline(xml, options: PolicyPipelineOptions(tracing: true, keyDocuments: broken))
        let result = await run(built, try await signed(kid: "rsa-1"))
        #expect(result.status == 401)
        #expect(result.lastError?.reason == "TokenSignatureKeyNotFound")
        // Without a fetcher the policy does not load.
        #expect(throws: PolicyPipelineError.self) { try pipeline(xml) }
    }
}

@Suite struct ValidateJWTCertificateKeyTests {
    @Test func uploadedCertificateKeys() async throws {
        let issued = try PipelinePKI.root("Token Signer")
        let options = PolicyPipelineOptions(
            tracing: true, certificates: DeploymentCertificateStore(version: 1, certificates: [(id: "idp-signing", certificate: issued.wrapped)]))
        func xml(_ id: String) -> String {
            document(
                inbound: "<validate-jwt header-name=\"Authorization\"><issuer-signing-keys><key certificate-id=\"\(id)\" /></issuer-signing-keys></validate-jwt>",
                onError: ValidateJWTRuntimeTests.onError)
        }
        let keys = JWTKeyCollection()
        await keys.add(ecdsa: try ES256PrivateKey(backing: issued.key))
        let token = try await keys.sign(TestClaims())
        let headers = [PolicyHeader("Authorization", "Bearer " + token)]
        let (accepted, _) = try await execute(xml("idp-signing"), request(headers: headers), options: options)
        #expect(accepted.status == 200)
        // An unknown certificate id serves no token (fail closed).
        let (unknown, _) = try await execute(xml("other"), request(headers: headers), options: options)
        #expect(unknown.lastError?.reason == "TokenSignatureKeyNotFound")
        #expect(loadErrors("<validate-jwt header-name=\"a\"><issuer-signing-keys><key certificate-id=\"c\" n=\"AQAB\" e=\"AQAB\" /></issuer-signing-keys></validate-jwt>").count == 1)
    }
}

@Suite struct ValidateJWTCertificateBindingTests {
    @Test func certificateBoundTokens() async throws {
        let root = try PipelinePKI.root()
        let client = try PipelinePKI.leaf("client.example", issuer: root)
        let other = try PipelinePKI.leaf("other.example", issuer: root)
        let thumbprint = JWTTestKeys.base64URL(Array(SHA256.hash(data: client.der)))
        let xml = document(
            inbound: """
                <validate-jwt header-name="Authorization" require-certificate-binding="true">\
                <issuer-signing-keys><key>\(JWTTestKeys.secret.base64EncodedString())</key></issuer-signing-keys></validate-jwt>
                """,
            onError: ValidateJWTRuntimeTests.onError)
        let bound = try await JWTTestKeys.hmac(TestClaims(cnf: ["x5t#S256": thumbprint]))
        func send(_ token: String, chain: [[UInt8]]) async throws -> PolicyResult {
            try await execute(xml, request(headers: [PolicyHeader("Authorization", "Bearer " + token)], chain: chain)).0
        }
        #expect(try await send(bound, chain: [client.der]).status == 200)
        let stolen = try await send(bound, chain: [other.der])
        #expect(stolen.status == 401)
        #expect(stolen.lastError?.reason == "TokenCertificateBindingMismatch")
        #expect(try await send(bound, chain: []).lastError?.reason == "TokenCertificateBindingMismatch")
        let unbound = try await JWTTestKeys.hmac()
        #expect(try await send(unbound, chain: [client.der]).lastError?.reason == "TokenCertificateBindingMismatch")
        // Off by default: the same unbound token passes without the attribute.
        let plain = document(inbound: "<validate-jwt header-name=\"Authorization\"><issuer-signing-keys><key>\(JWTTestKeys.secret.base64EncodedString())</key></issuer-signing-keys></validate-jwt>")
        let (result, _) = try await execute(plain, request(headers: [PolicyHeader("Authorization", "Bearer " + unbound)], chain: [other.der]))
        #expect(result.status == 200)
    }
}
