import ClientCertificates
import Crypto
import Foundation
import JWTKit
import PolicyExpressions
import Synchronization

/// `<validate-jwt>` (REFERENCE.md §1.4, §1.6): the request must carry a JWT, from a header, a query
/// parameter or `token-value`, that is signed by one of the `<issuer-signing-keys>` (checked with
/// jwt-kit), within its lifetime, for one of the `<audiences>`, from one of the `<issuers>`, and with
/// the `<required-claims>`. On failure: `failed-validation-httpcode` (401) with APIM's JSON body and
/// `context.LastError` from source `validate-jwt`.
///
/// Keys inline: `<key>base64 secret</key>` (HS256/384/512), `<key n="…" e="…"/>` (RS256/384/512)
/// and, as a Drawbridge extension in JWK form, `<key crv="P-256" x="…" y="…"/>` (ES256); or from
/// `<openid-config url>` (the provider's JWKS: RSA and EC keys with a `kid`), fetched through the
/// gateway's `PolicyKeyDocumentFetching`; or `<key certificate-id="…"/>`, an uploaded certificate's RSA or
/// P-256 key. `decryption-keys` is refused at load.
public struct ValidateJWTPolicy: Sendable, PolicyDefinition {
    public enum TokenSource: Sendable {
        case header(PolicyParameter<String>)
        case queryParameter(PolicyParameter<String>)
        case value(PolicyParameter<String>)
    }

    /// A verification key, checked at load.
    struct SigningKey: Sendable {
        enum Material: Sendable {
            /// The secret and its length in bytes (which HS* algorithms it may serve).
            case hmac(HMACKey, byteCount: Int)
            case rsa(JWTKit.Insecure.RSA.PublicKey)
            case p256(ES256PublicKey)
            /// An uploaded certificate (`PolicyPipelineOptions.certificates`) with an RSA or P-256 key,
            /// resolved on first use; an unknown id serves no token (fail closed).
            case certificate(id: String)
        }
        let material: Material
        /// `id`: when both it and the token's `kid` are given, they must be equal.
        let id: String?
    }

    public struct RequiredClaim: Sendable {
        public let name: String
        /// `match="all"` (default): the token's claim holds every value; `any`: at least one.
        public let matchAll: Bool
        /// Splits the token's claim value (e.g. `scp="a b"` with separator " ").
        public let separator: String?
        /// Empty: the claim only has to be present.
        public let values: [PolicyParameter<String>]
    }

    public let source: TokenSource
    public let failedValidationHTTPCode: PolicyParameter<Int>
    public let failedValidationErrorMessage: PolicyParameter<String>?
    public let requireExpirationTime: PolicyParameter<Bool>
    public let requireScheme: PolicyParameter<String>?
    public let requireSignedTokens: PolicyParameter<Bool>
    public let clockSkew: PolicyParameter<Int>
    public let outputTokenVariableName: String?
    /// `<openid-config url>`: signing keys from the provider's JWKS, fetched through
    /// `PolicyPipelineOptions.keyDocuments` and cached (see `OpenIDKeys`).
    public let openIDConfiguration: URL?
    /// Drawbridge extension, `require-certificate-binding="true"`: a certificate-bound access token
    /// (RFC 8705 §3): its `cnf` claim's `x5t#S256` must be the base64url SHA-256 thumbprint of the
    /// client certificate presented in the TLS handshake (reason `TokenCertificateBindingMismatch`).
    public let requireCertificateBinding: Bool
    let keys: [SigningKey]
    public let audiences: [PolicyParameter<String>]
    public let issuers: [PolicyParameter<String>]
    public let requiredClaims: [RequiredClaim]

    /// The longest token read; a longer one is `JwtInvalid` (hostile input is bounded before decoding).
    static let maximumTokenLength = 16 * 1024
    /// The smallest HMAC secret accepted (256 bits, as Microsoft.IdentityModel requires for HS256).
    static let minimumSecretBytes = 32

