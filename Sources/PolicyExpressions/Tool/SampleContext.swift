import Foundation

/// A `context` built from a JSON sample (for `drawbridge expr eval --context sample.json` and tests
/// outside the gateway). Shape (every field optional):
///
///     { "request": { "method": "GET", "url": "https://host/path?q=1", "ipAddress": "…",
///                    "headers": { "Name": ["v1", "v2"] | "v" }, "body": "…" | {json},
///                    "certificate": { "thumbprint": "…", "subject": "…", "issuer": "…", "serialNumber": "…",
///                                     "notBefore": "ISO-8601", "notAfter": "ISO-8601", "verify": true, "rawData": "base64" } },
///       "response": { "statusCode": 200, "statusReason": "OK", "headers": {…}, "body": … },
///       "variables": { "name": value },
///       "deployment": { "gatewayId": "…", "region": "…", "serviceName": "…", "certificates": { "id": {certificate} } },
///       "operation": { "id": "…", "method": "…", "name": "…", "urlTemplate": "…" },
///       "api": { "id": "…", "name": "…", "path": "…", "version": "…", "revision": "…" },
///       "lastError": { "source": "…", "reason": "…", "message": "…", "scope": "…", "section": "…", "path": "…", "policyId": "…" } }
public final class SampleContext: HostObject, @unchecked Sendable {
    public var hostType: HostType { SampleTypes.context }
    let request: SampleMessage
    let response: SampleMessage
    let variables: DictionaryBox
    let deployment: SampleRecord
    let certificates: DictionaryBox
    let operation: SampleRecord
    let api: SampleRecord
    let lastError: SampleRecord?
    let requestId = UUID()
    let timestamp = DateTimeValue.utcNow()

    public static var typeModel: TypeModel { TypeModel(contextType: SampleTypes.context, namedTypes: [SampleTypes.response, SampleTypes.request]) }

    public convenience init(json: String) throws {
        let root: JToken
        do { root = try JsonReader.parse(json, parsesDates: false) } catch let error as ExpressionRuntimeError {
            throw ExpressionRuntimeError("FormatException", "context sample: \(error.message)")
        }
        try self.init(root: root)
    }

    init(root: JToken) throws {
        request = try SampleMessage(root.property("request"), isRequest: true)
        response = try SampleMessage(root.property("response"), isRequest: false)
        var variables: [(String, Value)] = []
        if case .object(let props)? = root.property("variables")?.storage {
            variables = props.map { ($0.0, JsonConvertOps.toClr($0.1)) }
        }
        self.variables = DictionaryBox(variables)
        let deploymentToken = root.property("deployment")
        deployment = SampleRecord(deploymentToken, ["gatewayId", "region", "serviceName"], type: SampleDeployment.type, defaults: ["managed", "local", "drawbridge"])
        var certificates: [(String, Value)] = []
        if case .object(let props)? = deploymentToken?.property("certificates")?.storage {
            certificates = try props.map { ($0.0, .object(try SampleCertificate($0.1))) }
        }
        self.certificates = DictionaryBox(certificates)
        operation = SampleRecord(root.property("operation"), ["id", "method", "name", "urlTemplate"], type: SampleTypes.operation)
        api = SampleRecord(root.property("api"), ["id", "name", "path", "version", "revision"], type: SampleTypes.api)
        lastError = root.property("lastError").map { SampleRecord($0, ["source", "reason", "message", "scope", "section", "path", "policyId"], type: SampleTypes.lastError) }
    }
}

final class SampleRecord: HostObject {
    let values: [String]
    let type: HostType
    var hostType: HostType { type }
    init(_ token: JToken?, _ fields: [String], type: HostType, defaults: [String] = []) {
        self.type = type
        values = fields.enumerated().map { index, field in
            guard let value = token?.property(field) else { return index < defaults.count ? defaults[index] : "" }
            return JsonWriter.tokenToString(value)
        }
    }
}

final class SampleUrl: HostObject {
    let scheme: String, host: String, port: Int32, path: String, queryString: String
    let query: DictionaryBox
    var hostType: HostType { SampleTypes.url }

