import Foundation
import Testing

@testable import Policies

@Suite("Named values: textual substitution before parsing, secrets never shown")
struct NamedValueTests {
    @Test("a placeholder is replaced by its value, looked up case-insensitively")
    func substitution() throws {
        let element = try readXML(
            #"<set-backend-service base-url="{{Backend-URL}}/v{{version}}" />"#,
            namedValues: [NamedValue(name: "backend-url", value: "https://orders.internal"), NamedValue(name: "version", value: "2")])
        #expect(element.attribute("base-url")?.value == .literal("https://orders.internal/v2"))
    }

    @Test("a named value holding an expression becomes an expression")
    func valueWithExpression() throws {
        let element = try readXML(#"<a v="{{now}}" />"#, namedValues: [NamedValue(name: "now", value: #"@(DateTime.Now.ToString("o"))"#)])
        #expect(element.attribute("v")?.value.expression?.source == #"DateTime.Now.ToString("o")"#)
        // The position of text that came from a named value is the placeholder's.
        #expect(element.attribute("v")?.value.expression?.position == SourcePosition(file: "test.xml", line: 1, column: 7))
    }

    @Test("substituted text is not scanned again for placeholders")
    func noRecursiveSubstitution() throws {
        let element = try readXML(
            #"<a v="{{outer}}" />"#, namedValues: [NamedValue(name: "outer", value: "{{inner}}"), NamedValue(name: "inner", value: "x")])
        #expect(element.attribute("v")?.value == .literal("{{inner}}"))
    }

    @Test("positions after a substitution are positions in the original file")
    func positionsAfterSubstitution() throws {
        let element = try readXML(
            "<a v=\"{{long-name}}\" w=\"@(x)\" />\n<!-- {{long-name}} -->",
            namedValues: [NamedValue(name: "long-name", value: "a much longer value than the placeholder itself")])
        #expect(element.attribute("w")?.value.expression?.position == SourcePosition(file: "test.xml", line: 1, column: 27))
        #expect(element.attribute("w")?.valuePosition == SourcePosition(file: "test.xml", line: 1, column: 25))
    }

    @Test("an unknown named value is an error at the placeholder; it can be allowed for liquid templates")
    func unknownNamedValue() throws {
        #expect(readErrors("<a>\n  <b v=\"{{missing}}\" />\n</a>") == ["test.xml:2:9: unknown named value '{{missing}}'"])
        let loader = PolicyLoader(options: PolicyLoadOptions(allowUnknownNamedValues: true))
        let element = try loader.readXML(#"<set-body template="liquid">{{body.name}}</set-body>"#, file: "t.xml")
        #expect(element.textValue == .literal("{{body.name}}"))
    }

    @Test("a secret in an invalid attribute value is redacted from the error")
    func secretRedactedFromValidationError() {
        let secret = NamedValue.secret("status-secret", "s3cr3t-not-a-number")
        let options = PolicyLoadOptions(namedValues: NamedValues([secret]))
        guard case .failure(let error) = load(policies(#"<set-status code="{{status-secret}}" />"#), options: options) else {
            Issue.record("expected a failure")
            return
        }
        let message = error.description
        #expect(!message.contains("s3cr3t"))
        #expect(message.contains("{{status-secret}}"))
        #expect(error.diagnostics.first?.position == SourcePosition(file: "test.xml", line: 1, column: 38))
    }

    @Test("a syntax error inside a secret value names the placeholder, not the text")
    func secretNotQuotedBySyntaxError() {
        let errors = readErrors(#"<a {{key}} />"#, namedValues: [.secret("key", "\"hunter2")])
        #expect(errors == ["test.xml:1:4: expected an attribute name, '>' or '/>' in '<a>', found the secret named value {{key}}"])
        let lessThan = readErrors(#"<a v="{{key}}" />"#, namedValues: [.secret("key", "p<ss")])
        #expect(lessThan == ["test.xml:1:7: '<' is not allowed in the value of attribute 'v' (write '&lt;')"])
    }

    @Test("compile errors quoting a secret are redacted too")
    func secretRedactedFromCompileError() {
        struct QuotingCompiler: PolicyExpressionCompiling {
            func compile(_ expression: PolicyExpressionSource, expecting resultType: PolicyExpressionResultType) throws
                -> any CompiledPolicyExpression
            {
                throw PolicyExpressionCompileError("cannot parse \(expression.source)")
            }
        }
        let options = PolicyLoadOptions(namedValues: NamedValues([.secret("api-key", "abc123secret")]))
        let text = policies(#"<set-header name="k"><value>@("{{api-key}}" + )</value></set-header>"#)
        guard case .failure(let error) = load(text, options: options, compiler: QuotingCompiler()) else {
            Issue.record("expected a failure")
            return
        }
        #expect(error.description == #"test.xml:1:50: cannot parse "{{api-key}}" + "#)
    }

    @Test("printing the effective document hides secrets")
    func effectiveDocumentRedacts() throws {
        let namedValues = NamedValues([.secret("token", "very-secret-token")])
        let loader = PolicyLoader(options: PolicyLoadOptions(namedValues: namedValues))
        let scoped = try loader.load(
            policies(#"<set-header name="Authorization"><value>Bearer {{token}}</value></set-header>"#), file: "a.xml", scope: .api)
        // Hidden even when the caller forgets to pass the named values again.
        for xml in [EffectivePolicy.merge([scoped]).xml(), EffectivePolicy.merge([scoped]).xml(redacting: namedValues)] {
            #expect(!xml.contains("very-secret-token"))
            #expect(xml.contains("Bearer {{token}}"))
        }
    }
}

@Suite("Named values: expansion is bounded")
struct NamedValueExpansionTests {
    @Test("a small file that named values would blow up is refused, quickly")
    func expansionBounded() {
        let big = NamedValue(name: "big", value: String(repeating: "x", count: 100_000))
        let text = "<a v=\"" + String(repeating: "{{big}}", count: 10_000) + "\" />"
        let start = Date()
        #expect(readErrors(text, namedValues: [big]) == ["test.xml:1:1: policy document is over the limit of 1048576 bytes once named values are substituted"])
        #expect(Date().timeIntervalSince(start) < 5)
    }
}

@Suite("Named values inside expressions")
struct NamedValuesInExpressionsTests {
    @Test("a compile error after a substituted value points at the original file's column")
    func compileErrorAfterSubstitution() {
        let options = PolicyLoadOptions(namedValues: NamedValues([NamedValue(name: "v", value: "a much longer substituted value")]))
        // The source starts at column 52 (after `<policies><inbound><set-variable name="x" value="@(`); `"{{v}}" + ` is 10 more.
        guard case .failure(let error) = load(policies(#"<set-variable name="x" value="@("{{v}}" + FAIL)" />"#), options: options, compiler: RecordingCompiler())
        else {
            Issue.record("expected failure")
            return
        }
        #expect(error.description == "test.xml:1:62: cannot compile FAIL")
    }
}

@Suite("Secrets are never quoted, even transformed")
struct SecretQuotingTests {
    @Test("a trimmed or truncated secret is named, not shown", arguments: [
        ("<ip-filter action=\"allow\"><address>{{s}}</address></ip-filter>", " 10.0.0.999 "),
        ("<set-status code=\"{{s}}\" />", String(repeating: "9", count: 200)),
        ("<set-header name=\"{{s}}\"><value>1</value></set-header>", "Bad Name With Spaces"),
        ("<cors><allowed-origins><origin>{{s}}</origin></allowed-origins></cors>", "  not-an-origin  "),
    ])
    func named(statement: String, secret: String) {
        let options = PolicyLoadOptions(namedValues: NamedValues([.secret("s", secret)]))
        guard case .failure(let error) = load(policies(statement), options: options) else {
            Issue.record("expected a failure")
            return
        }
        let core = secret.trimmingCharacters(in: .whitespaces)
        #expect(!error.description.contains(String(core.prefix(8))))
        #expect(error.description.contains("(a value containing the secret named value {{s}})"))
    }

    @Test("plain named values are quoted as usual")
    func plainQuoted() {
        let options = PolicyLoadOptions(namedValues: NamedValues([NamedValue(name: "p", value: "abc")]))
        guard case .failure(let error) = load(policies(#"<set-status code="{{p}}" />"#), options: options) else {
            Issue.record("expected a failure")
            return
        }
        #expect(error.description == "test.xml:1:38: invalid value 'abc' for attribute 'code' of '<set-status>': expected an integer from 100 to 599")
    }
}
