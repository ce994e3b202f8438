import Crypto
import Foundation
import GatewayConfiguration
import HTTPTypes
import Policies

extension GatewayError {
    /// APIM's answers for a request without a key, or with a key no active subscription of this API has.
    public static let subscriptionKeyMissing = GatewayError(
        status: .unauthorized,
        message: "Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API.")
    public static let subscriptionKeyInvalid = GatewayError(
        status: .unauthorized,
        message: "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription.")
}

/// Who a request was admitted as: its subscription (if any) and the product it runs under (if any).
struct SubscriptionAccess: Sendable {
    var subscription: PolicySubscription?
    var product: PolicyProduct?
    static let none = SubscriptionAccess(subscription: nil, product: nil)
}

/// What the subscription step decides for one request.
enum Admission: Sendable {
    case admitted(SubscriptionAccess)
    case refused(GatewayError)
}

/// Products and subscriptions, indexed once per configuration snapshot: the request path hashes the
/// key it was given (SHA-256), looks the digest up in a dictionary, and compares the key itself in
/// constant time. Nothing is parsed per request but the one header or query parameter.
struct SubscriptionTable: Sendable {
    struct Entry: Sendable {
        let config: SubscriptionConfig
        let primaryKey: [UInt8]
        let secondaryKey: [UInt8]
        /// The product of a product-scoped subscription.
        let product: PolicyProduct?
    }

    private let entries: [Entry]
    /// SHA-256 of a key → index in `entries`.
    private let byDigest: [Data: Int]
    /// API name → the ids of the products that group it.
    private let productsOfAPI: [String: Set<String>]
    /// API name → the open product (subscription not required) calls without a key run under.
    private let openProductOfAPI: [String: PolicyProduct]
    /// Whether any subscription or product is configured (when not, APIs that do not require a
    /// subscription skip this step entirely).
    let isEmpty: Bool
    /// The query parameter names keys may come in: their values are redacted in the access log.
    private let keyQueryNames: Set<String>

    init(config: GatewayConfig) {
        var products: [String: PolicyProduct] = [:]
        var productsOfAPI: [String: Set<String>] = [:]
        var open: [String: PolicyProduct] = [:]
        for product in config.products.sorted(by: { $0.id < $1.id }) {
            let value = PolicyProduct(id: product.id, name: product.name, subscriptionRequired: product.subscriptionRequired)
            products[product.id] = value
            for api in product.apis {
                productsOfAPI[api, default: []].insert(product.id)
                if !product.subscriptionRequired, open[api] == nil { open[api] = value }
            }
        }
        var entries: [Entry] = []
        var byDigest: [Data: Int] = [:]
        for subscription in config.subscriptions {
            var product: PolicyProduct?
            if case .product(let id) = subscription.scope { product = products[id] }
            let index = entries.count
            entries.append(Entry(config: subscription, primaryKey: Array(subscription.primaryKey.utf8),
                                 secondaryKey: Array(subscription.secondaryKey.utf8), product: product))
            // (The loader refuses duplicate keys; should two ever meet here, the first one stays.)
            for key in [subscription.primaryKey, subscription.secondaryKey] where byDigest[Self.digest(Array(key.utf8))] == nil {
                byDigest[Self.digest(Array(key.utf8))] = index
            }
        }
        self.entries = entries
        self.byDigest = byDigest
        self.productsOfAPI = productsOfAPI
        self.openProductOfAPI = open
        let isEmpty = config.subscriptions.isEmpty && config.products.isEmpty
        self.isEmpty = isEmpty
        self.keyQueryNames = Set(config.apis.filter { $0.subscriptionRequired || !isEmpty }.map(\.subscriptionKeyNames.query))
    }

    /// `path` for the access log: the value of a subscription-key query parameter replaced by
    /// `REDACTED` (keys are never logged). Unchanged (no copy) without a query or without keys.
    func redacted(_ path: String) -> String {
        guard !keyQueryNames.isEmpty, let question = path.utf8.firstIndex(of: UInt8(ascii: "?")) else { return path }
        let query = path[path.index(after: question)...]
        var changed = false
        let pairs = query.split(separator: "&", omittingEmptySubsequences: false).map { pair -> String in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = PercentDecoding.decode(parts[0].replacingOccurrences(of: "+", with: " ")) ?? String(parts[0])
            guard keyQueryNames.contains(name), parts.count > 1 else { return String(pair) }
            changed = true
            return parts[0] + "=REDACTED"
        }
        return changed ? String(path[..<question]) + "?" + pairs.joined(separator: "&") : path
    }

