import Foundation
import JWTKit
import Testing

@testable import Policies

/// Claims of an Entra ID access token (v2: `azp`; v1: `appid`).
struct EntraClaims: JWTPayload {
    var iss: String? = "https://login.example/\(ValidateAzureADTokenRuntimeTests.tenant)/v2.0"
    var aud: [String]? = ["api://backend-app"]
    var tid: String? = ValidateAzureADTokenRuntimeTests.tenant
    var azp: String? = "client-app"
    var appid: String? = nil
    var exp: Int? = Int(Date().timeIntervalSince1970) + 3600
    var roles: [String]? = nil

    func verify(using algorithm: some JWTAlgorithm) async throws {}
}

@Suite struct ValidateAzureADTokenRuntimeTests {
    static let tenant = "11111111-2222-3333-4444-555555555555"
    static let authority = "https://login.example"
    static let discovery = "\(authority)/\(tenant)/v2.0/.well-known/openid-configuration"
    static let jwksURL = "\(authority)/\(tenant)/discovery/v2.0/keys"

    static func fake(issuer: String = "https://login.example/{tenantid}/v2.0") -> FakeKeyDocuments {
        FakeKeyDocuments([
            discovery: #"{"issuer":"\#(issuer)","jwks_uri":"\#(jwksURL)"}"#,
            jwksURL: ValidateJWTOpenIDTests.jwks,
        ])
    }

    static func options(_ fake: FakeKeyDocuments, authority: String? = Self.authority) -> PolicyPipelineOptions {
        PolicyPipelineOptions(tracing: true, keyDocuments: fake, entraAuthority: authority.flatMap(URL.init(string:)))
    }

    static let policy = document(
        inbound: """
            <validate-azure-ad-token tenant-id="\(tenant)">
              <client-application-ids><application-id>client-app</application-id></client-application-ids>
              <backend-application-ids><application-id>backend-app</application-id></backend-application-ids>
              <required-claims><claim name="roles" match="any"><value>reader</value><value>writer</value></claim></required-claims>
            </validate-azure-ad-token>
            """,
        onError: ValidateJWTRuntimeTests.onError)

    static func token(_ claims: EntraClaims, kid: String = "rsa-1") async throws -> String {
        let keys = JWTKeyCollection()
        await keys.add(rsa: try JWTKit.Insecure.RSA.PrivateKey(backing: JWTTestKeys.rsa), digestAlgorithm: .sha256, kid: JWKIdentifier(string: kid))
        return try await keys.sign(claims, kid: JWKIdentifier(string: kid))
    }

    static func run(_ pipeline: PolicyPipeline, _ token: String?) async -> PolicyResult {
        let headers = token.map { [PolicyHeader("Authorization", "Bearer " + $0)] } ?? []
        return await pipeline.run(request(headers: headers), body: nil, backend: RecordingBackend())
    }

    static func reason(_ result: PolicyResult) -> String? { result.headers.first { $0.name == "X-Reason" }?.value }

    @Test func anEntraTokenForTheClientAndBackendIsAccepted() async throws {
        let fake = Self.fake()
        let built = try pipeline(Self.policy, options: Self.options(fake))
        var claims = EntraClaims()
        claims.roles = ["writer"]
        let accepted = await Self.run(built, try await Self.token(claims))
        #expect(accepted.status == 200, "\(accepted.bodyText ?? "")")
        #expect(fake.fetches.map(\.absoluteString) == [Self.discovery, Self.jwksURL])
        // A v1 token of the same tenant: `appid` and the sts.windows.net issuer.
        var v1 = EntraClaims(iss: "https://sts.windows.net/\(Self.tenant)/", aud: ["backend-app"], azp: nil, appid: "client-app")
        v1.roles = ["reader"]
        #expect(await Self.run(built, try await Self.token(v1)).status == 200)
    }

