import Foundation
import PolicyExpressions

/// `<get-authorization-context provider-id="…" authorization-id="…" context-variable-name="…"
/// identity-type="managed|jwt" identity="…" ignore-error="false"/>`: the token of a connection of
/// Drawbridge's credential manager (`PolicyPipelineOptions.credentials`, `policies.credentialProviders`),
/// stored as an `Authorization` object (`AccessToken`, `Claims`) in `context.Variables[context-variable-name]`.
///
/// Fail closed: an unknown provider or connection, an identity the connection's access policy does not
/// admit, or a token that cannot be had is APIM's 500 (through on-error, `context.LastError` naming
/// why) — or, with `ignore-error="true"`, a null variable. `identity-type="managed"` is the gateway's
/// own identity (admitted unless the connection says otherwise); `identity-type="jwt"` checks the
/// `identity` token as APIM does: a Microsoft Entra token for `https://azure-api.net/authorization-manager`,
/// signed with its tenant's keys (discovery under `policies.entraAuthority`, as `validate-azure-ad-token`),
/// whose `tid`/`oid` are an identity of the connection's access policy.
public struct GetAuthorizationContextPolicy: Sendable, PolicyDefinition {
    public enum IdentityType: String, Sendable, Hashable {
        case managed
        case jwt
    }

    public let providerID: PolicyParameter<String>
    public let authorizationID: PolicyParameter<String>
    public let variable: PolicyParameter<String>
    public let identityType: PolicyParameter<IdentityType>
    public let identity: PolicyParameter<String>?
    public let ignoreError: PolicyParameter<Bool>

    /// The identity token's keys all come from its tenant's discovery document.
    static let noKeys = ValidateJWTPolicy.KeyRing([])

    /// The audience APIM requires of an `identity-type="jwt"` token.
    static let authorizationManagerAudience = "https://azure-api.net/authorization-manager"

    static let schema = PolicySchema(
        "get-authorization-context", sections: [.inbound],
        attributes: [
            PolicyAttributeSpec("provider-id", .nonEmptyText, required: true),
            PolicyAttributeSpec("authorization-id", .nonEmptyText, required: true),
            PolicyAttributeSpec("context-variable-name", .nonEmptyText, required: true),
            PolicyAttributeSpec("identity-type", .choice(["managed", "jwt"]), default: "managed"),
            PolicyAttributeSpec("identity", .text),
            PolicyAttributeSpec("ignore-error", .boolean, default: "false"),
        ])

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        guard let provider = reader.string("provider-id"), let authorization = reader.string("authorization-id"),
              let variable = reader.string("context-variable-name"), let identityType = reader.choice("identity-type", as: IdentityType.self),
              let ignoreError = reader.boolean("ignore-error")
        else { return nil }
        let identity = reader.element.attribute("identity") == nil ? nil : reader.string("identity")
        if identityType.constant == .jwt, identity == nil {
            reader.error("\(reader.tag) with identity-type=\"jwt\" requires the attribute 'identity' (the JWT bearer token)")
            return nil
        }
        return .getAuthorizationContext(
            GetAuthorizationContextPolicy(
                providerID: provider, authorizationID: authorization, variable: variable, identityType: identityType, identity: identity,
                ignoreError: ignoreError))
    }
}

/// `Authorization`: what `get-authorization-context` stores (APIM's class of that name).
final class AuthorizationObject: HostObject, @unchecked Sendable {
    let accessToken: String
    /// Made per request from the cached token response (expressions may change what they get).
    let claims: DictionaryBox
    var hostType: HostType { Self.type }

