/// The kinds of resource the store holds. Each is a JSON document; `GatewayAdmin` maps them to and
/// from `GatewayConfig`. The raw values are the admin API's collection names.
public enum ResourceKind: String, Sendable, Hashable, CaseIterable, Codable {
    case hostnames
    case apis
    /// Policy documents by scope: `global`, `product:<product>`, `api:<api>`, `operation:<api>:<operation>`.
    case policies
    case fragments
    case namedValues = "named-values"
    /// Certificates (`context.Deployment.Certificates`, server certificates with their keys).
    case certificates
    /// CA certificates (APIM's Root / CertificateAuthority stores).
    case caCertificates = "ca-certificates"
    case crls
    /// Top-level gateway settings (one document, id `gateway`).
    case settings
    /// APIM products: APIs grouped for subscriptions (product policies are `policies/product:<id>`).
    case products
    /// APIM subscriptions: keys (never shown but through `listSecrets`), scope, state, validity.
    case subscriptions
    /// Backend entities (`set-backend-service backend-id`): a base URL each.
    case backends
    /// Loggers (`log-to-eventhub logger-id`): an event hub (with its key, never shown), a file or stdout.
    case loggers
}
