import ClientCertificates
import Foundation
import GatewayConfiguration
import X509

/// `drawbridge check`: loads everything `serve` loads — the YAML, certificates, keys, PKCS#12
/// files, CA certificates, policies with named values and fragments — and reports every problem it
/// can find rather than the first. `serve --config` runs the same check before it starts.
public enum ConfigurationCheck {
    public struct Finding: Sendable, Equatable, CustomStringConvertible {
        public enum Severity: String, Sendable { case error, warning }
        public let severity: Severity
        /// `file:line:col: message` where the YAML gives a position, else a message naming the file.
        public let message: String
        public var description: String { "\(severity.rawValue): \(message)" }
    }

    /// Certificates expiring within this many days are warned about.
    public static let expiryWarningDays = 30

    public static func run(path: String, now: Date = Date()) -> (config: GatewayConfig?, findings: [Finding]) {
        let (config, errors) = GatewayConfigLoader.loadCollectingErrors(path: path)
        guard let config else {
            return (nil, errors.map { Finding(severity: .error, message: PlainErrorText.plain($0.description)) })
        }
        let findings = check(config, file: path, now: now)
        return (findings.contains { $0.severity == .error } ? nil : config, findings)
    }

    /// The checks after the YAML: files and what is in them, routes, policies.
    public static func check(_ config: GatewayConfig, file: String, now: Date = Date()) -> [Finding] {
        var findings: [Finding] = []
        var seen = Set<String>()
        func add(_ severity: Finding.Severity, _ message: String) {
            let plain = PlainErrorText.plain(message)
            if seen.insert("\(severity)|\(plain)").inserted { findings.append(Finding(severity: severity, message: plain)) }
        }

        // Span export needs a build with the OTel trait: asked for and absent is an error, not a silence.
        if config.tracing != nil && !SpanExport.isBuiltIn { add(.error, "\(file): \(SpanExport.notBuiltInMessage)") }

        // Hostnames: server identity (key matches certificate), TLS context, CA files, lifetimes.
        var loaded: [HostnameConfig] = []
        func missing(_ path: String) -> Bool { !FileManager.default.isReadableFile(atPath: path) }
        for hostname in config.hostnames {
            var ok = true
            var files: [(String, String)] = []
            switch hostname.serverCertificate {
            case .pem(let certificateFile, let keyFile): files = [("certificate", certificateFile), ("key", keyFile)]
            case .pkcs12(let file, _): files = [("pkcs12", file)]
            }
            files += hostname.trustedCAFiles.map { ("trustedCAs", $0) }
            files += hostname.crlFiles.map { ("crlFiles", $0) }
            for (key, path) in files where missing(path) {
                add(.error, "hostname '\(hostname.name)': \(key) file \(path) does not exist or cannot be read")
                ok = false
            }
            if ok, case .pem(let certificateFile, let keyFile) = hostname.serverCertificate,
               let mismatch = keyMismatch(certificateFile: certificateFile, keyFile: keyFile) {
                add(.error, "hostname '\(hostname.name)': \(mismatch)")
                ok = false
            }
            if ok {
                do {
                    let tls = try TLSHostname(config: hostname)
                    loaded.append(hostname)
                    if let leaf = CertificateInventory.serverLeaf(tls) {
                        lifetime(leaf, what: "hostname '\(hostname.name)': server certificate", now: now).map { add(.warning, $0) }
                    }
                    for ca in tls.trustedCAs {
                        lifetime(ca, what: "hostname '\(hostname.name)': trusted CA '\(ca.subject)'", now: now).map { add(.warning, $0) }
                    }
                } catch {
                    add(.error, "\(error)")
                }
            }
        }
        // Policy documents and backend CA files.
        var policyFiles: [(String, String)] = []
        var apisMissingFiles = Set<String>()
        if let global = config.policies.globalFile { policyFiles.append(("policies.global", global)) }
        policyFiles += config.policies.fragmentFiles.sorted { $0.key < $1.key }.map { ("fragment '\($0.key)'", $0.value) }
        policyFiles += config.policies.certificateFiles.sorted { $0.key < $1.key }.map { ("policies.certificates '\($0.key)'", $0.value) }
        policyFiles += config.policies.certificateKeyFiles.sorted { $0.key < $1.key }.map { ("policies.certificates '\($0.key)' key", $0.value) }
        for api in config.apis {
            if let file = api.policyFile {
                policyFiles.append(("api '\(api.name)': policy", file))
                if missing(file) { apisMissingFiles.insert(api.name) }
            }
            for operation in api.operations {
                if let file = operation.policyFile {
                    policyFiles.append(("api '\(api.name)' operation '\(operation.name)': policy", file))
                    if missing(file) { apisMissingFiles.insert(api.name) }
                }
            }
        }
        policyFiles += config.backend.trustedCAFiles.map { ("backend.trustedCAs", $0) }
        policyFiles += config.policies.revocation.crlFiles.map { ("policies.revocation.crlFiles", $0) }
        for (what, path) in policyFiles where missing(path) {
            add(.error, "\(what): file \(path) does not exist or cannot be read")
        }
        // File loggers: their folder must exist (the file is created, owner-only, at start).
        for (id, logger) in config.policies.loggers.sorted(by: { $0.key < $1.key }) {
            guard case .file(let path) = logger.sink else { continue }
            let folder = (path as NSString).deletingLastPathComponent
            var isDirectory: ObjCBool = false
            if !FileManager.default.fileExists(atPath: folder.isEmpty ? "." : folder, isDirectory: &isDirectory) || !isDirectory.boolValue {
                add(.error, "logger '\(id)': the folder of \(path) does not exist")
            } else if FileManager.default.fileExists(atPath: path) ? !FileManager.default.isWritableFile(atPath: path)
                        : !FileManager.default.isWritableFile(atPath: folder.isEmpty ? "." : folder) {
                add(.error, "logger '\(id)': \(path) cannot be written")
            }
        }
        // Uploaded certificates (context.Deployment.Certificates).
        for (id, path) in config.policies.certificateFiles.sorted(by: { $0.key < $1.key }) {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8),
                  let certificate = try? Certificate(pemEncoded: text) else { continue }
            lifetime(certificate, what: "policies.certificates '\(id)' (\(path))", now: now).map { add(.warning, $0) }
        }
        guard !loaded.isEmpty else { return findings }

