import ClientCertificates
import Foundation
import Yams

/// Reads a gateway configuration from YAML, resolving relative file paths against the file's folder,
/// and validates it as a whole. Nothing is half-loaded: either a complete `GatewayConfig` or an error.
public enum GatewayConfigLoader {
    public static func load(path: String) throws -> GatewayConfig {
        try load(path: path, sink: nil)
    }

    /// Reads the configuration and returns every error found (not only the first): each hostname,
    /// API and section is read on its own, so one mistake does not hide the next. `config` is nil
    /// when there is any error. (`drawbridge check`.)
    public static func loadCollectingErrors(path: String) -> (config: GatewayConfig?, errors: [ConfigurationError]) {
        let sink = ConfigurationErrorSink()
        do {
            let config = try load(path: path, sink: sink)
            return sink.errors.isEmpty ? (config, []) : (nil, sink.errors)
        } catch let error as ConfigurationError {
            return (nil, sink.errors + [error])
        } catch {
            return (nil, sink.errors + [ConfigurationError(file: path, message: "\(error)")])
        }
    }

    static func load(path: String, sink: ConfigurationErrorSink?) throws -> GatewayConfig {
        let url = URL(fileURLWithPath: path)
        let text: String
        do {
            let data = try Data(contentsOf: url)
            guard data.count <= 16 * 1024 * 1024 else {
                throw ConfigurationError(file: path, message: "configuration file is larger than 16 MiB")
            }
            guard let decoded = String(data: data, encoding: .utf8) else {
                throw ConfigurationError(file: path, message: "configuration file is not valid UTF-8")
            }
            text = decoded
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw ConfigurationError(file: path, message: "cannot read configuration file: \(error.localizedDescription)")
        }
        return try parse(yaml: text, file: path, baseDirectory: url.deletingLastPathComponent().path, sink: sink)
    }

    public static func parse(yaml: String, file: String, baseDirectory: String) throws -> GatewayConfig {
        try parse(yaml: yaml, file: file, baseDirectory: baseDirectory, sink: nil)
    }

    /// As `parse`, for a configuration store: an empty `hostnames` list is allowed (a store starts
    /// empty; the gateway then refuses every handshake), and every error is returned.
    public static func parseStoreDocument(yaml: String, file: String, baseDirectory: String) -> (config: GatewayConfig?, errors: [ConfigurationError]) {
        let sink = ConfigurationErrorSink()
        do {
            let config = try parse(yaml: yaml, file: file, baseDirectory: baseDirectory, sink: sink, allowNoHostnames: true)
            return sink.errors.isEmpty ? (config, []) : (nil, sink.errors)
        } catch let error as ConfigurationError {
            return (nil, sink.errors + [error])
        } catch {
            return (nil, sink.errors + [ConfigurationError(file: file, message: "\(error)")])
        }
    }

