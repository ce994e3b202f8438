import Foundation
import Policies
import Yams

/// `policies.credentialProviders:` of the YAML configuration: Drawbridge's credential manager
/// (APIM's credential providers and connections) for `get-authorization-context`.
///
///     credentialProviders:
///       github-01:
///         tokenUrl: https://github.com/login/oauth/access_token   # the OAuth 2.0 token endpoint
///         clientId: "{{github-client-id}}"
///         clientSecret: "{{github-client-secret}}"
///         clientAuthentication: basic        # basic (default) | body
///         scopes: [repo]                     # optional; parameters: { audience: … } adds form fields
///         connections:
///           auth-01: { grant: client-credentials }
///           auth-02: { grant: refresh-token, refreshToken: "{{github-refresh}}" }
///           auth-03: { token: "{{static-token}}" }
///           # each may have scopes: […] and accessPolicy: { gateway: true, identities: [{ tenantId, objectId }] }
///
/// Secrets (client secret, refresh and static tokens) are literal or `{{named value}}` and never part of
/// an error message.
extension GatewayConfigLoader {
    static func parseCredentialProviders(_ node: Node, reader: YAMLReader, namedValues: [String: String]) throws -> [String: CredentialProvider] {
        var providers: [String: CredentialProvider] = [:]
        for (id, entry) in try reader.mappingOfAnyKeys(node, "policies.credentialProviders") {
            let what = "credential provider '\(id)'"
            guard !id.isEmpty, id.utf8.count <= 256 else { throw reader.error(entry, "a credential provider id must be 1 to 256 bytes") }
            let map = try reader.mapping(
                entry, what, allowedKeys: ["tokenUrl", "clientId", "clientSecret", "clientAuthentication", "scopes", "parameters", "connections"])
            /// A secret: literal, or a `{{named value}}`.
            func secret(_ valueNode: Node, _ field: String) throws -> String {
                let text = try reader.nonEmptyString(valueNode, "\(field)")
                guard text.hasPrefix("{{"), text.hasSuffix("}}"), text.count > 4 else { return text }
                let name = String(text.dropFirst(2).dropLast(2)).trimmingCharacters(in: .whitespaces)
                guard let value = namedValues[name] else {
                    throw reader.error(valueNode, "\(field): named value '\(name)' is not defined under policies.namedValues")
                }
                guard !value.isEmpty else { throw reader.error(valueNode, "\(field): named value '\(name)' is empty") }
                return value
            }
            var tokenURL: URL? = nil
            if let n = map["tokenUrl"] {
                let text = try reader.nonEmptyString(n, "\(what): tokenUrl")
                guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme), url.host != nil else {
                    throw reader.error(n, "\(what): tokenUrl must be an absolute http:// or https:// URL, got '\(text.prefix(120))'")
                }
                // RFC 6749 §3.2: the token endpoint MUST be reached over TLS (the client secret and tokens cross it);
                // plain http only to this machine (a local token service, a test).
                if scheme == "http" {
                    let host = (url.host ?? "").lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
                    guard host == "localhost" || host == "::1" || host.hasPrefix("127.") else {
                        throw reader.error(n, "\(what): tokenUrl must be https:// (RFC 6749 §3.2; plain http only to localhost), got '\(text.prefix(120))'")
                    }
                }
                tokenURL = url
            }
            let clientID = try map["clientId"].map { try secret($0, "\(what): clientId") } ?? ""
            let clientSecret = try map["clientSecret"].map { try secret($0, "\(what): clientSecret") } ?? ""
            guard let connectionsNode = map["connections"] else { throw reader.error(entry, "\(what) needs 'connections'") }
            var connections: [String: CredentialConnection] = [:]
            for (name, connectionNode) in try reader.mappingOfAnyKeys(connectionsNode, "\(what): connections") {
                let where_ = "\(what): connection '\(name)'"
                guard !name.isEmpty, name.utf8.count <= 256 else { throw reader.error(connectionNode, "\(what): a connection name must be 1 to 256 bytes") }
                let fields = try reader.mapping(connectionNode, where_, allowedKeys: ["grant", "refreshToken", "token", "scopes", "accessPolicy"])
                var connection: CredentialConnection
                if let tokenNode = fields["token"] {
                    for other in ["grant", "refreshToken", "scopes"] where fields[other] != nil {
                        throw reader.error(fields[other], "\(where_): a static 'token' takes no '\(other)'")
                    }
                    connection = CredentialConnection(grant: .staticToken(try secret(tokenNode, "\(where_): token")))
                } else {
                    guard let grantNode = fields["grant"] else {
                        throw reader.error(connectionNode, "\(where_) needs 'grant' (client-credentials or refresh-token) or a static 'token'")
                    }
                    switch try reader.string(grantNode, "\(where_): grant") {
                    case "client-credentials":
                        if fields["refreshToken"] != nil { throw reader.error(fields["refreshToken"], "\(where_): refreshToken belongs to grant: refresh-token") }
                        connection = CredentialConnection(grant: .clientCredentials)
                    case "refresh-token":
                        guard let refreshNode = fields["refreshToken"] else { throw reader.error(connectionNode, "\(where_): grant refresh-token needs 'refreshToken'") }
                        connection = CredentialConnection(grant: .refreshToken(try secret(refreshNode, "\(where_): refreshToken")))
                    case let other:
                        throw reader.error(grantNode, "\(where_): grant must be client-credentials or refresh-token, got '\(other.prefix(40))'")
                    }
                    guard tokenURL != nil else { throw reader.error(entry, "\(what) needs 'tokenUrl' for its connection '\(name)' (grant)") }
                    guard !clientID.isEmpty, !clientSecret.isEmpty else {
                        throw reader.error(entry, "\(what) needs 'clientId' and 'clientSecret' for its connection '\(name)' (grant)")
                    }
                    if let n = fields["scopes"] { connection.scopes = try reader.stringList(n, "\(where_): scopes") }
                }
                if let policyNode = fields["accessPolicy"] {
                    let policy = try reader.mapping(policyNode, "\(where_): accessPolicy", allowedKeys: ["gateway", "identities"])
                    if let n = policy["gateway"] { connection.allowsGateway = try reader.bool(n, "\(where_): accessPolicy.gateway") }
                    if let n = policy["identities"] {
                        guard let items = n.sequence else { throw reader.error(n, "\(where_): accessPolicy.identities must be a list") }
                        for item in items {
                            let identity = try reader.mapping(item, "\(where_): accessPolicy identity", allowedKeys: ["tenantId", "objectId"])
                            guard let tenant = identity["tenantId"], let object = identity["objectId"] else {
                                throw reader.error(item, "\(where_): an accessPolicy identity needs 'tenantId' and 'objectId'")
                            }
                            let tenantText = try reader.nonEmptyString(tenant, "tenantId")
                            let objectText = try reader.nonEmptyString(object, "objectId")
                            guard UUID(uuidString: tenantText) != nil, UUID(uuidString: objectText) != nil else {
                                throw reader.error(item, "\(where_): an accessPolicy identity's tenantId and objectId are GUIDs")
                            }
                            connection.identities.append(CredentialConnection.Identity(tenantID: tenantText, objectID: objectText))
                        }
                    }
                }
                connections[name] = connection
            }
            guard !connections.isEmpty else { throw reader.error(connectionsNode, "\(what) needs at least one connection") }
            var provider = CredentialProvider(tokenURL: tokenURL, clientID: clientID, clientSecret: clientSecret, connections: connections)
            if let n = map["clientAuthentication"] {
                let text = try reader.string(n, "\(what): clientAuthentication")
                guard let method = CredentialProvider.ClientAuthentication(rawValue: text) else {
                    throw reader.error(n, "\(what): clientAuthentication must be basic or body, got '\(text.prefix(40))'")
                }
                provider.clientAuthentication = method
            }
            if let n = map["scopes"] { provider.scopes = try reader.stringList(n, "\(what): scopes") }
            if let n = map["parameters"] {
                for (name, valueNode) in try reader.mappingOfAnyKeys(n, "\(what): parameters") {
                    guard !["grant_type", "client_id", "client_secret", "refresh_token", "scope"].contains(name) else {
                        throw reader.error(valueNode, "\(what): parameters cannot set '\(name)' (the grant sets it)")
                    }
                    provider.parameters[name] = try reader.string(valueNode, "\(what): parameters.\(name)")
                }
            }
            providers[id] = provider
        }
        return providers
    }
}
