import Foundation
import Testing

@testable import Policies

/// A fake provider for `<openid-config>` (the corpus is loaded as the gateway loads it, with a
/// key-document fetcher; nothing is fetched at load).
struct NoFetching: PolicyKeyDocumentFetching {
    func fetch(_ url: URL, limit: Int) async throws -> [UInt8] { throw CancellationError() }
}

/// The logger a user configures for `log-to-eventhub` (the snippets name theirs in the placeholders file, the
/// reference's example `contoso-logger`).
struct CorpusLogger: PolicyEventLogger {
    func log(_ event: PolicyLogEvent) {}
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
        print("corpus examples/: \(load.count) files, \(passing) load and build a pipeline (\(passing * 100 / max(1, load.count))%)")
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

    // MARK: vscode-snippets/xml.json

    /// The repository's Visual Studio Code snippets (`vscode-snippets/xml.json`, unchanged): one
    /// policy (or policy document) per snippet, with tab stops. Each is expanded as VS Code inserts it
    /// and the user then fills it: a tab stop filled in the placeholders file (`xml.json#<snippet>`,
    /// TEXT `$N` = tab stop N) takes that text; otherwise `${N:default}` its default, `${N|a,b|}` its
    /// first choice, `$N` nothing. A snippet that is one policy is loaded inside a document, in the
    /// first section (inbound, backend, outbound, on-error) that takes it.
    static func vscodeSnippets() throws -> [(name: String, body: String)] {
        let data = try Data(contentsOf: folder.appendingPathComponent("vscode-snippets/xml.json"))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return try object.keys.sorted().map { name in
            let snippet = try #require(object[name] as? [String: Any])
            let body = (snippet["body"] as? [String])?.joined(separator: "\n") ?? (snippet["body"] as? String) ?? ""
            return (name, body)
        }
    }

    /// VS Code's expansion of tab stops (`$N`, `${N}`, `${N:default}`, `${N|a,b|}`) with the user's fills.
    static func expand(_ body: String, fills: [Int: String]) throws -> String {
        let pattern = try NSRegularExpression(pattern: #"\$(\d+)|\$\{(\d+)(?::([^}]*)|\|([^|]*)\|)?\}"#)
        var result = ""
        var last = body.startIndex
        for match in pattern.matches(in: body, range: NSRange(body.startIndex..., in: body)) {
            guard let range = Range(match.range, in: body) else { continue }
            result += body[last..<range.lowerBound]
            last = range.upperBound
            func group(_ i: Int) -> String? { Range(match.range(at: i), in: body).map { String(body[$0]) } }
            let number = Int(group(1) ?? group(2) ?? "") ?? 0
            if let fill = fills[number] { result += fill }
            else if let defaultText = group(3) { result += defaultText }
            else if let choices = group(4) { result += choices.split(separator: ",").first.map(String.init) ?? "" }
        }
        return result + body[last...]
    }

    static func vscodeResults() throws -> [String: [String]] {
        let fills = try placeholders()
        let loadOptions = PolicyLoadOptions(namedValues: try namedValues())
        let loader = PolicyLoader(options: loadOptions, compiler: ContextExpressionCompiler())
        // The corpus's own fragments (examples/oauth-proxy), for include-fragment.
        var fragmentTexts: [PolicyLoader.FragmentText] = []  // (ids as the examples' folder loads them)
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("oauth-proxy").path).sorted()
        where name.hasSuffix("-fragment.xml") {
            let text = try String(contentsOf: folder.appendingPathComponent("oauth-proxy/\(name)"), encoding: .utf8)
            fragmentTexts.append(PolicyLoader.FragmentText(id: (name as NSString).deletingPathExtension, file: "oauth-proxy/\(name)", text: text))
        }
        let fragments = try loader.fragments(fragmentTexts)
        var results: [String: [String]] = [:]
        for (name, body) in try vscodeSnippets() {
            var stops: [Int: String] = [:]
            for (text, replacement) in fills["xml.json#\(name)"] ?? [] where text.hasPrefix("$") {
                if let number = Int(text.dropFirst()) { stops[number] = replacement }
            }
            let expanded = try expand(body, fills: stops)
            let documents: [String]
            if expanded.hasPrefix("<policies>") {
                documents = [expanded]
            } else {
                let sections = ["inbound", "backend", "outbound", "on-error"]
                documents = sections.map { section in
                    let parts = sections.map { other in
                        other == section ? "<\(other)>\n\(expanded)\n</\(other)>"
                            : other == "backend" ? "<backend><forward-request /></backend>" : "<\(other) />"
                    }
                    return "<policies>\n" + parts.joined(separator: "\n") + "\n</policies>"
                }
            }
            var firstErrors: [String]? = nil
            // API scope first; the global scope for a policy only it takes (cross-domain).
            search: for scope in [PolicyScope.api, .global] {
                for document in documents {
                    let file = "vscode-snippets/xml.json#\(name)"
                    var errors = PolicyCheck.check([PolicyCheck.Input(file: file, text: document)], loader: loader, scope: scope, known: fragments)
                        .map(\.description)
                    if errors.isEmpty {
                        do {
                            _ = try PolicyPipeline.load([(document, file, scope)], fragments: fragments, loadOptions: loadOptions,
                                                        options: PolicyPipelineOptions(keyDocuments: NoFetching(),
                                                                                       loggers: ["event-hub-logger": CorpusLogger()]))
                        } catch {
                            errors = "\(error)".split(separator: "\n").map(String.init)
                        }
                    }
                    if errors.isEmpty { firstErrors = []; break search }
                    if firstErrors == nil { firstErrors = errors }
                }
            }
            results[name] = firstErrors ?? []
        }
        return results
    }

