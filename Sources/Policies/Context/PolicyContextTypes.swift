import ClientCertificates
import Foundation
import PolicyExpressions

/// The `context` tree of REFERENCE.md §2.3 as host types for the expression compiler.
public enum PolicyContextTypes {
    /// What every policy expression is compiled against.
    public static let model = TypeModel(contextType: context, namedTypes: [request, response, url, api, operation, deployment, lastError, AuthorizationObject.type],
                                        certificateFactory: makeCertificate)

    /// `new X509Certificate2(rawData[, password])`: DER, PEM (certificate, optionally with its key) or
    /// PKCS#12 with its private key (`GetRSAPrivateKey()`), loaded as the configuration loads
    /// certificates. Such a certificate has no verdicts: `Verify()` is false (fail closed).
    @Sendable static func makeCertificate(_ raw: [UInt8], password: String?) throws -> any X509Certificate2Object {
        let loaded: [X509Certificate2]
        do { loaded = try CertificateKeyLoader.load(certificate: raw, password: password) } catch {
            throw ExpressionRuntimeError("CryptographicException", "The certificate cannot be read: \(error)")
        }
        guard let first = loaded.first else { throw ExpressionRuntimeError("CryptographicException", "Cannot find the requested object.") }
        return ClientCertificateObject(first, verdicts: .none)
    }

    static let url = HostType(name: "IUrl", members: [
        .property("Scheme", .string, of: UrlObject.self) { .string($0.scheme) },
        .property("Host", .string, of: UrlObject.self) { .string($0.host) },
        .property("Port", .int, of: UrlObject.self) { .int(Int32(clamping: $0.port)) },
        .property("Path", .string, of: UrlObject.self) { .string($0.path) },
        .property("QueryString", .string, of: UrlObject.self) { .string($0.queryString) },
        .property("Query", .headerDictionary, of: UrlObject.self) { .dictionary($0.queryBox) },
        .method("ToString", [], returns: .string, of: UrlObject.self) { url, _ in .string(url.text) },
    ], toString: { object in (object as? UrlObject)?.text ?? "IUrl" })

    static func body(_ body: MessageBodyObject?) -> Value { body.map { .object($0) } ?? .null }

    static let request = HostType(name: "IRequest", members: [
        .property("Method", .string, of: RequestObject.self) { .string($0.state.method) },
        .property("Url", .host(url), of: RequestObject.self) { .object($0.state.url) },
        .property("OriginalUrl", .host(url), of: RequestObject.self) { .object($0.state.originalURL) },
        .property("Headers", .headerDictionary, of: RequestObject.self) { .dictionary($0.state.requestHeadersDictionary) },
        .property("IpAddress", .string, of: RequestObject.self) { .string($0.state.clientIP) },
        .property("MatchedParameters", .dictionary(.string, .string), of: RequestObject.self) {
            .dictionary($0.state.matchedParametersBox)
        },
        .property("Body", .host(MessageBodyObject.type), of: RequestObject.self) { body($0.state.requestBody) },
        .property("Certificate", .host(X509Types.certificate), of: RequestObject.self) {
            $0.state.certificate.map { .object($0) } ?? .null
        },
    ])

    static let response = HostType(name: "IResponse", members: [
        .property("StatusCode", .int, of: ResponseObject.self) { .int(Int32(clamping: $0.state.status)) },
        .property("StatusReason", .string, of: ResponseObject.self) { .string($0.state.reason) },
        .property("Headers", .headerDictionary, of: ResponseObject.self) { .dictionary($0.state.responseHeadersDictionary) },
        .property("Body", .host(MessageBodyObject.type), of: ResponseObject.self) { body($0.state.responseBody) },
    ])

    static let api = HostType(name: "IApi", members: [
        .property("Id", .string, of: IdentityObject.self) { .string($0.identity.apiId) },
        .property("Name", .string, of: IdentityObject.self) { .string($0.identity.apiName) },
        .property("Path", .string, of: IdentityObject.self) { .string($0.identity.apiPath) },
        .property("Version", .string, of: IdentityObject.self) { .string($0.identity.version) },
        .property("Revision", .string, of: IdentityObject.self) { .string($0.identity.revision) },
        .property("IsCurrentRevision", .bool, of: IdentityObject.self) { _ in .bool(true) },
        .property("Protocols", .stringArray, of: IdentityObject.self) { _ in .list(ListBox([.string("https")])) },
        .property("ServiceUrl", .host(url), of: IdentityObject.self) { $0.serviceURL.map { .object($0) } ?? .null },
    ])

