import Foundation
import GatewayConfiguration
import Policies

/// An API ready for routing: its operations compiled, its backend URL parsed. A class: every route
/// match refers to it, and copying its fields per request (retaining each) was measurable.
public final class RoutableAPI: Sendable {
    public let config: APIConfig
    let prefixSegments: [String]
    let operations: [(config: OperationConfig, template: URLTemplate)]
    let backend: BackendTarget
    /// The backend URL parsed once (`context.Api.ServiceUrl`).
    let serviceURL: URL?
    /// What policies see of each operation (`context.Api`, `context.Operation`), in the order of
    /// `operations`: made once here, as building it per request cost more than using it.
    let policyIdentities: [PolicyAPIIdentity]

    init(config: APIConfig) throws {
        self.config = config
        self.prefixSegments = config.pathPrefix.split(separator: "/").map { PercentDecoding.decode($0) ?? String($0) }
        var operations = try config.operations.map { op -> (OperationConfig, URLTemplate) in
            do {
                return (op, try URLTemplate(op.urlTemplate))
            } catch let error as URLTemplateError {
                throw GatewayStartupError.route(api: config.name, reason: error.description)
            }
        }
        var names = Set<String>()
        for (operation, _) in operations where !names.insert(operation.name).inserted {
            throw GatewayStartupError.route(api: config.name, reason: "operation name '\(operation.name)' is used twice (names identify operations and their policies)")
        }
        if operations.isEmpty {
            operations = [(Self.catchAllOperation, try URLTemplate("/*"))]
        }
        // Most specific first; among equals, the configuration order.
        self.operations = operations.enumerated()
            .sorted { ($0.element.1.specificity, -$0.offset) > ($1.element.1.specificity, -$1.offset) }
            .map { (config: $0.element.0, template: $0.element.1) }
        guard let backend = BackendTarget(config.backendURL) else {
            throw GatewayStartupError.route(api: config.name, reason: "backend '\(config.backendURL)' is not an absolute http(s) URL")
        }
        self.backend = backend
        self.serviceURL = URL(string: config.backendURL)
        let serviceURL = self.serviceURL
        self.policyIdentities = self.operations.map { Self.policyIdentity(config, serviceURL: serviceURL, operation: $0.config) }
    }

    /// The API and one of its operations as policies see them.
    static func policyIdentity(_ config: APIConfig, serviceURL: URL?, operation: OperationConfig) -> PolicyAPIIdentity {
        PolicyAPIIdentity(
            apiId: config.name, apiName: config.name, apiPath: config.pathPrefix,
            serviceURL: serviceURL, operationId: operation.name,
            operationName: operation.name, operationMethod: operation.method,
            urlTemplate: operation.urlTemplate)
    }

    /// The policy identity of a route into this API (the operation's, made at load).
    func policyIdentity(_ route: RouteMatch) -> PolicyAPIIdentity {
        guard route.operationIndex < policyIdentities.count else {
            return Self.policyIdentity(config, serviceURL: serviceURL, operation: route.operation)
        }
        return policyIdentities[route.operationIndex]
    }

    /// The operation of an API configured without operations: every method, every path.
    static let catchAllOperation = OperationConfig(name: "all", method: "*", urlTemplate: "/*")

    func servesHost(_ hostname: TLSHostname?) -> Bool {
        guard !config.hostnames.isEmpty else { return true }
        guard let hostname else { return false }
        return config.hostnames.contains(hostname.name)
    }
}

/// The result of routing one request.
public struct RouteMatch: Sendable {
    public let api: RoutableAPI
    public let operation: OperationConfig
    /// Template parameters, percent-decoded (`context.Request.MatchedParameters`).
    public let matchedParameters: [String: String]
    /// The path below the API's prefix in normal form (see `RequestPath`), starting with `/`: what the
    /// backend receives, so that it names the resource routing chose.
    public let remainingPath: String
    /// The whole request path in normal form (without the query).
    public let normalizedPath: String
    /// Positions in the router's table (API, then operation within it): metrics handles are
    /// resolved per snapshot by these, so counting a request needs no lookup by name.
    let apiIndex: Int
    let operationIndex: Int
}

/// Routes (hostname, method, path) to an API operation. Built once per configuration snapshot.
public struct Router: Sendable {
    let apis: [RoutableAPI]

    public init(apis: [APIConfig]) throws {
        // Longest prefix first, so /echo/v2 wins over /echo.
        self.apis = try apis.map(RoutableAPI.init).sorted { $0.prefixSegments.count > $1.prefixSegments.count }
    }

    public enum Outcome: Sendable {
        case matched(RouteMatch)
        case notFound
        /// The path has `.`/`..` segments (in any spelling), malformed or double percent-encoding of
        /// separators, control characters or backslashes: refused, never normalised into another route.
        case badPath
    }

    public func route(hostname: TLSHostname?, method: String, path: String) -> Outcome {
        let pathOnly = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        guard let request = RequestPath(pathOnly) else { return .badPath }
        let keys = request.keys
        for (apiIndex, api) in apis.enumerated() where api.servesHost(hostname) {
            guard keys.count >= api.prefixSegments.count,
                  zip(api.prefixSegments, keys).allSatisfy({ RequestPath.sameSegment($0, $1) }) else { continue }
            let restKeys = keys[api.prefixSegments.count...]
            for (operationIndex, operation) in api.operations.enumerated() {
                guard operation.config.method == "*" || operation.config.method == method else { continue }
                if let parameters = operation.template.match(keys: restKeys, decoded: request.decoded[api.prefixSegments.count...]) {
                    let normalized = request.normalized
                    let remaining: String
                    if api.prefixSegments.isEmpty {
                        remaining = normalized  // an API at the root: the same text, built once
                    } else {
                        let rest = request.segments[api.prefixSegments.count...]
                        var text = "/" + rest.joined(separator: "/")
                        if request.trailingSlash && !rest.isEmpty { text += "/" }
                        remaining = text
                    }
                    return .matched(RouteMatch(api: api, operation: operation.config,
                                               matchedParameters: parameters, remainingPath: remaining,
                                               normalizedPath: normalized,
                                               apiIndex: apiIndex, operationIndex: operationIndex))
                }
            }
            // APIM answers 404 when the API matches but no operation does.
            return .notFound
        }
        return .notFound
    }
}