    @Test("the VS Code snippets load once their tab stops are filled; every failure is listed with its reason")
    func vscodeSnippetCorpus() throws {
        let results = try Self.vscodeResults()
        let failures = results.filter { !$0.value.isEmpty }.mapValues { $0[0] }
        for (name, error) in failures.sorted(by: { $0.key < $1.key }) { print("fails: xml.json#\(name): \(error)") }
        print("corpus vscode-snippets/: \(results.count) snippets, \(results.count - failures.count) load and build a pipeline (\((results.count - failures.count) * 100 / max(1, results.count))%)")
        #expect(results.count == 47)
        #expect(Set(failures.keys) == Set(Self.knownSnippetFailures.keys), "\(failures.sorted { $0.key < $1.key })")
        for (name, reason) in Self.knownSnippetFailures {
            #expect(failures[name]?.contains(reason) == true, "\(name): \(failures[name] ?? "loads now")")
        }
    }

    /// Each failing snippet and the reason it fails (a fragment of its first error).
    static let knownSnippetFailures: [String: String] = [
        // Refused as published (APIM refuses them too): an `<openid-config>` element never closed
        // (not XML); `<api>` children without the `renewal-period` APIM's reference requires of them;
        // a credentialed CORS policy whose default origin is '*' (the first choice `true` with `*`,
        // which CORS forbids).
        "validate-jwt": "expected '</openid-config>' but found '</validate-jwt>'",
        "quota": "'<api>' requires the attribute 'renewal-period'",
        "rate-limit": "'<api>' requires the attribute 'renewal-period'",
        "cors": "cannot allow the origin '*'",
    ]

    // MARK: policy-expressions/README.md