    static let operation = HostType(name: "IOperation", members: [
        .property("Id", .string, of: IdentityObject.self) { .string($0.identity.operationId) },
        .property("Name", .string, of: IdentityObject.self) { .string($0.identity.operationName) },
        .property("Method", .string, of: IdentityObject.self) { .string($0.identity.operationMethod) },
        .property("UrlTemplate", .string, of: IdentityObject.self) { .string($0.identity.urlTemplate) },
    ])

    static let deployment = HostType(name: "IDeployment", members: [
        .property("ServiceName", .string, of: DeploymentObject.self) { .string($0.serviceName) },
        .property("Region", .string, of: DeploymentObject.self) { .string($0.region) },
        .property("GatewayId", .string, of: DeploymentObject.self) { .string($0.gatewayId) },
        .property("Certificates", .dictionary(.string, .host(X509Types.certificate)), of: DeploymentObject.self) {
            .dictionary($0.certificates)
        },
    ])

    static let lastError = HostType(name: "ILastError", members: [
        .property("Source", .string, of: LastErrorObject.self) { .string($0.error.source) },
        .property("Reason", .string, of: LastErrorObject.self) { .string($0.error.reason) },
        .property("Message", .string, of: LastErrorObject.self) { .string($0.error.message) },
        .property("Scope", .string, of: LastErrorObject.self) { .string($0.error.scope) },
        .property("Section", .string, of: LastErrorObject.self) { .string($0.error.section) },
        .property("Path", .string, of: LastErrorObject.self) { .string($0.error.path) },
        .property("PolicyId", .string, of: LastErrorObject.self) { .string($0.error.policyId) },
    ])

    static func absent(_ name: String, _ fields: [String]) -> HostType {
        HostType(name: name, members: fields.map { field in
            .property(field, .string, of: AbsentObject.self) { _ in .null }
        })
    }

    /// `context.GraphQL` in a resolver: `Arguments` and `Parent` as `JObject`s (null outside resolvers).
    static let graphQL = HostType(name: "IGraphQLContext", members: [
        .property("Arguments", .json(.object), of: GraphQLContextObject.self) { .json($0.arguments) },
        .property("Parent", .json(.object), of: GraphQLContextObject.self) { .json($0.parent) },
    ])

    static let user = absent("IUser", ["Id", "Email", "FirstName", "LastName", "Note"])
    static let subscription = SubscriptionContextTypes.subscription
    static let product = SubscriptionContextTypes.product

    static let context = HostType(name: "IProxyRequestContext", members: [
        .property("Request", .host(request), of: ContextObject.self) { .object($0.request) },
        .property("Response", .host(response), of: ContextObject.self) { .object($0.response) },
        .property("Variables", .variableDictionary, of: ContextObject.self) { .dictionary($0.state.variables) },
        .property("Api", .host(api), of: ContextObject.self) { .object($0.api) },
        .property("Operation", .host(operation), of: ContextObject.self) { .object($0.operation) },
        .property("Deployment", .host(deployment), of: ContextObject.self) { .object($0.state.deployment) },
        .property("LastError", .host(lastError), of: ContextObject.self) {
            $0.state.lastError.map { .object(LastErrorObject($0)) } ?? .null
        },
        .property("RequestId", .guid, of: ContextObject.self) { .guid($0.state.requestId) },
        .property("Timestamp", .dateTime, of: ContextObject.self) { .dateTime($0.state.timestamp) },
        .property("Elapsed", .timeSpan, of: ContextObject.self) {
            let elapsed = ContinuousClock.now - $0.state.started
            let ticks = elapsed.components.seconds * DateTimeValue.ticksPerSecond + elapsed.components.attoseconds / 100_000_000_000
            return .timeSpan(TimeSpanValue(ticks: ticks))
        },
        .property("Tracing", .bool, of: ContextObject.self) { .bool($0.state.tracing) },
        .property("User", .host(user), of: ContextObject.self) { _ in .null },
        .property("Subscription", .host(subscription), of: ContextObject.self) {
            $0.state.subscription.map { .object(SubscriptionObject($0)) } ?? .null
        },
        .property("Product", .host(product), of: ContextObject.self) { $0.state.product.map { .object(ProductObject($0)) } ?? .null },
        .property("GraphQL", .host(graphQL), of: ContextObject.self) { $0.state.graphQL.map { .object(GraphQLContextObject($0)) } ?? .null },
        .method("Trace", [.string], returns: .void, of: ContextObject.self) { context, arguments in
            let message = arguments.first?.stringValue ?? ""
            context.state.recordTrace(message, source: nil, severity: nil, text: message)
            return .null
        },
    ])
}