    static let schema = PolicySchema(
        "validate-jwt", sections: [.inbound],
        attributes: [
            PolicyAttributeSpec("header-name", .nonEmptyText),
            PolicyAttributeSpec("query-parameter-name", .nonEmptyText),
            PolicyAttributeSpec("token-value"),
            PolicyAttributeSpec("failed-validation-httpcode", .integer(100...599), default: "401"),
            PolicyAttributeSpec("failed-validation-error-message"),
            PolicyAttributeSpec("require-expiration-time", .boolean, default: "true"),
            PolicyAttributeSpec("require-scheme", .nonEmptyText),
            PolicyAttributeSpec("require-signed-tokens", .boolean, default: "true"),
            PolicyAttributeSpec("clock-skew", .integer(0...Int(Int32.max)), default: "0"),
            PolicyAttributeSpec("output-token-variable-name", .nonEmptyText, expressions: false),
            PolicyAttributeSpec("require-certificate-binding", .boolean, default: "false", expressions: false),
        ],
        children: .elements(["openid-config", "issuer-signing-keys", "decryption-keys", "audiences", "issuers", "required-claims"]))
    static let openIDSchema = PolicySchema(
        "openid-config", attributes: [PolicyAttributeSpec("url", .absoluteURL, required: true, expressions: false)])
    static let keysSchema = PolicySchema("issuer-signing-keys", children: .elements(["key"]))
    static let keySchema = PolicySchema(
        "key",
        attributes: ["certificate-id", "n", "e", "crv", "x", "y"].map { PolicyAttributeSpec($0, .nonEmptyText, expressions: false) },
        allowsText: true)
    static let audiencesSchema = PolicySchema("audiences", children: .elements(["audience"]))
    static let audienceSchema = PolicySchema("audience", allowsText: true)
    static let issuersSchema = PolicySchema("issuers", children: .elements(["issuer"]))
    static let issuerSchema = PolicySchema("issuer", allowsText: true)
    static let claimsSchema = PolicySchema("required-claims", children: .elements(["claim"]))
    static let claimSchema = PolicySchema(
        "claim",
        attributes: [
            PolicyAttributeSpec("name", .nonEmptyText, required: true, expressions: false),
            PolicyAttributeSpec("match", .choice(["all", "any"]), default: "all", expressions: false),
            PolicyAttributeSpec("separator", .nonEmptyText, expressions: false),
        ],
        children: .elements(["value"]))
    static let valueSchema = PolicySchema("value", allowsText: true)

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        for name in ["openid-config", "issuer-signing-keys", "decryption-keys", "audiences", "issuers", "required-claims"] {
            reader.atMostOne(name)
        }
        for unsupported in reader.element.childElements where unsupported.name == "decryption-keys" {
            reader.context.error(
                at: unsupported.position, "'<\(unsupported.name)>' inside '<validate-jwt>' is not supported yet by Drawbridge (use '<issuer-signing-keys>')")
        }
        let given = ["header-name", "query-parameter-name", "token-value"].filter { reader.element.attribute($0) != nil }
        guard given.count == 1 else {
            reader.error("'<validate-jwt>' requires exactly one of 'header-name', 'query-parameter-name' or 'token-value'")
            return nil
        }
        let source: TokenSource
        switch given[0] {
        case "header-name":
            guard let name = reader.string("header-name") else { return nil }
            source = .header(name)
        case "query-parameter-name":
            guard let name = reader.string("query-parameter-name") else { return nil }
            source = .queryParameter(name)
        default:
            guard let value = reader.string("token-value") else { return nil }
            source = .value(value)
        }
        let openIDConfiguration = reader.children(named: "openid-config", openIDSchema).first?.literal("url").flatMap(PolicyAttributeType.absoluteURL)
        var keys: [SigningKey] = []
        for keysReader in reader.children(named: "issuer-signing-keys", keysSchema) {
            keys += keysReader.children(named: "key", keySchema).compactMap(signingKey)
        }
        if reader.element.childElements.contains(where: { $0.name == "issuer-signing-keys" }), keys.isEmpty, reader.isValid {
            reader.error("'<issuer-signing-keys>' of '<validate-jwt>' holds no key")
        }
        func texts(_ container: String, _ containerSchema: PolicySchema, _ item: String, _ itemSchema: PolicySchema) -> [PolicyParameter<String>] {
            reader.children(named: container, containerSchema).flatMap { $0.children(named: item, itemSchema) }.compactMap { itemReader in
                guard let text = itemReader.text else {
                    itemReader.error("'<\(item)>' of '<validate-jwt>' must not be empty")
                    return nil
                }
                return text
            }
        }
        let audiences = texts("audiences", audiencesSchema, "audience", audienceSchema)
        let issuers = texts("issuers", issuersSchema, "issuer", issuerSchema)
        var claims: [RequiredClaim] = []
        for claimsReader in reader.children(named: "required-claims", claimsSchema) {
            for claimReader in claimsReader.children(named: "claim", claimSchema) {
                guard let name = claimReader.literal("name") else { continue }
                let values = claimReader.children(named: "value", valueSchema).compactMap(\.text)
                claims.append(
                    RequiredClaim(
                        name: name, matchAll: claimReader.literal("match") != "any", separator: claimReader.literal("separator"), values: values))
            }
        }
        guard let code = reader.integer("failed-validation-httpcode"), let requireExpiration = reader.boolean("require-expiration-time"),
            let requireSigned = reader.boolean("require-signed-tokens"), let skew = reader.integer("clock-skew"), reader.isValid
        else { return nil }
        return .validateJWT(
            ValidateJWTPolicy(
                source: source, failedValidationHTTPCode: code, failedValidationErrorMessage: reader.string("failed-validation-error-message"),
                requireExpirationTime: requireExpiration, requireScheme: reader.string("require-scheme"), requireSignedTokens: requireSigned,
                clockSkew: skew, outputTokenVariableName: reader.literal("output-token-variable-name"),
                openIDConfiguration: openIDConfiguration,
                requireCertificateBinding: reader.literal("require-certificate-binding").flatMap(PolicyAttributeType.boolean) ?? false,
                keys: keys, audiences: audiences,
                issuers: issuers, requiredClaims: claims))
    }

    /// Standard base64 or base64url, padded or not, to base64url without padding (what jwt-kit reads).
    static func base64URL(_ text: String) -> String? {
        let trimmed = text.filter { !$0.isWhitespace }
        guard !trimmed.isEmpty, trimmed.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+/-_=".contains($0)) }) else { return nil }
        return String(trimmed.map { $0 == "+" ? "-" : $0 == "/" ? "_" : $0 }.filter { $0 != "=" })
    }

    static func signingKey(_ reader: PolicyElementReader) -> SigningKey? {
        var id: String? = nil
        if case .literal(let literal)? = reader.element.attribute("id")?.value { id = literal }
        let text = reader.element.textValue
        if let certificateID = reader.literal("certificate-id") {
            guard ["n", "e", "crv", "x", "y"].allSatisfy({ reader.literal($0) == nil }), text == nil else {
                reader.error(attribute: "certificate-id", "'certificate-id' of '<key>' in '<validate-jwt>' cannot be combined with other key material")
                return nil
            }
            return SigningKey(material: .certificate(id: certificateID), id: id)
        }
        if let modulus = reader.literal("n") {
            guard let exponent = reader.literal("e") else {
                reader.error("'<key n=…>' of '<validate-jwt>' requires 'e'")
                return nil
            }
            guard let n = base64URL(modulus), let e = base64URL(exponent), let key = try? JWTKit.Insecure.RSA.PublicKey(modulus: n, exponent: e) else {
                reader.error(attribute: "n", "'n' and 'e' of '<key>' in '<validate-jwt>' are not a valid RSA public key (base64 modulus and exponent)")
                return nil
            }
            return SigningKey(material: .rsa(key), id: id)
        }
        if reader.literal("e") != nil {
            reader.error(attribute: "e", "'<key e=…>' of '<validate-jwt>' requires 'n'")
            return nil
        }
        if let curve = reader.literal("crv") {
            guard curve == "P-256" else {
                reader.error(attribute: "crv", "'crv' of '<key>' in '<validate-jwt>' must be 'P-256'")
                return nil
            }
            guard let xText = reader.literal("x"), let yText = reader.literal("y"), let x = base64URL(xText), let y = base64URL(yText),
                let key = try? ES256PublicKey(parameters: (x: x, y: y))
            else {
                reader.error(attribute: "crv", "'x' and 'y' of '<key crv=\"P-256\">' in '<validate-jwt>' are not a valid P-256 public key")
                return nil
            }
            return SigningKey(material: .p256(key), id: id)
        }
        if reader.literal("x") != nil || reader.literal("y") != nil {
            reader.error("'x' and 'y' of '<key>' in '<validate-jwt>' require 'crv=\"P-256\"'")
            return nil
        }
        guard case .literal(let secretText)? = text else {
            reader.error("'<key>' of '<validate-jwt>' needs a base64 secret as its text, or 'n' and 'e'")
            return nil
        }
        let compact = secretText.filter { !$0.isWhitespace }
        guard let data = Data(base64Encoded: compact) ?? base64URL(compact).flatMap(decodeBase64URL) else {
            reader.error("the text of '<key>' in '<validate-jwt>' is not base64")
            return nil
        }
        guard data.count >= minimumSecretBytes else {
            reader.error("the secret of '<key>' in '<validate-jwt>' has \(data.count * 8) bits; at least 256 are required")
            return nil
        }
        return SigningKey(material: .hmac(HMACKey(from: data), byteCount: data.count), id: id)
    }

    /// Base64url (without padding) to bytes; nil when malformed.
    static func decodeBase64URL(_ text: some StringProtocol) -> Data? {
        var standard = String(text.map { $0 == "-" ? "+" : $0 == "_" ? "/" : $0 })
        switch standard.utf8.count % 4 {
        case 2: standard += "=="
        case 3: standard += "="
        case 1: return nil
        default: break
        }
        return Data(base64Encoded: standard)
    }
}

