import Foundation
import Synchronization

/// `<authentication-managed-identity resource="…" client-id="…" output-token-variable-name="…"
/// ignore-error="false"/>`: an access token for `resource` from a managed-identity token endpoint,
/// sent to the backend as `Authorization: Bearer …` (or, with `output-token-variable-name`, stored
/// in that variable as a string and no header set — APIM's "set the header yourself" form). Also a
/// child of `send-request`/`send-one-way-request`, where it authenticates the side request.
///
/// The token comes from an IMDS-compatible endpoint (Azure's Instance Metadata Service protocol:
/// `GET {endpoint}?api-version=2018-02-01&resource=…[&client_id=…]` with `Metadata: true`, answered
/// by `{"access_token":…, "expires_in":…}`), configured as `PolicyPipelineOptions.managedIdentity`
/// (`policies.managedIdentityEndpoint` in gateway.yaml). There is no default endpoint: without one
/// the policy fails closed at run time with `ManagedIdentityNotConfigured` (a gateway that is not on
/// Azure has no identity to speak for). Tokens are cached per endpoint, resource and client id until
/// shortly before they expire (`ManagedIdentityTokenCache`).
public struct AuthenticationManagedIdentityPolicy: Sendable, PolicyDefinition {
    public let resource: PolicyParameter<String>
    /// A user-assigned identity's client id (a literal, as in APIM); nil: the system-assigned identity.
    public let clientID: String?
    public let outputTokenVariableName: String?
    public let ignoreError: PolicyParameter<Bool>

    static let schema = PolicySchema(
        "authentication-managed-identity", sections: [.inbound],
        attributes: [
            PolicyAttributeSpec("resource", .nonEmptyText, required: true),
            PolicyAttributeSpec("client-id", .nonEmptyText, expressions: false),
            PolicyAttributeSpec("output-token-variable-name", .nonEmptyText, expressions: false),
            PolicyAttributeSpec("ignore-error", .boolean, default: "false"),
        ])

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        make(reader).map(Policy.authenticationManagedIdentity)
    }

    /// Reads the element (as a policy, or as a child of a side request).
    static func make(_ reader: PolicyElementReader) -> AuthenticationManagedIdentityPolicy? {
        guard let resource = reader.string("resource"), let ignoreError = reader.boolean("ignore-error"), reader.isValid else { return nil }
        return AuthenticationManagedIdentityPolicy(
            resource: resource, clientID: reader.literal("client-id"), outputTokenVariableName: reader.literal("output-token-variable-name"),
            ignoreError: ignoreError)
    }
}

/// Where `authentication-managed-identity` gets tokens: an IMDS-compatible endpoint and the cache
/// its tokens live in (share the cache across reloads).
public struct ManagedIdentitySettings: Sendable {
    public var endpoint: URL
    public var tokens: ManagedIdentityTokenCache

    public init(endpoint: URL, tokens: ManagedIdentityTokenCache = ManagedIdentityTokenCache()) {
        self.endpoint = endpoint
        self.tokens = tokens
    }
}

/// Managed-identity tokens by endpoint, resource and client id, each kept until shortly before it
/// expires: five minutes before, or a tenth of its lifetime when that is shorter. Bounded in entries
/// (the oldest expiry goes first); a token without a usable lifetime is not cached.
public final class ManagedIdentityTokenCache: Sendable {
    struct Entry: Sendable {
        let token: String
        let refreshAt: Date
    }

    static let maximumEntries = 1024
    static let refreshMargin: TimeInterval = 300
    private let entries = Mutex<[String: Entry]>([:])

    public init() {}

    static func key(endpoint: URL, resource: String, clientID: String?) -> String {
        endpoint.absoluteString + "\u{0}" + resource + "\u{0}" + (clientID ?? "")
    }

    func token(for key: String, now: Date) -> String? {
        entries.withLock { entries in
            guard let entry = entries[key] else { return nil }
            guard now < entry.refreshAt else {
                entries[key] = nil
                return nil
            }
            return entry.token
        }
    }

    func store(_ token: String, lifetime: TimeInterval, for key: String, now: Date) {
        guard lifetime.isFinite, lifetime > 0 else { return }
        let refreshAt = now.addingTimeInterval(lifetime - min(Self.refreshMargin, lifetime / 10))
        entries.withLock { entries in
            if entries.count >= Self.maximumEntries, entries[key] == nil,
               let oldest = entries.min(by: { $0.value.refreshAt < $1.value.refreshAt })?.key {
                entries[oldest] = nil
            }
            entries[key] = Entry(token: token, refreshAt: refreshAt)
        }
    }
}

// MARK: Run

extension AuthenticationManagedIdentityPolicy {
    struct Step: WaitingPolicyStep {
        let resource: RuntimeParameter<String>
        let clientID: String?
        let output: String?
        let ignoreError: RuntimeParameter<Bool>

        static let apiVersion = "2018-02-01"
        static let maximumResponseBytes = 64 << 10
        static let timeout: Duration = .seconds(20)

        func run(_ execution: PolicyExecution, _ step: CompiledStep) async throws -> Flow {
            guard let token = try await token(execution, step) else { return .proceed }
            if let output {
                execution.state.variables.set(.string(output), .string(token))
            } else {
                var headers = execution.state.requestHeaders
                HeaderList.set(&headers, "Authorization", "Bearer " + token)
                execution.state.requestHeaders = headers
            }
            return .proceed
        }

