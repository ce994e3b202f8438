import Foundation
import Yams

/// `products:` and `subscriptions:` of the YAML configuration (APIM's products and subscriptions).
extension GatewayConfigLoader {
    static func parseProducts(_ node: Node, reader: YAMLReader, resolve: (String) -> String, apiNames: Set<String>) throws -> [ProductConfig] {
        var products: [ProductConfig] = []
        for entry in try reader.sequence(node, "products") {
            let map = try reader.mapping(entry, "product", allowedKeys: ["id", "name", "apis", "subscriptionRequired", "policy"])
            guard let idNode = map["id"] else { throw reader.error(entry, "product needs 'id'") }
            let id = try reader.nonEmptyString(idNode, "product id")
            guard !products.contains(where: { $0.id == id }) else { throw reader.error(idNode, "product id '\(id)' is used twice") }
            let apis = try map["apis"].map { try reader.stringList($0, "product '\(id)': apis") } ?? []
            for api in apis where !apiNames.contains(api) {
                throw reader.error(map["apis"], "product '\(id)': API '\(api)' is not configured under 'apis'")
            }
            let name = try map["name"].map { try reader.nonEmptyString($0, "product '\(id)': name") }
            let required = try map["subscriptionRequired"].map { try reader.bool($0, "product '\(id)': subscriptionRequired") } ?? true
            let policy = try map["policy"].map { resolve(try reader.nonEmptyString($0, "product '\(id)': policy")) }
            products.append(ProductConfig(id: id, name: name, apis: apis, subscriptionRequired: required, policyFile: policy))
        }
        return products
    }

    static func parseSubscriptions(_ node: Node, reader: YAMLReader, apiNames: Set<String>, productIDs: Set<String>,
                                   namedValues: [String: String]) throws -> [SubscriptionConfig] {
        var subscriptions: [SubscriptionConfig] = []
        var keys = Set<String>()
        for entry in try reader.sequence(node, "subscriptions") {
            let map = try reader.mapping(entry, "subscription", allowedKeys: [
                "id", "name", "scope", "primaryKey", "secondaryKey", "state", "startDate", "endDate",
            ])
            guard let idNode = map["id"] else { throw reader.error(entry, "subscription needs 'id'") }
            let id = try reader.nonEmptyString(idNode, "subscription id")
            guard !subscriptions.contains(where: { $0.id == id }) else { throw reader.error(idNode, "subscription id '\(id)' is used twice") }
            guard let scopeNode = map["scope"] else {
                throw reader.error(entry, "subscription '\(id)' needs 'scope' (product:<id>, api:<name> or all)")
            }
            let scopeText = try reader.nonEmptyString(scopeNode, "subscription '\(id)': scope")
            guard let scope = SubscriptionScope(scopeText) else {
                throw reader.error(scopeNode, "subscription '\(id)': scope must be product:<id>, api:<name> or all, got '\(scopeText)'")
            }
            switch scope {
            case .product(let product) where !productIDs.contains(product):
                throw reader.error(scopeNode, "subscription '\(id)': product '\(product)' is not configured under 'products'")
            case .api(let api) where !apiNames.contains(api):
                throw reader.error(scopeNode, "subscription '\(id)': API '\(api)' is not configured under 'apis'")
            default: break
            }
            func key(_ field: String) throws -> String {
                guard let keyNode = map[field] else { throw reader.error(entry, "subscription '\(id)' needs '\(field)'") }
                var key = try reader.nonEmptyString(keyNode, "subscription '\(id)': \(field)")
                // {{name}}: the key is a named value (kept out of the file, e.g. a secret one).
                if key.hasPrefix("{{"), key.hasSuffix("}}"), key.count > 4 {
                    let name = String(key.dropFirst(2).dropLast(2)).trimmingCharacters(in: .whitespaces)
                    guard let value = namedValues[name] else {
                        throw reader.error(keyNode, "subscription '\(id)': \(field): named value '\(name)' is not defined under policies.namedValues")
                    }
                    key = value
                }
                // (The key itself is never part of a message.)
                guard SubscriptionConfig.isValidKey(key) else {
                    throw reader.error(keyNode, "subscription '\(id)': \(field) must be 8 to 256 printable ASCII characters without spaces")
                }
                guard keys.insert(key).inserted else {
                    throw reader.error(keyNode, "subscription '\(id)': \(field) is the key of another subscription (keys must be unique)")
                }
                return key
            }
            let primary = try key("primaryKey")
            let secondary = try key("secondaryKey")
            var state = SubscriptionState.active
            if let stateNode = map["state"] {
                let text = try reader.nonEmptyString(stateNode, "subscription '\(id)': state")
                guard let parsed = SubscriptionState(rawValue: text) else {
                    throw reader.error(stateNode, "subscription '\(id)': state must be one of \(SubscriptionState.allCases.map(\.rawValue).joined(separator: ", ")), got '\(text)'")
                }
                state = parsed
            }
            func date(_ field: String) throws -> Date? {
                guard let dateNode = map[field] else { return nil }
                let text = try reader.nonEmptyString(dateNode, "subscription '\(id)': \(field)")
                guard let date = parseDate(text) else {
                    throw reader.error(dateNode, "subscription '\(id)': \(field) must be an ISO 8601 date such as 2026-01-01 or 2026-01-01T00:00:00Z, got '\(text)'")
                }
                return date
            }
            let start = try date("startDate"), end = try date("endDate")
            if let start, let end, end <= start {
                throw reader.error(map["endDate"], "subscription '\(id)': endDate is not after startDate")
            }
            let name = try map["name"].map { try reader.nonEmptyString($0, "subscription '\(id)': name") }
            subscriptions.append(SubscriptionConfig(id: id, name: name, scope: scope, primaryKey: primary, secondaryKey: secondary,
                                                    state: state, startDate: start, endDate: end))
        }
        return subscriptions
    }

    /// `2026-01-01T00:00:00Z` (a zone or UTC) or `2026-01-01` (midnight UTC).
    public static func parseDate(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        if text.utf8.count == 10 {
            formatter.formatOptions = [.withFullDate]
            formatter.timeZone = TimeZone(identifier: "UTC")
            return formatter.date(from: text)
        }
        if !text.hasSuffix("Z"), !text.dropFirst(10).contains("+"), !text.dropFirst(10).contains("-") {
            formatter.formatOptions = [.withInternetDateTime]
            return formatter.date(from: text + "Z")
        }
        return nil
    }
}