/// Fetches the documents of `<openid-config>` (the OpenID configuration and its JWKS) for
/// `validate-jwt`: the gateway provides it over HTTP(S); tests provide a fake. At most `limit` bytes.
public protocol PolicyKeyDocumentFetching: Sendable {
    func fetch(_ url: URL, limit: Int) async throws -> [UInt8]
}

// MARK: Run

extension ValidateJWTPolicy {
    enum RuntimeSource: Sendable {
        case header(RuntimeParameter<String>)
        case queryParameter(RuntimeParameter<String>)
        case value(RuntimeParameter<String>)
    }

    struct RuntimeClaim: Sendable {
        let name: String
        let matchAll: Bool
        let separator: String?
        let values: [RuntimeParameter<String>]
    }

    /// The keys as jwt-kit algorithms. jwt-kit hands out its verifiers through its `JWTKeyCollection`
    /// actor only, so they are made on the first request and kept; verification itself is synchronous.
    final class KeyRing: Sendable {
        struct Entry: Sendable {
            let algorithm: any JWTAlgorithm
            let id: String?
        }

        let keys: [SigningKey]
        private let resolved = Mutex<[Entry]?>(nil)

        init(_ keys: [SigningKey]) { self.keys = keys }

        func entries(certificates: DeploymentCertificateStore?) async -> [Entry] {
            if let done = resolved.withLock({ $0 }) { return done }
            var made: [Entry] = []
            for key in keys {
                switch key.material {
                case .hmac(let secret, let byteCount):
                    for (digest, bytes) in [(DigestAlgorithm.sha256, 32), (.sha384, 48), (.sha512, 64)] where byteCount >= bytes {
                        let collection = JWTKeyCollection()
                        await collection.add(hmac: secret, digestAlgorithm: digest)
                        if let algorithm = try? await collection.getKey() { made.append(Entry(algorithm: algorithm, id: key.id)) }
                    }
                case .rsa(let publicKey):
                    for digest in [DigestAlgorithm.sha256, .sha384, .sha512] {
                        let collection = JWTKeyCollection()
                        await collection.add(rsa: publicKey, digestAlgorithm: digest)
                        if let algorithm = try? await collection.getKey() { made.append(Entry(algorithm: algorithm, id: key.id)) }
                    }
                case .p256(let publicKey):
                    let collection = JWTKeyCollection()
                    await collection.add(ecdsa: publicKey)
                    if let algorithm = try? await collection.getKey() { made.append(Entry(algorithm: algorithm, id: key.id)) }
                case .certificate(let certificateID):
                    guard let certificate = certificates?.certificate(id: certificateID) else { continue }
                    let pem = "-----BEGIN CERTIFICATE-----\n" + Data(certificate.rawData).base64EncodedString(options: .lineLength64Characters)
                        + "\n-----END CERTIFICATE-----\n"
                    if let publicKey = try? JWTKit.Insecure.RSA.PublicKey(certificatePEM: pem) {
                        for digest in [DigestAlgorithm.sha256, .sha384, .sha512] {
                            let collection = JWTKeyCollection()
                            await collection.add(rsa: publicKey, digestAlgorithm: digest)
                            if let algorithm = try? await collection.getKey() { made.append(Entry(algorithm: algorithm, id: key.id)) }
                        }
                    } else if let publicKey = try? ES256PublicKey(certificate: pem) {
                        let collection = JWTKeyCollection()
                        await collection.add(ecdsa: publicKey)
                        if let algorithm = try? await collection.getKey() { made.append(Entry(algorithm: algorithm, id: key.id)) }
                    }
                }
            }
            let result = made
            resolved.withLock { $0 = result }
            return result
        }
    }

