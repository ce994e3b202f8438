import Crypto
import Foundation
import PolicyExpressions
import Synchronization

/// Drawbridge's credential manager: APIM's credential providers and their connections (formerly
/// "authorizations"), whose tokens `get-authorization-context` hands to policies. Configured in the
/// gateway configuration (`policies.credentialProviders`); a connection gets its token
/// - from the provider's OAuth 2.0 token endpoint with the client-credentials grant (RFC 6749 §4.4),
/// - from the same endpoint with the refresh-token grant (§6), starting from a configured refresh
///   token and keeping the one the server rotates to, or
/// - as a static token (a token someone else keeps fresh, given as a secret named value).
/// Tokens are fetched on first use, kept until shortly before they expire (`CredentialTokenStore`),
/// fetched once at a time per connection however many requests wait, and never logged.
public struct CredentialProvider: Sendable, Equatable, CustomStringConvertible {
    /// How the client authenticates to the token endpoint (RFC 6749 §2.3.1).
    public enum ClientAuthentication: String, Sendable, Equatable, CaseIterable {
        /// `Authorization: Basic` with the form-encoded id and secret (the RFC's must-support method; default).
        case basic
        /// `client_id` and `client_secret` in the request body.
        case body
    }

    /// The OAuth 2.0 token endpoint (nil: the provider's connections are all static tokens).
    public var tokenURL: URL?
    public var clientID: String
    /// Secret: never printed, never logged.
    public var clientSecret: String
    public var clientAuthentication: ClientAuthentication = .basic
    /// `scope` of the token requests (space-separated when sent); a connection may set its own.
    public var scopes: [String] = []
    /// Extra form parameters of every token request (`resource`, `audience`, …).
    public var parameters: [String: String] = [:]
    public var connections: [String: CredentialConnection]

    /// Never the secrets.
    public var description: String {
        "credential provider (token endpoint \(tokenURL?.absoluteString ?? "none"), client '\(clientID)', connections \(connections.keys.sorted()))"
    }

    public init(tokenURL: URL?, clientID: String, clientSecret: String, connections: [String: CredentialConnection]) {
        self.tokenURL = tokenURL
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.connections = connections
    }
}

/// One connection of a credential provider: how its token is had, and who may have it (APIM's
/// access policies).
public struct CredentialConnection: Sendable, Equatable, CustomStringConvertible {
    public enum Grant: Sendable, Equatable {
        case clientCredentials
        /// The initial refresh token (secret).
        case refreshToken(String)
        /// A token used as it is (secret).
        case staticToken(String)
    }

    /// A Microsoft Entra identity of the access policy: `identity-type="jwt"` tokens whose `tid` and
    /// `oid` are these.
    public struct Identity: Sendable, Equatable {
        public var tenantID: String
        public var objectID: String
        public init(tenantID: String, objectID: String) {
            self.tenantID = tenantID
            self.objectID = objectID
        }
    }

    public var grant: Grant
    /// Overrides the provider's scopes when set.
    public var scopes: [String]?
    /// `identity-type="managed"` (the gateway's own identity) may use the connection (default true).
    public var allowsGateway: Bool = true
    /// The Entra identities that may use it with `identity-type="jwt"`.
    public var identities: [Identity] = []

    /// Never the tokens.
    public var description: String {
        switch grant {
        case .clientCredentials: "connection (client credentials)"
        case .refreshToken: "connection (refresh token)"
        case .staticToken: "connection (static token)"
        }
    }

    public init(grant: Grant, scopes: [String]? = nil) {
        self.grant = grant
        self.scopes = scopes
    }
}

/// The configured providers with the process's token store.
public struct CredentialManager: Sendable {
    public var providers: [String: CredentialProvider]
    public var tokens: CredentialTokenStore

    public init(providers: [String: CredentialProvider], tokens: CredentialTokenStore = CredentialTokenStore()) {
        self.providers = providers
        self.tokens = tokens
    }
}

