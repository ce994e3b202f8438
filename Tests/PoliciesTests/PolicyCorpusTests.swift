import Foundation
import Testing

@testable import Policies

/// A fake provider for `<openid-config>` (the corpus is loaded as the gateway loads it, with a
/// key-document fetcher; nothing is fetched at load).
struct NoFetching: PolicyKeyDocumentFetching {
    func fetch(_ url: URL, limit: Int) async throws -> [UInt8] { throw CancellationError() }
}

/// The real-policy corpus: every policy of `Azure/api-management-policy-snippets` (examples/, see
/// `Corpus/api-management-policy-snippets/SOURCE.md`), loaded strictly — no skipped policies, no
/// unknown named values — with the named values and placeholder fills committed next to it. Each
/// folder is loaded together, so fragments resolve.
@Suite("Real-policy corpus")
struct PolicyCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus")
    static let folder = corpus.appendingPathComponent("api-management-policy-snippets")

    static func namedValues() throws -> NamedValues {
        let text = try String(contentsOf: corpus.appendingPathComponent("api-management-policy-snippets.named-values.txt"), encoding: .utf8)
        return NamedValues(text.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap { line in
            guard let equals = line.firstIndex(of: "=") else { return nil }
            return NamedValue(name: String(line[..<equals]), value: String(line[line.index(after: equals)...]))
        })
    }

    static func placeholders() throws -> [String: [(String, String)]] {
        let text = try String(contentsOf: corpus.appendingPathComponent("api-management-policy-snippets.placeholders.txt"), encoding: .utf8)
        var fills: [String: [(String, String)]] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 3 else { continue }
            fills[fields[0], default: []].append((fields[1], fields[2]))
        }
        return fills
    }

    /// Every file (relative path) with the errors that stop it from loading ([] = it loads), and
    /// the documents that load but cannot run here (pipeline build errors).
    static func results() throws -> (load: [String: [String]], run: [String: [String]]) {
        let fills = try placeholders()
        var folders: [String: [String]] = [:]
        let enumerator = try #require(FileManager.default.enumerator(atPath: folder.path))
        while let relative = enumerator.nextObject() as? String {
            guard relative.hasSuffix(".xml") else { continue }
            folders[(relative as NSString).deletingLastPathComponent, default: []].append(relative)
        }
        let loadOptions = PolicyLoadOptions(namedValues: try namedValues())
        let loader = PolicyLoader(options: loadOptions, compiler: ContextExpressionCompiler())
        var load: [String: [String]] = [:]
        var run: [String: [String]] = [:]
        for (_, names) in folders.sorted(by: { $0.key < $1.key }) {
            let inputs = try names.sorted().map { name -> PolicyCheck.Input in
                var text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
                for (from, to) in fills[(name as NSString).lastPathComponent] ?? [] { text = text.replacingOccurrences(of: from, with: to) }
                return PolicyCheck.Input(file: name, text: text)
            }
            for input in inputs { load[input.file] = [] }
            for diagnostic in PolicyCheck.check(inputs, loader: loader) {
                load[diagnostic.position.file, default: []].append(diagnostic.description)
            }
            // What loads must also compile into a pipeline (as the gateway builds it).
            var fragments: [PolicyLoader.FragmentText] = []
            for input in inputs where input.text.contains("<fragment") {
                fragments.append(PolicyLoader.FragmentText(id: ((input.file as NSString).lastPathComponent as NSString).deletingPathExtension,
                                                           file: input.file, text: input.text))
            }
            let fragmentSet = (try? loader.fragments(fragments)) ?? PolicyFragments()
            for input in inputs where load[input.file]?.isEmpty == true && !input.text.contains("<fragment") {
                do {
                    _ = try PolicyPipeline.load(
                        [(input.text, input.file, .api)], fragments: fragmentSet, loadOptions: loadOptions,
                        options: PolicyPipelineOptions(keyDocuments: NoFetching()))
                } catch {
                    run[input.file] = "\(error)".split(separator: "\n").map(String.init)
                }
            }
        }
        return (load, run)
    }

    @Test("the corpus loads as the gateway loads it; every failure is listed with its reason")
    func corpus() throws {
        let (load, run) = try Self.results()
        var failures: [String: String] = [:]
        for (file, errors) in load where !errors.isEmpty { failures[file] = errors[0] }
        for (file, errors) in run { failures[file] = errors.first ?? "" }
        for error in failures.sorted(by: { $0.key < $1.key }).map(\.value) { print("fails: \(error)") }
        let passing = load.count - failures.count
        print("corpus: \(load.count) files, \(passing) load and build a pipeline (\(passing * 100 / max(1, load.count))%)")
        #expect(load.count == 59)
        // Not yet the 95% of the goal: what stops the rest, file by file (a fixed failure must be
        // taken off this list, so the count only goes up).
        #expect(Set(failures.keys) == Set(Self.knownFailures.keys), "\(failures.keys.sorted())")
        for (file, reason) in Self.knownFailures {
            #expect(failures[file]?.contains(reason) == true, "\(file): \(failures[file] ?? "loads now")")
        }
    }

    /// Each failing file and the reason it fails (a fragment of its first error).
    static let knownFailures: [String: String] = [
        // Azure-only policies (managed identity, Entra ID tokens).
        "Authenticate using Managed Identity to access Event Hub.xml": "'<authentication-managed-identity>' is not supported",
        "Authenticate using Managed Identity to access Service Bus.xml": "'<authentication-managed-identity>' is not supported",
        "Authenticate using Managed Identity to access Storage Account.xml": "'<authentication-managed-identity>' is not supported",
        "DELETE a from to blobStorage account.xml": "'<authentication-managed-identity>' is not supported",
        "GET a file from blobStorage account.xml": "'<authentication-managed-identity>' is not supported",
        "Look up Key Vault certificate using Managed Service Identity and call backend.policy.xml": "'<authentication-managed-identity>' is not supported",
        "Look up Key Vault secret using Managed Service Identity.policy.xml": "'<authentication-managed-identity>' is not supported",
        "PUT a file to blobStorage account.xml": "'<authentication-managed-identity>' is not supported",
        "Request OAuth2 access token from SAP using AAD JWT token.xml": "'<authentication-managed-identity>' is not supported",
        "Request OAuth2 access token from SuccessFactors using AAD JWT token.xml": "'<authentication-managed-identity>' is not supported",
        "Return a blob URL signed with a user delegation SAS token.xml": "'<authentication-managed-identity>' is not supported",
        "Trigger Azure Data Factory Pipeline.policy.xml": "'<authentication-managed-identity>' is not supported",
        "Trigger Azure Data Factory Pipeline With Parameters.policy.xml": "'<authentication-managed-identity>' is not supported",
        "Get OAuth2 access token from AAD using client id and certificate using key vault manage identity.xml":
            "'<authentication-managed-identity>' is not supported",
        "oauth-proxy/oauth-proxy-validate-token-fragment.xml": "'<validate-azure-ad-token>' is not supported",
        // Broken as published: a regular C# string literal spans two lines; attribute text mangled
        // into `"Ocp-Apim-Subscription-Key="""` and `"patch="""` (invalid C# in APIM too).
        "Call out to an HTTP endpoint and cache the response.policy.xml": "unterminated string literal",
        "Loopback request for service at same API Management service.xml": "expected ')' but found string",
        "Pre-authorize requests based on HTTP method with validate-jwt.policy.xml": "expected ')' but found string",
        // C# forms the expression compiler does not take yet (issue 12, item 3).
        "Add correlation id to inbound request.policy.xml": "expected '(' but found '{'",
        "Backend for Frontend or curated API policy.xml": "unexpected keyword 'void'",
        "Extract value from XML.xml": "expected ')' but found 'reader'",
        "Extracting multiple values from xml documents.policy.xml": "'XDocument' does not exist",
        "Filter on IP Address when using Application Gateway.policy.xml": "only assignment, call, increment, decrement",
        "Filter response content based on product name.policy.xml": "'JProperty' has no member 'Remove'",
        "Query CosmosDB.policy.xml": "object initializers are not supported for 'HashAlgorithm'",
        // Liquid templates in set-body (read, not run).
        "List all inbound headers.policy.xml": "liquid templates",
        "Generate Azure Relay Token.policy.xml": "liquid templates",
    ]
}
