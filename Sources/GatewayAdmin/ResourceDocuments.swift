import ClientCertificates
import ConfigurationStore
import Foundation
import GatewayConfiguration

/// What each kind accepts (admin API body → stored JSON document) and shows (stored document →
/// public JSON). Structural checks only: whether the configuration as a whole holds is for
/// `StoreMaterializer` and `check`. Hostname, API and settings documents use the YAML
/// configuration's own field names, and fields this type does not know pass through to the YAML
/// loader, which judges them: fields added to the configuration format need no change here.
enum ResourceDocuments {
    /// Characters of ids besides ASCII letters and digits; policy ids also take what default
    /// operation names hold (`operation:echo:GET /users/{id}`).
    static func idPunctuation(_ kind: ResourceKind) -> String { kind == .policies ? "._:-*/{} " : "._:-*" }

    /// A new subscription key: 16 random bytes as 32 lower-case hex digits (APIM's key shape).
    static func newSubscriptionKey() -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef")
        var key = ""
        for _ in 0..<16 {
            let byte = UInt8.random(in: 0...255, using: &generator)
            key.append(digits[Int(byte >> 4)])
            key.append(digits[Int(byte & 0x0F)])
        }
        return key
    }

    /// Ids: ASCII letters, digits and `idPunctuation`; hostnames are lower-cased host names.
    static func validateID(_ id: String, kind: ResourceKind) throws -> String {
        let punctuation = idPunctuation(kind)
        guard !id.isEmpty, id.utf8.count <= 200,
              id.unicodeScalars.allSatisfy({ (("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0))
                                             || punctuation.unicodeScalars.contains($0) }) else {
            throw AdminError.badRequest("'\(id.prefix(64))' is not a valid \(kind.rawValue) id (1 to 200 of ASCII letters, digits and \(punctuation.map { String($0) }.joined(separator: " ")))")
        }
        if kind == .settings, id != "gateway" { throw AdminError(404, "NotFound", "settings has one document: settings/gateway") }
        return kind == .hostnames ? id.lowercased() : id
    }

    static func isXMLKind(_ kind: ResourceKind) -> Bool { kind == .policies || kind == .fragments }

    /// The stored document for a PUT of `body` to `kind/id`, and a summary for the audit trail.
    /// `existing`: the stored document being replaced (a subscription keeps its keys unless new ones are given).
    static func stored(kind: ResourceKind, id: String, body: [UInt8], contentType: String?, existing: StoredResource? = nil) throws -> (Data, String) {
        let what = "\(kind.rawValue)/\(id)"
        if isXMLKind(kind) {
            let xml: String
            if (contentType ?? "").lowercased().contains("json") {
                let object = try JSONDocument.object(body, what: what)
                try JSONDocument.allowOnly(object, ["xml"], what: what)
                guard let text = try JSONDocument.string(object, "xml", what: what) else {
                    throw AdminError.badRequest("\(what): 'xml' is required")
                }
                xml = text
            } else {
                guard let text = String(validating: body, as: UTF8.self) else {
                    throw AdminError.badRequest("\(what): the policy document is not UTF-8")
                }
                xml = text
            }
            guard xml.contains("<") else { throw AdminError.badRequest("\(what): the body is not an XML policy document") }
            return (JSONDocument.data(["xml": .string(xml)]), "\(kind == .policies ? "policy" : "fragment") \(id) set (\(xml.utf8.count) bytes)")
        }
        var object = try JSONDocument.object(body, what: what)
        switch kind {
        case .certificates:
            let parsed = try CertificateUpload.parse(object, what: what)
            var document: JSONDocument.Object = ["pem": .string(parsed.chainPEM)]
            if let key = parsed.keyPEM { document["key"] = .string(key) }
            let leaf = parsed.certificates.first
            return (JSONDocument.data(document), "certificate \(id) uploaded (thumbprint \(leaf?.thumbprint ?? "?"), private key: \(parsed.keyPEM != nil))")
        case .caCertificates:
            try JSONDocument.allowOnly(object, ["pem", "storeName"], what: what)
            guard let pem = try JSONDocument.string(object, "pem", what: what) else {
                throw AdminError.badRequest("\(what): 'pem' (the CA certificate) is required")
            }
            let certificates: [X509Certificate2]
            do { certificates = try CertificateLoader.load(pem: pem) } catch {
                throw AdminError.badRequest("\(what): 'pem' is not a PEM certificate: \(error)")
            }
            guard certificates.count == 1, let ca = certificates.first else {
                throw AdminError.badRequest("\(what): upload one CA certificate per id (found \(certificates.count))")
            }
            let selfSigned = ca.subject == ca.issuer
            let store = try JSONDocument.string(object, "storeName", what: what) ?? (selfSigned ? "Root" : "CertificateAuthority")
            guard store == "Root" || store == "CertificateAuthority" else {
                throw AdminError.badRequest("\(what): storeName must be Root or CertificateAuthority")
            }
            return (JSONDocument.data(["pem": .string(PEMText.encode(ca.rawData, label: "CERTIFICATE")), "storeName": .string(store)]),
                    "CA certificate \(id) uploaded to \(store) (thumbprint \(ca.thumbprint))")
        case .crls:
            try JSONDocument.allowOnly(object, ["pem", "der"], what: what)
            let bytes: [UInt8]
            if let pem = try JSONDocument.string(object, "pem", what: what) {
                bytes = Array(pem.utf8)
            } else if let der = try JSONDocument.string(object, "der", what: what),
                      let data = Data(base64Encoded: der, options: .ignoreUnknownCharacters) {
                bytes = Array(data)
            } else {
                throw AdminError.badRequest("\(what): send 'pem' (a PEM X509 CRL) or 'der' (base64)")
            }
            let crl: CertificateRevocationList
            do { crl = try CertificateRevocationList(bytes: bytes) } catch {
                throw AdminError.badRequest("\(what): not a CRL: \(error)")
            }
            return (JSONDocument.data(["der": .string(Data(crl.rawData).base64EncodedString())]),
                    "CRL \(id) uploaded (\(crl.rawData.count) bytes)")
        case .namedValues:
            try JSONDocument.allowOnly(object, ["value", "secret"], what: what)
            guard let value = try JSONDocument.string(object, "value", what: what) else {
                throw AdminError.badRequest("\(what): 'value' (a string) is required")
            }
            let secret = try JSONDocument.bool(object, "secret", what: what) ?? false
            return (JSONDocument.data(["value": .string(value), "secret": .bool(secret)]),
                    "named value \(id) set\(secret ? " (secret)" : "")")
        case .hostnames:
            for forbidden in ["name", "key", "pkcs12", "password"] where object[forbidden] != nil {
                throw AdminError.badRequest("\(what): '\(forbidden)' is not set here (the name is the path; 'certificate' names an uploaded certificate with its key)")
            }
            guard try JSONDocument.string(object, "certificate", what: what) != nil else {
                throw AdminError.badRequest("\(what): 'certificate' (the id of an uploaded certificate with a private key) is required")
            }
            if let cas = object["trustedCAs"] {
                guard case .array(let items) = cas, items.allSatisfy({ $0.stringValue != nil }) else {
                    throw AdminError.badRequest("\(what): 'trustedCAs' must be a list of CA certificate ids")
                }
            }
            let mode = object["clientCertificate"]?.stringValue ?? "off"
            return (JSONDocument.data(object), "hostname \(id) set (client certificate: \(mode))")
        case .apis:
            object["name"] = nil
            if object["policy"] != nil {
                throw AdminError.badRequest("\(what): policies are set with PUT /admin/apis/\(id)/policy, not in the API document")
            }
            if case .array(let operations)? = object["operations"],
               operations.contains(where: { $0.objectValue?["policy"] != nil }) {
                throw AdminError.badRequest("\(what): operation policies are set with PUT /admin/apis/\(id)/operations/{operation}/policy")
            }
            if object["openapi"] != nil {
                throw AdminError.badRequest("\(what): send the API's OpenAPI description as 'openapiDocument' (its YAML or JSON text), not a file path")
            }
            if let description = object["openapiDocument"], description.stringValue == nil {
                throw AdminError.badRequest("\(what): 'openapiDocument' must be a string (the OpenAPI description's YAML or JSON text)")
            }
            return (JSONDocument.data(object), "API \(id) set")
        case .settings:
            try JSONDocument.allowOnly(object, StoreMaterializer.settingsKeys, what: what)
            return (JSONDocument.data(object), "gateway settings set")
        case .products:
            try JSONDocument.allowOnly(object, ["name", "apis", "subscriptionRequired"], what: what)
            _ = try JSONDocument.string(object, "name", what: what)
            _ = try JSONDocument.bool(object, "subscriptionRequired", what: what)
            if let apis = object["apis"] {
                guard case .array(let items) = apis, items.allSatisfy({ $0.stringValue != nil }) else {
                    throw AdminError.badRequest("\(what): 'apis' must be a list of API names")
                }
            }
            return (JSONDocument.data(object), "product \(id) set")
        case .subscriptions:
            return try subscription(object, id: id, what: what, existing: existing)
        case .backends:
            try JSONDocument.allowOnly(object, ["url", "description"], what: what)
            _ = try JSONDocument.string(object, "description", what: what)
            guard let text = try JSONDocument.string(object, "url", what: what) else {
                throw AdminError.badRequest("\(what): 'url' (the backend's base URL) is required")
            }
            guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme), url.host != nil else {
                throw AdminError.badRequest("\(what): 'url' must be an absolute http:// or https:// URL, got '\(text.prefix(200))'")
            }
            return (JSONDocument.data(object), "backend \(id) set (\(text.prefix(200)))")
        case .loggers:
            return try logger(object, id: id, what: what, existing: existing)
        case .policies, .fragments:
            throw AdminError.badRequest("unreachable")
        }
    }

    /// The secret fields of a logger's `eventHub` (literal values are never returned; a `{{named
    /// value}}` reference is not itself secret).
    static let loggerSecrets = ["connectionString", "key"]

    /// A logger document: its shape checked here (the YAML loader judges the values); a PUT that
    /// leaves out the event hub's secret keeps the stored one. The summary (the audit trail) names no secret.
    static func logger(_ body: JSONDocument.Object, id: String, what: String, existing: StoredResource?) throws -> (Data, String) {
        var object = body
        try JSONDocument.allowOnly(object, ["eventHub", "file", "stdout", "queueSize", "overflow", "batchSize", "description"], what: what)
        _ = try JSONDocument.string(object, "description", what: what)
        let summary: String
        if let hub = object["eventHub"] {
            guard case .object(var fields) = hub else { throw AdminError.badRequest("\(what): 'eventHub' must be an object") }
            try JSONDocument.allowOnly(fields, ["connectionString", "namespace", "name", "keyName", "key"], what: "\(what): eventHub")
            for field in ["connectionString", "namespace", "name", "keyName", "key"] { _ = try JSONDocument.string(fields, field, what: "\(what): eventHub") }
            let previous = existing.flatMap { JSONDocument.object($0.document)["eventHub"]?.objectValue } ?? [:]
            let secretField = fields["namespace"] == nil ? "connectionString" : "key"
            if fields[secretField] == nil, let kept = previous[secretField] { fields[secretField] = kept }
            object["eventHub"] = .object(fields)
            summary = "logger \(id) set (event hub\(fields["name"]?.stringValue.map { " '\($0.prefix(100))'" } ?? ""))"
        } else if let file = try JSONDocument.string(object, "file", what: what) {
            summary = "logger \(id) set (file \(file.prefix(200)))"
        } else {
            summary = "logger \(id) set"
        }
        return (JSONDocument.data(object), summary)
    }

    /// What GET shows: never a private key, never a secret named value's value.
    static func publicView(_ resource: StoredResource) -> JSONValue {
        let document = JSONDocument.object(resource.document)
        var view: JSONDocument.Object = ["id": .string(resource.key.id), "etag": .string(resource.etag),
                                         "revision": .integer(resource.revision)]
        switch resource.key.kind {
        case .certificates, .caCertificates:
            let pem = document["pem"]?.stringValue ?? ""
            let chain = (try? CertificateLoader.load(pem: pem)) ?? []
            if let leaf = chain.first {
                view["thumbprint"] = .string(leaf.thumbprint)
                view["subject"] = .string(leaf.subject)
                view["issuer"] = .string(leaf.issuer)
                view["notBefore"] = .string(ISO8601DateFormatter().string(from: leaf.notBefore))
                view["notAfter"] = .string(ISO8601DateFormatter().string(from: leaf.notAfter))
            }
            view["pem"] = .string(pem)
            if resource.key.kind == .certificates {
                view["hasPrivateKey"] = .bool(document["key"] != nil)
                view["chainLength"] = .integer(chain.count)
            } else {
                view["storeName"] = document["storeName"] ?? .string("Root")
            }
        case .crls:
            view["der"] = document["der"] ?? .null
        case .namedValues:
            let secret = document["secret"]?.boolValue ?? false
            view["secret"] = .bool(secret)
            if !secret { view["value"] = document["value"] ?? .null }
        case .policies, .fragments:
            view["xml"] = document["xml"] ?? .null
        case .hostnames, .apis, .settings, .products, .backends:
            for (key, value) in document { view[key] = value }
            view["id"] = .string(resource.key.id)
        case .loggers:
            for (key, value) in document { view[key] = value }
            if case .object(var hub)? = document["eventHub"] {
                // Never a key: only whether one is stored (a {{named value}} reference is shown).
                for field in loggerSecrets {
                    guard let value = hub[field]?.stringValue else { continue }
                    if value.hasPrefix("{{"), value.hasSuffix("}}") { continue }
                    hub[field] = nil
                    hub[field + "Stored"] = .bool(true)
                }
                view["eventHub"] = .object(hub)
            }
            view["id"] = .string(resource.key.id)
        case .subscriptions:
            // Never the keys (POST /admin/subscriptions/{id}/listSecrets shows them).
            for (key, value) in document where key != "primaryKey" && key != "secondaryKey" { view[key] = value }
            view["id"] = .string(resource.key.id)
        }
        return .object(view)
    }

    /// A subscription document: scope, state, dates checked here; keys generated when neither the
    /// body nor the replaced document has them. Keys never appear in the summary (the audit trail).
    static func subscription(_ body: JSONDocument.Object, id: String, what: String, existing: StoredResource?) throws -> (Data, String) {
        var object = body
        try JSONDocument.allowOnly(object, ["name", "scope", "primaryKey", "secondaryKey", "state", "startDate", "endDate"], what: what)
        guard let scopeText = try JSONDocument.string(object, "scope", what: what) else {
            throw AdminError.badRequest("\(what): 'scope' (product:<id>, api:<name> or all) is required")
        }
        guard SubscriptionScope(scopeText) != nil else {
            throw AdminError.badRequest("\(what): scope must be product:<id>, api:<name> or all, got '\(scopeText.prefix(100))'")
        }
        _ = try JSONDocument.string(object, "name", what: what)
        let state = try JSONDocument.string(object, "state", what: what) ?? "active"
        guard SubscriptionState(rawValue: state) != nil else {
            throw AdminError.badRequest("\(what): state must be one of \(SubscriptionState.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        object["state"] = .string(state)
        for field in ["startDate", "endDate"] {
            if let text = try JSONDocument.string(object, field, what: what), GatewayConfigLoader.parseDate(text) == nil {
                throw AdminError.badRequest("\(what): \(field) must be an ISO 8601 date such as 2026-01-01T00:00:00Z")
            }
        }
        let previous = existing.map { JSONDocument.object($0.document) } ?? [:]
        for field in ["primaryKey", "secondaryKey"] {
            if let key = try JSONDocument.string(object, field, what: what) {
                guard SubscriptionConfig.isValidKey(key) else {
                    throw AdminError.badRequest("\(what): \(field) must be 8 to 256 printable ASCII characters without spaces")
                }
            } else {
                object[field] = previous[field] ?? .string(newSubscriptionKey())
            }
        }
        return (JSONDocument.data(object), "subscription \(id) set (scope \(scopeText.prefix(100)), state \(state))")
    }
}