    static func parse(yaml: String, file: String, baseDirectory: String, sink: ConfigurationErrorSink?,
                      allowNoHostnames: Bool = false) throws -> GatewayConfig {
        /// Runs one independent part: with a sink, its error is recorded and reading goes on.
        func part(_ body: () throws -> Void) throws {
            do {
                try body()
            } catch let error as ConfigurationError {
                guard let sink else { throw error }
                sink.errors.append(error)
            }
        }
        let root: Node
        do {
            // The basic resolver: every scalar stays text and YAMLReader converts what it reads (the
            // default resolver compiles NSRegularExpressions, which loads ICU: ≈ 2.7 MB resident).
            guard let node = try Yams.compose(yaml: yaml, Resolver.basic) else {
                throw ConfigurationError(file: file, message: "configuration is empty")
            }
            root = node
        } catch let error as ConfigurationError {
            throw error
        } catch let error as YamlError {
            throw ConfigurationError(file: file, message: "invalid YAML: \(error)")
        } catch {
            throw ConfigurationError(file: file, message: "invalid YAML: \(error)")
        }
        let reader = YAMLReader(file: file)
        let resolve = { (relative: String) -> String in
            relative.hasPrefix("/") ? relative : (baseDirectory as NSString).appendingPathComponent(relative)
        }
        let top = try reader.mapping(
            root, "configuration",
            allowedKeys: ["listen", "hostnames", "defaultHostname", "apis", "limits", "backend", "accessLog", "policies", "operations",
                          "products", "subscriptions", "traceLog", "tracing"])

        var listen = ListenConfig()
        if let node = top["listen"] {
            try part {
                let map = try reader.mapping(node, "listen", allowedKeys: ["address", "port"])
                if let address = map["address"] { listen.address = try reader.nonEmptyString(address, "listen.address") }
                if let port = map["port"] { listen.port = try reader.integer(port, "listen.port", range: 0...65535) }
            }
        }

        guard let hostnamesNode = top["hostnames"] else {
            throw reader.error(root, "configuration needs 'hostnames' (at least one TLS host name)")
        }
        var hostnames: [HostnameConfig] = []
        var hostnameNodes: [String: Node] = [:]
        let errorsBeforeHostnames = sink?.errors.count ?? 0
        for node in try reader.sequence(hostnamesNode, "hostnames") {
            try part {
                let hostname = try parseHostname(node, reader: reader, resolve: resolve)
                if hostnameNodes[hostname.normalizedName] != nil {
                    throw reader.error(node, "hostname '\(hostname.name)' is configured twice")
                }
                hostnameNodes[hostname.normalizedName] = node
                hostnames.append(hostname)
            }
        }
        let hostnamesFailed = (sink?.errors.count ?? 0) > errorsBeforeHostnames
        guard !hostnames.isEmpty || hostnamesFailed || allowNoHostnames else {
            throw reader.error(hostnamesNode, "hostnames must list at least one host name")
        }

        var defaultHostname: String?
        if let node = top["defaultHostname"] {
            try part {
                let name = try reader.nonEmptyString(node, "defaultHostname").lowercased()
                // (Not judged when a hostname entry could not be read: it may be the one named.)
                guard hostnameNodes[name] != nil || hostnamesFailed, !name.hasPrefix("*.") else {
                    throw reader.error(node, "defaultHostname '\(name)' must name one of the configured (non-wildcard) hostnames")
                }
                defaultHostname = name
            }
        }

        var apis: [APIConfig] = []
        var apiNames = Set<String>()
        if let apisNode = top["apis"] {
            for node in try reader.sequence(apisNode, "apis") {
                try part {
                    let api = try parseAPI(node, reader: reader, resolve: resolve)
                    guard apiNames.insert(api.name).inserted else {
                        throw reader.error(node, "API name '\(api.name)' is used twice")
                    }
                    apis.append(api)
                }
            }
        }

        var limits = LimitsConfig()
        if let node = top["limits"] { try part {
            let map = try reader.mapping(node, "limits", allowedKeys: [
                "maxHeaderBytes", "maxHeaderCount", "maxRequestTargetBytes", "headerReadTimeout", "bodyReadTimeout",
                "idleTimeout", "handshakeTimeout", "maxConnections", "maxConcurrentStreams", "drainGracePeriod",
                "tunnelIdleTimeout",
            ])
            if let n = map["maxHeaderBytes"] { limits.maxHeaderBytes = try reader.integer(n, "limits.maxHeaderBytes", range: 1024...(1 << 20)) }
            if let n = map["maxHeaderCount"] { limits.maxHeaderCount = try reader.integer(n, "limits.maxHeaderCount", range: 8...10_000) }
            if let n = map["maxRequestTargetBytes"] { limits.maxRequestTargetBytes = try reader.integer(n, "limits.maxRequestTargetBytes", range: 256...(1 << 20)) }
            if let n = map["headerReadTimeout"] { limits.headerReadTimeout = try reader.duration(n, "limits.headerReadTimeout") }
            if let n = map["bodyReadTimeout"] { limits.bodyReadTimeout = try reader.duration(n, "limits.bodyReadTimeout") }
            if let n = map["idleTimeout"] { limits.idleTimeout = try reader.duration(n, "limits.idleTimeout") }
            if let n = map["tunnelIdleTimeout"] { limits.tunnelIdleTimeout = try reader.duration(n, "limits.tunnelIdleTimeout") }
            if let n = map["handshakeTimeout"] { limits.handshakeTimeout = try reader.duration(n, "limits.handshakeTimeout") }
            if let n = map["maxConnections"] { limits.maxConnections = try reader.integer(n, "limits.maxConnections", range: 1...1_000_000) }
            if let n = map["maxConcurrentStreams"] { limits.maxConcurrentStreams = try reader.integer(n, "limits.maxConcurrentStreams", range: 1...10_000) }
            if let n = map["drainGracePeriod"] { limits.drainGracePeriod = try reader.duration(n, "limits.drainGracePeriod") }
        } }

        var backend = BackendConfig()
        if let node = top["backend"] { try part {
            let map = try reader.mapping(node, "backend", allowedKeys: ["timeout", "connectTimeout", "trustedCAs", "maxConnectionsPerHost"])
            if let n = map["timeout"] { backend.timeout = try reader.duration(n, "backend.timeout") }
            if let n = map["connectTimeout"] { backend.connectTimeout = try reader.duration(n, "backend.connectTimeout") }
            if let n = map["trustedCAs"] { backend.trustedCAFiles = try reader.stringList(n, "backend.trustedCAs").map(resolve) }
            if let n = map["maxConnectionsPerHost"] { backend.maxConnectionsPerHost = try reader.integer(n, "backend.maxConnectionsPerHost", range: 1...10_000) }
        } }

        var accessLog = true
        var accessLogFormat = AccessLogFormat.text
        try part {
            guard let node = top["accessLog"] else { return }
            // true/false (text format), or the format: text, json (off: none).
            switch try reader.string(node, "accessLog").lowercased() {
            case "json": accessLogFormat = .json
            case "text": accessLogFormat = .text
            default: accessLog = try reader.bool(node, "accessLog (true, false, text or json)")
            }
        }

        var operations = OperationsConfig()
        if let node = top["operations"] { try part {
            let map = try reader.mapping(node, "operations", allowedKeys: ["address", "port", "enabled", "tls"])
            if let address = map["address"] { operations.address = try reader.nonEmptyString(address, "operations.address") }
            if let tlsNode = map["tls"] {
                // TLS for the operations listener, and the CAs of admin client certificates.
                let tls = try reader.mapping(tlsNode, "operations.tls", allowedKeys: ["certificate", "key", "adminClientCAs"])
                guard let certificate = tls["certificate"], let key = tls["key"] else {
                    throw reader.error(tlsNode, "operations.tls needs 'certificate' and 'key' (PEM files)")
                }
                operations.tlsCertificateFile = resolve(try reader.nonEmptyString(certificate, "operations.tls.certificate"))
                operations.tlsKeyFile = resolve(try reader.nonEmptyString(key, "operations.tls.key"))
                if let cas = tls["adminClientCAs"] {
                    operations.adminClientCAFiles = try reader.stringList(cas, "operations.tls.adminClientCAs").map(resolve)
                }
            }
            if let port = map["port"] { operations.port = try reader.integer(port, "operations.port", range: 0...65535) }
            if let enabled = map["enabled"] { operations.enabled = try reader.bool(enabled, "operations.enabled") }
            if operations.enabled, operations.port != 0, operations.port == listen.port,
               operations.address == listen.address || operations.address == "0.0.0.0" || listen.address == "0.0.0.0" {
                throw reader.error(node, "operations.port \(operations.port) is the gateway's own port (listen.port)")
            }
        } }

        var traceLog = TraceLogConfig()
        if let node = top["traceLog"] { try part {
            let map = try reader.mapping(node, "traceLog", allowedKeys: ["severity", "sources", "perSecond"])
            func severity(_ node: Node, _ what: String) throws -> TraceLogConfig.Severity {
                let text = try reader.string(node, what)
                guard let value = TraceLogConfig.Severity(rawValue: text.lowercased()) else {
                    throw reader.error(node, "\(what) must be verbose, information, error or off (not '\(text)')")
                }
                return value
            }
            if let n = map["severity"] { traceLog.severity = try severity(n, "traceLog.severity") }
            if let n = map["sources"] {
                for (source, value) in try reader.mappingOfAnyKeys(n, "traceLog.sources") {
                    traceLog.sources[source] = try severity(value, "traceLog.sources.\(source)")
                }
            }
            if let n = map["perSecond"] { traceLog.perSecond = try reader.integer(n, "traceLog.perSecond", range: 1...100_000) }
        } }

        var tracing: TracingConfig?
        if let node = top["tracing"] { try part {
            let map = try reader.mapping(node, "tracing", allowedKeys: ["endpoint", "protocol", "serviceName", "exportInterval"])
            guard let endpointNode = map["endpoint"] else {
                throw reader.error(node, "tracing.endpoint is required (the collector's OTLP/HTTP URL, e.g. http://127.0.0.1:4318)")
            }
            let endpoint = try reader.string(endpointNode, "tracing.endpoint")
            guard let url = URL(string: endpoint), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
                  let host = url.host, !host.isEmpty, url.query == nil else {
                throw reader.error(endpointNode, "tracing.endpoint must be an absolute http:// or https:// URL without a query (not '\(endpoint)')")
            }
            var config = TracingConfig(endpoint: endpoint)
            if let n = map["protocol"] {
                let text = try reader.string(n, "tracing.protocol")
                guard let format = TracingConfig.WireFormat(rawValue: text.lowercased()) else {
                    throw reader.error(n, "tracing.protocol must be http/protobuf or http/json (not '\(text)'; OTLP/gRPC is not built in)")
                }
                config.wireFormat = format
            }
            if let n = map["serviceName"] {
                let name = try reader.string(n, "tracing.serviceName")
                guard !name.isEmpty, name.utf8.count <= 256 else { throw reader.error(n, "tracing.serviceName must be 1 to 256 bytes") }
                config.serviceName = name
            }
            if let n = map["exportInterval"] {
                let seconds = try reader.duration(n, "tracing.exportInterval")
                guard seconds >= 0.01, seconds <= 3600 else { throw reader.error(n, "tracing.exportInterval must be between 10ms and 1h") }
                config.exportInterval = seconds
            }
            tracing = config
        } }

        var policies = PolicySettings()
        if let node = top["policies"] { try part {
            let map = try reader.mapping(node, "policies", allowedKeys: [
                "global", "fragments", "namedValues", "skipUnsupported", "certificates", "revocation", "backends",
                "managedIdentityEndpoint", "entraAuthority", "loggers", "daprSidecar", "credentialProviders", "schemas",
            ])
            for key in ["managedIdentityEndpoint", "entraAuthority", "daprSidecar"] {
                guard let n = map[key] else { continue }
                let text = try reader.nonEmptyString(n, "policies.\(key)")
                guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme), url.host != nil
                else { throw reader.error(n, "policies.\(key) must be an absolute http:// or https:// URL, got '\(text)'") }
                switch key {
                case "managedIdentityEndpoint": policies.managedIdentityEndpoint = text
                case "daprSidecar": policies.daprSidecar = text
                default: policies.entraAuthority = text
                }
            }
            if let n = map["global"] { policies.globalFile = resolve(try reader.nonEmptyString(n, "policies.global")) }
            if let n = map["fragments"] {
                let fragments = try reader.mappingOfAnyKeys(n, "policies.fragments")
                for (id, file) in fragments { policies.fragmentFiles[id] = resolve(try reader.nonEmptyString(file, "fragment '\(id)'")) }
            }
            if let n = map["namedValues"] {
                for (name, valueNode) in try reader.mappingOfAnyKeys(n, "policies.namedValues") {
                    if valueNode.mapping != nil {
                        let entry = try reader.mapping(valueNode, "named value '\(name)'", allowedKeys: ["value", "secret"])
                        guard let value = entry["value"] else { throw reader.error(valueNode, "named value '\(name)' needs 'value'") }
                        policies.namedValues[name] = try reader.string(value, "named value '\(name)'")
                        if try entry["secret"].map({ try reader.bool($0, "secret") }) ?? false { policies.secretNamedValues.insert(name) }
                    } else {
                        policies.namedValues[name] = try reader.string(valueNode, "named value '\(name)'")
                    }
                }
            }
            if let n = map["skipUnsupported"] { policies.skipUnsupported = try reader.bool(n, "policies.skipUnsupported") }
            if let n = map["revocation"] {
                let revocation = try reader.mapping(n, "policies.revocation", allowedKeys: ["mode", "scope", "fetchTimeout", "crlFiles", "method", "crlFileCheck"])
                if let mode = revocation["mode"] {
                    switch try reader.string(mode, "revocation mode") {
                    case "fail-closed": policies.revocation.failOpen = false
                    case "fail-open": policies.revocation.failOpen = true
                    case let other: throw reader.error(mode, "revocation mode must be fail-closed or fail-open, got '\(other)'")
                    }
                }
                if let scope = revocation["scope"] {
                    switch try reader.string(scope, "revocation scope") {
                    case "chain": policies.revocation.leafOnly = false
                    case "leaf": policies.revocation.leafOnly = true
                    case let other: throw reader.error(scope, "revocation scope must be chain or leaf, got '\(other)'")
                    }
                }
                if let timeout = revocation["fetchTimeout"] { policies.revocation.fetchTimeout = try reader.duration(timeout, "revocation fetchTimeout") }
                if let method = revocation["method"] { policies.revocation.method = try revocationMethod(method, reader: reader) }
                if let check = revocation["crlFileCheck"] {
                    // 0 (or "off") turns the check off.
                    let text = try reader.string(check, "revocation crlFileCheck")
                    policies.revocation.crlFileCheck = text == "0" || text == "off" ? 0 : try reader.duration(check, "revocation crlFileCheck")
                }
                if let files = revocation["crlFiles"] {
                    policies.revocation.crlFiles = try reader.stringList(files, "policies.revocation.crlFiles").map(resolve)
                }
            }
            if let n = map["backends"] {
                for (id, urlNode) in try reader.mappingOfAnyKeys(n, "policies.backends") {
                    let text = try reader.nonEmptyString(urlNode, "backend '\(id)'")
                    guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme), url.host != nil
                    else { throw reader.error(urlNode, "backend '\(id)' must be an absolute http:// or https:// URL, got '\(text)'") }
                    policies.backendURLs[id] = text
                }
            }
            if let n = map["schemas"] {
                for (id, fileNode) in try reader.mappingOfAnyKeys(n, "policies.schemas") {
                    let file = resolve(try reader.nonEmptyString(fileNode, "schema '\(id)'"))
                    policies.schemaFiles[id] = file
                    policies.schemas[id] = try SchemaDocumentReader.namedSchema(id: id, path: file)
                }
            }
            if let n = map["loggers"] {
                policies.loggers = try parseLoggers(n, reader: reader, resolve: resolve, namedValues: policies.namedValues)
            }
            if let n = map["credentialProviders"] {
                policies.credentialProviders = try parseCredentialProviders(n, reader: reader, namedValues: policies.namedValues)
            }
            if let n = map["certificates"] {
                for (id, entry) in try reader.mappingOfAnyKeys(n, "policies.certificates") {
                    guard entry.mapping != nil else {
                        policies.certificateFiles[id] = resolve(try reader.nonEmptyString(entry, "certificate '\(id)'"))
                        continue
                    }
                    // { certificate, key?, password? }: password may name a named value as {{name}}.
                    let fields = try reader.mapping(entry, "certificate '\(id)'", allowedKeys: ["certificate", "key", "password"])
                    guard let file = fields["certificate"] else {
                        throw reader.error(entry, "certificate '\(id)' needs 'certificate' (a PEM, DER or PKCS#12 file)")
                    }
                    policies.certificateFiles[id] = resolve(try reader.nonEmptyString(file, "certificate '\(id)'"))
                    if let key = fields["key"] { policies.certificateKeyFiles[id] = resolve(try reader.nonEmptyString(key, "key of certificate '\(id)'")) }
                    if let passwordNode = fields["password"] {
                        let password = try reader.string(passwordNode, "password of certificate '\(id)'")
                        if password.hasPrefix("{{"), password.hasSuffix("}}"), password.count > 4 {
                            let name = String(password.dropFirst(2).dropLast(2)).trimmingCharacters(in: .whitespaces)
                            guard let value = policies.namedValues[name] else {
                                throw reader.error(passwordNode, "password of certificate '\(id)': named value '\(name)' is not defined under policies.namedValues")
                            }
                            policies.certificatePasswords[id] = value
                        } else {
                            policies.certificatePasswords[id] = password
                        }
                    }
                }
            }
        } }

        var products: [ProductConfig] = []
        if let node = top["products"] { try part {
            products = try parseProducts(node, reader: reader, resolve: resolve, apiNames: apiNames)
        } }
        var subscriptions: [SubscriptionConfig] = []
        if let node = top["subscriptions"] { try part {
            // Every declared product id counts as configured here: a product with an error of its
            // own is reported once, not again by each subscription to it.
            let declared = (top["products"]?.sequence.map(Array.init) ?? []).compactMap { $0.mapping?["id"]?.scalar?.string }
            subscriptions = try parseSubscriptions(node, reader: reader, apiNames: apiNames,
                                                   productIDs: Set(products.map(\.id) + declared), namedValues: policies.namedValues)
        } }

        var config = GatewayConfig(
            listen: listen, hostnames: hostnames, defaultHostname: defaultHostname, apis: apis,
            limits: limits, backend: backend, accessLog: accessLog, policies: policies, operations: operations)
        config.accessLogFormat = accessLogFormat
        config.traceLog = traceLog
        config.tracing = tracing
        config.products = products
        config.subscriptions = subscriptions
        return config
    }

    private static func parseHostname(_ node: Node, reader: YAMLReader, resolve: (String) -> String) throws -> HostnameConfig {
        let map = try reader.mapping(node, "hostname", allowedKeys: [
            "name", "certificate", "key", "pkcs12", "password", "clientCertificate", "trustedCAs", "http2", "crlFiles",
            "revocationMethod", "tls",
        ])
        guard let nameNode = map["name"] else { throw reader.error(node, "hostname needs 'name'") }
        let name = try reader.nonEmptyString(nameNode, "hostname name").lowercased()
        try validateHostPattern(name, node: nameNode, reader: reader)

        let source: ServerCertificateSource
        switch (map["certificate"], map["key"], map["pkcs12"]) {
        case let (certificate?, key?, nil):
            source = .pem(
                certificateFile: resolve(try reader.nonEmptyString(certificate, "certificate")),
                keyFile: resolve(try reader.nonEmptyString(key, "key")))
        case let (nil, nil, pkcs12?):
            let password = try map["password"].map { try reader.string($0, "password") } ?? ""
            source = .pkcs12(file: resolve(try reader.nonEmptyString(pkcs12, "pkcs12")), password: password)
        default:
            throw reader.error(node, "hostname '\(name)' needs either 'certificate' and 'key' (PEM) or 'pkcs12' (with 'password')")
        }

        var mode = ClientCertificateMode.off
        if let modeNode = map["clientCertificate"] {
            let text = try reader.string(modeNode, "clientCertificate")
            guard let parsed = ClientCertificateMode(rawValue: text) else {
                throw reader.error(modeNode, "clientCertificate must be off, negotiate or required, got '\(text)'")
            }
            mode = parsed
        }
        let trusted = try map["trustedCAs"].map { try reader.stringList($0, "trustedCAs").map(resolve) } ?? []
        if mode == .required && trusted.isEmpty {
            throw reader.error(node, "hostname '\(name)': clientCertificate 'required' needs 'trustedCAs'")
        }
        let http2 = try map["http2"].map { try reader.bool($0, "http2") } ?? true
        var hostname = HostnameConfig(name: name, serverCertificate: source, clientCertificate: mode, trustedCAFiles: trusted, http2: http2)
        if let method = map["revocationMethod"] { hostname.revocationMethod = try revocationMethod(method, reader: reader) }
        if let tls = map["tls"] { hostname.tls = try tlsProfile(tls, hostname: name, reader: reader) }
        if let files = map["crlFiles"] {
            hostname.crlFiles = try reader.stringList(files, "crlFiles").map(resolve)
            if mode == .off, !hostname.crlFiles.isEmpty {
                throw reader.error(files, "hostname '\(name)': crlFiles need clientCertificate negotiate or required")
            }
        }
        return hostname
    }

    static func tlsProfile(_ node: Node, hostname: String, reader: YAMLReader) throws -> TLSProfile {
        let map = try reader.mapping(node, "hostname '\(hostname)' tls", allowedKeys: ["minVersion", "cipherSuites", "curves"])
        var profile = TLSProfile()
        if let version = map["minVersion"] {
            let text = try reader.string(version, "tls minVersion")
            guard let parsed = TLSProfile.MinimumVersion(rawValue: text) else {
                throw reader.error(version, "tls minVersion must be 1.2 or 1.3, got '\(text)'")
            }
            profile.minimumVersion = parsed
        }
        if let suites = map["cipherSuites"] {
            // A list, or one OpenSSL-style string separated by ':'.
            let names = try reader.stringList(suites, "tls cipherSuites").flatMap { $0.split(separator: ":").map(String.init) }
            guard !names.isEmpty else { throw reader.error(suites, "tls cipherSuites must name at least one cipher suite") }
            if let unknown = names.first(where: { !TLSProfile.knownCipherSuites.contains($0) }) {
                throw reader.error(suites, "tls cipherSuites: unknown cipher suite '\(unknown)' (known: \(TLSProfile.knownCipherSuites.sorted().joined(separator: ", ")))")
            }
            profile.cipherSuites = names
        }
        if let curves = map["curves"] {
            let names = try reader.stringList(curves, "tls curves").map { $0.lowercased() }
            guard !names.isEmpty else { throw reader.error(curves, "tls curves must name at least one group") }
            if let unknown = names.first(where: { !TLSProfile.knownCurves.contains($0) }) {
                throw reader.error(curves, "tls curves: unknown group '\(unknown)' (known: \(TLSProfile.knownCurves.sorted().joined(separator: ", ")))")
            }
            profile.curves = names
        }
        return profile
    }

    static func revocationMethod(_ node: Node, reader: YAMLReader) throws -> RevocationMethod {
        let text = try reader.string(node, "revocation method")
        guard let method = RevocationMethod(rawValue: text) else {
            throw reader.error(node, "revocation method must be crl, ocsp, ocsp-then-crl or crl-then-ocsp, got '\(text)'")
        }
        return method
    }

    static func validateHostPattern(_ name: String, node: Node, reader: YAMLReader) throws {
        let labels = (name.hasPrefix("*.") ? String(name.dropFirst(2)) : name).split(separator: ".", omittingEmptySubsequences: false)
        let valid = !labels.isEmpty && labels.allSatisfy { label in
            !label.isEmpty && label.count <= 63
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
        guard valid, name.count <= 253 else {
            throw reader.error(node, "'\(name)' is not a valid host name (letters, digits, '-', dots; optional leading '*.')")
        }
    }

    private static func parseAPI(_ node: Node, reader: YAMLReader, resolve: (String) -> String) throws -> APIConfig {
        let map = try reader.mapping(node, "api", allowedKeys: [
            "name", "hostnames", "path", "backend", "operations", "requireTrustedClientCertificate", "policy",
            "forwardClientCertificate", "subscriptionRequired", "subscriptionKeyParameterNames", "forwardSubscriptionKey", "graphql", "openapi",
        ])
        guard let nameNode = map["name"] else { throw reader.error(node, "api needs 'name'") }
        let name = try reader.nonEmptyString(nameNode, "api name")
        let graphQL = try map["graphql"].map { try parseGraphQL($0, api: name, reader: reader, resolve: resolve) }
        let backend: String
        if let backendNode = map["backend"] {
            backend = try reader.nonEmptyString(backendNode, "backend")
            guard let url = URL(string: backend), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme), url.host != nil else {
                throw reader.error(backendNode, "api '\(name)': backend must be an absolute http:// or https:// URL, got '\(backend)'")
            }
        } else if let graphQL, !graphQL.resolvers.isEmpty {
            // A synthetic GraphQL API has no backend: its forward-request executes the query (`.invalid` never resolves).
            backend = GraphQLConfig.syntheticBackend
        } else {
            throw reader.error(node, "api '\(name)' needs 'backend' (a URL)")
        }
        var prefix = try map["path"].map { try reader.string($0, "path") } ?? "/"
        if !prefix.hasPrefix("/") { prefix = "/" + prefix }
        while prefix.count > 1 && prefix.hasSuffix("/") { prefix.removeLast() }
        let hostnames = try map["hostnames"].map { try reader.stringList($0, "api hostnames").map { $0.lowercased() } } ?? []
        var operations: [OperationConfig] = []
        if let opsNode = map["operations"] {
            for opNode in try reader.sequence(opsNode, "operations") {
                let op = try reader.mapping(opNode, "operation", allowedKeys: ["name", "method", "template", "policy"])
                guard let methodNode = op["method"], let templateNode = op["template"] else {
                    throw reader.error(opNode, "operation needs 'method' and 'template'")
                }
                let method = try reader.nonEmptyString(methodNode, "method").uppercased()
                guard method == "*" || method.allSatisfy({ $0.isLetter }) else {
                    throw reader.error(methodNode, "method must be an HTTP method name or '*', got '\(method)'")
                }
                var template = try reader.nonEmptyString(templateNode, "template")
                if !template.hasPrefix("/") { template = "/" + template }
                let opName = try op["name"].map { try reader.nonEmptyString($0, "operation name") }
                let opPolicy = try op["policy"].map { resolve(try reader.nonEmptyString($0, "operation policy")) }
                let operation = OperationConfig(name: opName, method: method, urlTemplate: template, policyFile: opPolicy)
                // Pipelines are keyed by operation name: a second operation of the same name would
                // run the first one's policies.
                guard !operations.contains(where: { $0.name == operation.name }) else {
                    throw reader.error(opNode, "api '\(name)': operation name '\(operation.name)' is used twice (names identify operations and their policies)")
                }
                operations.append(operation)
            }
        }
        let gate = try map["requireTrustedClientCertificate"].map { try reader.bool($0, "requireTrustedClientCertificate") } ?? false
        let policy = try map["policy"].map { resolve(try reader.nonEmptyString($0, "api policy")) }
        var api = APIConfig(name: name, hostnames: hostnames, pathPrefix: prefix, backendURL: backend,
                            operations: operations, requireTrustedClientCertificate: gate, policyFile: policy)
        if let node = map["forwardClientCertificate"] {
            let text = try reader.string(node, "forwardClientCertificate")
            guard let mode = ClientCertificateForwardingMode(rawValue: text) else {
                throw reader.error(node, "api '\(name)': forwardClientCertificate must be none, rfc9440 or xfcc, got '\(text)'")
            }
            api.forwardClientCertificate = mode
        }
        api.graphQL = graphQL
        if let node = map["openapi"] {
            let file = resolve(try reader.nonEmptyString(node, "api '\(name)': openapi"))
            api.openAPIFile = file
            api.openAPI = try SchemaDocumentReader.openAPI(file)
        }
        if let node = map["subscriptionRequired"] { api.subscriptionRequired = try reader.bool(node, "api '\(name)': subscriptionRequired") }
        if let node = map["forwardSubscriptionKey"] { api.forwardSubscriptionKey = try reader.bool(node, "api '\(name)': forwardSubscriptionKey") }
        if let node = map["subscriptionKeyParameterNames"] {
            let names = try reader.mapping(node, "api '\(name)': subscriptionKeyParameterNames", allowedKeys: ["header", "query"])
            if let header = names["header"] {
                let text = try reader.nonEmptyString(header, "subscriptionKeyParameterNames.header")
                guard text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") }) else {
                    throw reader.error(header, "api '\(name)': subscriptionKeyParameterNames.header must be a header name (a token), got '\(text)'")
                }
                api.subscriptionKeyNames.header = text
            }
            if let query = names["query"] {
                api.subscriptionKeyNames.query = try reader.nonEmptyString(query, "subscriptionKeyParameterNames.query")
            }
        }
        return api
    }
}