    init(_ text: String) {
        let components = URLComponents(string: text)
        scheme = components?.scheme ?? "https"
        host = components?.host ?? "localhost"
        port = Int32(components?.port ?? (scheme == "http" ? 80 : 443))
        path = (components?.percentEncodedPath).flatMap { $0.isEmpty ? nil : $0 } ?? "/"
        queryString = components?.percentEncodedQuery.map { "?" + $0 } ?? ""
        query = DictionaryBox(multiValued: (components?.queryItems ?? []).map { ($0.name, [$0.value ?? ""]) })
    }
}

final class SampleMessage: HostObject {
    let isRequest: Bool
    let method: String
    let url: SampleUrl
    let ipAddress: String
    let headers: DictionaryBox
    let body: MessageBodyObject?
    let certificate: SampleCertificate?
    let statusCode: Int32
    let statusReason: String
    var hostType: HostType { isRequest ? SampleTypes.request : SampleTypes.response }

    init(_ token: JToken?, isRequest: Bool) throws {
        self.isRequest = isRequest
        func text(_ name: String, _ fallback: String) -> String { token?.property(name).map(JsonWriter.tokenToString) ?? fallback }
        method = text("method", "GET")
        url = SampleUrl(text("url", "https://localhost/"))
        ipAddress = text("ipAddress", "127.0.0.1")
        var headers: [(String, [String])] = []
        if case .object(let props)? = token?.property("headers")?.storage {
            headers = props.map { name, value in
                if case .array(let items) = value.storage { return (name, items.map(JsonWriter.tokenToString)) }
                return (name, [JsonWriter.tokenToString(value)])
            }
        }
        self.headers = DictionaryBox(multiValued: headers)
        if let body = token?.property("body") {
            if case .value(.string(let s)) = body.storage { self.body = MessageBodyObject(text: s) } else {
                self.body = MessageBodyObject(text: JsonWriter.write(body, indented: false))
            }
        } else {
            body = nil
        }
        certificate = try token?.property("certificate").map(SampleCertificate.init)
        statusCode = Int32(token?.property("statusCode").flatMap { Int32(JsonWriter.tokenToString($0)) } ?? 200)
        statusReason = text("statusReason", "OK")
    }
}

final class SampleCertificate: X509Certificate2Object {
    let thumbprint: String, subject: String, issuer: String, serialNumber: String
    let notBefore: DateTimeValue, notAfter: DateTimeValue
    let rawData: [UInt8]
    let subjectName: X500DistinguishedNameObject
    let issuerName: X500DistinguishedNameObject
    let verifies: Bool

    init(_ token: JToken) throws {
        func text(_ name: String, _ fallback: String) -> String { token.property(name).map(JsonWriter.tokenToString) ?? fallback }
        thumbprint = text("thumbprint", "")
        subject = text("subject", "")
        issuer = text("issuer", "")
        serialNumber = text("serialNumber", "")
        notBefore = try DateParsing.parse(text("notBefore", "2024-01-01T00:00:00Z"))
        notAfter = try DateParsing.parse(text("notAfter", "2034-01-01T00:00:00Z"))
        rawData = (try? Library.fromBase64(text("rawData", ""))) ?? []
        subjectName = X500DistinguishedNameObject(name: subject)
        issuerName = X500DistinguishedNameObject(name: issuer)
        verifies = text("verify", "True") == "True"
    }

    func verify() -> Bool { verifies }
    func verifyNoRevocation() -> Bool { verifies }
    func nameInfo(_ nameType: Int32, forIssuer: Bool) -> String {
        let dn = forIssuer ? issuer : subject
        return dn.components(separatedBy: ", ").first { $0.hasPrefix("CN=") }.map { String($0.dropFirst(3)) } ?? ""
    }
}

enum SampleTypes {
    static func record(_ name: String, _ fields: [String]) -> HostType {
        HostType(name: name, members: fields.enumerated().map { index, field in
            .property(field, .string, of: SampleRecord.self) { .string($0.values[index]) }
        })
    }