    static func digest(_ key: [UInt8]) -> Data { Data(SHA256.hash(data: key)) }

    /// Equal length and bytes, without an early exit on the first difference.
    static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }

    /// The subscription check of one routed request: reads the key from the API's header or query
    /// parameter, removes both from `head` (unless the API forwards it, as APIM does by default), and decides.
    func admit(_ head: inout HTTPRequest, api: APIConfig, now: Date = Date()) -> Admission {
        guard api.subscriptionRequired || !isEmpty else { return .admitted(.none) }
        let key = Self.takeKey(&head, names: api.subscriptionKeyNames, remove: !api.forwardSubscriptionKey)
        guard let key else {
            if let open = openProductOfAPI[api.name] { return .admitted(SubscriptionAccess(subscription: nil, product: open)) }
            return api.subscriptionRequired ? .refused(.subscriptionKeyMissing) : .admitted(.none)
        }
        // A key that was sent must be valid, even for an API that does not require one.
        let bytes = Array(key.utf8)
        guard let index = byDigest[Self.digest(bytes)] else { return .refused(.subscriptionKeyInvalid) }
        let entry = entries[index]
        let primary = Self.constantTimeEquals(bytes, entry.primaryKey)
        let secondary = Self.constantTimeEquals(bytes, entry.secondaryKey)
        guard primary || secondary, Self.isActive(entry.config, now: now), covers(entry.config.scope, api: api.name) else {
            return .refused(.subscriptionKeyInvalid)
        }
        let config = entry.config
        return .admitted(SubscriptionAccess(
            subscription: PolicySubscription(id: config.id, name: config.name, key: key, primaryKey: config.primaryKey,
                                             secondaryKey: config.secondaryKey, startDate: config.startDate, endDate: config.endDate,
                                             createdDate: config.createdDate),
            product: entry.product))
    }

    static func isActive(_ subscription: SubscriptionConfig, now: Date) -> Bool {
        guard subscription.state == .active else { return false }
        if let start = subscription.startDate, now < start { return false }
        if let end = subscription.endDate, now >= end { return false }
        return true
    }

    func covers(_ scope: SubscriptionScope, api: String) -> Bool {
        switch scope {
        case .allAPIs: true
        case .api(let name): name == api
        case .product(let id): productsOfAPI[api]?.contains(id) ?? false
        }
    }

    /// The key from the header (first) or the query parameter; with `remove`, both are removed from `head`.
    static func takeKey(_ head: inout HTTPRequest, names: SubscriptionKeyNames, remove: Bool = true) -> String? {
        var key: String?
        if let name = HTTPField.Name(names.header) {
            key = head.headerFields[name]
            if key != nil, remove { head.headerFields[name] = nil }
        }
        guard let path = head.path, let question = path.utf8.firstIndex(of: UInt8(ascii: "?")) else { return key }
        let query = path[path.index(after: question)...]
        var kept: [Substring] = []
        var found = false
        for pair in query.split(separator: "&", omittingEmptySubsequences: false) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = PercentDecoding.decode(parts[0].replacingOccurrences(of: "+", with: " ")) ?? String(parts[0])
            if name == names.query {
                if key == nil, parts.count > 1 {
                    key = PercentDecoding.decode(parts[1].replacingOccurrences(of: "+", with: " ")) ?? String(parts[1])
                }
                found = true
            } else {
                kept.append(pair)
            }
        }
        if found, remove {
            let base = String(path[..<question])
            head.path = kept.isEmpty ? base : base + "?" + kept.joined(separator: "&")
        }
        return key.flatMap { $0.isEmpty ? nil : $0 }
    }
}

extension RequestHandler {
    /// The subscription step of the request path, after routing and the certificate gate and before
    /// the policies: the key is checked and removed from `head`; the answer says which subscription
    /// and product the request runs under, or the 401 to send.
    func admit(_ head: inout HTTPRequest, route: RouteMatch) -> Admission {
        snapshot.subscriptions.admit(&head, api: route.api.config)
    }
}
