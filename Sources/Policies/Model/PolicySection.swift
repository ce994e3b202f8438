/// The four sections of a `<policies>` document, in execution order.
public enum PolicySection: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case inbound
    case backend
    case outbound
    case onError = "on-error"

    public var description: String { rawValue }

    public static let all: Set<PolicySection> = Set(allCases)
}

/// Where a policy document is attached, broad to narrow. `<base/>` at one scope splices in the
/// same section of the next broader scope that has a document.
public enum PolicyScope: String, Sendable, Hashable, CaseIterable, Comparable, CustomStringConvertible {
    case global
    case workspace
    case product
    case api
    case operation

    public var description: String { rawValue }

    /// 0 for global, growing towards operation.
    public var breadthRank: Int {
        switch self {
        case .global: 0
        case .workspace: 1
        case .product: 2
        case .api: 3
        case .operation: 4
        }
    }

    public static func < (lhs: PolicyScope, rhs: PolicyScope) -> Bool { lhs.breadthRank < rhs.breadthRank }
}