    /// The keys of an OpenID provider: its configuration names `jwks_uri`, whose keys are kept for an
    /// hour; a token whose `kid` is unknown refetches them at most once per five minutes (APIM's
    /// rule). Documents are bounded in size and keys in number; when nothing could be fetched the
    /// token finds no key (fail closed). Stale keys are kept when a refresh fails.
    final class OpenIDKeys: Sendable {
        struct State {
            var entries: [KeyRing.Entry] = []
            /// The configuration's `issuer` (for `validate-azure-ad-token`).
            var issuer: String?
            var fetchedAt: Date?
            var attemptedAt: Date?
        }

        static let lifetime: TimeInterval = 3600
        static let refreshInterval: TimeInterval = 300
        /// Without any key yet, how often a fetch is tried again.
        static let retryInterval: TimeInterval = 10
        static let maximumDocumentBytes = 1 << 20
        static let maximumKeys = 64

        let url: URL
        private let state = Mutex(State())

        init(_ url: URL) { self.url = url }

        /// The provider's `issuer` from the last configuration read (nil before one was).
        var issuer: String? { state.withLock { $0.issuer } }

        func entries(kid: String?, now: Date, fetcher: any PolicyKeyDocumentFetching) async -> [KeyRing.Entry] {
            let current = state.withLock { $0 }
            let fresh = current.fetchedAt.map { now.timeIntervalSince($0) >= 0 && now.timeIntervalSince($0) < Self.lifetime } ?? false
            let known = kid.map { kid in current.entries.contains { $0.id == kid } } ?? true
            if fresh && known { return current.entries }
            // A fresh set is refetched for an unknown kid at most every five minutes; a stale or
            // missing one is retried every ten seconds (stale keys serve meanwhile).
            let wait = fresh ? Self.refreshInterval : Self.retryInterval
            if let attempted = current.attemptedAt, now.timeIntervalSince(attempted) >= 0, now.timeIntervalSince(attempted) < wait {
                return current.entries
            }
            state.withLock { $0.attemptedAt = now }
            guard let (fetched, issuer) = await load(fetcher) else { return current.entries }
            state.withLock {
                $0.entries = fetched
                $0.issuer = issuer
                $0.fetchedAt = now
            }
            return fetched
        }

