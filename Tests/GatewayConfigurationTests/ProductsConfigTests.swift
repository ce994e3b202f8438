import Foundation
import GatewayConfiguration
import Testing

/// `products:` and `subscriptions:` in the YAML configuration.
struct ProductsConfigTests {
    static let base = """
    hostnames:
      - { name: a.test, certificate: c.pem, key: k.pem }
    policies:
      namedValues:
        carol-key: { value: carol-primary-key-from-a-named-value, secret: true }
    apis:
      - name: orders
        backend: http://127.0.0.1:9
        subscriptionRequired: true
        subscriptionKeyParameterNames: { header: X-Api-Key, query: api-key }
      - { name: status, backend: http://127.0.0.1:9, path: /status }

    """

    @Test func productsAndSubscriptionsAreRead() throws {
        let yaml = Self.base + """
        products:
          - { id: gold, name: Gold, apis: [orders], policy: gold.xml }
          - { id: open, apis: status, subscriptionRequired: false }
        subscriptions:
          - { id: alice, scope: "product:gold", primaryKey: alice-primary-key, secondaryKey: alice-secondary-key, state: suspended,
              startDate: 2026-01-01, endDate: "2027-01-01T12:00:00Z" }
          - { id: carol, name: Carol, scope: all, primaryKey: "{{carol-key}}", secondaryKey: carol-secondary-key }
        """
        let config = try GatewayConfigLoader.parse(yaml: yaml, file: "gw.yaml", baseDirectory: "/etc/db")
        #expect(config.apis[0].subscriptionRequired)
        #expect(config.apis[0].subscriptionKeyNames == SubscriptionKeyNames(header: "X-Api-Key", query: "api-key"))
        #expect(config.apis[1].subscriptionKeyNames == SubscriptionKeyNames())
        #expect(!config.apis[0].forwardSubscriptionKey)
        let forwarding = try GatewayConfigLoader.parse(yaml: "hostnames:\n  - { name: a.test, certificate: c.pem, key: k.pem }\napis:\n  - { name: x, backend: http://127.0.0.1:9, forwardSubscriptionKey: true }\n",
                                                       file: "gw.yaml", baseDirectory: "/")
        #expect(forwarding.apis[0].forwardSubscriptionKey)
        #expect(!config.apis[1].subscriptionRequired)
        #expect(config.products == [ProductConfig(id: "gold", name: "Gold", apis: ["orders"], policyFile: "/etc/db/gold.xml"),
                                    ProductConfig(id: "open", apis: ["status"], subscriptionRequired: false)])
        #expect(config.subscriptions.count == 2)
        #expect(config.subscriptions[0].scope == .product("gold"))
        #expect(config.subscriptions[0].state == .suspended)
        #expect(config.subscriptions[0].startDate == Date(timeIntervalSince1970: 1_767_225_600))
        #expect(config.subscriptions[0].endDate == Date(timeIntervalSince1970: 1_798_804_800))
        #expect(config.subscriptions[1].primaryKey == "carol-primary-key-from-a-named-value")
        #expect(config.subscriptions[1].scope == .allAPIs)
        #expect(config.subscriptions[1].name == "Carol")
    }

    @Test(arguments: [
        ("products:\n  - { id: p, apis: [nope] }\n", "gw.yaml:13:20: product 'p': API 'nope' is not configured under 'apis'"),
        ("products:\n  - { id: p }\n  - { id: p }\n", "gw.yaml:14:11: product id 'p' is used twice"),
        ("subscriptions:\n  - { id: s, scope: product:none, primaryKey: aaaaaaaa1, secondaryKey: bbbbbbbb2 }\n",
         "gw.yaml:13:21: subscription 's': product 'none' is not configured under 'products'"),
        ("subscriptions:\n  - { id: s, scope: everything, primaryKey: aaaaaaaa1, secondaryKey: bbbbbbbb2 }\n",
         "gw.yaml:13:21: subscription 's': scope must be product:<id>, api:<name> or all, got 'everything'"),
        ("subscriptions:\n  - { id: s, scope: api:orders, primaryKey: short, secondaryKey: bbbbbbbb2 }\n",
         "gw.yaml:13:45: subscription 's': primaryKey must be 8 to 256 printable ASCII characters without spaces"),
        ("subscriptions:\n  - { id: s, scope: all, primaryKey: same-key-1, secondaryKey: bbbbbbbb2 }\n  - { id: t, scope: all, primaryKey: cccccccc3, secondaryKey: same-key-1 }\n",
         "gw.yaml:14:63: subscription 't': secondaryKey is a key of subscription 's' (keys must be unique)"),
        ("subscriptions:\n  - { id: s, scope: all, primaryKey: same-key-1, secondaryKey: same-key-1 }\n",
         "gw.yaml:13:64: subscription 's': secondaryKey is the same as its primaryKey (the two keys must differ)"),
        ("subscriptions:\n  - { id: s, scope: all, primaryKey: aaaaaaaa1, secondaryKey: bbbbbbbb2, state: paused }\n",
         "gw.yaml:13:81: subscription 's': state must be one of active, suspended, expired, submitted, rejected, cancelled, got 'paused'"),
        ("subscriptions:\n  - { id: s, scope: all, primaryKey: aaaaaaaa1, secondaryKey: bbbbbbbb2, endDate: yesterday }\n",
         "gw.yaml:13:83: subscription 's': endDate must be an ISO 8601 date"),
        ("subscriptions:\n  - { id: s, scope: all, primaryKey: \"{{nope}}\", secondaryKey: bbbbbbbb2 }\n",
         "gw.yaml:13:38: subscription 's': primaryKey: named value 'nope' is not defined under policies.namedValues"),
        ("subscriptions:\n  - { id: s, scope: all, secondaryKey: bbbbbbbb2 }\n", "gw.yaml:13:5: subscription 's' needs 'primaryKey'"),
    ])
    func errorsNameTheirPlaceAndNeverTheKey(entry: String, expectedPrefix: String) {
        do {
            _ = try GatewayConfigLoader.parse(yaml: Self.base + entry, file: "gw.yaml", baseDirectory: "/")
            Issue.record("expected an error starting with \(expectedPrefix)")
        } catch let error as ConfigurationError {
            #expect(error.description.hasPrefix(expectedPrefix), "\(error.description)")
            for key in ["aaaaaaaa1", "bbbbbbbb2", "same-key-1", "short"] { #expect(!error.description.contains(key), "\(error.description)") }
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func aBrokenProductIsReportedOnceNotAgainByItsSubscriptions() {
        let yaml = Self.base + "products:\n  - { id: p, apis: [nope] }\nsubscriptions:\n  - { id: s, scope: product:p, primaryKey: aaaaaaaa1, secondaryKey: bbbbbbbb2 }\n"
        let (config, errors) = GatewayConfigLoader.parseStoreDocument(yaml: yaml, file: "gw.yaml", baseDirectory: "/")
        #expect(config == nil)
        #expect(errors.map(\.description) == ["gw.yaml:13:20: product 'p': API 'nope' is not configured under 'apis'"])
    }

    @Test func operationsTLSAndAdminClientCAs() throws {
        let yaml = "hostnames:\n  - { name: a.test, certificate: c.pem, key: k.pem }\noperations:\n  tls: { certificate: ops.pem, key: ops-key.pem, adminClientCAs: [admins.pem] }\n"
        let config = try GatewayConfigLoader.parse(yaml: yaml, file: "gw.yaml", baseDirectory: "/etc/db")
        #expect(config.operations.tlsCertificateFile == "/etc/db/ops.pem")
        #expect(config.operations.tlsKeyFile == "/etc/db/ops-key.pem")
        #expect(config.operations.adminClientCAFiles == ["/etc/db/admins.pem"])
        let noKey = "hostnames:\n  - { name: a.test, certificate: c.pem, key: k.pem }\noperations:\n  tls: { certificate: ops.pem, adminClientCAs: admins.pem }\n"
        #expect {
            try GatewayConfigLoader.parse(yaml: noKey, file: "gw.yaml", baseDirectory: "/")
        } throws: { error in
            (error as? ConfigurationError)?.description.hasPrefix("gw.yaml:4:8: operations.tls needs 'certificate' and 'key'") == true
        }
    }
}

/// Dates of subscriptions, parsed by hand (no formatter).
struct SubscriptionDateTests {
    @Test(arguments: [
        ("2026-01-01", 1_767_225_600.0),
        ("2026-01-01T00:00:00Z", 1_767_225_600),
        ("2027-01-01T12:00:00Z", 1_798_804_800),
        ("2026-01-01T01:30:00+01:30", 1_767_225_600),
        ("2025-12-31T22:00:00-02:00", 1_767_225_600),
        ("2026-01-01T00:00:00.250Z", 1_767_225_600),
        ("2024-02-29T00:00:00", 1_709_164_800),
        ("1969-12-31", -86_400),
    ])
    func parsed(text: String, seconds: Double) {
        #expect(GatewayConfigLoader.parseDate(text)?.timeIntervalSince1970 == seconds, "\(text)")
    }

    @Test(arguments: ["", "2026", "2026-13-01", "2026-01-32", "2026-01-01T25:00:00Z", "2026-01-01T00:00:00Q", "yesterday",
                      "2026-01-01T00:00", "2026-01-01T00:00:00+0100", "2026-01-01T00:00:00Z trailing"])
    func refused(text: String) {
        #expect(GatewayConfigLoader.parseDate(text) == nil, "\(text)")
    }
}
