import Foundation
@testable import PolicyExpressions

// A test double of APIM's `context` (REFERENCE.md §2.3): typed classes whose getters are bound at
// compile time through `HostType`, the way the policy engine will expose its real objects.

final class FakeCertificate: X509Certificate2Object {
    let thumbprint: String
    let subject: String
    let issuer: String
    let serialNumber: String
    let notBefore: DateTimeValue
    let notAfter: DateTimeValue
    let rawData: [UInt8]
    let subjectName: X500DistinguishedNameObject
    let issuerName: X500DistinguishedNameObject
    let verifies: Bool
    let verifiesWithoutRevocation: Bool

    init(thumbprint: String = "0123456789ABCDEF0123456789ABCDEF01234567", subject: String = "CN=client.example.com, O=Contoso, C=US",
         issuer: String = "CN=Contoso Issuing CA, O=Contoso, C=US", serialNumber: String = "790CE8EEE5F01997408E859972D94A9E",
         notBefore: DateTimeValue = DateTimeValue(ticks: 638_000_000_000_000_000, kind: .local),
         notAfter: DateTimeValue = DateTimeValue(ticks: 640_000_000_000_000_000, kind: .local),
         rawData: [UInt8] = [0x30, 0x82, 0x01, 0x0A], verifies: Bool = true, verifiesWithoutRevocation: Bool? = nil) {
        self.thumbprint = thumbprint
        self.subject = subject
        self.issuer = issuer
        self.serialNumber = serialNumber
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.rawData = rawData
        self.subjectName = X500DistinguishedNameObject(name: subject)
        self.issuerName = X500DistinguishedNameObject(name: issuer)
        self.verifies = verifies
        self.verifiesWithoutRevocation = verifiesWithoutRevocation ?? verifies
    }

    func verify() -> Bool { verifies }
    func verifyNoRevocation() -> Bool { verifiesWithoutRevocation }
    func nameInfo(_ nameType: Int32, forIssuer: Bool) -> String {
        let dn = forIssuer ? issuer : subject
        let cn = dn.components(separatedBy: ", ").first { $0.hasPrefix("CN=") }.map { String($0.dropFirst(3)) } ?? ""
        return nameType == 0 || nameType == 3 ? cn : ""
    }
}

final class UrlDouble: HostObject {
    let scheme: String, host: String, port: Int32, path: String
    let query: DictionaryBox
    var hostType: HostType { ContextTypes.url }

    init(scheme: String = "https", host: String = "api.contoso.com", port: Int32 = 443, path: String = "/orders/42", query: [(String, [String])] = [("page", ["2"])]) {
        self.scheme = scheme
        self.host = host
        self.port = port
        self.path = path
        self.query = DictionaryBox(multiValued: query)
    }

    var queryString: String {
        let parts = zip(query.keys, query.values).flatMap { key, value -> [String] in
            guard case .list(let box) = value else { return [] }
            return box.items.map { "\(Formatting.toString(key))=\(Formatting.toString($0))" }
        }
        return parts.isEmpty ? "" : "?" + parts.joined(separator: "&")
    }
}

final class RecordDouble: HostObject {
    let type: HostType
    let strings: [String]
    var hostType: HostType { type }
    init(_ type: HostType, _ strings: [String]) {
        self.type = type
        self.strings = strings
    }
}

final class RequestDouble: HostObject {
    let body: MessageBodyObject?
    let certificate: FakeCertificate?
    let headers: DictionaryBox
    let ipAddress: String
    let matchedParameters: DictionaryBox
    let method: String
    let url: UrlDouble
    let originalUrl: UrlDouble
    var hostType: HostType { ContextTypes.request }

    init(body: MessageBodyObject?, certificate: FakeCertificate?, headers: [(String, [String])], ipAddress: String,
         matchedParameters: [(String, String)], method: String, url: UrlDouble) {
        self.body = body
        self.certificate = certificate
        self.headers = DictionaryBox(multiValued: headers)
        self.ipAddress = ipAddress
        self.matchedParameters = DictionaryBox(matchedParameters.map { ($0.0, Value.string($0.1)) })
        self.method = method
        self.url = url
        self.originalUrl = url
    }
}

final class ResponseDouble: HostObject {
    let body: MessageBodyObject?
    let headers: DictionaryBox
    let statusCode: Int32
    let statusReason: String
    var hostType: HostType { ContextTypes.response }