        private struct Configuration: Decodable {
            let jwks_uri: String
            let issuer: String?
        }

        /// One key of a JWKS, or nil for a key jwt-kit cannot read (an `oct` or unknown `kty`).
        private struct LenientKey: Decodable {
            let key: JWK?
            init(from decoder: any Decoder) throws { key = try? JWK(from: decoder) }
        }

        private struct LenientKeySet: Decodable {
            let keys: [LenientKey]
        }

        func load(_ fetcher: any PolicyKeyDocumentFetching) async -> ([KeyRing.Entry], String?)? {
            guard let configuration = try? await fetcher.fetch(url, limit: Self.maximumDocumentBytes),
                configuration.count <= Self.maximumDocumentBytes,
                let decoded = try? JSONDecoder().decode(Configuration.self, from: Data(configuration)),
                let jwksURL = PolicyAttributeType.absoluteURL(decoded.jwks_uri),
                let document = try? await fetcher.fetch(jwksURL, limit: Self.maximumDocumentBytes), document.count <= Self.maximumDocumentBytes,
                let set = try? JSONDecoder().decode(LenientKeySet.self, from: Data(document))
            else { return nil }
            var entries: [KeyRing.Entry] = []
            for jwk in set.keys.compactMap(\.key).prefix(Self.maximumKeys) {
                guard let kid = jwk.keyIdentifier else { continue }
                let names: [String]
                if let given = jwk.algorithm {
                    names = [given.rawValue]
                } else if jwk.keyType == .rsa {
                    names = ["RS256", "RS384", "RS512"]
                } else if jwk.keyType == .ecdsa {
                    names = ["ES256", "ES384", "ES512"]
                } else {
                    continue
                }
                let collection = JWTKeyCollection()
                guard (try? await collection.add(jwk: jwk, isDefault: true)) != nil else { continue }
                for name in names {
                    guard let algorithm = try? await collection.getKey(for: kid, alg: name), algorithm.name == name else { continue }
                    entries.append(KeyRing.Entry(algorithm: algorithm, id: kid.string))
                }
            }
            return (entries, decoded.issuer)
        }
    }