/// What a token endpoint answered, as `Authorization` shows it.
struct CredentialToken: Sendable {
    /// A claim of the token response (RFC 6749 §5.1), kept in a Sendable form.
    enum Claim: Sendable {
        /// A string, number, boolean or null, as the expression library's JSON reader typed it.
        case value(JToken.Primitive)
        /// An object or array, as JSON text (parsed into a fresh `JToken` per request: expressions may change it).
        case json(String)
    }

    let accessToken: String
    let claims: [(name: String, value: Claim)]
}

/// Why a connection's token could not be had (never with a secret in it).
struct CredentialFailure: Error, Sendable {
    let reason: String
    let message: String
}

/// Connection tokens of the gateway process, kept across reloads: by provider, connection and a
/// digest of the settings that make the token (endpoint, client, secret, scopes, grant), so a
/// changed configuration never reuses another's token. Each entry is kept until shortly before it
/// expires (five minutes, or a tenth of its lifetime when shorter; a token without `expires_in`
/// for `defaultLifetime`); one fetch at a time per entry, the others waiting for it; a failed fetch
/// is remembered for `failureHold` so a broken endpoint is not hammered. Bounded in entries.
public final class CredentialTokenStore: Sendable {
    struct Entry: Sendable {
        var token: CredentialToken?
        var refreshAt: Date = .distantPast
        /// The refresh token the server rotated to (refresh-token grant).
        var refreshToken: String?
        var pending: Task<CredentialToken, any Error>?
        var failure: CredentialFailure?
        var failedAt: Date = .distantPast
    }

    static let maximumEntries = 4096
    static let refreshMargin: TimeInterval = 300
    static let defaultLifetime: TimeInterval = 3600
    static let failureHold: TimeInterval = 5
    private let entries = Mutex<[String: Entry]>([:])
    /// Token requests sent (tests count them).
    let fetches = Atomic<Int>(0)

    public init() {}

    /// The key: provider, connection, and SHA-256 of what makes the token.
    static func key(provider id: String, _ provider: CredentialProvider, connection name: String, _ connection: CredentialConnection) -> String {
        var material = [provider.tokenURL?.absoluteString ?? "", provider.clientID, provider.clientSecret, provider.clientAuthentication.rawValue]
        material += (connection.scopes ?? provider.scopes)
        material += provider.parameters.sorted { $0.key < $1.key }.flatMap { [$0.key, $0.value] }
        switch connection.grant {
        case .clientCredentials: material.append("client_credentials")
        case .refreshToken(let token): material += ["refresh_token", token]
        case .staticToken(let token): material += ["static", token]
        }
        let digest = SHA256.hash(data: Data(material.joined(separator: "\u{0}").utf8))
        return id + "\u{0}" + name + "\u{0}" + digest.map { String(format: "%02x", $0) }.joined()
    }

    /// The cached token, or the one a fetch (started now, or already under way) brings.
    func token(for key: String, now: Date, fetch: @escaping @Sendable (_ refreshToken: String?) async throws -> (CredentialToken, TimeInterval?, String?))
        async throws -> CredentialToken
    {
        enum Decision {
            case cached(CredentialToken)
            case failed(CredentialFailure)
            case wait(Task<CredentialToken, any Error>)
        }
        let decision: Decision = entries.withLock { entries in
            var entry = entries[key] ?? Entry()
            if let token = entry.token, now < entry.refreshAt { return .cached(token) }
            if let pending = entry.pending { return .wait(pending) }
            if let failure = entry.failure, now.timeIntervalSince(entry.failedAt) < Self.failureHold, now >= entry.failedAt {
                return .failed(failure)
            }
            let refreshToken = entry.refreshToken
            let task = Task<CredentialToken, any Error> { [self] in
                do {
                    fetches.add(1, ordering: .relaxed)
                    let (token, lifetime, rotated) = try await fetch(refreshToken)
                    store(token, lifetime: lifetime, rotatedRefreshToken: rotated, for: key, now: now)
                    return token
                } catch {
                    let failure = error as? CredentialFailure ?? CredentialFailure(reason: "TokenRequestFailed", message: "\(error)")
                    fail(failure, for: key, now: now)
                    throw failure
                }
            }
            entry.pending = task
            if entries[key] == nil, entries.count >= Self.maximumEntries,
               let oldest = entries.filter({ $0.value.pending == nil }).min(by: { $0.value.refreshAt < $1.value.refreshAt })?.key {
                entries[oldest] = nil
            }
            entries[key] = entry
            return .wait(task)
        }
        switch decision {
        case .cached(let token): return token
        case .failed(let failure): throw failure
        case .wait(let task): return try await task.value
        }
    }

