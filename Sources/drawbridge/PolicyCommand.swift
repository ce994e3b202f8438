import ArgumentParser
import ClientCertificates
import Foundation
import Gateway
import GatewayConfiguration
import Policies
import Synchronization

/// `drawbridge policy check|effective`: the policy loader from the command line.
struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy", abstract: "Check APIM policy documents and print effective policies.",
        subcommands: [Check.self, Effective.self, Test.self])

    static func loader(skipUnsupported: Bool) -> PolicyLoader {
        PolicyLoader(options: PolicyLoadOptions(skipUnsupportedPolicies: skipUnsupported),
                     compiler: PolicyExpressionBinding.compiler)
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load policy files (or folders of .xml files) and print every error as file:line:col; exit 1 on any.")

        @Argument(help: "Policy documents or folders (default with --config: every policy file it names).")
        var paths: [String] = []

        @Flag(help: "Treat unsupported policies as warnings (as APIM's self-hosted gateway does).")
        var skipUnsupported = false

        @OptionGroup var settings: PolicySettingsOptions

        @Flag(help: "Print the diagnostics as a JSON array of {file, line, column, severity, message}.")
        var json = false

        func run() async throws {
            let resolved = try settings.resolve()
            var paths = self.paths
            if paths.isEmpty, let gateway = resolved.gateway {
                paths = [gateway.policies.globalFile].compactMap { $0 } + gateway.apis.flatMap { api in
                    [api.policyFile].compactMap { $0 } + api.operations.compactMap(\.policyFile)
                }
            }
            guard !paths.isEmpty else { throw ValidationError("give policy files or folders, or --config") }
            let loader = PolicyLoader(
                options: PolicyLoadOptions(namedValues: resolved.namedValues, skipUnsupportedPolicies: skipUnsupported || resolved.skipUnsupported),
                compiler: PolicyExpressionBinding.compiler)
            var diagnostics: [PolicyDiagnostic]
            do {
                diagnostics = PolicyCheck.check(paths: paths, loader: loader, known: try loader.fragments(resolved.fragments))
            } catch {
                diagnostics = error.diagnostics
            }
            let errors = diagnostics.filter { $0.severity == .error }.count
            if json {
                let objects: [[String: Any]] = diagnostics.map {
                    ["file": $0.position.file, "line": $0.position.line, "column": $0.position.column, "severity": $0.severity.rawValue,
                     "message": $0.message]
                }
                let data = try JSONSerialization.data(withJSONObject: objects, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
                print(String(decoding: data, as: UTF8.self))
            } else {
                for diagnostic in diagnostics { print(diagnostic) }
                print(errors == 0 ? "ok: \(paths.count) input(s), no errors" : "\(errors) error(s)")
            }
            if errors > 0 { throw ExitCode(1) }
        }
    }

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a policy offline: the response the client would get and a step-by-step trace (no network but the key documents validate-jwt <openid-config> and validate-azure-ad-token fetch, as the gateway does).")

        @Argument(help: "The policy document (API scope).")
        var file: String

        @Option(help: "Request JSON: {\"method\", \"url\", \"headers\", \"body\", \"ipAddress\", \"matchedParameters\", \"api\", \"operation\"}.")
        var request: String

        @Option(name: .customLong("client-cert"), help: "The client certificate chain (PEM), leaf first.")
        var clientCert: String?

        @Option(name: .customLong("backend-response"), help: "Backend response JSON: {\"statusCode\", \"reason\", \"headers\", \"body\"}.")
        var backendResponse: String?

        @Option(name: .customLong("ca"), help: "CA certificate file Verify() trusts (roots and intermediates); repeatable.")
        var caFiles: [String] = []

        @Option(name: .customLong("crl"), help: "CRL file (DER or PEM) for Verify()'s revocation check; repeatable.")
        var crlFiles: [String] = []

        @OptionGroup var settings: PolicySettingsOptions

        @Option(name: .customLong("openapi"),
                help: "The API's OpenAPI description (YAML or JSON) for validate-parameters/-headers/-status-code/-content; paths are relative to the request's api.path.")
        var openAPI: String?

        @Option(name: .customLong("expect-status"),
                help: "Exit 1 unless the response status matches: codes or classes, comma-separated (e.g. 2xx,3xx or 200,404).")
        var expectStatus: String?

        /// Whether `status` matches a spec like `2xx,3xx` or `200,404`.
        static func matches(_ status: Int, _ spec: String) throws -> Bool {
            var any = false
            for part in spec.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) where !part.isEmpty {
                if part.count == 3, part.hasSuffix("xx"), let digit = part.first?.wholeNumberValue {
                    any = any || status / 100 == digit
                } else if let code = Int(part), (100...599).contains(code) {
                    any = any || status == code
                } else {
                    throw ValidationError("--expect-status takes codes or classes like 2xx, got '\(part)'")
                }
            }
            return any
        }

        func run() async throws {
            var roots: [X509Certificate2] = []
            var intermediates: [X509Certificate2] = []
            for path in caFiles {
                for certificate in try CertificateLoader.load(Array(try Data(contentsOf: URL(fileURLWithPath: path)))) {
                    if certificate.subject == certificate.issuer { roots.append(certificate) } else { intermediates.append(certificate) }
                }
            }
            var crls: [CertificateRevocationList] = []
            for path in crlFiles {
                let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
                if let text = String(bytes: bytes, encoding: .utf8), text.contains("-----BEGIN X509 CRL-----") {
                    crls += try CertificateRevocationList.parseAll(pem: text)
                } else {
                    crls.append(try CertificateRevocationList(derEncoded: bytes))
                }
            }
            let verification = VerificationContext(
                trustStore: TrustStore(version: 1, roots: roots, intermediates: intermediates),
                revocation: RevocationSources(store: try CRLStore(version: 1, crls: crls)))
            let resolved = try settings.resolve()
            if let expectStatus { _ = try Self.matches(200, expectStatus) }  // a bad spec is a usage error before running
            let report: PolicyTestRunner.Report
            // validate-jwt <openid-config> and validate-azure-ad-token fetch their keys as the gateway
            // does (the configuration's backend trust and Entra authority).
            let keyDocuments = try GatewayKeyDocuments(backend: resolved.gateway?.backend ?? BackendConfig())
            defer { Task { await keyDocuments.shutdown() } }
            let entraAuthority = resolved.gateway?.policies.entraAuthority.flatMap(URL.init(string:))
            // log-to-eventhub: the configuration's loggers, offline — what they would be sent is shown.
            let eventLog = OfflineEventLog()
            let loggers = (resolved.gateway?.policies.loggers.keys).map { ids in
                Dictionary(uniqueKeysWithValues: ids.map { ($0, eventLog.logger($0) as any PolicyEventLogger) })
            } ?? [:]
            let description = try openAPI.map { try SchemaDocumentReader.openAPI($0) }
            do {
                let loader = PolicyLoader(options: PolicyLoadOptions(namedValues: resolved.namedValues), compiler: PolicyExpressionBinding.compiler)
                report = try await PolicyTestRunner.run(
                    policy: try Effective.read(file), file: file, requestJSON: try Effective.read(request),
                    clientCertificatePEM: try clientCert.map(Effective.read),
                    backendResponseJSON: try backendResponse.map(Effective.read),
                    loadOptions: PolicyLoadOptions(namedValues: resolved.namedValues, skipUnsupportedPolicies: resolved.skipUnsupported),
                    options: {
                        var options = PolicyPipelineOptions(verification: verification, backends: resolved.backends,
                                                            keyDocuments: keyDocuments.fetcher, entraAuthority: entraAuthority, loggers: loggers)
                        // validate-content schema-id: the configuration's schemas.
                        options.schemas = resolved.gateway?.policies.schemas ?? [:]
                        options.apiDescription = description
                        return options
                    }(),
                    fragments: try loader.fragments(resolved.fragments))
                print(report.text)
                for line in eventLog.lines { print(line) }
            } catch {
                print(error)
                throw ExitCode(1)
            }
            if let expectStatus, !(try Self.matches(report.result.status, expectStatus)) {
                print("status \(report.result.status) does not match --expect-status \(expectStatus)")
                throw ExitCode(1)
            }
        }
    }

    struct Effective: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Merge scope documents (global → product → API → operation, <base/> spliced) and print the result.")

        @Option(help: "Gateway configuration: then --api and --operation are names from it.") var config: String?
        @Option(help: "Global-scope policy file.") var global: String?
        @Option(help: "Product-scope policy file.") var product: String?
        @Option(help: "API-scope policy file (with --config: the API's name).") var api: String?
        @Option(help: "Operation-scope policy file (with --config: the operation's name).") var operation: String?
        @Option(name: .customLong("fragment"), help: "A policy fragment as id=file; repeatable.") var fragments: [String] = []

        func run() async throws {
            if let config { return try await printFromConfiguration(config) }
            let loader = PolicyCommand.loader(skipUnsupported: false)
            var documents: [PolicyLoader.ScopedText] = []
            for (scope, path) in [(PolicyScope.global, global), (.product, product), (.api, api), (.operation, operation)] {
                guard let path else { continue }
                documents.append(.init(scope: scope, file: path, text: try Self.read(path)))
            }
            guard !documents.isEmpty else { throw ValidationError("give at least one of --global, --product, --api, --operation") }
            let fragmentTexts = try fragments.map { spec -> PolicyLoader.FragmentText in
                let parts = spec.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { throw ValidationError("--fragment takes id=file, got '\(spec)'") }
                return .init(id: parts[0], file: parts[1], text: try Self.read(parts[1]))
            }
            do {
                let merged = try loader.effective(documents, fragments: try loader.fragments(fragmentTexts))
                for warning in merged.warnings { FileHandle.standardError.write(Data("\(warning)\n".utf8)) }
                print(merged.policy.xml())
            } catch {
                print(error)
                throw ExitCode(1)
            }
        }

        /// The effective policy of one API operation as the gateway would run it.
        func printFromConfiguration(_ path: String) async throws {
            let gateway: GatewayConfig
            do { gateway = try GatewayConfigLoader.load(path: path) } catch { throw ValidationError("\(error)") }
            guard let apiName = api, let apiConfig = gateway.apis.first(where: { $0.name == apiName }) else {
                throw ValidationError("--api must name an API of \(path): \(gateway.apis.map(\.name).joined(separator: ", "))")
            }
            var operationConfig: OperationConfig?
            if let operation {
                guard let found = apiConfig.operations.first(where: { $0.name == operation }) else {
                    throw ValidationError("API '\(apiName)' has no operation '\(operation)': \(apiConfig.operations.map(\.name).joined(separator: ", "))")
                }
                operationConfig = found
            }
            let settings = gateway.policies
            let namedValues = NamedValues(settings.namedValues.sorted { $0.key < $1.key }.map {
                NamedValue(name: $0.key, value: $0.value, isSecret: settings.secretNamedValues.contains($0.key))
            })
            let loader = PolicyLoader(options: PolicyLoadOptions(namedValues: namedValues, skipUnsupportedPolicies: settings.skipUnsupported),
                                      compiler: PolicyExpressionBinding.compiler)
            var documents: [PolicyLoader.ScopedText] = [
                settings.globalFile.map { PolicyLoader.ScopedText(scope: .global, file: $0, text: (try? Self.read($0)) ?? "") }
                    ?? .init(scope: .global, file: "(default global policy)",
                             text: "<policies><inbound /><backend><forward-request /></backend><outbound /><on-error /></policies>")
            ]
            if let file = apiConfig.policyFile { documents.append(.init(scope: .api, file: file, text: try Self.read(file))) }
            if let file = operationConfig?.policyFile { documents.append(.init(scope: .operation, file: file, text: try Self.read(file))) }
            do {
                let fragmentTexts = try settings.fragmentFiles.sorted { $0.key < $1.key }.map {
                    PolicyLoader.FragmentText(id: $0.key, file: $0.value, text: try Self.read($0.value))
                }
                let merged = try loader.effective(documents, fragments: try loader.fragments(fragmentTexts))
                print(merged.policy.xml(redacting: namedValues))
            } catch {
                print(error)
                throw ExitCode(1)
            }
        }

        static func read(_ path: String) throws -> String {
            guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
                throw ValidationError("cannot read \(path)")
            }
            return text
        }
    }
}

/// `policy test`'s loggers: nothing is sent; each event becomes a line after the report.
final class OfflineEventLog: Sendable {
    private let recorded = Mutex<[String]>([])

    struct Logger: PolicyEventLogger {
        let id: String
        let log: OfflineEventLog
        func log(_ event: PolicyLogEvent) {
            let partition = event.partitionID.map { " partition \($0)" } ?? event.partitionKey.map { " partition key '\(LogText.escape($0, limit: 80))'" } ?? ""
            let line = "log-to-eventhub → logger '\(id)'\(partition)\(event.truncated ? " (truncated to 200 KB)" : ""): "
                + LogText.escape(event.message, limit: 2000)
            log.recorded.withLock { $0.append(line) }
        }
    }

    func logger(_ id: String) -> Logger { Logger(id: id, log: self) }
    var lines: [String] { recorded.withLock { $0 } }
}
