import Foundation
import Testing

@testable import Policies

/// `set-body template="liquid"` through the pipeline (Liquid's documented output for each form).
@Suite struct LiquidTemplateRuntimeTests {
    func render(_ template: String, _ request: PolicyRequest = request(), body: String? = nil) async throws -> PolicyResult {
        let xml = document(inbound: """
            <return-response><set-status code="200" /><set-body template="liquid">\(template)</set-body></return-response>
            """)
        let (result, _) = try await execute(xml, request, body: body.map { BufferedBody($0) })
        return result
    }

    @Test func outputsFiltersAndWhitespaceControl() async throws {
        let headers = [PolicyHeader("X-Name", "ada lovelace"), PolicyHeader("Accept", "application/json")]
        let result = try await render(
            ##"Hi {{ context.Request.Headers["X-Name"] | Capitalize }}, {{ context.Request.Method | downcase }} {{ context.Request.MatchedParameters["id"] | Prepend: "#" | Append: "!" }} "##
                + #"[{{ context.Request.Headers["Missing"] | Default: "none" }}] {{ "a b" | Replace: " ", "_" | Upcase }} {{ "abc" | Size }}"#
                + "\n   {{- \" x \" | Strip -}}   \n.",
            request(headers: headers))
        #expect(result.status == 200)
        #expect(result.bodyText == "Hi Ada lovelace, get #7! [none] A_B 3x.")
    }

