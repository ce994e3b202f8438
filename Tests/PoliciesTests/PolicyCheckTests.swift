import Foundation
import Testing

@testable import Policies

@Suite("policy check: every error of every file")
struct PolicyCheckTests {
    @Test("errors from several files are all reported, in file order, with fragments shared")
    func severalFiles() {
        let inputs = [
            PolicyCheck.Input(file: "global.xml", text: "<policies><inbound><set-status code=\"x\" /></inbound><backend><forward-request /></backend></policies>"),
            PolicyCheck.Input(file: "fragments/auth.xml", text: "<fragment><set-header name=\"a\" exists-action=\"nope\" /></fragment>"),
            PolicyCheck.Input(file: "api.xml", text: "<policies>\n<inbound><include-fragment fragment-id=\"auth\" /><include-fragment fragment-id=\"missing\" /></inbound>\n<outbound><forward-request /></outbound></policies>"),
            PolicyCheck.Input(file: "broken.xml", text: "<policies><inbound></policies>"),
            PolicyCheck.Input(file: "fine.xml", text: "<policies><inbound><base /></inbound></policies>"),
        ]
        let messages = PolicyCheck.check(inputs, loader: PolicyLoader()).map(\.description)
        #expect(messages == [
            "global.xml:1:38: invalid value 'x' for attribute 'code' of '<set-status>': expected an integer from 100 to 599",
            "fragments/auth.xml:1:47: invalid value 'nope' for attribute 'exists-action' of '<set-header>': expected one of 'override', 'skip', 'append', 'delete'",
            "api.xml:2:49: unknown policy fragment 'missing' (known fragments: auth)",
            "api.xml:3:11: the policy '<forward-request>' is not allowed in '<outbound>'; it is allowed in '<backend>'",
            "broken.xml:1:20: expected '</inbound>' but found '</policies>'",
        ])
    }

    @Test("every expression is compiled and compile errors point into the expression")
    func compileErrors() {
        let compiler = RecordingCompiler()
        let inputs = [
            PolicyCheck.Input(
                file: "a.xml",
                text: "<policies><inbound>\n<set-variable name=\"v\" value=\"@(1 + FAIL)\" />\n<choose><when condition=\"@(ok)\"><set-body>@{\n  return FAIL;\n}</set-body></when></choose></inbound></policies>")
        ]
        let messages = PolicyCheck.check(inputs, loader: PolicyLoader(compiler: compiler)).map(\.description)
        #expect(messages == ["a.xml:2:37: cannot compile FAIL", "a.xml:4:10: cannot compile FAIL"])
        #expect(compiler.calls.map(\.source) == ["1 + FAIL", "ok", "\n  return FAIL;\n"])
        #expect(compiler.calls.map(\.kind) == [.singleStatement, .singleStatement, .block])
    }

    @Test("files on disk; an unreadable file is an error too")
    func paths() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("policy-check-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let good = directory.appendingPathComponent("good.xml")
        let bad = directory.appendingPathComponent("bad.xml")
        try "<policies><inbound><set-status code=\"200\" /></inbound></policies>".write(to: good, atomically: true, encoding: .utf8)
        try "<policies><inbound><nope /></inbound></policies>".write(to: bad, atomically: true, encoding: .utf8)
        let missing = directory.appendingPathComponent("missing.xml").path
        let messages = PolicyCheck.check(paths: [good.path, bad.path, missing], loader: PolicyLoader()).map(\.description)
        #expect(messages == ["\(missing):1:1: cannot read the file", "\(bad.path):1:20: unknown policy element '<nope>'"])
        #expect(PolicyCheck.check(paths: [good.path], loader: PolicyLoader()).isEmpty)
        // A directory stands for its .xml files; fragments among them resolve for the others.
        let nested = directory.appendingPathComponent("api")
        try FileManager.default.createDirectory(at: nested, withIntermediateDirectories: true)
        try "<fragment><set-status code=\"20\" /></fragment>".write(to: nested.appendingPathComponent("shared.xml"), atomically: true, encoding: .utf8)
        try "<policies><inbound><include-fragment fragment-id=\"shared\" /></inbound></policies>"
            .write(to: nested.appendingPathComponent("orders.xml"), atomically: true, encoding: .utf8)
        try "not xml".write(to: nested.appendingPathComponent("notes.txt"), atomically: true, encoding: .utf8)
        let shared = nested.appendingPathComponent("shared.xml").path
        #expect(PolicyCheck.check(paths: [nested.path], loader: PolicyLoader()).map(\.description) == [
            "\(shared):1:29: invalid value '20' for attribute 'code' of '<set-status>': expected an integer from 100 to 599"
        ])
    }
}

