import ConfigurationStore
import Foundation
import Gateway
import GatewayConfiguration

/// Turns the store's documents into a `GatewayConfig` exactly as a YAML file becomes one: it writes
/// the document a YAML file would hold (JSON is YAML) and the files that document names
/// (certificates, keys, policies: content-addressed, owner-only, under `<data>/files`), then runs the
/// YAML loader and `ConfigurationCheck.check` — the checks of `drawbridge check`. Messages name
/// resources (`policies/api:echo:3:17: …`) instead of those files.
public struct StoreMaterializer: Sendable {
    /// Top-level fields of the `settings/gateway` document (the YAML configuration's own).
    static let settingsKeys: Set<String> = ["listen", "defaultHostname", "limits", "backend", "accessLog", "traceLog", "tracing", "operations", "policies"]
    /// The fields of `policies:` that settings may set (the rest are resources of their own).
    static let settingsPolicyKeys: Set<String> = ["skipUnsupported", "revocation", "managedIdentityEndpoint", "entraAuthority", "daprSidecar"]

    public struct Result: Sendable {
        /// The configuration, when nothing is wrong with it.
        public var config: GatewayConfig?
        public var errors: [String]
        public var warnings: [String]
        /// The configuration document handed to the loader (secrets included: never log it).
        public var document: String
        /// The files it names.
        public var files: Set<String> = []
    }

    public let filesDirectory: String
    /// Applied to the loaded configuration before the checks (listen and operations addresses
    /// from the command line).
    public let adjust: @Sendable (inout GatewayConfig) -> Void

    public init(dataDirectory: String, adjust: @escaping @Sendable (inout GatewayConfig) -> Void = { _ in }) {
        // (Absolute: the loader resolves relative paths against the document's folder.)
        let absolute = URL(fileURLWithPath: dataDirectory).standardizedFileURL.path
        self.filesDirectory = (absolute as NSString).appendingPathComponent("files")
        self.adjust = adjust
    }