        /// For a side request: sets its `Authorization` (or the output variable); false when the
        /// token could not be had and `ignore-error` let the request go on without it.
        func authenticate(_ headers: inout [PolicyHeader], _ execution: PolicyExecution, _ step: CompiledStep) async throws {
            guard let token = try await token(execution, step) else { return }
            if let output {
                execution.state.variables.set(.string(output), .string(token))
            } else {
                HeaderList.set(&headers, "Authorization", "Bearer " + token)
            }
        }

        /// The token (cached or fetched); nil when fetching failed and `ignore-error` holds.
        func token(_ execution: PolicyExecution, _ step: CompiledStep) async throws -> String? {
            let resourceName = try execution.string(resource, step).trimmingCharacters(in: .whitespaces)
            let ignore = try execution.bool(ignoreError, step)
            guard !resourceName.isEmpty else { throw PolicyFailure.expression(step.name, "the 'resource' is empty.") }
            do {
                return try await fetch(resourceName, execution)
            } catch {
                let failure = error
                guard ignore else {
                    throw PolicyFailure.generic(step.name, reason: failure.reason, "Could not obtain a managed identity token for '\(resourceName)': \(failure.message)")
                }
                execution.state.record(.info, "authentication-managed-identity: no token (ignored): \(failure.message)")
                return nil
            }
        }

        struct Failure: Error {
            let reason: String
            let message: String
        }

        func fetch(_ resourceName: String, _ execution: PolicyExecution) async throws(Failure) -> String {
            guard let settings = execution.options.managedIdentity else {
                throw Failure(
                    reason: "ManagedIdentityNotConfigured",
                    message: "no managed identity endpoint is configured (policies.managedIdentityEndpoint in gateway.yaml).")
            }
            let verification = execution.options.verification
            let now = verification.options.validationTime ?? verification.clock()
            let key = ManagedIdentityTokenCache.key(endpoint: settings.endpoint, resource: resourceName, clientID: clientID)
            if let cached = settings.tokens.token(for: key, now: now) { return cached }
            let url = Self.tokenURL(settings.endpoint, resource: resourceName, clientID: clientID)
            let request = BackendRequest(
                method: "GET", urlText: url, headers: [PolicyHeader("Metadata", "true"), PolicyHeader("Accept", "application/json")],
                body: .bytes([]), timeout: Self.timeout)
            let bytes: [UInt8]
            let status: Int
            do {
                let response = try await PolicyExecution.send(request, to: execution.backend)
                status = response.status
                bytes = try await response.body?.collect(upTo: Self.maximumResponseBytes) ?? []
            } catch {
                throw Failure(reason: "ManagedIdentityUnavailable", message: "the token endpoint \(settings.endpoint.absoluteString) did not answer: \(error)")
            }
            guard status == 200 else {
                throw Failure(reason: "ManagedIdentityTokenRefused", message: "the token endpoint answered with status \(status).")
            }
            guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
                  let token = object["access_token"] as? String, !token.isEmpty,
                  token.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F })
            else {
                throw Failure(reason: "ManagedIdentityTokenRefused", message: "the token endpoint's answer holds no 'access_token'.")
            }
            // `expires_in` (seconds from now) as IMDS sends it (a string) or a number; else `expires_on`.
            func number(_ name: String) -> Double? {
                if let text = object[name] as? String { return Double(text) }
                return (object[name] as? NSNumber)?.doubleValue
            }
            if let lifetime = number("expires_in") {
                settings.tokens.store(token, lifetime: lifetime, for: key, now: now)
            } else if let expiry = number("expires_on") {
                settings.tokens.store(token, lifetime: expiry - now.timeIntervalSince1970, for: key, now: now)
            }
            execution.state.record(.info, "authentication-managed-identity: token for '\(resourceName)' obtained")
            return token
        }

        /// `{endpoint}?api-version=2018-02-01&resource=…[&client_id=…]` (added to a query the endpoint has).
        static func tokenURL(_ endpoint: URL, resource: String, clientID: String?) -> String {
            // RFC 3986 unreserved characters as they are, every other UTF-8 byte percent-encoded.
            func encoded(_ text: String) -> String {
                var out = ""
                for byte in text.utf8 {
                    let c = Unicode.Scalar(byte)
                    if ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || "-._~".unicodeScalars.contains(c) {
                        out.unicodeScalars.append(c)
                    } else {
                        out += "%" + String(byte, radix: 16, uppercase: true).leftPadded()
                    }
                }
                return out
            }
            var url = endpoint.absoluteString
            url += url.contains("?") ? "&" : "?"
            url += "api-version=\(apiVersion)&resource=\(encoded(resource))"
            if let clientID { url += "&client_id=\(encoded(clientID))" }
            return url
        }
    }

    func compile(_ compiler: inout StepCompiler) -> Step? {
        guard let resource = compiler.parameter(resource), let ignore = compiler.parameter(ignoreError) else { return nil }
        return Step(resource: resource, clientID: clientID, output: outputTokenVariableName, ignoreError: ignore)
    }
}

private extension String {
    /// Two hex digits.
    func leftPadded() -> String { count == 1 ? "0" + self : self }
}