    @Test func refusalsNameTheirReasonAndThePolicy() async throws {
        let built = try pipeline(Self.policy, options: Self.options(Self.fake()))
        func refused(_ claims: EntraClaims) async throws -> PolicyResult { await Self.run(built, try await Self.token(claims)) }
        var base = EntraClaims()
        base.roles = ["reader"]
        var otherClient = base
        otherClient.azp = "someone-else"
        var otherAudience = base
        otherAudience.aud = ["api://another-backend"]
        var otherTenant = base
        otherTenant.iss = "https://login.example/99999999-2222-3333-4444-555555555555/v2.0"
        otherTenant.tid = "99999999-2222-3333-4444-555555555555"
        var expired = base
        expired.exp = Int(Date().timeIntervalSince1970) - 600
        var noRole = base
        noRole.roles = ["guest"]
        let cases: [(EntraClaims, String)] = [
            (otherClient, "TokenClientApplicationNotAllowed"), (otherAudience, "TokenAudienceNotAllowed"),
            (otherTenant, "TokenIssuerNotAllowed"), (expired, "TokenExpired"), (noRole, "TokenClaimValueNotAllowed"),
        ]
        for (claims, reason) in cases {
            let result = try await refused(claims)
            #expect(result.status == 401, "\(reason)")
            #expect(Self.reason(result) == reason)
            #expect(result.headers.first { $0.name == "X-Source" }?.value == "validate-azure-ad-token")
        }
        let missing = await Self.run(built, nil)
        #expect(missing.status == 401)
        #expect(Self.reason(missing) == "TokenNotPresent")
        // Signed with a key the tenant does not publish.
        let unknownKey = await Self.run(built, try await Self.token(base, kid: "rsa-9"))
        #expect(Self.reason(unknownKey) == "TokenSignatureKeyNotFound")
    }

    @Test func theAuthorityComesFromTheAttributeTheOptionsOrTheDefault() async throws {
        let tokenless = document(inbound: #"<validate-azure-ad-token tenant-id="contoso.onmicrosoft.com" />"#)
        let attribute = document(inbound: #"<validate-azure-ad-token tenant-id="https://contoso.onmicrosoft.com" authentication-endpoint="https://login.microsoftonline.us" />"#)
        for (xml, authority, expected) in [
            (tokenless, Self.authority, "https://login.example/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration"),
            (tokenless, nil, "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration"),
            (attribute, Self.authority, "https://login.microsoftonline.us/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration"),
        ] as [(String, String?, String)] {
            let fake = FakeKeyDocuments([:])
            let built = try pipeline(xml, options: Self.options(fake, authority: authority))
            // Nothing fetchable: fail closed.
            let result = await Self.run(built, try await Self.token(EntraClaims()))
            #expect(result.status == 401)
            #expect(fake.fetches.first?.absoluteString == expected)
        }
    }

    @Test func loadAndBuildErrors() throws {
        #expect(loadErrors("<validate-azure-ad-token />").first?.contains("'tenant-id'") == true)
        #expect(loadErrors(#"<validate-azure-ad-token tenant-id="a b" />"#).first?.contains("tenant-id") == true)
        #expect(loadErrors(#"<validate-azure-ad-token tenant-id="t"><decryption-keys /></validate-azure-ad-token>"#).first?.contains("decryption-keys") == true)
        #expect(loadErrors(#"<validate-azure-ad-token tenant-id="t" header-name="A" token-value="b" />"#).first?.contains("at most one") == true)
        #expect(loadErrors(#"<validate-azure-ad-token tenant-id="t"><client-application-ids><application-id /></client-application-ids></validate-azure-ad-token>"#)
            .first?.contains("application-id") == true)
        // Without the gateway's fetcher the pipeline does not build (nothing could ever be accepted).
        #expect(throws: PolicyPipelineError.self) { try pipeline(document(inbound: #"<validate-azure-ad-token tenant-id="t" />"#)) }
    }
}
