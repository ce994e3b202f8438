import Policies

/// One API: where it is reachable (host names, path prefix), where it forwards to, and its operations.
public struct APIConfig: Sendable, Equatable {
    public var name: String
    /// Host names this API answers on (exact or wildcard patterns as in `HostnameConfig`); empty = all.
    public var hostnames: [String]
    /// Path prefix such as `/echo`; `/` or empty serves from the root.
    public var pathPrefix: String
    /// Base URL of the backend service, e.g. `http://127.0.0.1:9000/v1`.
    public var backendURL: String
    /// Operations; empty means every method and path under the prefix.
    public var operations: [OperationConfig]
    /// Refuse (403) requests whose client certificate is missing or does not chain to the hostname's
    /// trusted CAs. A built-in gate for deployments without policies; policies can do the same and more.
    public var requireTrustedClientCertificate: Bool
    /// APIM policy document for the API scope (`<policies>` XML), if any.
    public var policyFile: String?
    /// Hand the (verified) client certificate to the backend in a standard header; `none` by default.
    public var forwardClientCertificate: ClientCertificateForwardingMode = .none
    /// Refuse (401, APIM's bodies) requests without a valid key of an active subscription that covers
    /// this API (unless an open product groups it). Off by default (APIM's default is on).
    public var subscriptionRequired: Bool = false
    /// The header and query parameter the key is read from (and removed before the backend).
    public var subscriptionKeyNames = SubscriptionKeyNames()
    /// Leave the key in the request (policies see its header or query parameter, and the backend
    /// receives it), as APIM does by default. Off: the key is removed once checked (policies use
    /// `context.Subscription`), so a backend never learns it.
    public var forwardSubscriptionKey: Bool = false
    /// `openapi:` the API's OpenAPI description (3.0/3.1 or Swagger 2.0; YAML or JSON) as a file, and
    /// compiled at load for the validation policies (`validate-parameters`, `-headers`, `-status-code`, `-content`).
    public var openAPIFile: String?
    public var openAPI: APIDescription?
    /// A GraphQL API (`graphql:`): its schema and, for a synthetic API, its resolvers.
    public var graphQL: GraphQLConfig? = nil

    public init(
        name: String,
        hostnames: [String] = [],
        pathPrefix: String,
        backendURL: String,
        operations: [OperationConfig] = [],
        requireTrustedClientCertificate: Bool = false,
        policyFile: String? = nil
    ) {
        self.name = name
        self.hostnames = hostnames
        self.pathPrefix = pathPrefix
        self.backendURL = backendURL
        self.operations = operations
        self.requireTrustedClientCertificate = requireTrustedClientCertificate
        self.policyFile = policyFile
    }
}

/// An operation: an HTTP method (or `*`) and a URL template relative to the API's prefix, such as
/// `/users/{id}` or `/files/*`.
public struct OperationConfig: Sendable, Equatable {
    public var name: String
    public var method: String
    public var urlTemplate: String
    /// APIM policy document for the operation scope, if any.
    public var policyFile: String?

    public init(name: String? = nil, method: String, urlTemplate: String, policyFile: String? = nil) {
        self.name = name ?? "\(method) \(urlTemplate)"
        self.method = method
        self.urlTemplate = urlTemplate
        self.policyFile = policyFile
    }
}

/// `graphql:` of an API: the schema (an SDL file) and the resolvers of a synthetic API. Without resolvers the
/// API passes GraphQL requests through to its backend (a GraphQL server), which `validate-graphql-request`
/// checks against the schema; with resolvers the gateway executes the requests itself.
public struct GraphQLConfig: Sendable, Equatable {
    /// The backend URL of a synthetic API given none (never called: its forward-request executes the query).
    public static let syntheticBackend = "http://graphql.synthetic.invalid"
    public var schemaFile: String
    public var resolvers: [GraphQLResolverConfig]

    public init(schemaFile: String, resolvers: [GraphQLResolverConfig] = []) {
        self.schemaFile = schemaFile
        self.resolvers = resolvers
    }
}

/// One resolver: the field `type`.`field` of the schema is resolved by the resolver document `policyFile`
/// (root `<http-data-source>`).
public struct GraphQLResolverConfig: Sendable, Equatable {
    public var type: String
    public var field: String
    public var policyFile: String

    public init(type: String, field: String, policyFile: String) {
        self.type = type
        self.field = field
        self.policyFile = policyFile
    }
}