        // Routes and policies, one API at a time so that each API's errors show.
        var base = config
        base.hostnames = loaded
        let loadedNames = Set(loaded.map(\.normalizedName))
        let allNames = Set(config.hostnames.map(\.normalizedName))
        base.apis = []
        do { _ = try GatewaySnapshot(config: base) } catch { add(.error, "\(error)") }
        for api in config.apis where !apisMissingFiles.contains(api.name) {
            var single = base
            var api = api
            if !api.hostnames.isEmpty {
                // (An unknown name stays: the route check reports it.)
                let known = api.hostnames.filter { loadedNames.contains($0) || !allNames.contains($0) }
                // A hostname that failed above is already reported; check the rest of the API anyway.
                if known.isEmpty { api.hostnames = [] } else { api.hostnames = known }
            }
            single.apis = [api]
            do { _ = try GatewaySnapshot(config: single) } catch { add(.error, "\(error)") }
        }
        return findings
    }

    /// A warning text when the certificate has expired, is not valid yet, or expires soon.
    static func lifetime(_ certificate: Certificate, what: String, now: Date) -> String? {
        let days = Int(certificate.notValidAfter.timeIntervalSince(now) / 86_400)
        let date = UTCTimestamp.iso8601(certificate.notValidAfter)
        if certificate.notValidAfter < now { return "\(what) expired on \(date)" }
        if certificate.notValidBefore > now { return "\(what) is not valid before \(UTCTimestamp.iso8601(certificate.notValidBefore))" }
        if days < expiryWarningDays { return "\(what) expires in \(days) day\(days == 1 ? "" : "s") (\(date))" }
        return nil
    }

    /// Why the key file does not belong to the certificate file, or nil (matching, or unreadable:
    /// loading reports that with its own words).
    static func keyMismatch(certificateFile: String, keyFile: String) -> String? {
        guard let keyText = try? String(contentsOfFile: keyFile, encoding: .utf8),
              let leafPEM = try? PEMFiles.certificates(inFile: certificateFile).first,
              let leaf = try? Certificate(pemEncoded: leafPEM),
              let key = try? Certificate.PrivateKey(pemEncoded: keyText) else {
            return nil
        }
        guard key.publicKey != leaf.publicKey else { return nil }
        return "the private key \(keyFile) does not match the certificate \(certificateFile)"
    }
}
