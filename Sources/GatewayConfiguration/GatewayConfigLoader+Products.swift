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
        /// Key → the subscription that has it (to name the other one in a message, never the key).
        var keys: [String: String] = [:]
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
                if let owner = keys[key] {
                    throw reader.error(keyNode, owner == id
                        ? "subscription '\(id)': \(field) is the same as its primaryKey (the two keys must differ)"
                        : "subscription '\(id)': \(field) is a key of subscription '\(owner)' (keys must be unique)")
                }
                keys[key] = id
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

    /// `2026-01-01` (midnight UTC) or `2026-01-01T12:30:00[.fff][Z|±hh:mm]` (no zone: UTC). Parsed by
    /// hand: no date formatter (which would load ICU into the gateway process).
    public static func parseDate(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        func number(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[from..<(from + count)] {
                guard byte >= 0x30, byte <= 0x39 else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            return value
        }
        func at(_ index: Int, _ ascii: Character) -> Bool { index < bytes.count && bytes[index] == ascii.asciiValue }
        guard let year = number(0, 4), at(4, "-"), let month = number(5, 2), at(7, "-"), let day = number(8, 2),
              (1...12).contains(month), (1...31).contains(day) else { return nil }
        var seconds = 0
        var index = 10
        if index < bytes.count {
            guard at(10, "T") || at(10, "t") || at(10, " "), let hour = number(11, 2), at(13, ":"), let minute = number(14, 2),
                  at(16, ":"), let second = number(17, 2), hour < 24, minute < 60, second < 61 else { return nil }
            seconds = hour * 3600 + minute * 60 + second
            index = 19
            if at(index, ".") {
                index += 1
                while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 { index += 1 }
            }
            if at(index, "Z") || at(index, "z") {
                index += 1
            } else if at(index, "+") || at(index, "-") {
                guard let zoneHours = number(index + 1, 2), at(index + 3, ":"), let zoneMinutes = number(index + 4, 2),
                      zoneHours < 24, zoneMinutes < 60 else { return nil }
                let offset = zoneHours * 3600 + zoneMinutes * 60
                seconds -= at(index, "+") ? offset : -offset
                index += 6
            }
            guard index == bytes.count else { return nil }
        }
        // Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        return Date(timeIntervalSince1970: TimeInterval(days * 86_400 + seconds))
    }
}