    init(body: MessageBodyObject?, headers: [(String, [String])], statusCode: Int32, statusReason: String) {
        self.body = body
        self.headers = DictionaryBox(multiValued: headers)
        self.statusCode = statusCode
        self.statusReason = statusReason
    }
}

final class DeploymentDouble: HostObject {
    let certificates: DictionaryBox
    var hostType: HostType { ContextTypes.deployment }
    init(certificates: [(String, FakeCertificate)]) {
        self.certificates = DictionaryBox(certificates.map { ($0.0, Value.object($0.1)) })
    }
}

final class ContextDouble: HostObject, @unchecked Sendable {
    let request: RequestDouble
    let response: ResponseDouble
    let deployment: DeploymentDouble
    let variables: DictionaryBox
    let requestId: UUID
    let timestamp: DateTimeValue
    let lastError: RecordDouble?
    let product: RecordDouble?
    private let lock = NSLock()
    private var traces: [String] = []
    var hostType: HostType { ContextTypes.context }

    init(request: RequestDouble, response: ResponseDouble, deployment: DeploymentDouble, variables: [(String, Value)],
         lastError: RecordDouble? = nil, product: RecordDouble? = nil) {
        self.request = request
        self.response = response
        self.deployment = deployment
        self.variables = DictionaryBox(variables)
        self.requestId = UUID(uuidString: "3F2504E0-4F89-11D3-9A0C-0305E82C3301") ?? UUID()
        self.timestamp = DateTimeValue(ticks: 638_400_000_000_000_000, kind: .utc)
        self.lastError = lastError
        self.product = product
    }

    func trace(_ message: String) {
        lock.lock()
        traces.append(message)
        lock.unlock()
    }

    var traced: [String] {
        lock.lock()
        defer { lock.unlock() }
        return traces
    }
}

enum ContextTypes {
    static func strings(_ name: String, _ fields: [String]) -> HostType {
        HostType(name: name, members: fields.enumerated().map { index, field in
            .property(field, .string, of: RecordDouble.self) { $0.strings.indices.contains(index) ? .string($0.strings[index]) : .null }
        })
    }

    static let url = HostType(name: "IUrl", members: [
        .property("Scheme", .string, of: UrlDouble.self) { .string($0.scheme) },
        .property("Host", .string, of: UrlDouble.self) { .string($0.host) },
        .property("Port", .int, of: UrlDouble.self) { .int($0.port) },
        .property("Path", .string, of: UrlDouble.self) { .string($0.path) },
        .property("Query", .headerDictionary, of: UrlDouble.self) { .dictionary($0.query) },
        .property("QueryString", .string, of: UrlDouble.self) { .string($0.queryString) },
        .method("ToString", [], returns: .string, of: UrlDouble.self) { u, _ in .string("\(u.scheme)://\(u.host)\(u.path)\(u.queryString)") },
    ])

    static let lastError = strings("ILastError", ["Source", "Reason", "Message", "Scope", "Section", "Path", "PolicyId"])
    static let operation = strings("IOperation", ["Id", "Method", "Name", "UrlTemplate"])
    static let group = strings("IGroup", ["Id", "Name"])
    static let workspace = strings("IWorkspace", ["Id", "Name"])
    static let gateway = strings("IGateway", ["Id", "InstanceId"])
    static let subscription = strings("ISubscription", ["Id", "Key", "Name", "PrimaryKey", "SecondaryKey"])
    static let user = strings("IUser", ["Email", "FirstName", "LastName", "Id", "Note"])
    static let api = strings("IApi", ["Id", "Name", "Path", "Revision", "Version"])
    static let product = HostType(name: "IProduct", members: [
        .property("Id", .string, of: RecordDouble.self) { .string($0.strings.first ?? "") },
        .property("Name", .string, of: RecordDouble.self) { .string($0.strings.count > 1 ? $0.strings[1] : "") },
        .property("Groups", .enumerable(.host(group)), of: RecordDouble.self) { _ in
            .list(ListBox([.object(RecordDouble(group, ["admins", "Administrators"])), .object(RecordDouble(group, ["devs", "Developers"]))]))
        },
        .property("SubscriptionLimit", .nullable(.int), of: RecordDouble.self) { _ in .null },
        .property("SubscriptionRequired", .bool, of: RecordDouble.self) { _ in .bool(true) },
        .property("ApprovalRequired", .bool, of: RecordDouble.self) { _ in .bool(false) },
    ])