    struct Step: WaitingPolicyStep {
        let source: RuntimeSource
        let code: RuntimeParameter<Int>
        let message: RuntimeParameter<String>?
        let requireExpiration: RuntimeParameter<Bool>
        let scheme: RuntimeParameter<String>?
        let requireSigned: RuntimeParameter<Bool>
        let clockSkew: RuntimeParameter<Int>
        let output: String?
        let keys: KeyRing
        /// `<openid-config url>`: its keys come from `PolicyPipelineOptions.openIDKeys` (shared per URL).
        let openID: URL?
        let requireCertificateBinding: Bool
        let audiences: [RuntimeParameter<String>]
        let issuers: [RuntimeParameter<String>]
        let claims: [RuntimeClaim]
        /// The policy named in `context.LastError.Source` and the message (`validate-azure-ad-token` too).
        var policyName = "validate-jwt"
        /// `validate-azure-ad-token`'s checks beyond validate-jwt's.
        var entra: ValidateAzureADTokenPolicy.Checks? = nil

        func failure(_ execution: PolicyExecution, _ step: CompiledStep, _ reason: String, _ text: String) throws -> PolicyFailure {
            let status = try execution.int(code, step, in: 100...599)
            let clientMessage = try message.map { try execution.string($0, step) } ?? text
            return PolicyFailure(source: policyName, reason: reason, message: "JWT Validation Failed: \(text)", status: status, clientMessage: clientMessage)
        }

        /// The token as presented, or nil when absent (no header, parameter or value; wrong scheme).
        func token(_ execution: PolicyExecution, _ step: CompiledStep) throws -> Substring? {
            var raw: String
            switch source {
            case .header(let name):
                let headerName = try execution.string(name, step)
                guard let first = HeaderList.values(execution.state.requestHeaders, headerName).first else { return nil }
                raw = first
            case .queryParameter(let name):
                let parameter = try execution.string(name, step)
                guard let first = execution.state.query.first(where: { $0.name == parameter }) else { return nil }
                raw = first.value
            case .value(let value):
                raw = try execution.string(value, step)
            }
            var token = Substring(raw).drop { $0 == " " || $0 == "\t" }
            while let last = token.last, last == " " || last == "\t" { token = token.dropLast() }
            if let scheme {
                let required = try execution.string(scheme, step)
                guard let space = token.firstIndex(of: " "), token[..<space].caseInsensitiveCompare(required) == .orderedSame else { return nil }
                token = token[space...].drop { $0 == " " }
            } else if let space = token.firstIndex(of: " "), token[..<space].caseInsensitiveCompare("Bearer") == .orderedSame {
                token = token[space...].drop { $0 == " " }
            } else if token.caseInsensitiveCompare("Bearer") == .orderedSame {
                return nil  // `Authorization: Bearer` with nothing after it
            }
            return token.isEmpty ? nil : token
        }

