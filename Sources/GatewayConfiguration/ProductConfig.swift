import Foundation

/// An APIM product: a group of APIs that subscriptions give access to, with an optional
/// product-scope policy document (run between the global and the API scope for requests made with
/// a subscription to this product).
public struct ProductConfig: Sendable, Equatable {
    /// The product id (`context.Product.Id`).
    public var id: String
    /// The display name (`context.Product.Name`); the id when not given.
    public var name: String
    /// Names of the APIs this product groups.
    public var apis: [String]
    /// false: an "open" product — its APIs may be called without a subscription key, and such calls
    /// run with this product's policies (APIM's open products).
    public var subscriptionRequired: Bool
    /// APIM policy document for the product scope, if any.
    public var policyFile: String?

    public init(id: String, name: String? = nil, apis: [String], subscriptionRequired: Bool = true, policyFile: String? = nil) {
        self.id = id
        self.name = name ?? id
        self.apis = apis
        self.subscriptionRequired = subscriptionRequired
        self.policyFile = policyFile
    }
}

/// APIM's subscription states; only `active` subscriptions open the gateway.
public enum SubscriptionState: String, Sendable, Equatable, CaseIterable {
    case active, suspended, expired, submitted, rejected, cancelled
}

/// What a subscription gives access to: one product, one API, or every API.
public enum SubscriptionScope: Sendable, Equatable, CustomStringConvertible {
    case product(String)
    case api(String)
    case allAPIs

    /// `product:<id>`, `api:<name>` or `all` (as the YAML file and the admin API write it).
    public init?(_ text: String) {
        if text == "all" || text == "/apis" { self = .allAPIs; return }
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[1].isEmpty else { return nil }
        switch parts[0] {
        case "product": self = .product(parts[1])
        case "api": self = .api(parts[1])
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .product(let id): "product:\(id)"
        case .api(let name): "api:\(name)"
        case .allAPIs: "all"
        }
    }
}

/// An APIM subscription: two keys (either one is accepted), a scope, a state and an optional
/// validity window. Keys are secrets: never logged, never shown in errors.
public struct SubscriptionConfig: Sendable, Equatable {
    public var id: String
    /// The display name (`context.Subscription.Name`); the id when not given.
    public var name: String
    public var scope: SubscriptionScope
    public var primaryKey: String
    public var secondaryKey: String
    public var state: SubscriptionState
    public var startDate: Date?
    public var endDate: Date?
    public var createdDate: Date?

    public init(id: String, name: String? = nil, scope: SubscriptionScope, primaryKey: String, secondaryKey: String,
                state: SubscriptionState = .active, startDate: Date? = nil, endDate: Date? = nil, createdDate: Date? = nil) {
        self.id = id
        self.name = name ?? id
        self.scope = scope
        self.primaryKey = primaryKey
        self.secondaryKey = secondaryKey
        self.state = state
        self.startDate = startDate
        self.endDate = endDate
        self.createdDate = createdDate
    }

    /// Keys are 8 to 256 printable ASCII characters (no spaces): what fits in a header and a query
    /// parameter unchanged.
    public static func isValidKey(_ key: String) -> Bool {
        (8...256).contains(key.utf8.count) && key.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }
}

/// Where an API takes its subscription key from (APIM's `subscriptionKeyParameterNames`).
public struct SubscriptionKeyNames: Sendable, Equatable {
    public static let defaultHeader = "Ocp-Apim-Subscription-Key"
    public static let defaultQuery = "subscription-key"
    public var header: String
    public var query: String

    public init(header: String = SubscriptionKeyNames.defaultHeader, query: String = SubscriptionKeyNames.defaultQuery) {
        self.header = header
        self.query = query
    }
}
