import Foundation
import Testing

@testable import Policies

/// SplitMix64: a small, seedable generator so every fuzz run is reproducible.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}

@Suite("Reader fuzzing: random mutations never crash or hang, and every failure has a position")
struct ReaderFuzzTests {
    static let corpus: [String] = {
        // The seed's snippets (placed in <inbound>) and a document using most of the syntax.
        var documents = ((try? seedSnippets()) ?? []).map { policies($0) }
        documents.append(
            """
            <?xml version="1.0"?>
            <policies>
                <inbound>
                    <base />
                    <!-- check the caller -->
                    <choose>
                        <when condition="@(context.Request.Headers.GetValueOrDefault("X-Key", "") != "{{key}}" && 1 < 2)">
                            <return-response><set-status code="401" reason="No" /><set-body><![CDATA[<e>no</e>]]></set-body></return-response>
                        </when>
                        <otherwise><set-variable name="v" value="@{ var s = $"{{ {(a ? "(" : ")")} }}"; return s + @"q""r" + '\\''; }" /></otherwise>
                    </choose>
                    <set-header name="X-A" exists-action="append"><value>a &amp; b</value><value>@(/* ) */ "c")</value></set-header>
                    <ip-filter action="allow"><address>10.0.0.1</address><address-range from="::1" to="::2" /></ip-filter>
                </inbound>
                <backend><forward-request timeout="20" /></backend>
                <outbound />
                <on-error><set-status code="500" /></on-error>
            </policies>
            """)
        return documents
    }()

    static let tokens: [String] = [
        "\"", "'", "<", ">", "&", "(", ")", "{", "}", "[", "]", "@", "@(", "@{", "/", "*", "//", "/*", "*/", "$\"", "@\"",
        ";", "]]>", "<!--", "-->", "<![CDATA[", "</", "/>", "=", " ", "\n", "\r\n", "&amp;", "&#", "&#x;", "{{key}}", "{{", "}}",
        "é", "\u{0}", "\\", "?>", "<?", "<!DOCTYPE",
    ]

    static func mutate(_ text: String, using generator: inout SeededGenerator) -> String {
        var characters = Array(text)
        for _ in 0..<Int.random(in: 1...4, using: &generator) {
            let position = characters.isEmpty ? 0 : Int.random(in: 0..<characters.count, using: &generator)
            switch Int.random(in: 0..<4, using: &generator) {
            case 0:
                characters.insert(contentsOf: tokens.randomElement(using: &generator) ?? "<", at: position)
            case 1 where !characters.isEmpty:
                let length = min(Int.random(in: 1...8, using: &generator), characters.count - position)
                characters.removeSubrange(position..<(position + length))
            case 2 where !characters.isEmpty:
                let length = min(Int.random(in: 1...20, using: &generator), characters.count - position)
                let slice = characters[position..<(position + length)]
                let target = Int.random(in: 0...characters.count, using: &generator)
                characters.insert(contentsOf: slice, at: target)
            default:
                if !characters.isEmpty {
                    characters[position] = Character(tokens.randomElement(using: &generator)?.first.map(String.init) ?? "x")
                }
            }
        }
        return String(characters)
    }

    /// True when `position` lies inside `text` (one past the end of a line or the file included).
    static func isInside(_ position: SourcePosition, _ text: String) -> Bool {
        // Lines end at LF bytes (a CRLF pair is one Character in Swift, so split scalars).
        let lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
        guard position.line >= 1, position.line <= lines.count, position.column >= 1 else { return false }
        return position.column <= lines[position.line - 1].count + 1
    }

    @Test("the unmutated corpus loads")
    func corpusLoads() throws {
        let loader = PolicyLoader(options: PolicyLoadOptions(namedValues: NamedValues([.secret("key", "secret-value")])))
        for document in Self.corpus {
            #expect(throws: Never.self) { try loader.load(document, file: "corpus.xml", scope: .api) }
        }
    }

