import ClientCertificates
import ConfigurationStore
import Foundation
import GatewayConfiguration

/// `drawbridge config import`: a checked `GatewayConfig` (from YAML) as store documents, the files
/// it names read in. Server certificates become `certificates/hostname-<name>`, CA certificates
/// `ca-certificates/ca-<thumbprint>`, and every hostname lists its trusted CAs explicitly, so the
/// store serves what the file served.
public enum StoreImporter {
    public static func documents(for config: GatewayConfig) throws -> [ResourceKey: Data] {
        // The credential manager has no store resource yet: refuse rather than drop it (and its secrets) silently.
        guard config.policies.credentialProviders.isEmpty else {
            throw AdminError.badRequest(
                "policies.credentialProviders cannot be imported into the configuration store yet; serve that configuration from its YAML file")
        }
        var documents: [ResourceKey: Data] = [:]
        func put(_ kind: ResourceKind, _ id: String, _ object: JSONDocument.Object) { documents[ResourceKey(kind, id)] = JSONDocument.data(object) }
        func read(_ path: String) throws -> String {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw AdminError.badRequest("cannot read \(path) as UTF-8 text")
            }
            return text
        }
        func certificatesDocument(_ path: String) throws -> JSONDocument.Object {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            let chain = try CertificateLoader.load(Array(bytes))
            return ["pem": .string(chain.map { PEMText.encode($0.rawData, label: "CERTIFICATE") }.joined())]
        }
        /// Each CA certificate of the files, stored once; returns their ids.
        func caIDs(_ files: [String]) throws -> [String] {
            var ids: [String] = []
            for file in files {
                for ca in try CertificateLoader.load(pem: try read(file)) {
                    let id = "ca-" + ca.thumbprint.prefix(16).lowercased()
                    put(.caCertificates, id, ["pem": .string(PEMText.encode(ca.rawData, label: "CERTIFICATE")),
                                              "storeName": .string(ca.subject == ca.issuer ? "Root" : "CertificateAuthority")])
                    if !ids.contains(id) { ids.append(id) }
                }
            }
            return ids
        }

        /// Each CRL file, stored once (DER); returns references to them ("@crls/<id>").
        func crlReferences(_ files: [String]) throws -> [JSONValue] {
            try files.map { file in
                let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
                let crl: CertificateRevocationList
                do { crl = try CertificateRevocationList(bytes: Array(bytes)) } catch {
                    throw AdminError.badRequest("\(file) is not a CRL: \(error)")
                }
                let der = Data(crl.rawData)
                let id = "crl-" + DocumentDigest.etag(der).prefix(16).lowercased()
                put(.crls, id, ["der": .string(der.base64EncodedString())])
                return .string("@crls/\(id)")
            }
        }

        for hostname in config.hostnames {
            let certificateID = "hostname-" + hostname.normalizedName.replacingOccurrences(of: "*", with: "wildcard")
            var upload: JSONDocument.Object
            switch hostname.serverCertificate {
            case .pem(let certificateFile, let keyFile):
                upload = ["pem": .string(try read(certificateFile)), "key": .string(try read(keyFile))]
            case .pkcs12(let file, let password):
                upload = ["pfx": .string(try Data(contentsOf: URL(fileURLWithPath: file)).base64EncodedString()), "password": .string(password)]
            }
            let parsed = try CertificateUpload.parse(upload, what: "hostname '\(hostname.name)'")
            var certificate: JSONDocument.Object = ["pem": .string(parsed.chainPEM)]
            if let key = parsed.keyPEM { certificate["key"] = .string(key) }
            put(.certificates, certificateID, certificate)
            put(.hostnames, hostname.normalizedName, [
                "certificate": .string(certificateID),
                "clientCertificate": .string(hostname.clientCertificate.rawValue),
                "trustedCAs": .array(try caIDs(hostname.trustedCAFiles).map(JSONValue.string)),
                "http2": .bool(hostname.http2),
            ])
            if !hostname.crlFiles.isEmpty || hostname.revocationMethod != nil {
                var entry = JSONDocument.object(documents[ResourceKey(.hostnames, hostname.normalizedName)] ?? Data())
                if !hostname.crlFiles.isEmpty { entry["crlFiles"] = .array(try crlReferences(hostname.crlFiles)) }
                if let method = hostname.revocationMethod { entry["revocationMethod"] = .string(method.rawValue) }
                put(.hostnames, hostname.normalizedName, entry)
            }
        }

