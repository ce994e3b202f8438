import Foundation
import PolicyExpressions

/// The subscription a request was admitted with (`context.Subscription`), as the gateway resolved
/// it from the subscription key. `key` is the key the client sent (primary or secondary).
public struct PolicySubscription: Sendable {
    public var id: String
    public var name: String
    public var key: String
    public var primaryKey: String
    public var secondaryKey: String
    public var startDate: Date?
    public var endDate: Date?
    public var createdDate: Date?

    public init(id: String, name: String, key: String, primaryKey: String, secondaryKey: String,
                startDate: Date? = nil, endDate: Date? = nil, createdDate: Date? = nil) {
        self.id = id
        self.name = name
        self.key = key
        self.primaryKey = primaryKey
        self.secondaryKey = secondaryKey
        self.startDate = startDate
        self.endDate = endDate
        self.createdDate = createdDate
    }
}

/// The product a request runs under (`context.Product`): the product of its subscription, or the
/// open product that let it in without one.
public struct PolicyProduct: Sendable {
    public var id: String
    public var name: String
    public var subscriptionRequired: Bool

    public init(id: String, name: String, subscriptionRequired: Bool = true) {
        self.id = id
        self.name = name
        self.subscriptionRequired = subscriptionRequired
    }
}

/// `context.Subscription` (ISubscription).
final class SubscriptionObject: HostObject, @unchecked Sendable {
    let subscription: PolicySubscription
    var hostType: HostType { SubscriptionContextTypes.subscription }
    init(_ subscription: PolicySubscription) { self.subscription = subscription }

    static func date(_ date: Date?) -> Value {
        date.map { .dateTime(DateTimeValue(date: $0, kind: .utc)) } ?? .null
    }
}

/// `context.Product` (IProduct).
final class ProductObject: HostObject, @unchecked Sendable {
    let product: PolicyProduct
    var hostType: HostType { SubscriptionContextTypes.product }
    init(_ product: PolicyProduct) { self.product = product }
}

enum SubscriptionContextTypes {
    static let subscription = HostType(name: "ISubscription", members: [
        .property("Id", .string, of: SubscriptionObject.self) { .string($0.subscription.id) },
        .property("Name", .string, of: SubscriptionObject.self) { .string($0.subscription.name) },
        .property("Key", .string, of: SubscriptionObject.self) { .string($0.subscription.key) },
        .property("PrimaryKey", .string, of: SubscriptionObject.self) { .string($0.subscription.primaryKey) },
        .property("SecondaryKey", .string, of: SubscriptionObject.self) { .string($0.subscription.secondaryKey) },
        .property("StartDate", .nullable(.dateTime), of: SubscriptionObject.self) { SubscriptionObject.date($0.subscription.startDate) },
        .property("EndDate", .nullable(.dateTime), of: SubscriptionObject.self) { SubscriptionObject.date($0.subscription.endDate) },
        .property("CreatedDate", .dateTime, of: SubscriptionObject.self) {
            .dateTime(DateTimeValue(date: $0.subscription.createdDate ?? $0.subscription.startDate ?? Date(timeIntervalSince1970: 0), kind: .utc))
        },
    ])

    static let product = HostType(name: "IProduct", members: [
        .property("Id", .string, of: ProductObject.self) { .string($0.product.id) },
        .property("Name", .string, of: ProductObject.self) { .string($0.product.name) },
        .property("SubscriptionRequired", .bool, of: ProductObject.self) { .bool($0.product.subscriptionRequired) },
        .property("ApprovalRequired", .bool, of: ProductObject.self) { _ in .bool(false) },
        .property("State", .string, of: ProductObject.self) { _ in .string("Published") },
        .property("SubscriptionLimit", .nullable(.int), of: ProductObject.self) { _ in .null },
    ])
}