    /// The cheat-sheet's C# expressions (`policy-expressions/README.md`, unchanged), each loaded as the
    /// value of a `set-variable` (`@( )`, or `@{ }` for the one with statements).
    static func cheatSheetResults() throws -> [(expression: String, errors: [String])] {
        let text = try String(contentsOf: folder.appendingPathComponent("policy-expressions/README.md"), encoding: .utf8)
            .replacingOccurrences(of: "\r", with: "")
        let pattern = try NSRegularExpression(pattern: "```c#\n(.*?)\n```", options: [.dotMatchesLineSeparators])
        let loader = PolicyLoader(options: PolicyLoadOptions(), compiler: ContextExpressionCompiler())
        return pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap { match in
            guard let range = Range(match.range(at: 1), in: text) else { return nil }
            let expression = String(text[range])
            let value = expression.contains("return ") ? "@{\(expression)}" : "@(\(expression))"
            let document = "<policies><inbound><set-variable name=\"expression\" value=\"\(value)\" /></inbound><backend><forward-request /></backend><outbound /><on-error /></policies>"
            let errors = PolicyCheck.check([PolicyCheck.Input(file: "policy-expressions/README.md", text: document)], loader: loader).map(\.description)
            return (expression, errors)
        }
    }

    // MARK: azure-docs policy reference

    static let referenceFolder = corpus.appendingPathComponent("azure-docs-policy-reference")

    static func lines(_ name: String) throws -> [Substring] {
        try String(contentsOf: corpus.appendingPathComponent(name), encoding: .utf8).split(separator: "\n").filter { !$0.hasPrefix("#") }
    }

    static func referenceLoadOptions() throws -> PolicyLoadOptions {
        PolicyLoadOptions(namedValues: NamedValues(try lines("azure-docs-policy-reference.named-values.txt").compactMap { line in
            guard let equals = line.firstIndex(of: "=") else { return nil }
            return NamedValue(name: String(line[..<equals]), value: String(line[line.index(after: equals)...]))
        }))
    }

    /// Every include-fragment of the examples finds an empty fragment of that id.
    static func referenceFragments(_ loader: PolicyLoader) throws -> PolicyFragments {
        try loader.fragments([PolicyLoader.FragmentText(id: "myFragment", file: "myFragment.xml", text: "<fragment></fragment>")])
    }