        for api in config.apis {
            var document: JSONDocument.Object = [
                "path": .string(api.pathPrefix), "backend": .string(api.backendURL),
                "requireTrustedClientCertificate": .bool(api.requireTrustedClientCertificate),
            ]
            if api.subscriptionRequired { document["subscriptionRequired"] = .bool(true) }
            if api.forwardSubscriptionKey { document["forwardSubscriptionKey"] = .bool(true) }
            if api.subscriptionKeyNames != SubscriptionKeyNames() {
                document["subscriptionKeyParameterNames"] = .object(["header": .string(api.subscriptionKeyNames.header),
                                                                     "query": .string(api.subscriptionKeyNames.query)])
            }
            if !api.hostnames.isEmpty { document["hostnames"] = .array(api.hostnames.map(JSONValue.string)) }
            if !api.operations.isEmpty {
                document["operations"] = .array(api.operations.map { operation in
                    .object(["name": .string(operation.name), "method": .string(operation.method), "template": .string(operation.urlTemplate)])
                })
            }
            // The API's OpenAPI description travels as its text (the store holds no files).
            if let file = api.openAPIFile { document["openapiDocument"] = .string(try read(file)) }
            put(.apis, api.name, document)
            if let file = api.policyFile { put(.policies, "api:\(api.name)", ["xml": .string(try read(file))]) }
            for operation in api.operations {
                if let file = operation.policyFile { put(.policies, "operation:\(api.name):\(operation.name)", ["xml": .string(try read(file))]) }
            }
        }

        for product in config.products {
            put(.products, product.id, ["name": .string(product.name), "apis": .array(product.apis.map(JSONValue.string)),
                                        "subscriptionRequired": .bool(product.subscriptionRequired)])
            if let file = product.policyFile { put(.policies, "product:\(product.id)", ["xml": .string(try read(file))]) }
        }
        for subscription in config.subscriptions {
            var document: JSONDocument.Object = [
                "name": .string(subscription.name), "scope": .string(subscription.scope.description),
                "primaryKey": .string(subscription.primaryKey), "secondaryKey": .string(subscription.secondaryKey),
                "state": .string(subscription.state.rawValue),
            ]
            if let start = subscription.startDate { document["startDate"] = .string(UTCTimestamp.iso8601(start)) }
            if let end = subscription.endDate { document["endDate"] = .string(UTCTimestamp.iso8601(end)) }
            put(.subscriptions, subscription.id, document)
        }

        let policies = config.policies
        if !policies.schemaFiles.isEmpty {
            throw AdminError.badRequest("policies.schemas is not kept by the configuration store yet (YAML configuration only)")
        }
        if let global = policies.globalFile { put(.policies, "global", ["xml": .string(try read(global))]) }
        for (id, file) in policies.fragmentFiles { put(.fragments, id, ["xml": .string(try read(file))]) }
        for (name, value) in policies.namedValues {
            put(.namedValues, name, ["value": .string(value), "secret": .bool(policies.secretNamedValues.contains(name))])
        }
        for (id, file) in policies.certificateFiles { put(.certificates, id, try certificatesDocument(file)) }
        for (id, url) in policies.backendURLs { put(.backends, id, ["url": .string(url)]) }
        for (id, logger) in policies.loggers {
            // (A `{{named value}}` was resolved by the loader: the imported logger holds the key itself.)
            var document: JSONDocument.Object = [
                "queueSize": .integer(logger.queueSize), "batchSize": .integer(logger.batchSize), "overflow": .string(logger.overflow.rawValue),
            ]
            switch logger.sink {
            case .eventHub(let target):
                document["eventHub"] = .object(["namespace": .string(target.host), "name": .string(target.hub),
                                                "keyName": .string(target.keyName), "key": .string(target.key)])
            case .file(let path): document["file"] = .string(path)
            case .stdout: document["stdout"] = .bool(true)
            }
            put(.loggers, id, document)
        }