@Suite("The expression seam")
struct ExpressionSeamTests {
    /// Every expression in an element tree, in document order.
    static func expressions(in element: PolicyXMLElement) -> [PolicyExpressionSource] {
        var found = element.attributes.compactMap(\.value.expression)
        for child in element.children {
            switch child {
            case .element(let nested): found += expressions(in: nested)
            case .text(let text): found += text.value.expression.map { [$0] } ?? []
            }
        }
        return found
    }

    @Test("the loader hands every expression of the document to the compiler exactly once, in document order")
    func everyExpressionOnce() throws {
        let text = """
            <policies>
              <inbound>
                <set-variable name="a" value="@(1)" />
                <choose>
                  <when condition="@(context.Variables.ContainsKey("a"))">
                    <set-header name="@("X-" + "A")" exists-action="@("override")"><value>@(2)</value><value>@{ return "3"; }</value></set-header>
                  </when>
                  <otherwise><set-status code="@(500)" reason="@("r")" /></otherwise>
                </choose>
                <rate-limit-by-key calls="@(10)" renewal-period="@(60)" counter-key="@("k")" increment-condition="@(true)" />
                <send-request response-variable-name="r"><set-url>@("https://x")</set-url><set-body>@("b")</set-body></send-request>
                <retry condition="@(false)" count="@(2)" interval="@(1)"><trace source="t"><message>@("m")</message></trace></retry>
              </inbound>
              <backend><forward-request timeout="@(30)" buffer-response="@(true)" /></backend>
            </policies>
            """
        let compiler = RecordingCompiler()
        let loader = PolicyLoader(compiler: compiler)
        let scoped = try loader.load(text, file: "all.xml", scope: .api)
        let expected = Self.expressions(in: try loader.readXML(text, file: "all.xml"))
        #expect(expected.count == 20)
        #expect(compiler.calls.map(\.source) == expected.map(\.source))
        #expect(compiler.calls.map(\.position) == expected.map(\.position))
        #expect(scoped.statements(in: .inbound).count == 5)
    }

    @Test("without a compiler the expressions are kept uncompiled")
    func noCompiler() {
        guard case .setStatus(let status) = loadOne(#"<set-status code="@(200)" />"#) else {
            Issue.record("expected set-status")
            return
        }
        #expect(status.code.expression?.compiled == nil)
        #expect(status.code.expression?.resultType == .integer)
    }

    @Test("with a compiler, the compiled handle is kept")
    func compiledKept() {
        guard case .setStatus(let status) = loadOne(#"<set-status code="@(200)" />"#, compiler: RecordingCompiler()) else {
            Issue.record("expected set-status")
            return
        }
        #expect((status.code.expression?.compiled as? RecordingCompiler.Compiled)?.source == "200")
    }
}

@Suite("policy check goes on after an unknown named value")
struct PolicyCheckNamedValueTests {
    @Test("the unknown name and the later errors are all reported")
    func continues() {
        let input = PolicyCheck.Input(file: "a.xml", text: #"<policies><inbound><set-header name="{{missing}}" exists-action="sometimes" /></inbound></policies>"#)
        #expect(PolicyCheck.check([input], loader: PolicyLoader()).map(\.description) == [
            "a.xml:1:38: unknown named value '{{missing}}'",
            "a.xml:1:66: invalid value 'sometimes' for attribute 'exists-action' of '<set-header>': expected one of 'override', 'skip', 'append', 'delete'",
        ])
    }
}