    init(_ token: CredentialToken) {
        accessToken = token.accessToken
        claims = DictionaryBox(token.claims.map { claim in
            switch claim.value {
            case .json(let text): return (claim.name, (try? JToken.parse(json: text)).map(Value.json) ?? .null)
            case .value(let primitive):
                switch primitive {
                case .null: return (claim.name, .null)
                case .bool(let flag): return (claim.name, .bool(flag))
                case .integer(let number): return (claim.name, .long(number))
                case .float(let number): return (claim.name, .double(number))
                case .string(let text): return (claim.name, .string(text))
                case .date(let date): return (claim.name, .dateTime(date))
                case .guid(let guid): return (claim.name, .guid(guid))
                case .timeSpan(let span): return (claim.name, .timeSpan(span))
                case .bytes(let bytes): return (claim.name, Value.bytes(bytes))
                }
            }
        })
    }

    static let type = HostType(name: "Authorization", members: [
        .property("AccessToken", .string, of: AuthorizationObject.self) { .string($0.accessToken) },
        .property("Claims", .dictionary(.string, .object), of: AuthorizationObject.self) { .dictionary($0.claims) },
    ], toString: { _ in "Authorization" })
}

// MARK: Run

extension GetAuthorizationContextPolicy {
    struct Step: WaitingPolicyStep {
        let providerID: RuntimeParameter<String>
        let authorizationID: RuntimeParameter<String>
        let variable: RuntimeParameter<String>
        let identityType: RuntimeParameter<String>
        let identity: RuntimeParameter<String>?
        let ignoreError: RuntimeParameter<Bool>

        func run(_ execution: PolicyExecution, _ step: CompiledStep) async throws -> Flow {
            // The settings, in the attributes' order (an expression error is the policy's, whatever ignore-error says).
            let provider = try execution.string(providerID, step)
            let connection = try execution.string(authorizationID, step)
            let name = try execution.string(variable, step)
            guard !name.isEmpty else { throw PolicyFailure.expression(step.name, "The context-variable-name is empty.") }
            let type = try execution.string(identityType, step).trimmingCharacters(in: .whitespaces).lowercased()
            guard let kind = IdentityType(rawValue: type) else {
                throw PolicyFailure.expression(step.name, "'\(ErrorBody.escape(String(type.prefix(40))))' is not 'managed' or 'jwt'.")
            }
            let identityToken = try kind == .jwt ? identity.map { try execution.string($0, step) } ?? "" : ""
            let ignore = try execution.bool(ignoreError, step)
            do {
                let token = try await authorization(provider, connection, kind, identityToken, execution, step)
                execution.state.variables.set(.string(name), .object(AuthorizationObject(token)))
                execution.state.record(.info, "get-authorization-context: token of connection '\(CredentialManager.shown(connection))' of '\(CredentialManager.shown(provider))'")
            } catch let failure as CredentialFailure {
                guard ignore else {
                    throw PolicyFailure.generic(step.name, reason: failure.reason, failure.message)
                }
                execution.state.variables.set(.string(name), .null)
                execution.state.record(.info, "get-authorization-context failed (ignore-error): \(failure.message)")
            }
            return .proceed
        }

        func authorization(_ provider: String, _ connection: String, _ kind: IdentityType, _ identityToken: String,
                           _ execution: PolicyExecution, _ step: CompiledStep) async throws -> CredentialToken {
            guard let manager = execution.options.credentials else {
                throw CredentialFailure(
                    reason: "CredentialProviderNotFound",
                    message: "No credential provider '\(CredentialManager.shown(provider))' is configured (policies.credentialProviders is empty).")
            }
            guard let settings = manager.providers[provider]?.connections[connection] else {
                // The manager names which of the two is unknown.
                return try await manager.token(provider: provider, connection: connection, now: Date(), backend: execution.backend)
            }
            switch kind {
            case .managed:
                guard settings.allowsGateway else {
                    throw CredentialFailure(
                        reason: "IdentityNotAllowed",
                        message: "The access policy of connection '\(CredentialManager.shown(connection))' does not admit the gateway's identity (identity-type=\"managed\").")
                }
            case .jwt:
                try await checkIdentity(identityToken, settings, connection, execution, step)
            }
            let verification = execution.options.verification
            let now = verification.options.validationTime ?? verification.clock()
            return try await manager.token(provider: provider, connection: connection, now: now, backend: execution.backend)
        }