    static let request = HostType(name: "IRequest", members: [
        .property("Body", .host(MessageBodyObject.type), of: RequestDouble.self) { $0.body.map { .object($0) } ?? .null },
        .property("Certificate", .host(X509Types.certificate), of: RequestDouble.self) { $0.certificate.map { .object($0) } ?? .null },
        .property("Headers", .headerDictionary, of: RequestDouble.self) { .dictionary($0.headers) },
        .property("IpAddress", .string, of: RequestDouble.self) { .string($0.ipAddress) },
        .property("MatchedParameters", .dictionary(.string, .string), of: RequestDouble.self) { .dictionary($0.matchedParameters) },
        .property("Method", .string, of: RequestDouble.self) { .string($0.method) },
        .property("Url", .host(url), of: RequestDouble.self) { .object($0.url) },
        .property("OriginalUrl", .host(url), of: RequestDouble.self) { .object($0.originalUrl) },
    ])

    static let response = HostType(name: "IResponse", members: [
        .property("Body", .host(MessageBodyObject.type), of: ResponseDouble.self) { $0.body.map { .object($0) } ?? .null },
        .property("Headers", .headerDictionary, of: ResponseDouble.self) { .dictionary($0.headers) },
        .property("StatusCode", .int, of: ResponseDouble.self) { .int($0.statusCode) },
        .property("StatusReason", .string, of: ResponseDouble.self) { .string($0.statusReason) },
    ])

    static let deployment = HostType(name: "IDeployment", members: [
        .property("GatewayId", .string, of: DeploymentDouble.self) { _ in .string("managed") },
        .property("Region", .string, of: DeploymentDouble.self) { _ in .string("West Europe") },
        .property("ServiceName", .string, of: DeploymentDouble.self) { _ in .string("contoso-apim") },
        .property("ServiceId", .string, of: DeploymentDouble.self) { _ in .string("/subscriptions/x/contoso-apim") },
        .property("Gateway", .host(gateway), of: DeploymentDouble.self) { _ in .object(RecordDouble(gateway, ["managed", "instance-1"])) },
        .property("Certificates", .dictionary(.string, .host(X509Types.certificate)), of: DeploymentDouble.self) { .dictionary($0.certificates) },
    ])

    static let context = HostType(name: "IProxyRequestContext", members: [
        .property("Request", .host(request), of: ContextDouble.self) { .object($0.request) },
        .property("Response", .host(response), of: ContextDouble.self) { .object($0.response) },
        .property("Deployment", .host(deployment), of: ContextDouble.self) { .object($0.deployment) },
        .property("Variables", .variableDictionary, of: ContextDouble.self) { .dictionary($0.variables) },
        .property("RequestId", .guid, of: ContextDouble.self) { .guid($0.requestId) },
        .property("Timestamp", .dateTime, of: ContextDouble.self) { .dateTime($0.timestamp) },
        .property("Elapsed", .timeSpan, of: ContextDouble.self) { _ in .timeSpan(TimeSpanValue(ticks: 1_250_000)) },
        .property("Tracing", .bool, of: ContextDouble.self) { _ in .bool(false) },
        .property("LastError", .host(lastError), of: ContextDouble.self) { $0.lastError.map { .object($0) } ?? .null },
        .property("Operation", .host(operation), of: ContextDouble.self) { _ in .object(RecordDouble(operation, ["get-order", "GET", "Get order", "/orders/{id}"])) },
        .property("Product", .host(product), of: ContextDouble.self) { $0.product.map { .object($0) } ?? .null },
        .property("Subscription", .host(subscription), of: ContextDouble.self) { _ in .object(RecordDouble(subscription, ["sub-1", "key-1", "Starter", "pk", "sk"])) },
        .property("User", .host(user), of: ContextDouble.self) { _ in .object(RecordDouble(user, ["ada@contoso.com", "Ada", "Lovelace", "user-1", ""])) },
        .property("Api", .host(api), of: ContextDouble.self) { _ in .object(RecordDouble(api, ["orders-api", "Orders", "orders", "1", "v1"])) },
        .property("Workspace", .host(workspace), of: ContextDouble.self) { _ in .null },
        .method("Trace", [.string], returns: .void, of: ContextDouble.self) { c, a in
            c.trace(Formatting.toString(a[0]))
            return .null
        },
    ])