    public func materialize(_ contents: StoreContents, now: Date = Date()) -> Result {
        var files = FileWriter(directory: filesDirectory)
        var errors: [String] = []
        func refer(_ reference: String, from what: String) -> String? {
            // "@kind/id": the file of a stored certificate, CA certificate, CRL, policy or fragment.
            let parts = reference.dropFirst().split(separator: "/", maxSplits: 1).map(String.init)
            guard parts.count == 2, let kind = ResourceKind(rawValue: parts[0]), let resource = contents[kind, parts[1]] else {
                errors.append("\(what): '\(reference)' names no stored resource (@kind/id)")
                return nil
            }
            return files.file(for: resource)
        }
        func resolve(_ value: JSONValue, _ what: String) -> JSONValue {
            switch value {
            case .string(let text) where text.hasPrefix("@") && text.contains("/"):
                return refer(text, from: what).map(JSONValue.string) ?? value
            case .array(let items): return .array(items.map { resolve($0, what) })
            case .object(let object): return .object(object.mapValues { resolve($0, what) })
            default: return value
            }
        }

        var top: JSONDocument.Object = [:]
        var policies: JSONDocument.Object = [:]
        if let settings = contents[.settings, "gateway"] {
            for (key, value) in JSONDocument.object(settings.document) where key != "policies" { top[key] = resolve(value, "settings") }
            if let settingsPolicies = JSONDocument.object(settings.document)["policies"]?.objectValue {
                for (key, value) in settingsPolicies {
                    // (References such as "@crls/<id>" in revocation.crlFiles are resolved here too.)
                    if Self.settingsPolicyKeys.contains(key) { policies[key] = resolve(value, "settings") } else {
                        errors.append("settings: policies.\(key) is a resource of its own (only \(Self.settingsPolicyKeys.sorted().joined(separator: ", ")) here)")
                    }
                }
            }
        }

        // operations.tls: 'certificate' names an uploaded certificate with its key, 'adminClientCAs'
        // uploaded CA certificates (the YAML file names files).
        if case .object(var operations)? = top["operations"], case .object(var tls)? = operations["tls"] {
            if let id = tls["certificate"]?.stringValue {
                if let certificate = contents[.certificates, id] {
                    tls["certificate"] = .string(files.file(for: certificate))
                    if let key = files.keyFile(for: certificate) { tls["key"] = .string(key) } else {
                        errors.append("settings: operations.tls: certificates/\(id) has no private key")
                    }
                } else {
                    errors.append("settings: operations.tls: certificate '\(id)' is not uploaded (certificates/\(id))")
                }
            }
            if case .array(let ids)? = tls["adminClientCAs"] {
                tls["adminClientCAs"] = .array(ids.compactMap { item in
                    guard let id = item.stringValue, let ca = contents[.caCertificates, id] else {
                        errors.append("settings: operations.tls: admin client CA '\(item.stringValue ?? "?")' is not uploaded (ca-certificates/<id>)")
                        return nil
                    }
                    return .string(files.file(for: ca))
                })
            }
            operations["tls"] = .object(tls)
            top["operations"] = .object(operations)
        }

        let caFiles = contents.all(.caCertificates).map { files.file(for: $0) }
        var hostnames: [JSONValue] = []
        for resource in contents.all(.hostnames) {
            var entry = JSONDocument.object(resource.document).mapValues { resolve($0, "hostnames/\(resource.key.id)") }
            entry["name"] = .string(resource.key.id)
            if let id = entry["certificate"]?.stringValue {
                if let certificate = contents[.certificates, id] {
                    entry["certificate"] = .string(files.file(for: certificate))
                    if let key = files.keyFile(for: certificate) {
                        entry["key"] = .string(key)
                    } else {
                        errors.append("hostnames/\(resource.key.id): certificates/\(id) has no private key (upload it with 'key' or as a PFX)")
                    }
                } else {
                    errors.append("hostnames/\(resource.key.id): certificate '\(id)' is not uploaded (certificates/\(id))")
                }
            }
            // Which CA certificates client certificates must chain to: the ones named, or every
            // uploaded CA certificate (as APIM's instance-wide CA store).
            if case .array(let ids)? = entry["trustedCAs"] {
                entry["trustedCAs"] = .array(ids.compactMap { item in
                    guard let id = item.stringValue else { return nil }
                    guard let ca = contents[.caCertificates, id] else {
                        errors.append("hostnames/\(resource.key.id): trusted CA '\(id)' is not uploaded (ca-certificates/\(id))")
                        return nil
                    }
                    return .string(files.file(for: ca))
                })
            } else if !caFiles.isEmpty {
                entry["trustedCAs"] = .array(caFiles.map(JSONValue.string))
            }
            hostnames.append(.object(entry))
        }
        top["hostnames"] = .array(hostnames)

        var apis: [JSONValue] = []
        var usedPolicies = Set<String>(["global"])
        for resource in contents.all(.apis) {
            let name = resource.key.id
            var entry = JSONDocument.object(resource.document).mapValues { resolve($0, "apis/\(name)") }
            entry["name"] = .string(name)
            // `openapiDocument` (the description's YAML or JSON text) becomes the file `openapi:` names.
            if let text = entry.removeValue(forKey: "openapiDocument")?.stringValue {
                entry["openapi"] = .string(files.file(text: text, extension: "openapi", label: "apis/\(name) (openapiDocument)"))
            }
            if let policy = contents[.policies, "api:\(name)"] {
                entry["policy"] = .string(files.file(for: policy))
                usedPolicies.insert(policy.key.id)
            }
            if case .array(let operations)? = entry["operations"] {
                entry["operations"] = .array(operations.map { operation in
                    guard var object = operation.objectValue else { return operation }
                    let method = object["method"]?.stringValue?.uppercased() ?? ""
                    let template = object["template"]?.stringValue ?? ""
                    let operationName = object["name"]?.stringValue ?? "\(method) \(template.hasPrefix("/") ? template : "/" + template)"
                    if let policy = contents[.policies, "operation:\(name):\(operationName)"] {
                        object["policy"] = .string(files.file(for: policy))
                        usedPolicies.insert(policy.key.id)
                    }
                    return .object(object)
                })
            }
            apis.append(.object(entry))
        }
        top["apis"] = .array(apis)

        var products: [JSONValue] = []
        for resource in contents.all(.products) {
            var entry = JSONDocument.object(resource.document)
            entry["id"] = .string(resource.key.id)
            if let policy = contents[.policies, "product:\(resource.key.id)"] {
                entry["policy"] = .string(files.file(for: policy))
                usedPolicies.insert(policy.key.id)
            }
            products.append(.object(entry))
        }
        if !products.isEmpty { top["products"] = .array(products) }
        var subscriptions: [JSONValue] = []
        for resource in contents.all(.subscriptions) {
            var entry = JSONDocument.object(resource.document)
            entry["id"] = .string(resource.key.id)
            subscriptions.append(.object(entry))
        }
        if !subscriptions.isEmpty { top["subscriptions"] = .array(subscriptions) }

        for policy in contents.all(.policies) where !usedPolicies.contains(policy.key.id) {
            errors.append("policies/\(policy.key.id): no such scope (global, product:<product>, api:<api>, operation:<api>:<operation name>)")
        }

        if let global = contents[.policies, "global"] { policies["global"] = .string(files.file(for: global)) }
        var fragments: JSONDocument.Object = [:]
        for fragment in contents.all(.fragments) { fragments[fragment.key.id] = .string(files.file(for: fragment)) }
        if !fragments.isEmpty { policies["fragments"] = .object(fragments) }
        var namedValues: JSONDocument.Object = [:]
        for value in contents.all(.namedValues) {
            let document = JSONDocument.object(value.document)
            namedValues[value.key.id] = .object(["value": document["value"] ?? .string(""), "secret": document["secret"] ?? .bool(false)])
        }
        if !namedValues.isEmpty { policies["namedValues"] = .object(namedValues) }
        var certificates: JSONDocument.Object = [:]
        for certificate in contents.all(.certificates) { certificates[certificate.key.id] = .string(files.file(for: certificate)) }
        if !certificates.isEmpty { policies["certificates"] = .object(certificates) }
        var backends: JSONDocument.Object = [:]
        for backend in contents.all(.backends) { backends[backend.key.id] = JSONDocument.object(backend.document)["url"] ?? .string("") }
        if !backends.isEmpty { policies["backends"] = .object(backends) }
        var loggers: JSONDocument.Object = [:]
        for logger in contents.all(.loggers) {
            var document = JSONDocument.object(logger.document)
            document["description"] = nil
            loggers[logger.key.id] = .object(document)
        }
        if !loggers.isEmpty { policies["loggers"] = .object(loggers) }
        if !policies.isEmpty { top["policies"] = .object(policies) }

        let document = String(decoding: JSONDocument.data(top, pretty: true), as: UTF8.self)
        errors += files.errors
        let label = files.labels
        let written = Set(label.keys)
        guard errors.isEmpty else { return Result(config: nil, errors: errors, warnings: [], document: document, files: written) }
        func relabel(_ text: String) -> String {
            var text = text
            for (path, name) in label { text = text.replacingOccurrences(of: path, with: name) }
            return text
        }
        let (loaded, loadErrors) = GatewayConfigLoader.parseStoreDocument(yaml: document, file: "configuration", baseDirectory: filesDirectory)
        guard var config = loaded else {
            return Result(config: nil, errors: loadErrors.map { relabel($0.description) }, warnings: [], document: document, files: written)
        }
        adjust(&config)
        let findings = ConfigurationCheck.check(config, file: "configuration", now: now)
        var failed = findings.filter { $0.severity == .error }.map { relabel($0.message) }
        // (`check` compiles routes and policies per hostname; with none, build the snapshot alone.)
        if config.hostnames.isEmpty {
            do { _ = try GatewaySnapshot(config: config) } catch { failed.append(relabel("\(error)")) }
        }
        let warnings = findings.filter { $0.severity == .warning }.map { relabel($0.message) }
        return Result(config: failed.isEmpty ? config : nil, errors: failed, warnings: warnings, document: document, files: written)
    }

    /// Removes the files of `filesDirectory` that `files` does not name: those of replaced
    /// resources and of refused changes (private keys among them) do not stay on disk.
    public func prune(keeping files: Set<String>) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: filesDirectory) else { return }
        for name in names {
            let path = (filesDirectory as NSString).appendingPathComponent(name)
            if !files.contains(path) { try? FileManager.default.removeItem(atPath: path) }
        }
    }
}