        func run(_ execution: PolicyExecution, _ step: CompiledStep) async throws -> Flow {
            func fail(_ reason: String, _ text: String) throws -> PolicyFailure { try failure(execution, step, reason, text) }
            guard let token = try token(execution, step) else { throw try fail("TokenNotPresent", "JWT not present.") }
            guard token.utf8.count <= ValidateJWTPolicy.maximumTokenLength else { throw try fail("JwtInvalid", "JWT is too long.") }
            let parts = token.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 3, let jwt = JwtObject.parseToken(String(token)) else {
                throw try fail("JwtInvalid", parts.count == 5 ? "Encrypted JWTs (JWE) are not supported." : "JWT is malformed.")
            }
            // Signature first, then lifetime, audience, issuer and claims (Microsoft.IdentityModel's order).
            let algorithm = jwt.headerValue("alg") ?? ""
            if algorithm.lowercased() == "none" || parts[2].isEmpty {
                if try execution.bool(requireSigned, step) { throw try fail("TokenSignatureInvalid", "JWT is not signed.") }
            } else {
                guard let signature = ValidateJWTPolicy.decodeBase64URL(parts[2]) else {
                    throw try fail("TokenSignatureInvalid", "Signature validation failed.")
                }
                let kid = jwt.headerValue("kid")
                var entries = await keys.entries(certificates: execution.options.certificates)
                if let openIDURL = openID, let fetcher = execution.options.keyDocuments {
                    let openID = execution.options.openIDKeys.keys(for: openIDURL)
                    let verification = execution.options.verification
                    let now = verification.options.validationTime ?? verification.clock()
                    entries += await openID.entries(kid: kid, now: now, fetcher: fetcher)
                }
                let candidates = entries.filter { entry in
                    entry.algorithm.name == algorithm && (kid == nil || entry.id == nil || kid == entry.id)
                }
                guard !candidates.isEmpty else {
                    throw try fail("TokenSignatureKeyNotFound", "Signature validation failed. No key matches the token's algorithm or key id.")
                }
                let signingInput = Array(parts[0].utf8) + [UInt8(ascii: ".")] + Array(parts[1].utf8)
                let valid = candidates.contains { entry in (try? entry.algorithm.verify(signature, signs: signingInput)) == true }
                guard valid else { throw try fail("TokenSignatureInvalid", "Signature validation failed.") }
            }
            try checkLifetime(jwt, execution, step)
            if !audiences.isEmpty {
                let allowed = try audiences.map { try execution.string($0, step) }
                let presented = jwt.claimValues("aud") ?? []
                guard presented.contains(where: allowed.contains) else { throw try fail("TokenAudienceNotAllowed", "Audience validation failed.") }
            }
            if !issuers.isEmpty {
                let allowed = try issuers.map { try execution.string($0, step) }
                guard let issuer = jwt.claimValues("iss")?.first, allowed.contains(issuer) else {
                    throw try fail("TokenIssuerNotAllowed", "Issuer validation failed.")
                }
            }
            if let entra {
                var openIDIssuer: String? = nil
                if let openIDURL = openID { openIDIssuer = execution.options.openIDKeys.keys(for: openIDURL).issuer }
                if let reason = entra.refusal(jwt, discoveredIssuer: openIDIssuer) { throw try fail(reason.0, reason.1) }
            }
            for claim in claims {
                guard var presented = jwt.claimValues(claim.name) else { throw try fail("TokenClaimNotFound", "Claim '\(claim.name)' not found.") }
                if let separator = claim.separator {
                    presented = presented.flatMap { $0.components(separatedBy: separator) }
                }
                guard !claim.values.isEmpty else { continue }
                let required = try claim.values.map { try execution.string($0, step) }
                let matches = claim.matchAll ? required.allSatisfy(presented.contains) : required.contains(where: presented.contains)
                guard matches else { throw try fail("TokenClaimValueNotAllowed", "Claim '\(claim.name)' has no allowed value.") }
            }
            if requireCertificateBinding { try checkCertificateBinding(jwt, execution, step) }
            if let output { execution.state.variables.set(.string(output), .object(jwt)) }
            execution.state.record(.info, "JWT accepted")
            return .proceed
        }