extension GatewayConfigLoader {
    /// `graphql: {schema: file.graphql, resolvers: [{type: Query, field: users, policy: resolver.xml}]}`.
    static func parseGraphQL(_ node: Node, api name: String, reader: YAMLReader, resolve: (String) -> String) throws -> GraphQLConfig {
        let map = try reader.mapping(node, "api '\(name)': graphql", allowedKeys: ["schema", "resolvers"])
        guard let schemaNode = map["schema"] else { throw reader.error(node, "api '\(name)': graphql needs 'schema' (an SDL file)") }
        var config = GraphQLConfig(schemaFile: resolve(try reader.nonEmptyString(schemaNode, "graphql schema")))
        if let resolversNode = map["resolvers"] {
            for item in try reader.sequence(resolversNode, "graphql resolvers") {
                let resolver = try reader.mapping(item, "resolver", allowedKeys: ["type", "field", "policy"])
                guard let type = resolver["type"], let field = resolver["field"], let policy = resolver["policy"] else {
                    throw reader.error(item, "api '\(name)': a resolver needs 'type', 'field' and 'policy'")
                }
                let made = GraphQLResolverConfig(
                    type: try reader.nonEmptyString(type, "resolver type"), field: try reader.nonEmptyString(field, "resolver field"),
                    policyFile: resolve(try reader.nonEmptyString(policy, "resolver policy")))
                guard !config.resolvers.contains(where: { $0.type == made.type && $0.field == made.field }) else {
                    throw reader.error(item, "api '\(name)': a second resolver for '\(made.type).\(made.field)'")
                }
                config.resolvers.append(made)
            }
        }
        return config
    }
}

/// Where `loadCollectingErrors` gathers errors (used on one thread, during one load).
final class ConfigurationErrorSink {
    var errors: [ConfigurationError] = []
}
