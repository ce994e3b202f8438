import Foundation
import GatewayConfiguration
import HTTPTypes
import Testing

@testable import Gateway

/// The subscription step without sockets: key sources, stripping, states, scopes, redaction.
struct SubscriptionTableTests {
    static func config() -> GatewayConfig {
        var config = GatewayConfig(hostnames: [], apis: [
            APIConfig(name: "orders", pathPrefix: "/orders", backendURL: "http://127.0.0.1:9"),
            APIConfig(name: "other", pathPrefix: "/other", backendURL: "http://127.0.0.1:9"),
        ])
        config.apis[0].subscriptionRequired = true
        config.products = [ProductConfig(id: "gold", name: "Gold", apis: ["orders"])]
        config.subscriptions = [
            SubscriptionConfig(id: "a", scope: .product("gold"), primaryKey: "primary-a-123", secondaryKey: "secondary-a-123"),
            SubscriptionConfig(id: "s", scope: .allAPIs, primaryKey: "primary-s-123", secondaryKey: "secondary-s-123", state: .suspended),
            SubscriptionConfig(id: "f", scope: .allAPIs, primaryKey: "primary-f-123", secondaryKey: "secondary-f-123",
                               startDate: Date(timeIntervalSinceNow: 3600)),
            SubscriptionConfig(id: "o", scope: .api("other"), primaryKey: "primary-o-123", secondaryKey: "secondary-o-123"),
        ]
        return config
    }

    func head(_ path: String, _ headers: [(String, String)] = []) -> HTTPRequest {
        var fields = HTTPFields()
        for (name, value) in headers { if let field = HTTPField.Name(name) { fields.append(HTTPField(name: field, value: value)) } }
        return HTTPRequest(method: .get, scheme: "https", authority: "a.test", path: path, headerFields: fields)
    }

    @Test func keysFromHeaderOrQueryAreCheckedAndStripped() {
        let config = Self.config()
        let table = SubscriptionTable(config: config)
        let orders = config.apis[0]
        var request = head("/orders/1?a=1&subscription-key=secondary-a-123&b=2", [("Ocp-Apim-Subscription-Key", "primary-a-123"), ("X-Other", "1")])
        guard case .admitted(let access) = table.admit(&request, api: orders) else { Issue.record("refused"); return }
        #expect(access.subscription?.id == "a" && access.subscription?.key == "primary-a-123" && access.product?.id == "gold")
        #expect(request.path == "/orders/1?a=1&b=2")
        #expect(request.headerFields[HTTPField.Name("Ocp-Apim-Subscription-Key")!] == nil && request.headerFields.count == 1)

        var byQuery = head("/orders/1?subscription-key=secondary-a-123")
        guard case .admitted(let viaQuery) = table.admit(&byQuery, api: orders) else { Issue.record("refused"); return }
        #expect(viaQuery.subscription?.key == "secondary-a-123" && byQuery.path == "/orders/1")

        func refusal(_ path: String, _ headers: [(String, String)] = [], api: APIConfig = orders) -> GatewayError? {
            var request = head(path, headers)
            if case .refused(let error) = table.admit(&request, api: api) { return error }
            return nil
        }
        #expect(refusal("/orders/1") == .subscriptionKeyMissing)
        #expect(refusal("/orders/1?subscription-key=") == .subscriptionKeyMissing)
        #expect(refusal("/orders/1", [("Ocp-Apim-Subscription-Key", "primary-a-12")]) == .subscriptionKeyInvalid, "a prefix")
        #expect(refusal("/orders/1", [("Ocp-Apim-Subscription-Key", "primary-s-123")]) == .subscriptionKeyInvalid, "suspended")
        #expect(refusal("/orders/1", [("Ocp-Apim-Subscription-Key", "primary-f-123")]) == .subscriptionKeyInvalid, "not started yet")
        #expect(refusal("/orders/1", [("Ocp-Apim-Subscription-Key", "primary-o-123")]) == .subscriptionKeyInvalid, "another API's key")
        // An API that does not require a key: none is fine, a wrong one is not, the right one is used.
        #expect(refusal("/other/x", api: config.apis[1]) == nil)
        #expect(refusal("/other/x", [("Ocp-Apim-Subscription-Key", "nope-nope-nope")], api: config.apis[1]) == .subscriptionKeyInvalid)
        #expect(refusal("/other/x?subscription-key=primary-o-123", api: config.apis[1]) == nil)
        #expect(GatewayError.subscriptionKeyMissing.body == #"{"statusCode":401,"message":"Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API."}"#)
    }

    @Test func anAPIThatForwardsTheKeyKeepsIt() {
        var config = Self.config()
        config.apis[0].forwardSubscriptionKey = true
        let table = SubscriptionTable(config: config)
        var request = head("/orders/1?subscription-key=secondary-a-123", [("Ocp-Apim-Subscription-Key", "primary-a-123")])
        guard case .admitted(let access) = table.admit(&request, api: config.apis[0]) else { Issue.record("refused"); return }
        #expect(access.subscription?.key == "primary-a-123")
        #expect(request.path == "/orders/1?subscription-key=secondary-a-123" && request.headerFields.count == 1)
    }

    @Test func withoutProductsOrSubscriptionsNothingIsTouched() {
        var config = Self.config()
        config.products = []
        config.subscriptions = []
        config.apis[0].subscriptionRequired = false
        let table = SubscriptionTable(config: config)
        var request = head("/orders/1?subscription-key=x", [("Ocp-Apim-Subscription-Key", "y")])
        guard case .admitted(let access) = table.admit(&request, api: config.apis[0]) else { Issue.record("refused"); return }
        #expect(access.subscription == nil && request.path == "/orders/1?subscription-key=x" && request.headerFields.count == 1)
        #expect(table.redacted("/orders/1?subscription-key=x") == "/orders/1?subscription-key=x")
    }

    @Test func keysInTheQueryAreRedactedForTheAccessLog() {
        let table = SubscriptionTable(config: Self.config())
        #expect(table.redacted("/orders/1?a=1&subscription-key=primary-a-123&b=2") == "/orders/1?a=1&subscription-key=REDACTED&b=2")
        #expect(table.redacted("/orders/1?subscription%2Dkey=primary-a-123") == "/orders/1?subscription%2Dkey=REDACTED")
        #expect(table.redacted("/orders/1?a=1") == "/orders/1?a=1")
        #expect(table.redacted("/orders/1") == "/orders/1")
    }

    @Test func comparisonIsExact() {
        #expect(SubscriptionTable.constantTimeEquals(Array("abc".utf8), Array("abc".utf8)))
        #expect(!SubscriptionTable.constantTimeEquals(Array("abc".utf8), Array("abd".utf8)))
        #expect(!SubscriptionTable.constantTimeEquals(Array("abc".utf8), Array("abcd".utf8)))
    }
}