        /// `identity-type="jwt"`: an Entra token for the authorization manager, verified with its
        /// tenant's keys (as `validate-azure-ad-token` verifies), whose `tid`/`oid` the access policy lists.
        func checkIdentity(_ raw: String, _ settings: CredentialConnection, _ connection: String, _ execution: PolicyExecution,
                           _ step: CompiledStep) async throws {
            func refuse(_ why: String) -> CredentialFailure {
                CredentialFailure(reason: "IdentityNotAllowed", message: "The identity token is not admitted to connection '\(CredentialManager.shown(connection))': \(why)")
            }
            var token = Substring(raw.trimmingCharacters(in: .whitespaces))
            if token.lowercased().hasPrefix("bearer ") { token = token.dropFirst(7).drop { $0 == " " } }
            guard !token.isEmpty, token.utf8.count <= ValidateJWTPolicy.maximumTokenLength, let unverified = JwtObject.parseToken(String(token)),
                  let tenant = unverified.claimValues("tid")?.first, let tenantID = UUID(uuidString: tenant)
            else { throw refuse("it is not a JWT with a tenant ('tid').") }
            let allowed = settings.identities.filter { UUID(uuidString: $0.tenantID) == tenantID }
            guard !allowed.isEmpty else { throw refuse("no identity of its tenant is in the access policy.") }
            guard execution.options.keyDocuments != nil else { throw refuse("the gateway cannot fetch Entra ID's keys.") }
            let authority = execution.options.entraAuthority ?? URL(string: ValidateAzureADTokenPolicy.defaultAuthority)
            guard let authority, let discovery = ValidateAzureADTokenPolicy.discoveryURL(authority: authority, tenant: tenantID.uuidString.lowercased())
            else { throw refuse("no discovery URL can be made for its tenant.") }
            // validate-jwt's own checks: signature (the tenant's keys), lifetime, audience, Entra's issuer and tenant.
            var check = ValidateJWTPolicy.Step(
                source: .value(.constant(String(token))), code: .constant(401), message: nil, requireExpiration: .constant(true), scheme: nil,
                requireSigned: .constant(true), clockSkew: .constant(0), output: nil, keys: GetAuthorizationContextPolicy.noKeys, openID: discovery,
                requireCertificateBinding: false, audiences: [.constant(GetAuthorizationContextPolicy.authorizationManagerAudience)], issuers: [],
                claims: [])
            check.policyName = step.name
            check.entra = ValidateAzureADTokenPolicy.Checks(clientApplicationIDs: [], tenantID: tenantID)
            do {
                _ = try await check.run(execution, step)
            } catch let failure as PolicyFailure {
                throw refuse("\(failure.reason): \(failure.message)")
            }
            guard let object = unverified.claimValues("oid")?.first.flatMap(UUID.init(uuidString:)),
                  allowed.contains(where: { UUID(uuidString: $0.objectID) == object })
            else { throw refuse("its object id ('oid') is not in the access policy.") }
        }
    }

    func compile(_ compiler: inout StepCompiler, _ statement: PolicyStatement) -> (any WaitingPolicyStep)? {
        let type: PolicyParameter<String>
        switch identityType {
        case .constant(let value): type = .constant(value.rawValue)
        case .expression(let expression): type = .expression(expression)
        }
        guard let provider = compiler.parameter(providerID), let connection = compiler.parameter(authorizationID),
              let variable = compiler.parameter(variable), let type = compiler.parameter(type), let ignore = compiler.parameter(ignoreError)
        else { return nil }
        var identityParameter: RuntimeParameter<String>? = nil
        if let identity {
            guard let made = compiler.parameter(identity) else { return nil }
            identityParameter = made
        }
        return Step(providerID: provider, authorizationID: connection, variable: variable, identityType: type, identity: identityParameter, ignoreError: ignore)
    }
}