    /// The documents an example is tried as, in order (see SOURCE.md): itself when it is a `<policies>` document; the
    /// section it is, among the others; its parts where its comments place them; otherwise each section in turn.
    static func referenceDocuments(_ name: String) throws -> [String] {
        var fills: [String: [(String, String)]] = [:]
        for line in try lines("azure-docs-policy-reference.placeholders.txt") {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 3 else { continue }
            fills[fields[0], default: []].append((fields[1], fields[2]))
        }
        let sections = ["inbound", "backend", "outbound", "on-error"]
        func document(_ parts: [String: String]) -> String {
            "<policies>\n" + sections.map { section in
                if let part = parts[section] { return "<\(section)>\n\(part)\n</\(section)>" }
                return section == "backend" ? "<backend><forward-request /></backend>" : "<\(section) />"
            }.joined(separator: "\n") + "\n</policies>"
        }
        // "<!-- Copy this snippet into the outbound section ... -->", "<!-- Add to inbound policy. -->": where the example
        // says a part goes.
        let placement = try NSRegularExpression(pattern: #"<!--\s*(?:Copy this snippet into the|Add to) (inbound|backend|outbound|on-error) (?:section|element|policy)"#)
        var text = try String(contentsOf: referenceFolder.appendingPathComponent(name), encoding: .utf8)
        for (from, to) in fills[name] ?? [] { text = text.replacingOccurrences(of: from, with: to) }
        let body = text.replacingOccurrences(of: #"<!--.*?-->"#, with: "", options: .regularExpression).trimmingCharacters(in: .whitespacesAndNewlines)
        if body.hasPrefix("<policies") { return [text] }
        if let section = sections.first(where: { body.hasPrefix("<\($0)>") || body.hasPrefix("<\($0) ") }) {
            // One section: the block is that section, with the others around it.
            let inner = text.replacingOccurrences(of: #"(?s)^.*?<\#(section)[^>]*>(.*)</\#(section)>.*$"#, with: "$1", options: .regularExpression)
            return [document([section: inner])]
        }
        let marks = placement.matches(in: text, range: NSRange(text.startIndex..., in: text))
        guard !marks.isEmpty else { return sections.map { document([$0: text]) } }
        var parts: [String: String] = [:]
        var prefix = ""
        for (index, mark) in marks.enumerated() {
            guard let range = Range(mark.range, in: text), let sectionRange = Range(mark.range(at: 1), in: text) else { continue }
            if index == 0 { prefix = String(text[..<range.lowerBound]) }
            let end = index + 1 < marks.count ? (Range(marks[index + 1].range, in: text)?.lowerBound ?? text.endIndex) : text.endIndex
            parts[String(text[sectionRange]), default: prefix] += text[range.lowerBound..<end]
            prefix = ""
        }
        return [document(parts)]
    }

    /// An example loaded as the corpus test loads it: the first document and scope (API, product, global) that load and
    /// build a pipeline, or the first errors.
    static func referencePipeline(_ name: String, loadOptions: PolicyLoadOptions, loader: PolicyLoader, fragments: PolicyFragments,
                                  options: PolicyPipelineOptions = referenceOptions) throws -> Result<PolicyPipeline, ReferenceFailure> {
        // A GraphQL resolver document (root `<http-data-source>`, …) loads as one, not as a `<policies>` section.
        var raw = try String(contentsOf: referenceFolder.appendingPathComponent(name), encoding: .utf8)
        if GraphQLAPI.isResolverDocument(raw) {
            for line in try lines("azure-docs-policy-reference.placeholders.txt") {
                let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
                if fields.count == 3, fields[0] == name { raw = raw.replacingOccurrences(of: fields[1], with: fields[2]) }
            }
            do {
                return .success(try GraphQLAPI.resolverPipeline(raw, file: name, loader: loader, options: options))
            } catch {
                return .failure(ReferenceFailure(errors: "\(error)".split(separator: "\n").map(String.init)))
            }
        }
        var firstErrors: [String]? = nil
        for scope in [PolicyScope.api, .product, .global] {
            for text in try referenceDocuments(name) {
                var errors = PolicyCheck.check([PolicyCheck.Input(file: name, text: text)], loader: loader, scope: scope, known: fragments)
                    .map(\.description)
                if errors.isEmpty {
                    do {
                        return .success(try PolicyPipeline.load([(text, name, scope)], fragments: fragments, loadOptions: loadOptions, options: options))
                    } catch {
                        errors = "\(error)".split(separator: "\n").map(String.init)
                    }
                }
                if firstErrors == nil { firstErrors = errors }
            }
        }
        return .failure(ReferenceFailure(errors: firstErrors ?? []))
    }

    struct ReferenceFailure: Error { let errors: [String] }

    /// How the reference's examples are built: no key fetching; the logger `log-to-eventhub`'s example names configured,
    /// as its user configures it (APIM refuses a logger-id no logger has).
    /// The AI-gateway examples' backends (Content Safety, embeddings) configured the same way; `validate-content`'s SOAP
    /// example names the schema `myschema` (an XML schema its user added to APIM).
    static let referenceOptions: PolicyPipelineOptions = {
        var options = PolicyPipelineOptions(
            backends: ["content-safety-backend": URL(string: "https://contoso.cognitiveservices.azure.com")!,
                       "azure-openai-backend": URL(string: "https://contoso.openai.azure.com/openai/deployments/embeddings/embeddings")!,
                       "llm-backend": URL(string: "https://contoso.openai.azure.com/openai/deployments/embeddings/embeddings")!],
            keyDocuments: NoFetching(), loggers: ["contoso-logger": CorpusLogger()])
        if let schema = try? NamedSchema(id: "myschema", xml: Array("<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\"/>".utf8)) {
            options.schemas = ["myschema": schema]
        }
        return options
    }()

    /// The reference's examples (see `Corpus/azure-docs-policy-reference/SOURCE.md`): each file with the errors that stop it
    /// from loading and building a pipeline ([] = it does).
    static func referenceResults() throws -> [String: [String]] {
        let loadOptions = try referenceLoadOptions()
        let loader = PolicyLoader(options: loadOptions, compiler: ContextExpressionCompiler())
        let fragments = try referenceFragments(loader)
        var results: [String: [String]] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: referenceFolder.path).filter({ $0.hasSuffix(".xml") }).sorted() {
            switch try referencePipeline(name, loadOptions: loadOptions, loader: loader, fragments: fragments) {
            case .success: results[name] = []
            case .failure(let failure): results[name] = failure.errors
            }
        }
        return results
    }

    @Test("the policy reference's examples load; every failure is listed with its reason and category")
    func referenceCorpus() throws {
        let results = try Self.referenceResults()
        let failures = results.filter { !$0.value.isEmpty }.mapValues { $0[0] }
        for (name, error) in failures.sorted(by: { $0.key < $1.key }) { print("fails: \(name): \(error)") }
        print("corpus azure-docs-policy-reference/: \(results.count) examples, \(results.count - failures.count) load and build a pipeline "
              + "(\((results.count - failures.count) * 100 / max(1, results.count))%)")
        var byCategory: [FailureCategory: Int] = [:]
        for name in failures.keys { if let known = Self.knownReferenceFailures[name] { byCategory[known.category, default: 0] += 1 } }
        for category in [FailureCategory.invalidAsPublished, .notSupported, .gap] { print("  \(category.rawValue): \(byCategory[category] ?? 0)") }
        #expect(results.count == 126)
        #expect(!Self.knownReferenceFailures.values.contains { $0.category == .gap }, "every gap found so far is closed")
        #expect(Set(failures.keys) == Set(Self.knownReferenceFailures.keys), "\(failures.sorted { $0.key < $1.key })")
        for (name, known) in Self.knownReferenceFailures {
            #expect(failures[name]?.contains(known.reason) == true, "\(name): \(failures[name] ?? "loads now")")
        }
    }

    enum FailureCategory: String { case invalidAsPublished = "invalid as published", notSupported = "policy not supported by Drawbridge", gap = "Drawbridge gap" }

    /// Each failing example, the reason it fails (a fragment of its first error) and why.
    static let knownReferenceFailures: [String: (category: FailureCategory, reason: String)] = [
        // Invalid as published — APIM refuses these too. Not well-formed XML (APIM reads policies as XML and refuses
        // what does not parse; its users write `&amp;` in rewrite-uri templates): an unquoted
        // attribute (`username={{username}}`), a bare `&` in an attribute, `"` inside a `"`-quoted attribute, elements
        // left open; invalid C# (APIM compiles expressions with the C# compiler): a missing `)`, assignment to a string's
        // read-only indexer (CS0200), `<tag>` in an expression (which is also an XML element inside set-body).
        "proxy-policy.1.xml": (.invalidAsPublished, "to start the value of attribute 'username'"),
        "rewrite-uri-policy.1.xml": (.invalidAsPublished, "expected an entity reference such as '&amp;'"),
        "validate-client-certificate-policy.1.xml": (.invalidAsPublished, "expected whitespace, '>' or '/>' after attribute value, found 'C'"),
        "cosmosdb-data-source-policy.2.xml": (.invalidAsPublished, "expected '</read-request>' but found '</cosmosdb-data-source>'"),
        "set-backend-service-policy.2.xml": (.invalidAsPublished, "unterminated string literal in expression"),
        "set-body-policy.2.xml": (.invalidAsPublished, "property or indexer 'string.this[int]' cannot be assigned to -- it is read only"),
        "set-body-policy.3.xml": (.invalidAsPublished, "unexpected '<'"),
        // The send-request reference lists `response-variable-name` as required, and APIM refuses a send-request
        // without it (MicrosoftDocs/azure-docs issue #17999: reported by a user, confirmed by the policy's author);
        // this authentication-managed-identity example leaves it out.
        "authentication-managed-identity-policy.11.xml": (.invalidAsPublished, "'<send-request>' requires the attribute 'response-variable-name'"),

        // GraphQL. Invalid as published: C# APIM refuses — a statement without its `;` (`jsonObject.Add(…)` before
        // `return`), Visual Basic's `<>` for "not equal".
        "http-data-source-policy.3.xml": (.invalidAsPublished, "expected ';' but found 'return'"),
        "validate-graphql-request-policy.2.xml": (.invalidAsPublished, "unexpected '>'"),
        // The three `[...] <query-request>` blocks are pieces of a cosmosdb-data-source resolver, not documents: a
        // `<query-request>` on its own is neither a resolver document nor a policy.
        "cosmosdb-data-source-policy.5.xml": (.invalidAsPublished, "unknown policy element '<query-request>'"),
        "cosmosdb-data-source-policy.6.xml": (.invalidAsPublished, "unknown policy element '<query-request>'"),
        "cosmosdb-data-source-policy.7.xml": (.invalidAsPublished, "unknown policy element '<query-request>'"),
        // Policies Drawbridge does not have. Resolvers on Azure SQL: TDS, a binary protocol Drawbridge does not speak.
        "sql-data-source-policy.1.xml": (.notSupported, "the policy '<sql-data-source>' is not supported"),
        "sql-data-source-policy.2.xml": (.notSupported, "the policy '<sql-data-source>' is not supported"),
        "sql-data-source-policy.3.xml": (.notSupported, "the policy '<sql-data-source>' is not supported"),
    ]

    @Test("corpus figures, per folder and in total")
    func totals() throws {
        let (load, run) = try Self.results()
        let examplesPassing = load.filter { $0.value.isEmpty && run[$0.key] == nil }.count
        let snippets = try Self.vscodeResults()
        let snippetsPassing = snippets.values.filter(\.isEmpty).count
        let expressions = try Self.cheatSheetResults()
        let expressionsPassing = expressions.filter(\.errors.isEmpty).count
        let snippetsTotal = load.count + snippets.count + expressions.count
        let snippetsPassingTotal = examplesPassing + snippetsPassing + expressionsPassing
        print("corpus api-management-policy-snippets: \(snippetsTotal) (examples/ \(examplesPassing)/\(load.count), vscode-snippets/ \(snippetsPassing)/\(snippets.count), "
              + "policy-expressions/ \(expressionsPassing)/\(expressions.count)): \(snippetsPassingTotal) load (\(snippetsPassingTotal * 100 / max(1, snippetsTotal))%)")
        let reference = try Self.referenceResults()
        let referencePassing = reference.values.filter(\.isEmpty).count
        print("corpus azure-docs-policy-reference: \(reference.count) examples, \(referencePassing) load (\(referencePassing * 100 / max(1, reference.count))%)")
        let total = snippetsTotal + reference.count
        let passing = snippetsPassingTotal + referencePassing
        print("corpus total: \(total), \(passing) load (\(passing * 1000 / max(1, total) / 10).\(passing * 1000 / max(1, total) % 10)%)")
        #expect(snippetsTotal == 129)
        #expect(total == 255)
    }

    @Test("the policy-expressions cheat-sheet compiles")
    func cheatSheetCorpus() throws {
        let results = try Self.cheatSheetResults()
        let failing = results.filter { !$0.errors.isEmpty }
        for failure in failing { print("fails: \(failure.expression): \(failure.errors[0])") }
        print("corpus policy-expressions/: \(results.count) expressions, \(results.count - failing.count) compile")
        #expect(results.count == 23)
        #expect(failing.isEmpty)
    }
}