    private func store(_ token: CredentialToken, lifetime: TimeInterval?, rotatedRefreshToken: String?, for key: String, now: Date) {
        let life = lifetime.flatMap { $0.isFinite && $0 > 0 ? $0 : nil } ?? Self.defaultLifetime
        entries.withLock { entries in
            var entry = entries[key] ?? Entry()
            entry.token = token
            entry.refreshAt = now.addingTimeInterval(life - min(Self.refreshMargin, life / 10))
            if let rotatedRefreshToken { entry.refreshToken = rotatedRefreshToken }
            entry.pending = nil
            entry.failure = nil
            entries[key] = entry
        }
    }

    private func fail(_ failure: CredentialFailure, for key: String, now: Date) {
        entries.withLock { entries in
            var entry = entries[key] ?? Entry()
            entry.pending = nil
            entry.failure = failure
            entry.failedAt = now
            entries[key] = entry
        }
    }
}

extension CredentialManager {
    static let tokenTimeout: Duration = .seconds(20)
    static let maximumResponseBytes = 64 << 10
    static let maximumTokenBytes = 16 << 10

    /// The connection's token (cached, or fetched through `backend`).
    func token(provider id: String, connection name: String, now: Date, backend: any PolicyBackend) async throws(CredentialFailure) -> CredentialToken {
        guard let provider = providers[id] else {
            throw CredentialFailure(reason: "CredentialProviderNotFound", message: "No credential provider '\(Self.shown(id))' is configured.")
        }
        guard let connection = provider.connections[name] else {
            throw CredentialFailure(
                reason: "ConnectionNotFound", message: "The credential provider '\(Self.shown(id))' has no connection '\(Self.shown(name))'.")
        }
        if case .staticToken(let token) = connection.grant { return CredentialToken(accessToken: token, claims: []) }
        let key = CredentialTokenStore.key(provider: id, provider, connection: name, connection)
        do {
            return try await tokens.token(for: key, now: now) { refreshToken in
                try await Self.fetch(provider, connection, refreshToken: refreshToken, providerID: id, connectionName: name, backend: backend)
            }
        } catch let failure as CredentialFailure {
            throw failure
        } catch {
            throw CredentialFailure(reason: "TokenRequestFailed", message: "The token request failed: \(error)")
        }
    }

    /// A name as messages show it: escaped and cut (it may come from a request).
    static func shown(_ text: String) -> String { ErrorBody.escape(text.count <= 80 ? text : String(text.prefix(77)) + "…") }

