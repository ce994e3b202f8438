import Foundation
import PolicyExpressions

/// `<validate-azure-ad-token tenant-id="…">`: `validate-jwt` for tokens issued by Microsoft Entra ID.
/// The signing keys come from the tenant's discovery document,
/// `{authority}/{tenant-id}/v2.0/.well-known/openid-configuration` (its JWKS, fetched and cached as
/// `<openid-config>` is), where the authority is the `authentication-endpoint` attribute, else
/// `PolicyPipelineOptions.entraAuthority` (`policies.entraAuthority`), else
/// `https://login.microsoftonline.com`. On top of the signature and lifetime:
/// - the issuer must be the discovery document's `issuer` (`{tenantid}` filled with the token's
///   `tid`), or its v1 form `https://sts.windows.net/{tid}/` for the same tenant; when `tenant-id`
///   is a tenant id (GUID), `tid` must be that tenant;
/// - `<client-application-ids>`: the token's `azp` (v2) or `appid` (v1) is one of them;
/// - `<audiences>` and `<backend-application-ids>` (each also as `api://{id}`): `aud` is one of them;
/// - `<required-claims>` as in `validate-jwt`.
/// The token comes from `header-name` (default `Authorization`, `Bearer` scheme), `query-parameter-name`
/// or `token-value`. Failures answer `failed-validation-httpcode` (401) with APIM's JSON body;
/// `context.LastError.Source` is `validate-azure-ad-token`. `decryption-keys` is refused at load.
/// It works against any endpoint that serves Entra's discovery protocol (a test points the
/// authority at a loopback server); the gateway must reach it (`PolicyPipelineOptions.keyDocuments`).
public struct ValidateAzureADTokenPolicy: Sendable, PolicyDefinition {
    public let tenant: String
    public let authenticationEndpoint: URL?
    public let source: ValidateJWTPolicy.TokenSource
    public let failedValidationHTTPCode: PolicyParameter<Int>
    public let failedValidationErrorMessage: PolicyParameter<String>?
    public let outputTokenVariableName: String?
    public let clientApplicationIDs: [String]
    public let backendApplicationIDs: [String]
    public let audiences: [PolicyParameter<String>]
    public let requiredClaims: [ValidateJWTPolicy.RequiredClaim]

    static let defaultAuthority = "https://login.microsoftonline.com"

    static let schema = PolicySchema(
        "validate-azure-ad-token", sections: [.inbound],
        attributes: [
            PolicyAttributeSpec("tenant-id", .nonEmptyText, required: true, expressions: false),
            PolicyAttributeSpec("header-name", .nonEmptyText),
            PolicyAttributeSpec("query-parameter-name", .nonEmptyText),
            PolicyAttributeSpec("token-value"),
            PolicyAttributeSpec("authentication-endpoint", .absoluteURL, expressions: false),
            PolicyAttributeSpec("failed-validation-httpcode", .integer(100...599), default: "401"),
            PolicyAttributeSpec("failed-validation-error-message"),
            PolicyAttributeSpec("output-token-variable-name", .nonEmptyText, expressions: false),
        ],
        children: .elements(["client-application-ids", "backend-application-ids", "audiences", "required-claims", "decryption-keys"]))
    static let clientIDsSchema = PolicySchema("client-application-ids", children: .elements(["application-id"]))
    static let backendIDsSchema = PolicySchema("backend-application-ids", children: .elements(["application-id"]))
    static let applicationIDSchema = PolicySchema("application-id", allowsText: true)

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        for name in ["client-application-ids", "backend-application-ids", "audiences", "required-claims", "decryption-keys"] {
            reader.atMostOne(name)
        }
        for unsupported in reader.element.childElements where unsupported.name == "decryption-keys" {
            reader.context.error(
                at: unsupported.position, "'<decryption-keys>' inside '<validate-azure-ad-token>' is not supported yet by Drawbridge (encrypted tokens)")
        }
        let given = ["header-name", "query-parameter-name", "token-value"].filter { reader.element.attribute($0) != nil }
        guard given.count <= 1 else {
            reader.error("'<validate-azure-ad-token>' takes at most one of 'header-name', 'query-parameter-name' or 'token-value'")
            return nil
        }
        let source: ValidateJWTPolicy.TokenSource
        switch given.first {
        case "query-parameter-name"?:
            guard let name = reader.string("query-parameter-name") else { return nil }
            source = .queryParameter(name)
        case "token-value"?:
            guard let value = reader.string("token-value") else { return nil }
            source = .value(value)
        case "header-name"?:
            guard let name = reader.string("header-name") else { return nil }
            source = .header(name)
        default:
            source = .header(.constant("Authorization"))
        }
        guard let tenantText = reader.literal("tenant-id") else { return nil }
        // A tenant id (GUID), a domain (contoso.onmicrosoft.com), or a URL naming one.
        var tenant = tenantText.trimmingCharacters(in: .whitespaces)
        if let url = URL(string: tenant), url.scheme != nil, let host = url.host { tenant = host }
        guard !tenant.isEmpty, tenant.utf8.allSatisfy({ $0 < 0x80 && ($0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") || isalnum(Int32($0)) != 0) })
        else {
            reader.error(attribute: "tenant-id", "'tenant-id' of '<validate-azure-ad-token>' must be a tenant id, a domain name or a URL naming one")
            return nil
        }
        func ids(_ container: String, _ containerSchema: PolicySchema) -> [String] {
            reader.children(named: container, containerSchema).flatMap { $0.children(named: "application-id", applicationIDSchema) }
                .compactMap { idReader in
                    guard case .literal(let text)? = idReader.element.textValue,
                          !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                        idReader.error("'<application-id>' of '<validate-azure-ad-token>' must be a literal, non-empty application id")
                        return nil
                    }
                    return text.trimmingCharacters(in: .whitespacesAndNewlines)
                }
        }
        let clientIDs = ids("client-application-ids", clientIDsSchema)
        let backendIDs = ids("backend-application-ids", backendIDsSchema)
        let audiences = reader.children(named: "audiences", ValidateJWTPolicy.audiencesSchema)
            .flatMap { $0.children(named: "audience", ValidateJWTPolicy.audienceSchema) }
            .compactMap { audienceReader -> PolicyParameter<String>? in
                guard let text = audienceReader.text else {
                    audienceReader.error("'<audience>' of '<validate-azure-ad-token>' must not be empty")
                    return nil
                }
                return text
            }
        var claims: [ValidateJWTPolicy.RequiredClaim] = []
        for claimsReader in reader.children(named: "required-claims", ValidateJWTPolicy.claimsSchema) {
            for claimReader in claimsReader.children(named: "claim", ValidateJWTPolicy.claimSchema) {
                guard let name = claimReader.literal("name") else { continue }
                claims.append(ValidateJWTPolicy.RequiredClaim(
                    name: name, matchAll: claimReader.literal("match") != "any", separator: claimReader.literal("separator"),
                    values: claimReader.children(named: "value", ValidateJWTPolicy.valueSchema).compactMap(\.text)))
            }
        }
        guard let code = reader.integer("failed-validation-httpcode"), reader.isValid else { return nil }
        return .validateAzureADToken(ValidateAzureADTokenPolicy(
            tenant: tenant, authenticationEndpoint: reader.literal("authentication-endpoint").flatMap(PolicyAttributeType.absoluteURL),
            source: source, failedValidationHTTPCode: code, failedValidationErrorMessage: reader.string("failed-validation-error-message"),
            outputTokenVariableName: reader.literal("output-token-variable-name"), clientApplicationIDs: clientIDs,
            backendApplicationIDs: backendIDs, audiences: audiences, requiredClaims: claims))
    }

    /// The tenant's discovery document under `authority`.
    static func discoveryURL(authority: URL, tenant: String) -> URL? {
        var base = authority.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        return URL(string: base + "/" + tenant + "/v2.0/.well-known/openid-configuration")
    }
}

// MARK: Run

extension ValidateAzureADTokenPolicy {
    /// What Entra tokens are checked for beyond `validate-jwt` (run by `ValidateJWTPolicy.Step`).
    struct Checks: Sendable {
        let clientApplicationIDs: [String]
        /// The policy's tenant when it is a tenant id (a GUID): the token's `tid` must be it, whatever
        /// the discovery document says (a multi-tenant `{tenantid}` issuer admits no other tenant).
        let tenantID: UUID?

