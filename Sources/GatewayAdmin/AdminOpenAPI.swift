import ConfigurationStore

/// The OpenAPI 3 document of the admin API (`GET /admin/openapi.json`), built from the same list
/// of collections the router serves; `AdminAPITests` walks it against the running server.
public enum AdminOpenAPI {
    public static let document: String = String(decoding: JSONDocument.data(build(), pretty: true), as: UTF8.self)

    private static func ref(_ name: String) -> JSONValue { .object(["$ref": .string("#/components/schemas/\(name)")]) }
    private static func string(_ description: String? = nil, enumeration: [String]? = nil) -> JSONValue {
        var object: JSONDocument.Object = ["type": .string("string")]
        if let description { object["description"] = .string(description) }
        if let enumeration { object["enum"] = .array(enumeration.map(JSONValue.string)) }
        return .object(object)
    }
    private static func object(_ properties: JSONDocument.Object, required: [String] = [], additional: Bool = false) -> JSONValue {
        var schema: JSONDocument.Object = ["type": .string("object"), "properties": .object(properties), "additionalProperties": .bool(additional)]
        if !required.isEmpty { schema["required"] = .array(required.map(JSONValue.string)) }
        return .object(schema)
    }
    private static func response(_ description: String, _ schema: JSONValue? = nil, type: String = "application/json") -> JSONValue {
        var object: JSONDocument.Object = ["description": .string(description)]
        if let schema { object["content"] = .object([type: .object(["schema": schema])]) }
        return .object(object)
    }
    private static let errors: JSONDocument.Object = [
        "400": response("Malformed request", ref("Error")),
        "401": response("No or invalid admin token", ref("Error")),
        "404": response("No such resource", ref("Error")),
        "409": response("Changed meanwhile; retry", ref("Error")),
        "412": response("If-Match / If-None-Match failed", ref("Error")),
        "405": response("Method not allowed (Allow lists the route's methods)", ref("Error")),
        "413": response("Body too large", ref("Error")),
        "422": response("Refused by the configuration checks (details: every finding, with line:col)", ref("Error")),
    ]
    private static func parameter(_ name: String, _ location: String = "path", _ description: String, kind: ResourceKind = .apis) -> JSONValue {
        var schema: JSONDocument.Object = ["type": .string("string")]
        if kind == .settings {
            schema["enum"] = .array([.string("gateway")])
        } else {
            // (As ResourceDocuments.validateID.)
            let punctuation = ResourceDocuments.idPunctuation(kind).filter { $0 != "-" }
            schema["pattern"] = .string("^[A-Za-z0-9\(punctuation)-]{1,200}$")
        }
        return .object(["name": .string(name), "in": .string(location), "required": .bool(location == "path"),
                        "description": .string(description), "schema": .object(schema)])
    }
    private static let conditional: [JSONValue] = [
        .object(["name": .string("If-Match"), "in": .string("header"), "required": .bool(false),
                 "schema": .object(["type": .string("string")]), "description": .string("Write only if the stored ETag matches")]),
        .object(["name": .string("If-None-Match"), "in": .string("header"), "required": .bool(false),
                 "schema": .object(["type": .string("string"), "enum": .array([.string("*")])]), "description": .string("'*': create only")]),
    ]

    /// (upload schema, view schema, body media type) per collection.
    private static func schemas(_ kind: ResourceKind) -> (String, String, String) {
        switch kind {
        case .hostnames: return ("Hostname", "HostnameView", "application/json")
        case .apis: return ("API", "APIView", "application/json")
        case .policies, .fragments: return ("PolicyXML", "PolicyView", "application/xml")
        case .namedValues: return ("NamedValue", "NamedValueView", "application/json")
        case .certificates: return ("CertificateUpload", "CertificateView", "application/json")
        case .caCertificates: return ("CACertificateUpload", "CertificateView", "application/json")
        case .crls: return ("CRLUpload", "CRLView", "application/json")
        case .settings: return ("Settings", "SettingsView", "application/json")
        case .products: return ("Product", "ProductView", "application/json")
        case .subscriptions: return ("Subscription", "SubscriptionView", "application/json")
        case .backends: return ("Backend", "BackendView", "application/json")
        case .loggers: return ("Logger", "LoggerView", "application/json")
        }
    }

