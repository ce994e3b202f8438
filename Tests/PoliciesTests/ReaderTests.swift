import Testing

@testable import Policies

@Suite("Policy reader: the XML APIM users write")
struct ReaderTests {
    @Test("the seed's three snippets load verbatim, with exact expression text and position")
    func seedSnippetsLoadVerbatim() throws {
        let snippets = try seedSnippets()
        #expect(snippets.count == 3)
        let expectedConditions = [
            #"context.Request.Certificate == null || !context.Request.Certificate.Verify() || context.Request.Certificate.Issuer != "trusted-issuer" || context.Request.Certificate.SubjectName.Name != "expected-subject-name""#,
            #"context.Request.Certificate == null || !context.Request.Certificate.Verify() || context.Request.Certificate.Thumbprint != "DESIRED-THUMBPRINT-IN-UPPER-CASE""#,
            #"context.Request.Certificate == null || !context.Request.Certificate.Verify()  || !context.Deployment.Certificates.Any(c => c.Value.Thumbprint == context.Request.Certificate.Thumbprint)"#,
        ]
        for (snippet, expected) in zip(snippets, expectedConditions) {
            let choose = try readXML(snippet)
            #expect(choose.name == "choose")
            let when = try #require(choose.childElements.first)
            let condition = try #require(when.attribute("condition")?.value.expression)
            #expect(condition.source == expected)
            #expect(condition.kind == .singleStatement)
            // `    <when condition="@(` is 23 characters on line 2.
            #expect(condition.position == SourcePosition(file: "test.xml", line: 2, column: 24))
            let status = try #require(when.childElements.first?.childElements.first)
            #expect(status.attribute("code")?.value == .literal("403"))
            #expect(status.attribute("reason")?.value == .literal("Invalid client certificate"))
        }
    }

    @Test("the seed snippets pass the full loader with a compiler that sees each condition once, typed bool")
    func seedSnippetsLoadThroughLoader() throws {
        for snippet in try seedSnippets() {
            let compiler = RecordingCompiler()
            let statements = try load(policies(snippet), compiler: compiler).get()
            guard case .choose(let choose) = statements.first?.policy else {
                Issue.record("expected a choose")
                continue
            }
            #expect(choose.whens.count == 1)
            #expect(compiler.calls.count == 1)
            #expect(compiler.calls.first?.resultType == .boolean)
            guard case .returnResponse(let response) = choose.whens.first?.statements.first?.policy else {
                Issue.record("expected return-response")
                continue
            }
            #expect(response.status?.code.constant == 403)
            #expect(response.status?.reason?.constant == "Invalid client certificate")
        }
    }

    @Test("strictly escaped XML reads to the same expression as the raw form")
    func strictlyEscaped() throws {
        let raw = #"<when condition="@(a != "x" && b < 3 && c > 'q')" />"#
        let escaped = #"<when condition="@(a != &quot;x&quot; &amp;&amp; b &lt; 3 &amp;&amp; c &gt; &apos;q&apos;)" />"#
        let rawSource = try #require(try readXML(raw).attribute("condition")?.value.expression)
        let escapedSource = try #require(try readXML(escaped).attribute("condition")?.value.expression)
        #expect(rawSource.source == #"a != "x" && b < 3 && c > 'q'"#)
        #expect(escapedSource.source == rawSource.source)
    }