    /// One token request (RFC 6749 §4.4 or §6): the token, its lifetime and a rotated refresh token.
    static func fetch(_ provider: CredentialProvider, _ connection: CredentialConnection, refreshToken rotated: String?, providerID: String,
                      connectionName: String, backend: any PolicyBackend) async throws(CredentialFailure) -> (CredentialToken, TimeInterval?, String?) {
        let what = "connection '\(shown(connectionName))' of '\(shown(providerID))'"
        guard let tokenURL = provider.tokenURL else {
            throw CredentialFailure(reason: "TokenRequestFailed", message: "The provider of \(what) has no token endpoint.")
        }
        var form: [(String, String)] = []
        switch connection.grant {
        case .clientCredentials: form.append(("grant_type", "client_credentials"))
        case .refreshToken(let configured): form += [("grant_type", "refresh_token"), ("refresh_token", rotated ?? configured)]
        case .staticToken: break
        }
        let scopes = connection.scopes ?? provider.scopes
        if !scopes.isEmpty { form.append(("scope", scopes.joined(separator: " "))) }
        for (name, value) in provider.parameters.sorted(by: { $0.key < $1.key }) { form.append((name, value)) }
        var headers = [PolicyHeader("Content-Type", "application/x-www-form-urlencoded"), PolicyHeader("Accept", "application/json")]
        switch provider.clientAuthentication {
        case .basic:
            let credentials = formEncoded(provider.clientID) + ":" + formEncoded(provider.clientSecret)
            headers.append(PolicyHeader("Authorization", "Basic " + Data(credentials.utf8).base64EncodedString()))
        case .body:
            form += [("client_id", provider.clientID), ("client_secret", provider.clientSecret)]
        }
        let body = form.map { formEncoded($0.0) + "=" + formEncoded($0.1) }.joined(separator: "&")
        let request = BackendRequest(method: "POST", url: tokenURL, headers: headers, body: .bytes(Array(body.utf8)), timeout: tokenTimeout,
                                     followRedirects: false)
        let status: Int
        let bytes: [UInt8]
        do {
            let response = try await PolicyExecution.send(request, to: backend)
            status = response.status
            bytes = try await response.body?.collect(upTo: maximumResponseBytes) ?? []
        } catch {
            let timedOut = (error as? PolicyBackendError) == .timeout
            throw CredentialFailure(
                reason: "TokenRequestFailed",
                message: "The token endpoint of \(what) \(timedOut ? "did not answer in time" : "could not be reached: \(error)").")
        }
        // Read with the expression library's JSON reader (bounded in depth, as for hostile bodies).
        var members: [(String, JToken)]? = nil
        if case .object(let found)? = (try? JToken.parse(json: String(decoding: bytes, as: UTF8.self)))?.storage { members = found }
        func primitive(_ name: String) -> JToken.Primitive? {
            guard let member = members?.first(where: { $0.0 == name })?.1, case .value(let value) = member.storage else { return nil }
            return value
        }
        func string(_ name: String) -> String? {
            if case .string(let text)? = primitive(name) { return text }
            return nil
        }
        guard status == 200 else {
            // RFC 6749 §5.2: `error` is an ASCII code; it is named (escaped, cut), the description is not.
            let code = string("error").map { " (\(shown($0)))" } ?? ""
            throw CredentialFailure(reason: "TokenRequestFailed", message: "The token endpoint of \(what) answered \(status)\(code).")
        }
        guard let members, let token = string("access_token"), !token.isEmpty, token.utf8.count <= maximumTokenBytes,
              token.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F })
        else {
            throw CredentialFailure(reason: "TokenRequestFailed", message: "The token endpoint of \(what) answered without a usable 'access_token'.")
        }
        var lifetime: TimeInterval? = nil
        switch primitive("expires_in") {
        case .integer(let seconds)?: lifetime = Double(seconds)
        case .float(let seconds)?: lifetime = seconds
        case .string(let text)?: lifetime = Double(text)
        default: break
        }
        let newRefreshToken = string("refresh_token").flatMap { $0.isEmpty ? nil : $0 }
        // Claims: the response's members but the refresh token (which stays in the store), typed as
        // `JToken.Parse` types them; objects and arrays kept as JSON text (a fresh token per request).
        var claims: [(name: String, value: CredentialToken.Claim)] = []
        for (name, member) in members where name != "refresh_token" {
            switch member.storage {
            case .value(let value): claims.append((name, .value(value)))
            default: claims.append((name, .json(ValueConversion.string(.json(member)))))
            }
        }
        return (CredentialToken(accessToken: token, claims: claims), lifetime, newRefreshToken)
    }

    /// `application/x-www-form-urlencoded` (RFC 6749 Appendix B): unreserved characters as they are,
    /// space `+`, every other UTF-8 byte `%XX`.
    static func formEncoded(_ text: String) -> String {
        var out = ""
        let hex = Array("0123456789ABCDEF".utf8)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "*"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: " "):
                out += "+"
            default:
                out.unicodeScalars.append("%")
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(byte >> 4)]))
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(byte & 0x0F)]))
            }
        }
        return out
    }
}