        var settings: JSONDocument.Object = [
            "listen": .object(["address": .string(config.listen.address), "port": .integer(config.listen.port)]),
            "accessLog": config.accessLog ? .string(config.accessLogFormat.rawValue) : .bool(false),
            "operations": .object(["address": .string(config.operations.address), "port": .integer(config.operations.port),
                                   "enabled": .bool(config.operations.enabled)]),
        ]
        if let name = config.defaultHostname { settings["defaultHostname"] = .string(name) }
        let limits = config.limits
        settings["limits"] = .object([
            "maxHeaderBytes": .integer(limits.maxHeaderBytes), "maxHeaderCount": .integer(limits.maxHeaderCount),
            "maxRequestTargetBytes": .integer(limits.maxRequestTargetBytes), "headerReadTimeout": .number(limits.headerReadTimeout),
            "bodyReadTimeout": .number(limits.bodyReadTimeout), "idleTimeout": .number(limits.idleTimeout),
            "handshakeTimeout": .number(limits.handshakeTimeout), "maxConnections": .integer(limits.maxConnections),
            "maxConcurrentStreams": .integer(limits.maxConcurrentStreams), "drainGracePeriod": .number(limits.drainGracePeriod),
        ])
        var backend: JSONDocument.Object = [
            "timeout": .number(config.backend.timeout), "connectTimeout": .number(config.backend.connectTimeout),
            "maxConnectionsPerHost": .integer(config.backend.maxConnectionsPerHost),
        ]
        if !config.backend.trustedCAFiles.isEmpty {
            backend["trustedCAs"] = .array(try caIDs(config.backend.trustedCAFiles).map { .string("@ca-certificates/\($0)") })
        }
        settings["backend"] = .object(backend)
        var revocation: JSONDocument.Object = [
            "mode": .string(policies.revocation.failOpen ? "fail-open" : "fail-closed"),
            "scope": .string(policies.revocation.leafOnly ? "leaf" : "chain"),
            "fetchTimeout": .number(policies.revocation.fetchTimeout),
            "method": .string(policies.revocation.method.rawValue),
        ]
        if !policies.revocation.crlFiles.isEmpty { revocation["crlFiles"] = .array(try crlReferences(policies.revocation.crlFiles)) }
        var settingsPolicies: JSONDocument.Object = [
            "skipUnsupported": .bool(policies.skipUnsupported),
            "revocation": .object(revocation),
        ]
        // authentication-managed-identity's token endpoint and validate-azure-ad-token's authority.
        if let endpoint = policies.managedIdentityEndpoint { settingsPolicies["managedIdentityEndpoint"] = .string(endpoint) }
        if let authority = policies.entraAuthority { settingsPolicies["entraAuthority"] = .string(authority) }
        if let sidecar = policies.daprSidecar { settingsPolicies["daprSidecar"] = .string(sidecar) }
        settings["policies"] = .object(settingsPolicies)
        let traceLog = config.traceLog
        if traceLog != TraceLogConfig() {
            var document: JSONDocument.Object = [
                "severity": .string(traceLog.severity.rawValue), "perSecond": .integer(traceLog.perSecond),
            ]
            if !traceLog.sources.isEmpty { document["sources"] = .object(traceLog.sources.mapValues { .string($0.rawValue) }) }
            settings["traceLog"] = .object(document)
        }
        if let tracing = config.tracing {
            settings["tracing"] = .object([
                "endpoint": .string(tracing.endpoint), "protocol": .string(tracing.wireFormat.rawValue),
                "serviceName": .string(tracing.serviceName), "exportInterval": .number(tracing.exportInterval),
            ])
        }
        put(.settings, "gateway", settings)
        return documents
    }

    /// The operations that make the store hold exactly `documents` (one atomic change).
    public static func replacing(_ contents: StoreContents, with documents: [ResourceKey: Data]) -> [StoreOperation] {
        var operations: [StoreOperation] = []
        for key in contents.resources.keys.sorted(by: { $0.description < $1.description }) where documents[key] == nil {
            operations.append(.delete(key))
        }
        for (key, document) in documents.sorted(by: { $0.key.description < $1.key.description }) where contents.resources[key]?.document != document {
            operations.append(.put(key, document: document))
        }
        return operations
    }
}