    @Test("an escaped quote inside a C# string does not end the string")
    func escapedQuoteInsideString() throws {
        let element = try readXML(#"<set-variable name="v" value="@(&quot;a)&quot; + &quot;b\&quot;)&quot;)" />"#)
        #expect(element.attribute("value")?.value.expression?.source == #""a)" + "b\")""#)
    }

    @Test("block expressions in element text, with raw < and && and a return in every path")
    func blockInText() throws {
        let text = """
            <set-body>@{
                var n = context.Request.Headers.GetValueOrDefault("n", "0");
                if (n.Length < 3 && n != "}") { return "<small>"; }
                return "{big}";
            }</set-body>
            """
        let body = try readXML(text)
        let expression = try #require(body.textValue?.expression)
        #expect(expression.kind == .block)
        #expect(expression.source.contains(#"if (n.Length < 3 && n != "}") { return "<small>"; }"#))
        #expect(expression.position == SourcePosition(file: "test.xml", line: 1, column: 13))
    }

    @Test("C# literal forms are skipped correctly", arguments: [
        (#"@("(" + ')' + @"a""b)" + $"{x}(" + $@"{y}"")")"#, #""(" + ')' + @"a""b)" + $"{x}(" + $@"{y}"")""#),
        (#"@($"{(a ? ")" : "(")}:{b:N2}")"#, #"$"{(a ? ")" : "(")}:{b:N2}""#),
        (#"@(x /* ) */ + y)"#, #"x /* ) */ + y"#),
        ("@(x // )\n)", "x // )\n"),
        (#"@($"{{ {v} }}")"#, #"$"{{ {v} }}""#),
        (#"@(new [] {1, 2}[0])"#, #"new [] {1, 2}[0]"#),
        (#"@('\'' == ')')"#, #"'\'' == ')'"#),
        (#"@(@$"{a}""{{")"#, #"@$"{a}""{{""#),
        (#"@{ var p = @"C:\dir\"; return p; }"#, #" var p = @"C:\dir\"; return p; "#),
        (#"@("\\" + "\"")"#, #""\\" + "\"""#),
        (#"@($"{$"{"}"}"}")"#, #"$"{$"{"}"}"}""#),
        (#"@('{' + '}' + '(')"#, #"'{' + '}' + '('"#),
        (#"@(items.Any(x => x.Name == "a)b"))"#, #"items.Any(x => x.Name == "a)b")"#),
        (#"@(a /* " */ + b)"#, #"a /* " */ + b"#),
        ("@{ // it's fine\n return 1; }", " // it's fine\n return 1; "),
        (#"@($"{x,10:N2}{{")"#, #"$"{x,10:N2}{{""#),
    ])
    func csharpLiterals(text: String, expected: String) throws {
        let element = try readXML("<value>\(text)</value>")
        #expect(element.textValue?.expression?.source == expected)
    }

    @Test("mixed text with an expression after a prefix stays literal")
    func mixedTextIsLiteral() throws {
        let element = try readXML(#"<set-header name="x"><value>prefix @(expr)</value></set-header>"#)
        #expect(element.childElements.first?.textValue == .literal("prefix @(expr)"))
        let attribute = try readXML(#"<a v="id-@(x)" />"#)
        #expect(attribute.attribute("v")?.value == .literal("id-@(x)"))
    }

    @Test("text after an expression makes the whole value literal, as APIM only evaluates whole values", arguments: [
        (#"<a v="@(x == "a")/suffix" />"#, #"@(x == "a")/suffix"#),
        (#"<a v=" @{ return 1; } tail" />"#, " @{ return 1; } tail"),
        (#"<a v="@(a &amp;&amp; b)) " />"#, "@(a && b)) "),
    ])
    func textAfterExpressionInAttribute(text: String, expected: String) throws {
        #expect(try readXML(text).attribute("v")?.value == .literal(expected))
    }

    @Test("text after an expression in element text or CDATA is literal too")
    func textAfterExpressionInText() throws {
        #expect(try readXML(#"<value>@(x == "<") and more &amp; more</value>"#).textValue == .literal(#"@(x == "<") and more & more"#))
        #expect(try readXML("<value><![CDATA[@(x) <y>]]></value>").textValue == .literal("@(x) <y>"))
    }

    @Test("whitespace around a whole-value expression is allowed")
    func whitespaceAroundExpression() throws {
        let element = try readXML("<value>\n   @(1 + 2)\n</value>")
        #expect(element.textValue?.expression?.source == "1 + 2")
        #expect(element.textValue?.expression?.position == SourcePosition(file: "test.xml", line: 2, column: 6))
    }

    @Test("CDATA keeps text raw and may hold an expression")
    func cdata() throws {
        let literal = try readXML("<set-body><![CDATA[<xml a=\"1\">&amp;</xml>]]></set-body>")
        #expect(literal.textValue == .literal("<xml a=\"1\">&amp;</xml>"))
        let expression = try readXML("<set-body><![CDATA[ @(a < b && c) ]]></set-body>")
        #expect(expression.textValue?.expression?.source == "a < b && c")
        #expect(expression.textValue?.expression?.position == SourcePosition(file: "test.xml", line: 1, column: 23))
    }

    @Test("comments, processing instructions, the XML declaration and a BOM are skipped")
    func commentsAndDeclarations() throws {
        let text = "\u{FEFF}<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!-- a <comment> -->\n<policies><!-- x --><inbound><?pi data?></inbound></policies>\n<!-- after -->\n"
        let root = try readXML(text)
        #expect(root.name == "policies")
        #expect(root.childElements.map(\.name) == ["inbound"])
        #expect(root.position == SourcePosition(file: "test.xml", line: 3, column: 1))
    }

    @Test("predefined and numeric entities decode in text and attributes")
    func entities() throws {
        let element = try readXML(#"<value a="&lt;&#65;&#x42;&#x1F600;&quot;">x &amp; y &#10;z &gt;</value>"#)
        #expect(element.attribute("a")?.value == .literal("<AB😀\""))
        #expect(element.textValue == .literal("x & y \nz >"))
    }

    @Test("attribute values normalise line breaks and tabs to spaces; single quotes delimit too")
    func attributeNormalisation() throws {
        let element = try readXML("<a v='one\ttwo\r\nthree \"q\"' />")
        #expect(element.attribute("v")?.value == .literal("one two three \"q\""))
    }

    @Test("an expression in single-quoted attribute may use raw double quotes and char literals")
    func singleQuotedAttribute() throws {
        let element = try readXML(#"<when condition='@(a == "x" || c == 'y')' />"#)
        #expect(element.attribute("condition")?.value.expression?.source == #"a == "x" || c == 'y'"#)
    }

    @Test("positions in multi-byte text count characters, not bytes")
    func unicodeColumns() throws {
        let element = try readXML("<a v=\"é€😀\" w=\"@(x)\" />")
        #expect(element.attribute("w")?.valuePosition == SourcePosition(file: "test.xml", line: 1, column: 15))
        #expect(element.attribute("w")?.value.expression?.position == SourcePosition(file: "test.xml", line: 1, column: 17))
    }

    @Test("CRLF line endings: lines counted once, expression text normalised")
    func crlf() throws {
        let element = try readXML("<value>\r\n@{\r\nreturn 1;\r\n}</value>")
        let expression = try #require(element.textValue?.expression)
        #expect(expression.source == "\nreturn 1;\n")
        #expect(expression.position == SourcePosition(file: "test.xml", line: 2, column: 3))
        // Offset 1 in the source is the `r` of `return`, at the start of line 3.
        #expect(expression.position(atSourceOffset: 1) == SourcePosition(file: "test.xml", line: 3, column: 1))
    }

    @Test("source offsets map back through entities")
    func offsetsThroughEntities() throws {
        let element = try readXML(#"<a c="@(&quot;x&quot; == y)" />"#)
        let expression = try #require(element.attribute("c")?.value.expression)
        #expect(expression.source == #""x" == y"#)
        // `y` is at source offset 7; in the file it is at column 26.
        #expect(expression.position(atSourceOffset: 7) == SourcePosition(file: "test.xml", line: 1, column: 26))
    }
}