        /// The reason and message a token is refused for, or nil.
        func refusal(_ jwt: JwtObject, discoveredIssuer: String?) -> (String, String)? {
            let tenant = jwt.claimValues("tid")?.first
            if let tenantID, tenant.flatMap(UUID.init(uuidString:)) != tenantID {
                return ("TokenIssuerNotAllowed", "Issuer validation failed. The token is from another tenant.")
            }
            var accepted: [String] = []
            if var issuer = discoveredIssuer {
                if let tenant { issuer = issuer.replacingOccurrences(of: "{tenantid}", with: tenant) }
                accepted.append(issuer)
                if let tenant, !tenant.isEmpty, issuer.contains(tenant) { accepted.append("https://sts.windows.net/\(tenant)/") }
            }
            guard let issuer = jwt.claimValues("iss")?.first, accepted.contains(issuer) else {
                return ("TokenIssuerNotAllowed", "Issuer validation failed.")
            }
            if !clientApplicationIDs.isEmpty {
                guard let application = jwt.claimValues("azp")?.first ?? jwt.claimValues("appid")?.first,
                      clientApplicationIDs.contains(application)
                else { return ("TokenClientApplicationNotAllowed", "Client application validation failed.") }
            }
            return nil
        }
    }

    func compile(_ compiler: inout StepCompiler, _ statement: PolicyStatement) -> (any WaitingPolicyStep)? {
        guard compiler.canFetchKeyDocuments else {
            compiler.unsupported(statement, "'<validate-azure-ad-token>' needs the gateway's key document fetcher (PolicyPipelineOptions.keyDocuments)")
            return nil
        }
        let authority = authenticationEndpoint ?? compiler.entraAuthority ?? URL(string: Self.defaultAuthority)
        guard let authority, let discovery = Self.discoveryURL(authority: authority, tenant: tenant) else {
            compiler.unsupported(statement, "'<validate-azure-ad-token>': no discovery URL can be made for tenant '\(tenant)'")
            return nil
        }
        let backendAudiences = backendApplicationIDs.flatMap { [PolicyParameter<String>.constant($0), .constant("api://" + $0)] }
        let asJWT = ValidateJWTPolicy(
            source: source, failedValidationHTTPCode: failedValidationHTTPCode, failedValidationErrorMessage: failedValidationErrorMessage,
            requireExpirationTime: .constant(true), requireScheme: nil, requireSignedTokens: .constant(true), clockSkew: .constant(0),
            outputTokenVariableName: outputTokenVariableName, openIDConfiguration: discovery, requireCertificateBinding: false, keys: [],
            audiences: audiences + backendAudiences, issuers: [], requiredClaims: requiredClaims)
        guard var step = asJWT.compile(&compiler, statement) as? ValidateJWTPolicy.Step else { return nil }
        step.policyName = "validate-azure-ad-token"
        step.entra = Checks(clientApplicationIDs: clientApplicationIDs, tenantID: UUID(uuidString: tenant))
        return step
    }
}