    private static func itemOperations(_ kind: ResourceKind, parameters: [JSONValue], what: String) -> JSONDocument.Object {
        let (upload, view, media) = schemas(kind)
        return [
            "parameters": .array(parameters),
            "get": .object(["summary": .string("Read \(what)"), "operationId": .string("get-\(kind.rawValue)-\(parameters.count)"),
                            "responses": .object(errors.merging(["200": response("The resource (never private keys or secret values)", ref(view))]) { a, _ in a })]),
            "put": .object(["summary": .string("Create or replace \(what); checked like `drawbridge check`, applied live"),
                            "operationId": .string("put-\(kind.rawValue)-\(parameters.count)"),
                            "parameters": .array(conditional),
                            "requestBody": .object(["required": .bool(true), "content": .object([media: .object(["schema": ref(upload)])])]),
                            "responses": .object(errors.merging(["200": response("Replaced", ref(view)), "201": response("Created", ref(view))]) { a, _ in a })]),
            "delete": .object(["summary": .string("Delete \(what)"), "operationId": .string("delete-\(kind.rawValue)-\(parameters.count)"),
                               "parameters": .array([conditional[0]]),
                               "responses": .object(errors.merging(["204": response("Deleted")]) { a, _ in a })]),
        ]
    }

    static func build() -> JSONValue {
        var paths: JSONDocument.Object = [
            "/admin/openapi.json": .object(["get": .object(["summary": .string("This document (no token needed)"), "operationId": .string("openapi"), "security": .array([]),
                                                            "responses": .object(["200": response("OpenAPI 3 document", .object(["type": .string("object")]))])])]),
            "/admin/status": .object(["get": .object(["summary": .string("Store revision and resource counts"), "operationId": .string("status"),
                                                      "responses": .object(errors.merging(["200": response("Status", ref("Status"))]) { a, _ in a })])]),
            "/admin/audit": .object(["get": .object(["summary": .string("Audit records, newest first"), "operationId": .string("audit"),
                                                     "parameters": .array([.object(["name": .string("limit"), "in": .string("query"), "required": .bool(false),
                                                                                     "schema": .object(["type": .string("integer"), "minimum": .integer(0), "maximum": .integer(10000)])])]),
                                                     "responses": .object(errors.merging(["200": response("Records", .object(["type": .string("array"), "items": ref("AuditRecord")]))]) { a, _ in a })])]),
        ]
        for kind in AdminAPI.kinds {
            let (_, view, _) = schemas(kind)
            paths["/admin/\(kind.rawValue)"] = .object(["get": .object([
                "summary": .string("List \(kind.rawValue)"), "operationId": .string("list-\(kind.rawValue)"),
                "responses": .object(errors.merging(["200": response("All of them", .object(["type": .string("array"), "items": ref(view)]))]) { a, _ in a })])])
            paths["/admin/\(kind.rawValue)/{id}"] = .object(itemOperations(kind, parameters: [parameter("id", "path", kind == .policies ? "global, api:<api> or operation:<api>:<operation>" : "The id", kind: kind)], what: "one of \(kind.rawValue)"))
        }
        paths["/admin/apis/{api}/policy"] = .object(itemOperations(.policies, parameters: [parameter("api", "path", "API name")], what: "an API's policy"))
        paths["/admin/apis/{api}/operations/{operation}/policy"] = .object(itemOperations(
            .policies, parameters: [parameter("api", "path", "API name"), parameter("operation", "path", "Operation name")], what: "an operation's policy"))

        paths["/admin/products/{product}/policy"] = .object(itemOperations(.policies, parameters: [parameter("product", "path", "Product id", kind: .products)], what: "a product's policy"))
        let subscriptionID = parameter("id", "path", "Subscription id", kind: .subscriptions)
        paths["/admin/subscriptions/{id}/listSecrets"] = .object(["parameters": .array([subscriptionID]), "post": .object([
            "summary": .string("The subscription's keys (the only route that shows them)"), "operationId": .string("subscription-list-secrets"),
            "responses": .object(errors.merging(["200": response("Keys", ref("SubscriptionKeys"))]) { a, _ in a })])])
        for (action, which) in [("regeneratePrimaryKey", "primary"), ("regenerateSecondaryKey", "secondary")] {
            paths["/admin/subscriptions/{id}/\(action)"] = .object(["parameters": .array([subscriptionID]), "post": .object([
                "summary": .string("Replace the \(which) key with a new random one, applied live"), "operationId": .string("subscription-\(action)"),
                "responses": .object(errors.merging(["204": response("Regenerated")]) { a, _ in a })])])
        }

        let certificateView = object([
            "id": string(), "etag": string(), "revision": .object(["type": .string("integer")]), "thumbprint": string("SHA-1, upper-case hex (APIM)"),
            "subject": string(), "issuer": string(), "notBefore": string(), "notAfter": string(), "pem": string("Certificates only"),
            "hasPrivateKey": .object(["type": .string("boolean")]), "chainLength": .object(["type": .string("integer")]),
            "storeName": string(enumeration: ["Root", "CertificateAuthority"]),
        ])
        let common: JSONDocument.Object = ["id": string(), "etag": string(), "revision": .object(["type": .string("integer")])]
        let schemas: JSONDocument.Object = [
            "Error": object(["error": object(["code": string(), "message": string(), "details": .object(["type": .string("array"), "items": string()])], required: ["code", "message"])], required: ["error"]),
            "Status": object(["revision": .object(["type": .string("integer")]), "resources": .object(["type": .string("object"), "additionalProperties": .object(["type": .string("integer")])])]),
            "AuditRecord": object(["sequence": .object(["type": .string("integer")]), "revision": .object(["type": .string("integer")]), "at": string(),
                                   "actor": string(), "action": string(enumeration: ["create", "update", "delete"]), "kind": string(), "id": string(),
                                   "etag": .object(["type": .string("string"), "nullable": .bool(true)]), "summary": string()]),
            "Hostname": object([
                "certificate": string("Id of an uploaded certificate with its private key"),
                "clientCertificate": string(enumeration: ["off", "negotiate", "required"]),
                "trustedCAs": .object(["type": .string("array"), "items": string(), "description": .string("CA certificate ids; default: every uploaded CA certificate")]),
                "http2": .object(["type": .string("boolean")]),
                "crlFiles": .object(["type": .string("array"), "items": string(), "description": .string("\"@crls/<id>\" of uploaded CRLs")]),
            ], required: ["certificate"], additional: true),
            "HostnameView": object(common, additional: true),
            "API": object([
                "path": string(), "backend": string("http:// or https:// URL"),
                "hostnames": .object(["type": .string("array"), "items": string()]),
                "operations": .object(["type": .string("array"), "items": object(["name": string(), "method": string(), "template": string()], required: ["method", "template"])]),
                "requireTrustedClientCertificate": .object(["type": .string("boolean")]),
                "subscriptionRequired": .object(["type": .string("boolean")]),
                "subscriptionKeyParameterNames": object(["header": string(), "query": string()]),
                "forwardSubscriptionKey": .object(["type": .string("boolean")]),
                "openapiDocument": string("The API's OpenAPI description (3.0/3.1 or Swagger 2.0), its YAML or JSON text, for the validation policies"),
            ], required: ["backend"], additional: true),
            "APIView": object(common, additional: true),
            "PolicyXML": .object(["type": .string("string"), "description": .string("An APIM <policies> or <fragment> document")]),
            "PolicyView": object(common.merging(["xml": string()]) { a, _ in a }),
            "NamedValue": object(["value": string(), "secret": .object(["type": .string("boolean")])], required: ["value"]),
            "NamedValueView": object(common.merging(["value": string("Absent when secret"), "secret": .object(["type": .string("boolean")])]) { a, _ in a }),
            "CertificateUpload": object(["pem": string("PEM certificate chain, leaf first"), "key": string("PEM private key of the leaf"),
                                         "pfx": string("PKCS#12 file, base64"), "password": string("PFX password (not stored)")]),
            "CACertificateUpload": object(["pem": string(), "storeName": string(enumeration: ["Root", "CertificateAuthority"])], required: ["pem"]),
            "CertificateView": certificateView,
            "CRLUpload": object(["pem": string("PEM X509 CRL"), "der": string("DER CRL, base64")]),
            "CRLView": object(common.merging(["der": string()]) { a, _ in a }),
            "Settings": object(["listen": .object(["type": .string("object")]), "defaultHostname": string(), "limits": .object(["type": .string("object")]),
                                "backend": .object(["type": .string("object")]), "accessLog": .object(["type": .string("boolean")]),
                                "operations": .object(["type": .string("object")]), "policies": .object(["type": .string("object")])]),
            "SettingsView": object(common, additional: true),
            "Product": object(["name": string(), "apis": .object(["type": .string("array"), "items": string()]),
                               "subscriptionRequired": .object(["type": .string("boolean")])]),
            "ProductView": object(common, additional: true),
            "Subscription": object([
                "name": string(), "scope": string("product:<id>, api:<name> or all"),
                "primaryKey": string("8 to 256 printable ASCII characters; generated when absent"), "secondaryKey": string("As primaryKey"),
                "state": string(enumeration: ["active", "suspended", "expired", "submitted", "rejected", "cancelled"]),
                "startDate": string("ISO 8601"), "endDate": string("ISO 8601"),
            ], required: ["scope"]),
            "SubscriptionView": object(common, additional: true),
            "SubscriptionKeys": object(["primaryKey": string(), "secondaryKey": string()]),
            "Backend": object(["url": string("http:// or https:// base URL"), "description": string()], required: ["url"]),
            "BackendView": object(common, additional: true),
            "Logger": object([
                "eventHub": object([
                    "connectionString": string("Endpoint=sb://<namespace>/;SharedAccessKeyName=…;SharedAccessKey=…[;EntityPath=<hub>], or {{named value}}; kept when a PUT leaves it out; never returned"),
                    "namespace": string("<namespace>.servicebus.windows.net (with name, keyName and key instead of connectionString)"),
                    "name": string("The event hub"), "keyName": string(),
                    "key": string("The shared access key, or {{named value}}; kept when a PUT leaves it out; never returned"),
                ]),
                "file": string("JSON lines appended to this file (absolute path)"), "stdout": .object(["type": .string("boolean")]),
                "queueSize": .object(["type": .string("integer")]), "batchSize": .object(["type": .string("integer")]),
                "overflow": string(enumeration: ["drop-oldest", "drop-newest"]), "description": string(),
            ]),
            "LoggerView": object(common, additional: true),
        ]
        return .object([
            "openapi": .string("3.0.3"),
            "info": .object(["title": .string("Drawbridge admin API"), "version": .string("1"),
                             "description": .string("The configuration store of one Drawbridge gateway. Changes are checked like `drawbridge check`, committed atomically with an audit record, and applied live.")]),
            "paths": .object(paths),
            "components": .object(["schemas": .object(schemas),
                                   "securitySchemes": .object(["bearer": .object(["type": .string("http"), "scheme": .string("bearer")])])]),
            "security": .array([.object(["bearer": .array([])])]),
        ])
    }
}