    static let url = HostType(name: "IUrl", members: [
        .property("Scheme", .string, of: SampleUrl.self) { .string($0.scheme) },
        .property("Host", .string, of: SampleUrl.self) { .string($0.host) },
        .property("Port", .int, of: SampleUrl.self) { .int($0.port) },
        .property("Path", .string, of: SampleUrl.self) { .string($0.path) },
        .property("QueryString", .string, of: SampleUrl.self) { .string($0.queryString) },
        .property("Query", .headerDictionary, of: SampleUrl.self) { .dictionary($0.query) },
        .method("ToString", [], returns: .string, of: SampleUrl.self) { u, _ in .string("\(u.scheme)://\(u.host)\(u.path)\(u.queryString)") },
    ])

    static let response = HostType(name: "IResponse", members: [
        .property("Body", .host(MessageBodyObject.type), of: SampleMessage.self) { $0.body.map { .object($0) } ?? .null },
        .property("Headers", .headerDictionary, of: SampleMessage.self) { .dictionary($0.headers) },
        .property("StatusCode", .int, of: SampleMessage.self) { .int($0.statusCode) },
        .property("StatusReason", .string, of: SampleMessage.self) { .string($0.statusReason) },
    ])

    static let request = HostType(name: "IRequest", members: [
        .property("Body", .host(MessageBodyObject.type), of: SampleMessage.self) { $0.body.map { .object($0) } ?? .null },
        .property("Headers", .headerDictionary, of: SampleMessage.self) { .dictionary($0.headers) },
        .property("Certificate", .host(X509Types.certificate), of: SampleMessage.self) { $0.certificate.map { .object($0) } ?? .null },
        .property("Method", .string, of: SampleMessage.self) { .string($0.method) },
        .property("IpAddress", .string, of: SampleMessage.self) { .string($0.ipAddress) },
        .property("Url", .host(url), of: SampleMessage.self) { .object($0.url) },
        .property("OriginalUrl", .host(url), of: SampleMessage.self) { .object($0.url) },
    ])

    static let operation = record("IOperation", ["Id", "Method", "Name", "UrlTemplate"])
    static let api = record("IApi", ["Id", "Name", "Path", "Version", "Revision"])
    static let lastError = record("ILastError", ["Source", "Reason", "Message", "Scope", "Section", "Path", "PolicyId"])

    static let context = HostType(name: "IProxyRequestContext", members: [
        .property("Request", .host(request), of: SampleContext.self) { .object($0.request) },
        .property("Response", .host(response), of: SampleContext.self) { .object($0.response) },
        .property("Variables", .variableDictionary, of: SampleContext.self) { .dictionary($0.variables) },
        .property("Deployment", .host(SampleDeployment.type), of: SampleContext.self) { .object(SampleDeployment(record: $0.deployment, certificates: $0.certificates)) },
        .property("Operation", .host(operation), of: SampleContext.self) { .object($0.operation) },
        .property("Api", .host(api), of: SampleContext.self) { .object($0.api) },
        .property("LastError", .host(lastError), of: SampleContext.self) { $0.lastError.map { .object($0) } ?? .null },
        .property("RequestId", .guid, of: SampleContext.self) { .guid($0.requestId) },
        .property("Timestamp", .dateTime, of: SampleContext.self) { .dateTime($0.timestamp) },
        .property("Elapsed", .timeSpan, of: SampleContext.self) { TimeSpanValue(ticks: DateTimeValue.utcNow().ticks - $0.timestamp.ticks).asValue },
        .property("Tracing", .bool, of: SampleContext.self) { _ in .bool(false) },
        .method("Trace", [.string], returns: .void, of: SampleContext.self) { _, _ in .null },
    ])
}

final class SampleDeployment: HostObject {
    let record: SampleRecord
    let certificates: DictionaryBox
    init(record: SampleRecord, certificates: DictionaryBox) {
        self.record = record
        self.certificates = certificates
    }
    var hostType: HostType { SampleDeployment.type }
    static let type = HostType(name: "IDeployment", members: [
        .property("GatewayId", .string, of: SampleDeployment.self) { .string($0.record.values[0]) },
        .property("Region", .string, of: SampleDeployment.self) { .string($0.record.values[1]) },
        .property("ServiceName", .string, of: SampleDeployment.self) { .string($0.record.values[2]) },
        .property("Certificates", .dictionary(.string, .host(X509Types.certificate)), of: SampleDeployment.self) { .dictionary($0.certificates) },
    ])
}

extension TimeSpanValue {
    var asValue: Value { .timeSpan(self) }
}
