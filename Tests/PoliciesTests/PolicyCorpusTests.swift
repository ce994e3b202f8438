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
        // Not the 95% of the goal: 7 of the 9 files left are invalid C# as published (APIM refuses
        // them too), so 52 of 59 (88%) is the ceiling without editing the corpus.
        // What stops each, file by file (a fixed failure must be taken off this list, so the count
        // only goes up).
        #expect(Set(failures.keys) == Set(Self.knownFailures.keys), "\(failures.keys.sorted())")
        for (file, reason) in Self.knownFailures {
            #expect(failures[file]?.contains(reason) == true, "\(file): \(failures[file] ?? "loads now")")
        }
    }

    /// Each failing file and the reason it fails (a fragment of its first error).
    static let knownFailures: [String: String] = [
        // Invalid C# as published (APIM's compiler refuses them too): `MatchedParameters` is a
        // dictionary, not a method (`MatchedParameters("blobContainer")`); `DateTime.AddSeconds` takes
        // a double, not the string the snippet casts to.
        "DELETE a from to blobStorage account.xml": "non-invocable member 'IRequest.MatchedParameters' cannot be used like a method",
        "GET a file from blobStorage account.xml": "non-invocable member 'IRequest.MatchedParameters' cannot be used like a method",
        "PUT a file to blobStorage account.xml": "non-invocable member 'IRequest.MatchedParameters' cannot be used like a method",
        "Return a blob URL signed with a user delegation SAS token.xml": "'DateTime.AddSeconds' has some invalid arguments (string)",
        // Broken as published: a regular C# string literal spans two lines; attribute text mangled
        // into `"Ocp-Apim-Subscription-Key="""` and `"patch="""` (invalid C# in APIM too).
        "Call out to an HTTP endpoint and cache the response.policy.xml": "unterminated string literal",
        "Loopback request for service at same API Management service.xml": "expected ')' but found string",
        "Pre-authorize requests based on HTTP method with validate-jwt.policy.xml": "expected ')' but found string",
        // A typo as published: `duration="{{cachetime}]"` is no named-value reference (`}]`), so the
        // attribute is the literal text, not an integer (APIM refuses it too). Its C# — a PKCS#12
        // certificate with its private key signing an RS256 client assertion — compiles and runs
        // (CertificateSigningRuntimeTests).
        "Get OAuth2 access token from AAD using client id and certificate using key vault manage identity.xml":
            "invalid value '{{cachetime}]' for attribute 'duration' of '<cache-store-value>'",
    ]
}