    @Test("2,000 seeded mutations of real policies", arguments: [UInt64(1), 2, 3, 4])
    func mutations(seed: UInt64) throws {
        var generator = SeededGenerator(state: seed)
        let loader = PolicyLoader(
            options: PolicyLoadOptions(namedValues: NamedValues([.secret("key", "secret-value")])), compiler: RecordingCompiler())
        let start = Date()
        var failures = 0
        for iteration in 0..<500 {
            let original = try #require(Self.corpus.randomElement(using: &generator))
            let mutated = Self.mutate(original, using: &generator)
            do {
                _ = try loader.load(mutated, file: "fuzz.xml", scope: .api)
            } catch {
                failures += 1
                #expect(!error.diagnostics.isEmpty, "seed \(seed) iteration \(iteration): a failure without diagnostics")
                for diagnostic in error.diagnostics {
                    #expect(diagnostic.position.file == "fuzz.xml")
                    #expect(Self.isInside(diagnostic.position, mutated), "seed \(seed) iteration \(iteration): \(diagnostic) is outside the text")
                    #expect(!diagnostic.message.isEmpty)
                    #expect(!diagnostic.message.contains("secret-value"), "seed \(seed) iteration \(iteration): secret leaked in \(diagnostic)")
                }
            }
        }
        #expect(failures > 100, "the mutations should break most documents")
        #expect(Date().timeIntervalSince(start) < 30, "no mutation may make the reader slow")
    }

    @Test("pathological inputs finish quickly with an error")
    func pathological() {
        let inputs = [
            String(repeating: "<a ", count: 20_000),
            "<a>" + String(repeating: "&", count: 50_000) + "</a>",
            "<v>@(" + String(repeating: "\"", count: 50_001),
            "<v>@(" + String(repeating: "$\"{", count: 20_000),
            "<v>@(" + String(repeating: "/*", count: 20_000),
            String(repeating: "<!--", count: 20_000),
            "<a>" + String(repeating: "<![CDATA[", count: 10_000),
        ]
        let start = Date()
        for input in inputs {
            #expect(!readErrors(input).isEmpty)
        }
        #expect(Date().timeIntervalSince(start) < 10)
    }
}

@Suite("Reader cost stays linear")
struct ReaderCostTests {
    @Test("a megabyte on one line with many attributes and elements reads quickly")
    func longSingleLine() throws {
        var text = "<policies><inbound>"
        var count = 0
        while text.utf8.count < 900_000 {
            text += #"<set-variable name="v\#(count)" value="é\#(count)" />"#
            count += 1
        }
        text += "</inbound></policies>"
        let start = Date()
        let root = try readXML(text)
        #expect(root.childElements.first?.childElements.count == count)
        #expect(Date().timeIntervalSince(start) < 10)
    }
}

@Suite("Loader cost stays linear and nesting stays bounded")
struct LoaderCostTests {
    @Test("one element with very many attributes, one with very many children")
    func wideElements() {
        let attributes = (0..<20_000).map { " a\($0)=\"1\"" }.joined()
        let start = Date()
        let errors = loadErrors("<set-status code=\"200\"\(attributes) />")
        #expect(errors.count == 20_000)
        #expect(errors.first == "test.xml:1:43: unknown attribute 'a0' on '<set-status>' (expected 'code', 'reason')")
        let values = String(repeating: "<value>v</value>", count: 20_000)
        guard case .setHeader(let header) = loadOne("<set-header name=\"X\">\(values)</set-header>") else {
            Issue.record("expected set-header")
            return
        }
        #expect(header.values.count == 20_000)
        let whens = String(repeating: #"<when condition="true" />"#, count: 10_000)
        guard case .choose(let choose) = loadOne("<choose>\(whens)</choose>") else {
            Issue.record("expected choose")
            return
        }
        #expect(choose.whens.last?.path == "choose[1]/when[10000]")
        #expect(Date().timeIntervalSince(start) < 20)
    }

    @Test("fragments nested inside each other cannot build a tree deeper than the limit")
    func deepFragments() throws {
        let loader = PolicyLoader(options: PolicyLoadOptions(limits: PolicyReaderLimits(maximumElementDepth: 8)))
        // Each fragment nests three levels and includes the next: 12 fragments would reach depth 36.
        var fragments: [PolicyFragment] = []
        for level in 0..<12 {
            let next = level < 11 ? #"<include-fragment fragment-id="f\#(level + 1)" />"# : "<set-status code=\"200\" />"
            fragments.append(
                try loader.readFragment(
                    #"<fragment><choose><when condition="true"><retry condition="false" count="1" interval="0">\#(next)</retry></when></choose></fragment>"#,
                    file: "f\(level).xml", id: "f\(level)"))
        }
        do {
            _ = try loader.load(policies(#"<include-fragment fragment-id="f0" />"#), file: "t.xml", scope: .api, fragments: PolicyFragments(fragments))
            Issue.record("expected failure")
        } catch {
            #expect(error.diagnostics.map(\.message).contains("policies are nested deeper than 8 levels (included fragments count)"))
        }
    }
}
