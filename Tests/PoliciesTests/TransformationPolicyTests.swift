import Testing

@testable import Policies

@Suite("set-status")
struct SetStatusPolicyTests {
    @Test("code and reason, literal or expression (integer)")
    func parses() {
        guard case .setStatus(let status) = loadOne(#"<set-status code="403" reason="Invalid client certificate" />"#) else {
            Issue.record("expected set-status")
            return
        }
        #expect(status.code.constant == 403)
        #expect(status.reason?.constant == "Invalid client certificate")
        let compiler = RecordingCompiler()
        guard case .setStatus(let dynamic) = loadOne(#"<set-status code="@(context.Variables.GetValueOrDefault<int>("c", 500))" />"#, compiler: compiler) else {
            Issue.record("expected set-status")
            return
        }
        #expect(dynamic.code.expression != nil)
        #expect(dynamic.reason == nil)
        #expect(compiler.calls.map(\.resultType) == [.integer])
    }

    @Test("errors", arguments: [
        (#"<set-status code="abc" />"#, "test.xml:1:38: invalid value 'abc' for attribute 'code' of '<set-status>': expected an integer from 100 to 599"),
        (#"<set-status code="99" />"#, "test.xml:1:38: invalid value '99' for attribute 'code' of '<set-status>': expected an integer from 100 to 599"),
        ("<set-status />", "test.xml:1:20: '<set-status>' requires the attribute 'code'"),
        (#"<set-status code="200" colour="red" />"#, "test.xml:1:43: unknown attribute 'colour' on '<set-status>' (expected 'code', 'reason')"),
        (#"<set-status code="200">text</set-status>"#, "test.xml:1:43: text is not allowed inside '<set-status>'"),
        (#"<set-status code="200" id="@(x)" />"#, "test.xml:1:47: the 'id' attribute of '<set-status>' must be literal text, not an expression"),
    ])
    func errors(statement: String, expected: String) {
        #expect(loadErrors(statement) == [expected])
    }
}

@Suite("set-header")
struct SetHeaderPolicyTests {
    @Test("exists-action defaults to override", arguments: PolicySection.allCases)
    func defaults(section: PolicySection) {
        guard case .setHeader(let header) = loadOne(#"<set-header name="X-A"><value>1</value></set-header>"#, section: section) else {
            Issue.record("expected set-header")
            return
        }
        #expect(header.name.constant == "X-A")
        #expect(header.existsAction.constant == .override)
        #expect(header.values.map(\.constant) == ["1"])
    }

    @Test("every exists-action", arguments: ExistsAction.allCases)
    func existsActions(action: ExistsAction) {
        let values = action == .delete ? "" : "<value>a</value><value>@(b)</value>"
        guard case .setHeader(let header) = loadOne(#"<set-header name="X" exists-action="\#(action.rawValue)">\#(values)</set-header>"#) else {
            Issue.record("expected set-header")
            return
        }
        #expect(header.existsAction.constant == action)
        #expect(header.values.count == (action == .delete ? 0 : 2))
        if action != .delete {
            #expect(header.values[1].expression?.source.source == "b")
        }
    }

    @Test("delete with values loads with a warning")
    func deleteWithValuesWarns() throws {
        let scoped = try PolicyLoader().load(
            policies(#"<set-header name="X" exists-action="delete"><value>a</value></set-header>"#), file: "t.xml", scope: .api)
        #expect(scoped.warnings.map(\.description) == ["t.xml:1:20: warning: '<set-header>' with exists-action 'delete' ignores its '<value>' elements"])
    }

    @Test("errors", arguments: [
        (#"<set-header name="x" exists-action="replace" />"#, "test.xml:1:56: invalid value 'replace' for attribute 'exists-action' of '<set-header>': expected one of 'override', 'skip', 'append', 'delete'"),
        (#"<set-header exists-action="skip" />"#, "test.xml:1:20: '<set-header>' requires the attribute 'name'"),
        (#"<set-header name="" />"#, "test.xml:1:38: invalid value '' for attribute 'name' of '<set-header>': expected a non-empty value"),
        (#"<set-header name="x"><val>1</val></set-header>"#, "test.xml:1:41: unexpected element '<val>' inside '<set-header>' (expected '<value>')"),
    ])
    func errors(statement: String, expected: String) {
        #expect(loadErrors(statement) == [expected])
    }
}

@Suite("set-query-parameter")
struct SetQueryParameterPolicyTests {
    @Test("name, exists-action, values; inbound and backend only")
    func parses() {
        guard case .setQueryParameter(let parameter) = loadOne(#"<set-query-parameter name="v" exists-action="append"><value>2</value></set-query-parameter>"#, section: .backend)
        else {
            Issue.record("expected set-query-parameter")
            return
        }
        #expect(parameter.name.constant == "v")
        #expect(parameter.existsAction.constant == .append)
        #expect(parameter.values.map(\.constant) == ["2"])
        #expect(loadErrors(#"<set-query-parameter name="v" />"#, section: .outbound) == [
            "test.xml:1:21: the policy '<set-query-parameter>' is not allowed in '<outbound>'; it is allowed in '<inbound>', '<backend>'"
        ])
    }

    @Test("values are trimmed; any text is a valid parameter name; errors", arguments: [
        (#"<set-query-parameter name="v" exists-action="remove" />"#, "test.xml:1:65: invalid value 'remove' for attribute 'exists-action' of '<set-query-parameter>': expected one of 'override', 'skip', 'append', 'delete'"),
        ("<set-query-parameter />", "test.xml:1:20: '<set-query-parameter>' requires the attribute 'name'"),
        (#"<set-query-parameter name="v"><value>a&#13;b</value></set-query-parameter>"#, "test.xml:1:57: '<value>' of '<set-query-parameter>' contains a line break or control character"),
    ])
    func errors(statement: String, expected: String) {
        #expect(loadErrors(statement) == [expected])
    }

    @Test("a parameter name may hold characters a header name may not")
    func names() {
        guard case .setQueryParameter(let parameter) = loadOne(#"<set-query-parameter name="filter[status]"><value> open </value></set-query-parameter>"#) else {
            Issue.record("expected set-query-parameter")
            return
        }
        #expect(parameter.name.constant == "filter[status]")
        #expect(parameter.values.map(\.constant) == ["open"])
        #expect(parameter.existsAction.constant == .override)
    }
}

@Suite("set-body")
struct SetBodyPolicyTests {
    @Test("literal text with defaults")
    func literal() {
        guard case .setBody(let body) = loadOne(#"<set-body>{"a": 1}</set-body>"#) else {
            Issue.record("expected set-body")
            return
        }
        #expect(body.body?.constant == #"{"a": 1}"#)
        #expect(body.template == .none)
        #expect(body.xsiNil == .blank)
        #expect(body.parseDate == true)
    }

    @Test("an expression body is compiled as a string")
    func expression() {
        let compiler = RecordingCompiler()
        guard case .setBody(let body) = loadOne(#"<set-body>@(context.Request.Body.As<string>(preserveContent: true))</set-body>"#, compiler: compiler) else {
            Issue.record("expected set-body")
            return
        }
        #expect(body.body?.expression?.source.source == "context.Request.Body.As<string>(preserveContent: true)")
        #expect(compiler.calls.map(\.resultType) == [.string])
    }

    @Test("a liquid template is translated at load into a C# block")
    func liquid() throws {
        let options = PolicyLoadOptions(allowUnknownNamedValues: true)
        let statements = try load(policies(#"<set-body template="liquid" xsi-nil="null">{"n": "{{body.name}}"}</set-body>"#), options: options).get()
        guard case .setBody(let body) = statements.first?.policy else {
            Issue.record("expected set-body")
            return
        }
        #expect(body.template == .liquid)
        #expect(body.xsiNil == .null)
        let source = body.body?.expression?.source.source ?? ""
        #expect(source.contains(#"__o.Append("{\"n\": \"");"#), "\(source)")
        #expect(source.contains(#"__body.As"#) || source.contains("JToken __body"), "\(source)")
    }

    @Test("errors", arguments: [
        (#"<set-body template="razor">x</set-body>"#, "test.xml:1:40: invalid value 'razor' for attribute 'template' of '<set-body>': expected one of 'none', 'liquid'"),
        (#"<set-body template="liquid">@(x)</set-body>"#, "test.xml:1:20: a liquid template in '<set-body>' must be text, not a policy expression"),
    ])
    func errors(statement: String, expected: String) {
        #expect(loadErrors(statement) == [expected])
    }
}

@Suite("set-variable")
struct SetVariablePolicyTests {
    @Test("a literal is a string; an expression is compiled for any type")
    func parses() {
        let compiler = RecordingCompiler()
        guard case .setVariable(let literal) = loadOne(#"<set-variable name="a" value="10" />"#) else {
            Issue.record("expected set-variable")
            return
        }
        #expect(literal.name == "a")
        #expect(literal.value.constant == "10")
        guard case .setVariable(let typed) = loadOne(#"<set-variable name="b" value="@(1 + 2)" />"#, compiler: compiler) else {
            Issue.record("expected set-variable")
            return
        }
        #expect(typed.value.expression?.source.source == "1 + 2")
        #expect(compiler.calls.map(\.resultType) == [.any])
    }

    @Test("errors", arguments: [
        (#"<set-variable name="@(x)" value="1" />"#, "test.xml:1:40: the attribute 'name' of '<set-variable>' does not allow policy expressions"),
        (#"<set-variable name="x" />"#, "test.xml:1:20: '<set-variable>' requires the attribute 'value'"),
    ])
    func errors(statement: String, expected: String) {
        #expect(loadErrors(statement) == [expected])
    }
}

@Suite("set-method")
struct SetMethodPolicyTests {
    @Test("a literal method is upper-cased; an expression is kept")
    func parses() {
        guard case .setMethod(let method) = loadOne("<set-method>post</set-method>") else {
            Issue.record("expected set-method")
            return
        }
        #expect(method.method.constant == "POST")
        guard case .setMethod(let dynamic) = loadOne(#"<set-method>@(context.Request.Method)</set-method>"#, section: .onError) else {
            Issue.record("expected set-method")
            return
        }
        #expect(dynamic.method.expression?.source.source == "context.Request.Method")
    }

    @Test("errors", arguments: [
        ("<set-method>PO ST</set-method>", PolicySection.inbound, "test.xml:1:32: invalid HTTP method 'PO ST' in '<set-method>'"),
        ("<set-method />", .inbound, "test.xml:1:20: '<set-method>' requires the method as its text, e.g. '<set-method>POST</set-method>'"),
        ("<set-method>GET</set-method>", .outbound, "test.xml:1:21: the policy '<set-method>' is not allowed in '<outbound>'; it is allowed in '<inbound>', '<on-error>'"),
    ])
    func errors(statement: String, section: PolicySection, expected: String) {
        #expect(loadErrors(statement, section: section) == [expected])
    }
}

@Suite("rewrite-uri")
struct RewriteURIPolicyTests {
    @Test("template and copy-unmatched-params (default true)")
    func parses() {
        guard case .rewriteURI(let rewrite) = loadOne(#"<rewrite-uri template="/v2/orders/{id}" />"#) else {
            Issue.record("expected rewrite-uri")
            return
        }
        #expect(rewrite.template.constant == "/v2/orders/{id}")
        #expect(rewrite.copyUnmatchedParameters.constant == true)
        guard case .rewriteURI(let noCopy) = loadOne(#"<rewrite-uri template="/x" copy-unmatched-params="false" />"#) else {
            Issue.record("expected rewrite-uri")
            return
        }
        #expect(noCopy.copyUnmatchedParameters.constant == false)
    }

    @Test("errors", arguments: [
        (#"<rewrite-uri template="/orders/{id" />"#, PolicySection.inbound, "test.xml:1:43: invalid URI template '/orders/{id' in '<rewrite-uri>': '{' is never closed"),
        (#"<rewrite-uri template="/a/{}" />"#, .inbound, "test.xml:1:43: invalid URI template '/a/{}' in '<rewrite-uri>': an empty parameter name '{}'"),
        (#"<rewrite-uri template="/a" />"#, .backend, "test.xml:1:20: the policy '<rewrite-uri>' is not allowed in '<backend>'; it is allowed in '<inbound>'"),
    ])
    func errors(statement: String, section: PolicySection, expected: String) {
        #expect(loadErrors(statement, section: section) == [expected])
    }
}

@Suite("mock-response")
struct MockResponsePolicyTests {
    @Test("defaults 200 application/json")
    func defaults() {
        guard case .mockResponse(let mock) = loadOne("<mock-response />") else {
            Issue.record("expected mock-response")
            return
        }
        #expect(mock.statusCode == 200)
        #expect(mock.contentType == "application/json")
        guard case .mockResponse(let custom) = loadOne(#"<mock-response status-code="404" content-type="text/plain" />"#, section: .outbound) else {
            Issue.record("expected mock-response")
            return
        }
        #expect(custom.statusCode == 404)
        #expect(custom.contentType == "text/plain")
    }

    @Test("errors", arguments: [
        (#"<mock-response status-code="@(200)" />"#, "test.xml:1:48: the attribute 'status-code' of '<mock-response>' does not allow policy expressions"),
        (#"<mock-response status-code="ok" />"#, "test.xml:1:48: invalid value 'ok' for attribute 'status-code' of '<mock-response>': expected an integer from 100 to 599"),
    ])
    func errors(statement: String, expected: String) {
        #expect(loadErrors(statement) == [expected])
    }
}

@Suite("set-body markup")
struct SetBodyMarkupTests {
    @Test("XML inside a set-body (a liquid template producing XML) is body text, not policies")
    func markupIsText() throws {
        let text = policies("""
            <set-body template="liquid">{%- assign v = context.Variables["x"] -%}<message a="{{ v['a'] }}"><data>1 &amp; 2</data><empty /></message></set-body>
            """)
        let statements = try load(text, options: PolicyLoadOptions(allowUnknownNamedValues: true)).get()
        guard case .setBody(let body) = statements.first?.policy else {
            Issue.record("expected set-body")
            return
        }
        // The markup is template text (entities as written in the document), around the outputs.
        let source = body.body?.expression?.source.source ?? ""
        #expect(source.contains(#"JToken __l_v = (context.Variables.GetValueOrDefault("x") == null"#), "\(source)")
        #expect(source.contains(#"__o.Append("<message a=\"");"#), "\(source)")
        #expect(source.contains(#"__o.Append("\"><data>1 &amp; 2</data><empty /></message>");"#), "\(source)")
    }
}

@Suite("header values are safe")
struct HeaderValueSafetyTests {
    @Test("literal values are trimmed; line breaks inside are refused; names must be tokens")
    func values() {
        guard case .setHeader(let header) = loadOne("<set-header name=\"Content-Type\">\n  <value>\n    application/json\n  </value>\n</set-header>") else {
            Issue.record("expected set-header")
            return
        }
        #expect(header.values.map(\.constant) == ["application/json"])
        #expect(loadErrors("<set-header name=\"X\"><value>a&#10;Injected: yes</value></set-header>") == [
            "test.xml:1:48: '<value>' of '<set-header>' contains a line break or control character"
        ])
        #expect(loadErrors(#"<set-header name="X A"><value>1</value></set-header>"#) == [
            "test.xml:1:38: invalid name 'X A' in '<set-header>': expected letters, digits and !#$%&'*+-.^_`|~"
        ])
        #expect(loadErrors(#"<check-header name="X:" failed-check-httpcode="401" failed-check-error-message="m" ignore-case="true" />"#) == [
            "test.xml:1:40: invalid name 'X:' in '<check-header>': expected letters, digits and !#$%&'*+-.^_`|~"
        ])
    }
}