    static let model = TypeModel(contextType: context, namedTypes: [request, response, url, deployment, lastError, product])
}

enum TestContext {
    // The seed page's placeholders compare `SubjectName.Name` (the whole DN string) with "expected-subject-name",
    // so the double's subject DN is literally that string.
    static let trustedCertificate = FakeCertificate(thumbprint: "DESIRED-THUMBPRINT-IN-UPPER-CASE", subject: "expected-subject-name",
                                                    issuer: "trusted-issuer")

    static func make(certificate: FakeCertificate? = trustedCertificate,
                     headers: [(String, [String])] = [("Authorization", ["Bearer abc"]), ("Accept", ["application/json", "text/plain"]), ("X-Count", ["5"])],
                     body: String? = #"{"id": 42, "name": "Ada", "tags": ["a", "b"], "nested": {"ok": true, "price": 9.5}}"#,
                     variables: [(String, Value)] = [("x", .string("hello")), ("n", .int(7)), ("flag", .bool(true))],
                     deploymentCertificates: [(String, FakeCertificate)] = [("trusted", trustedCertificate)],
                     lastError: RecordDouble? = nil) -> ContextDouble {
        let request = RequestDouble(body: body.map { MessageBodyObject(text: $0) }, certificate: certificate, headers: headers,
                                    ipAddress: "203.0.113.7", matchedParameters: [("id", "42")], method: "GET", url: UrlDouble())
        let response = ResponseDouble(body: MessageBodyObject(text: #"{"status":"ok"}"#), headers: [("Cache-Control", ["max-age=3600"])],
                                      statusCode: 200, statusReason: "OK")
        let sendRequestResult = ResponseDouble(body: MessageBodyObject(text: #"{"token":"t-1"}"#), headers: [], statusCode: 201, statusReason: "Created")
        var allVariables = variables
        allVariables.append(("tokenResponse", .object(sendRequestResult)))
        return ContextDouble(request: request, response: response, deployment: DeploymentDouble(certificates: deploymentCertificates),
                             variables: allVariables, lastError: lastError,
                             product: RecordDouble(ContextTypes.product, ["starter", "Starter"]))
    }

    static let compiler = ExpressionCompiler(model: ContextTypes.model)

    /// Compiles and evaluates; returns the value or throws the compile/runtime error.
    static func run(_ source: String, kind: ExpressionKind = .expression, context: ContextDouble? = nil) throws -> Value {
        let compiled = try compiler.compile(source, kind: kind)
        return try compiled.evaluate(context: context ?? make())
    }
}

/// A compact, type-tagged rendering of values for table-driven expectations.
func render(_ value: Value) -> String {
    switch value {
    case .null: return "null"
    case .bool(let b): return b ? "True" : "False"
    case .int(let i): return "i:\(i)"
    case .long(let l): return "l:\(l)"
    case .ulong(let u): return "ul:\(u)"
    case .double(let d): return "d:" + Formatting.double(d)
    case .decimal(let d): return "m:" + Formatting.decimal(d)
    case .string(let s): return "s:" + s
    case .char(let c): return "c:" + String(utf16CodeUnits: [c], count: 1)
    case .dateTime(let d): return "dt:" + Formatting.dateTime(d, format: "o")
    case .dateTimeOffset(let d): return "dto:" + Formatting.dateTimeOffset(d, format: "o")
    case .timeSpan(let t): return "ts:" + t.description
    case .guid(let g): return "g:" + g.uuidString.lowercased()
    case .byteArray(let b): return "bytes:" + b.map { String(format: "%02x", $0) }.joined()
    case .list(let box): return "[" + box.items.map(render).joined(separator: ",") + "]"
    case .dictionary(let d): return "{" + zip(d.keys, d.values).map { render($0) + "=" + render($1) }.joined(separator: ",") + "}"
    case .pair(let p): return "<" + render(p.key) + "," + render(p.value) + ">"
    case .json(let t): return "json:" + JsonWriter.write(t, indented: false)
    case .enumeration(let raw, let type): return "e:\(type.rawValue).\(type.name(of: raw))"
    case .object(let o): return "obj:\(o.hostType.name)"
    case .type(let t): return "type:\(t)"
    }
}