    @Test func loopsOverHeadersAndJSONArraysAndBranches() async throws {
        let headers = [PolicyHeader("X-A", "1"), PolicyHeader("X-B", "2")]
        let listed = try await render("{% for header in context.Request.Headers %}{{ header.Key }}={{ header.Value }};{% endfor %}", request(headers: headers))
        #expect(listed.bodyText == "X-A=1;X-B=2;")
        let json = #"{"name":"Ada","items":[{"sku":"a","qty":2},{"sku":"b","qty":0}],"vip":true}"#
        let template = """
            {{ body.name }}:{% for item in body.items %}{% if item.qty > 1 %}{{ item.sku }}*{{ item.qty }}{% elsif item.qty == 0 %}-{{ item.sku }}{% else %}{{ item.sku }}{% endif %},{% endfor %}\
            {% if body.vip and body.name contains "Ad" %} vip{% endif %}{% unless body.missing %} no-missing{% endunless %}{% comment %}{{ ignored }}{% endcomment %}
            """
        let result = try await render(template, request(method: "POST", headers: [PolicyHeader("Content-Type", "application/json")]), body: json)
        #expect(result.bodyText == "Ada:a*2,-b, vip no-missing")
        let flags = try await render("{% if body.on %}on{% endif %}{% if body.off %}off{% else %}not-off{% endif %}{% if body.none %}none{% endif %}",
                                     request(method: "POST"), body: #"{"on":true,"off":false,"none":null}"#)
        #expect(flags.bodyText == "onnot-off")
        let assigned = try await render(
            "{% assign who = context.Request.Method %}{% assign item = body.items[1] %}{% if item %}{% assign who = \"x\" %}{% endif %}{{ who | Downcase }}/{{ item.sku }}",
            request(method: "POST"), body: json)
        #expect(assigned.bodyText == "x/b")
        // A body that is not JSON renders as nothing where a member was expected, not as an error.
        let notJSON = try await render("[{{ body.name }}]", request(method: "POST"), body: "plain")
        #expect(notJSON.status == 200)
        #expect(notJSON.bodyText == "[]")
    }

    /// `{{body.customer.id}}` (no spaces, a named-value-shaped name) is Liquid output in a liquid template, as the
    /// policy reference writes it; a name that is a named value is still substituted; outside a liquid
    /// template the same text is an unknown named value, as before.
    @Test func unspacedOutputsAreTheTemplatesUnlessANamedValueHasThatName() async throws {
        let loadOptions = PolicyLoadOptions(namedValues: NamedValues([NamedValue(name: "greeting", value: "hello")]))
        let xml = document(inbound: """
            <return-response><set-status code="200" /><set-body template="liquid">{"id": "{{body.customer.id}}", "hi": "{{greeting}}", \
            "m": "{{context.Request.Method}}"}</set-body></return-response>
            """)
        let pipeline = try PolicyPipeline.load([(xml, "test.xml", .api)], loadOptions: loadOptions, options: PolicyPipelineOptions(tracing: true))
        let result = await pipeline.run(request(method: "POST"), body: BufferedBody(#"{"customer":{"id":42}}"#), backend: RecordingBackend())
        #expect(result.status == 200)
        #expect(result.bodyText == #"{"id": "42", "hi": "hello", "m": "POST"}"#)
        for outside in [
            #"<set-header name="X-Id" exists-action="override"><value>{{body.customer.id}}</value></set-header>"#,
            #"<set-body>{{body.customer.id}}</set-body>"#,
            #"<set-body template="none">{{body.customer.id}}</set-body><set-body template="liquid">x</set-body>"#,
        ] {
            #expect(throws: PolicyLoadError.self) { try PolicyPipeline.load([(document(inbound: outside), "test.xml", .api)], loadOptions: loadOptions) }
            let errors = PolicyCheck.check([PolicyCheck.Input(file: "t.xml", text: document(inbound: outside))],
                                           loader: PolicyLoader(options: loadOptions, compiler: ContextExpressionCompiler()))
            #expect(errors.map(\.message) == ["unknown named value '{{body.customer.id}}'"], "\(outside)")
        }
        // Between two templates, only the text outside them is checked.
        let between = document(
            inbound: #"<set-body template="liquid">{{body.b}}</set-body><set-header name="X" exists-action="override"><value>{{c.d}}</value></set-header>"#,
            outbound: #"<set-body template="liquid">{{body.f}}</set-body>"#)
        let errors = PolicyCheck.check([PolicyCheck.Input(file: "t.xml", text: between)], loader: PolicyLoader(options: loadOptions, compiler: ContextExpressionCompiler()))
        #expect(errors.map(\.message) == ["unknown named value '{{c.d}}'"])
    }

    @Test func variablesAreReachedAsJSON() async throws {
        let xml = document(inbound: """
            <set-variable name="j" value="@(new JObject(new JProperty("a", "x"), new JProperty("n", new JObject(new JProperty("b", 2)))))" />
            <set-variable name="s" value="plain" />
            <set-variable name="doc" value="@(XDocument.Parse("<r><v>7</v></r>").Root.Element("v").Value)" />
            <return-response><set-status code="200" /><set-body template="liquid">{%- assign vars = context.Variables["j"] -%}
            {{ vars['a'] }}|{{ vars.n.b }}|{{ context.Variables["s"] }}|{{ context.Variables["missing"] | Default: "-" }}|{{ context.Variables["doc"] }}</set-body></return-response>
            """)
        let (result, _) = try await execute(xml)
        #expect(result.bodyText == "x|2|plain|-|7")
    }

    @Test func errorsPointIntoTheTemplate() {
        func firstError(_ template: String) -> String? {
            switch load(policies(#"<set-body template="liquid">\#(template)</set-body>"#), compiler: ContextExpressionCompiler()) {
            case .success: return nil
            case .failure(let error): return error.diagnostics.first?.description
            }
        }
        #expect(firstError("a {{ context.Request.Nope }}")?.contains("test.xml:1:53: liquid: 'IRequest' has no member 'Nope'") == true, "\(firstError("a {{ context.Request.Nope }}") ?? "")")
        #expect(firstError("{% if x %}")?.contains("unknown variable 'x'") == true)
        #expect(firstError("{% if true %}open")?.contains("'{% if %}' is not closed") == true)
        #expect(firstError("{{ 1 | Frobnicate }}")?.contains("the filter 'Frobnicate' is not supported") == true)
        #expect(firstError("{% cycle 'a' %}")?.contains("the tag 'cycle' is not supported") == true)
        #expect(firstError("{{ context.Request.Method")?.contains("is not closed") == true)
        #expect(firstError("\n\n  {% endfor %}")?.contains("test.xml:3:6: liquid: '{% endfor %}' without '{% for %}'") == true,
                "\(firstError("\n\n  {% endfor %}") ?? "")")
        #expect(firstError("{{ \"a\" | Append: context.Request.Method }}")?.contains("filter arguments must be literals") == true)
        #expect(firstError(#"{{ "a" }}"#) == nil)
        #expect(firstError("{% assign a = 1 | Plus: 2 %}")?.contains("filters are not supported in assign") == true)
    }
}