        /// RFC 8705 §3.1: `"cnf": {"x5t#S256": base64url(SHA-256(DER))}` against the presented certificate.
        func checkCertificateBinding(_ jwt: JwtObject, _ execution: PolicyExecution, _ step: CompiledStep) throws {
            let reason = "TokenCertificateBindingMismatch"
            guard let leaf = execution.state.certificate?.certificate else {
                throw try failure(execution, step, reason, "The token is bound to a client certificate, but none was presented.")
            }
            guard let confirmation = jwt.claimValues("cnf")?.first,
                let object = try? JSONSerialization.jsonObject(with: Data(confirmation.utf8)) as? [String: Any],
                let thumbprint = object["x5t#S256"] as? String
            else {
                throw try failure(execution, step, reason, "The token has no 'cnf' claim with 'x5t#S256'.")
            }
            let expected = Data(leaf.sha256Digest).base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            guard thumbprint == expected else {
                throw try failure(execution, step, reason, "The token is bound to another client certificate.")
            }
        }

        func checkLifetime(_ jwt: JwtObject, _ execution: PolicyExecution, _ step: CompiledStep) throws {
            let verification = execution.options.verification
            let now = (verification.options.validationTime ?? verification.clock()).timeIntervalSince1970
            let skew = Double(try execution.int(clockSkew, step, in: 0...Int(Int32.max)))
            func seconds(_ name: String) throws -> Double? {
                guard let text = jwt.claimValues(name)?.first else { return nil }
                guard let value = Double(text), value.isFinite else {
                    throw try failure(execution, step, "JwtInvalid", "The '\(name)' claim is not a number.")
                }
                return value
            }
            if let expiry = try seconds("exp") {
                guard now <= expiry + skew else { throw try failure(execution, step, "TokenExpired", "Lifetime validation failed. The token is expired.") }
            } else if try execution.bool(requireExpiration, step) {
                throw try failure(execution, step, "JwtInvalid", "Lifetime validation failed. The token is missing an Expiration Time.")
            }
            if let notBefore = try seconds("nbf"), now + skew < notBefore {
                throw try failure(execution, step, "TokenNotYetValid", "Lifetime validation failed. The token is not yet valid.")
            }
        }
    }

    func compile(_ compiler: inout StepCompiler, _ statement: PolicyStatement) -> (any WaitingPolicyStep)? {
        if openIDConfiguration != nil, !compiler.canFetchKeyDocuments {
            compiler.unsupported(statement, "'<openid-config>' in '<validate-jwt>' needs the gateway's key document fetcher (PolicyPipelineOptions.keyDocuments)")
            return nil
        }
        let runtimeSource: RuntimeSource
        switch source {
        case .header(let name):
            guard let made = compiler.parameter(name) else { return nil }
            runtimeSource = .header(made)
        case .queryParameter(let name):
            guard let made = compiler.parameter(name) else { return nil }
            runtimeSource = .queryParameter(made)
        case .value(let value):
            guard let made = compiler.parameter(value) else { return nil }
            runtimeSource = .value(made)
        }
        var message: RuntimeParameter<String>? = nil
        if let given = failedValidationErrorMessage {
            guard let made = compiler.parameter(given) else { return nil }
            message = made
        }
        var scheme: RuntimeParameter<String>? = nil
        if let given = requireScheme {
            guard let made = compiler.parameter(given) else { return nil }
            scheme = made
        }
        var claims: [RuntimeClaim] = []
        for claim in requiredClaims {
            guard let values = compiler.parameters(claim.values) else { return nil }
            claims.append(RuntimeClaim(name: claim.name, matchAll: claim.matchAll, separator: claim.separator, values: values))
        }
        guard let code = compiler.parameter(failedValidationHTTPCode), let requireExpiration = compiler.parameter(requireExpirationTime),
            let requireSigned = compiler.parameter(requireSignedTokens), let skew = compiler.parameter(clockSkew),
            let audiences = compiler.parameters(audiences), let issuers = compiler.parameters(issuers)
        else { return nil }
        return Step(
            source: runtimeSource, code: code, message: message, requireExpiration: requireExpiration, scheme: scheme,
            requireSigned: requireSigned, clockSkew: skew, output: outputTokenVariableName, keys: KeyRing(keys),
            openID: openIDConfiguration, requireCertificateBinding: requireCertificateBinding, audiences: audiences,
            issuers: issuers, claims: claims)
    }
}
