import Testing

@testable import Policies

@Suite("Scopes, <base/> and fragments")
struct ScopeTests {
    let loader = PolicyLoader()

    /// A document whose inbound section sets one header per name, with `<base/>` where `base` appears.
    func scoped(_ scope: PolicyScope, inbound: [String], file: String? = nil, extra: String = "") throws -> ScopedPolicy {
        let statements = inbound.map { $0 == "base" ? "<base />" : #"<set-header name="\#($0)" exists-action="override"><value>1</value></set-header>"# }
        let text = "<policies><inbound>\(statements.joined())</inbound>\(extra)</policies>"
        return try loader.load(text, file: file ?? "\(scope).xml", scope: scope)
    }

    func headerNames(_ policy: EffectivePolicy, _ section: PolicySection = .inbound) -> [String] {
        policy.statements(in: section).compactMap { statement in
            if case .setHeader(let header) = statement.policy { return header.name.constant }
            return nil
        }
    }

    @Test("<base/> splices the parent's section where it stands, all the way up")
    func splicingOrder() throws {
        let effective = EffectivePolicy.merge([
            try scoped(.operation, inbound: ["op-1", "base", "op-2"]),
            try scoped(.global, inbound: ["global-1", "base", "global-2"]),
            try scoped(.product, inbound: ["base", "product"]),
            try scoped(.api, inbound: ["api-1", "base", "api-2"]),
        ])
        #expect(headerNames(effective) == ["op-1", "api-1", "global-1", "global-2", "product", "api-2", "op-2"])
        #expect(effective.scopes == [.global, .product, .api, .operation])
        #expect(effective.statements(in: .inbound).map(\.scope) == [.operation, .api, .global, .global, .product, .api, .operation])
    }

    @Test("without <base/> the parent's section is dropped")
    func missingBaseDropsParent() throws {
        let effective = EffectivePolicy.merge([
            try scoped(.global, inbound: ["global"]),
            try scoped(.api, inbound: ["api-only"]),
        ])
        #expect(headerNames(effective) == ["api-only"])
    }

    @Test("a missing scope behaves as <base/> everywhere; at global <base/> is a no-op")
    func missingScopes() throws {
        let global = try scoped(.global, inbound: ["base", "global"], extra: "<backend><forward-request /></backend>")
        let api = try scoped(.api, inbound: ["base", "api"], extra: "<backend><base /></backend>")
        let effective = EffectivePolicy.merge([global, api])  // no product, no operation document
        #expect(headerNames(effective) == ["global", "api"])
        #expect(effective.statements(in: .backend).map(\.name) == ["forward-request"])
        #expect(effective.statements(in: .outbound).isEmpty)
    }

    @Test("a missing section is an empty section: the parent's is dropped (REFERENCE.md §1.2)")
    func missingSectionDropsParent() throws {
        let global = try scoped(.global, inbound: ["global"], extra: "<backend><forward-request /></backend>")
        let api = try scoped(.api, inbound: ["base"])  // no <backend>
        let effective = EffectivePolicy.merge([global, api])
        #expect(headerNames(effective) == ["global"])
        #expect(effective.statements(in: .backend).isEmpty)
    }

    @Test("<base/> twice in a section, or nested in a policy, is an error")
    func misplacedBase() {
        guard case .failure(let twice) = load(policies("<base /><base />")) else {
            Issue.record("expected failure")
            return
        }
        #expect(twice.description == "test.xml:1:28: '<base/>' may appear at most once in '<inbound>'")
        guard case .failure(let nested) = load(policies(#"<choose><when condition="true"><base /></when></choose>"#)) else {
            Issue.record("expected failure")
            return
        }
        #expect(nested.description == "test.xml:1:51: '<base/>' is only allowed directly inside '<inbound>', '<backend>', '<outbound>' or '<on-error>'")
    }

    @Test("element paths and ids are kept for context.LastError")
    func pathsAndIDs() throws {
        let text = policies("""
            <set-variable name="a" value="1" /><choose><when condition="true" /></choose>\
            <choose id="second"><when condition="false" /><when condition="true"><set-status code="500" id="inner" /></when></choose>
            """)
        let statements = try load(text).get()
        #expect(statements.map(\.path) == ["set-variable[1]", "choose[1]", "choose[2]"])
        #expect(statements[2].id == "second")
        guard case .choose(let choose) = statements[2].policy else {
            Issue.record("expected choose")
            return
        }
        #expect(choose.whens.map(\.path) == ["choose[2]/when[1]", "choose[2]/when[2]"])
        #expect(choose.whens[1].statements.first?.path == "choose[2]/when[2]/set-status[1]")
        #expect(choose.whens[1].statements.first?.id == "inner")
    }

    // MARK: Fragments

    func fragment(_ id: String, _ body: String) throws -> PolicyFragment {
        try loader.readFragment("<fragment>\(body)</fragment>", file: "\(id).xml", id: id)
    }

    @Test("include-fragment is replaced by the fragment's statements, at any depth, in place")
    func fragmentInlined() throws {
        let fragments = PolicyFragments([
            try fragment("auth", #"<set-header name="f-1"><value>x</value></set-header><include-fragment fragment-id="inner" />"#),
            try fragment("inner", #"<set-header name="f-2"><value>y</value></set-header>"#),
        ])
        let text = policies(
            #"<set-header name="before"><value>1</value></set-header><include-fragment fragment-id="auth" /><choose><when condition="true"><include-fragment fragment-id="inner" /></when></choose>"#)
        let statements = try load(text, fragments: fragments).get()
        #expect(statements.map(\.name) == ["set-header", "set-header", "set-header", "choose"])
        let names = statements.compactMap { if case .setHeader(let header) = $0.policy { header.name.constant } else { nil } }
        #expect(names == ["before", "f-1", "f-2"])
        // Statements from a fragment keep their own file positions.
        #expect(statements[1].position == SourcePosition(file: "auth.xml", line: 1, column: 11))
        guard case .choose(let choose) = statements[3].policy else {
            Issue.record("expected choose")
            return
        }
        #expect(choose.whens.first?.statements.map(\.name) == ["set-header"])
    }

    @Test("a missing fragment is a clear load error")
    func missingFragment() throws {
        let fragments = PolicyFragments([try fragment("known", "<set-status code=\"200\" />")])
        guard case .failure(let error) = load(policies(#"<include-fragment fragment-id="nope" />"#), fragments: fragments) else {
            Issue.record("expected failure")
            return
        }
        #expect(error.description == "test.xml:1:20: unknown policy fragment 'nope' (known fragments: known)")
    }

    @Test("fragment recursion is detected and named")
    func fragmentRecursion() throws {
        let fragments = PolicyFragments([
            try fragment("a", #"<include-fragment fragment-id="b" />"#),
            try fragment("b", #"<set-status code="200" /><include-fragment fragment-id="a" />"#),
        ])
        guard case .failure(let error) = load(policies(#"<include-fragment fragment-id="a" />"#), fragments: fragments) else {
            Issue.record("expected failure")
            return
        }
        #expect(error.description == "b.xml:1:36: policy fragment 'a' includes itself (a → b → a)")
    }

    @Test("a fragment cannot hold sections or <base/>; its root must be <fragment>")
    func fragmentStructure() {
        #expect(throws: PolicyLoadError.self) { try loader.readFragment("<fragment><inbound /></fragment>", file: "f.xml", id: "f") }
        do {
            _ = try loader.readFragment("<fragment><base /></fragment>", file: "f.xml", id: "f")
            Issue.record("expected failure")
        } catch {
            #expect(error.description == "f.xml:1:11: a policy fragment cannot contain '<base/>'")
        }
        do {
            _ = try loader.readFragment("<policies />", file: "f.xml", id: "f")
            Issue.record("expected failure")
        } catch {
            #expect(error.description == "f.xml:1:1: expected '<fragment>' as the root element of a policy fragment, found '<policies>'")
        }
    }

    @Test("fragment statements obey the section rules of where they are included")
    func fragmentSectionRules() throws {
        let fragments = PolicyFragments([try fragment("fwd", "<forward-request />")])
        guard case .failure(let error) = load(policies(#"<include-fragment fragment-id="fwd" />"#), fragments: fragments) else {
            Issue.record("expected failure")
            return
        }
        #expect(error.description == "fwd.xml:1:11: the policy '<forward-request>' is not allowed in '<inbound>'; it is allowed in '<backend>'")
        #expect((try? load(policies(#"<include-fragment fragment-id="fwd" />"#, section: .backend), section: .backend, fragments: fragments).get())?.count == 1)
    }

    // MARK: Document structure

    @Test("document structure errors", arguments: [
        ("<policy />", "test.xml:1:1: expected '<policies>' as the root element, found '<policy>'"),
        ("<policies><inbound /><inbound /></policies>", "test.xml:1:22: duplicate section '<inbound>' (first at line 1, column 11)"),
        ("<policies><inbund /></policies>", "test.xml:1:11: expected '<inbound>', '<backend>', '<outbound>' or '<on-error>' inside '<policies>', found '<inbund>'"),
        ("<policies>text</policies>", "test.xml:1:11: text is not allowed directly inside '<policies>'"),
        ("<policies><inbound>text</inbound></policies>", "test.xml:1:20: text is not allowed directly inside '<inbound>'; expected policy elements"),
    ])
    func structure(text: String, expected: String) {
        #expect(throws: PolicyLoadError.self) { try loader.readDocument(text, file: "test.xml") }
        do {
            _ = try loader.readDocument(text, file: "test.xml")
        } catch {
            #expect(error.description == expected)
        }
    }

    // MARK: Printing

    @Test("the effective document prints as XML that reads back to the same statements")
    func effectivePrintRoundTrip() throws {
        let global = try loader.load(
            #"<policies><inbound><set-header name="g"><value>a &amp; b &lt; c</value></set-header></inbound><backend><forward-request timeout="20" /></backend></policies>"#,
            file: "global.xml", scope: .global)
        let api = try loader.load(
            """
            <policies><inbound><base /><choose><when condition="@(context.Request.Headers.GetValueOrDefault("x", "") != "y" && 1 < 2)">\
            <return-response><set-status code="403" reason="No &quot;x&quot;" /><set-body><![CDATA[<denied/>]]></set-body></return-response>\
            </when></choose></inbound><backend><base /></backend></policies>
            """, file: "api.xml", scope: .api)
        let effective = EffectivePolicy.merge([global, api])
        let xml = effective.xml()
        #expect(xml.contains("<!-- global scope -->"))
        #expect(xml.contains("<!-- api scope -->"))
        #expect(xml.contains(#"<when condition="@(context.Request.Headers.GetValueOrDefault("x", "") != "y" && 1 < 2)">"#))
        #expect(xml.contains(#"<set-status code="403" reason="No &quot;x&quot;" />"#))
        #expect(xml.contains("<outbound />"))
        let reread = try loader.load(xml, file: "effective.xml", scope: .operation)
        #expect(reread.statements(in: .inbound).map(\.name) == ["set-header", "choose"])
        #expect(reread.statements(in: .backend).map(\.name) == ["forward-request"])
        // Printing the re-read document gives the same text (modulo scope markers).
        let again = EffectivePolicy.merge([reread]).xml()
        let strip = { (text: String) in text.split(separator: "\n").filter { !$0.contains("scope -->") }.joined(separator: "\n") }
        #expect(strip(again) == strip(xml))
    }
}

@Suite("Effective policy from texts (what `drawbridge policy effective` prints)")
struct EffectiveFromTextsTests {
    @Test("global, product, API and operation documents with a fragment merge into one document")
    func merge() throws {
        let loader = PolicyLoader(options: PolicyLoadOptions(namedValues: NamedValues([NamedValue(name: "issuer", value: "trusted-issuer")])))
        let fragments = try loader.fragments([
            .init(id: "cert-check", file: "fragments/cert-check.xml", text: """
                <fragment><choose><when condition="@(context.Request.Certificate == null || context.Request.Certificate.Issuer != "{{issuer}}")">\
                <return-response><set-status code="403" reason="Invalid client certificate" /></return-response></when></choose></fragment>
                """)
        ])
        let (policy, warnings) = try loader.effective(
            [
                .init(scope: .operation, file: "op.xml", text: "<policies><inbound><base /><set-header name=\"X-Op\"><value>1</value></set-header></inbound><backend><base /></backend></policies>"),
                .init(scope: .global, file: "global.xml", text: "<policies><inbound><include-fragment fragment-id=\"cert-check\" /></inbound><backend><forward-request /></backend></policies>"),
                .init(scope: .api, file: "api.xml", text: "<policies><inbound><base /></inbound><backend><base /></backend></policies>"),
            ], fragments: fragments)
        #expect(warnings.isEmpty)
        #expect(policy.statements(in: .inbound).map(\.name) == ["choose", "set-header"])
        #expect(policy.statements(in: .inbound).map(\.scope) == [.global, .operation])
        #expect(policy.statements(in: .backend).map(\.name) == ["forward-request"])
        let xml = policy.xml()
        #expect(xml.contains(#"context.Request.Certificate.Issuer != "trusted-issuer")"#))
        #expect(xml.hasPrefix("<policies>\n    <inbound>\n        <!-- global scope -->\n        <choose>"))
    }

    @Test("errors from all documents are reported together")
    func allDocumentsErrors() {
        do {
            _ = try PolicyLoader().effective([
                .init(scope: .global, file: "g.xml", text: "<policies><inbound><nope /></inbound></policies>"),
                .init(scope: .api, file: "a.xml", text: "<policies><inbound><set-status /></inbound></policies>"),
            ])
            Issue.record("expected failure")
        } catch {
            #expect(error.diagnostics.map(\.description) == [
                "g.xml:1:20: unknown policy element '<nope>'",
                "a.xml:1:20: '<set-status>' requires the attribute 'code'",
            ])
        }
    }
}

@Suite("Walking the statement tree")
struct StatementTreeTests {
    @Test("nested statements in document order, each with its path")
    func nested() throws {
        let text = policies("""
            <choose><when condition="true"><set-status code="200" /><retry condition="false" count="1" interval="0">\
            <limit-concurrency key="k" max-count="1"><set-status code="201" /></limit-concurrency></retry></when>\
            <otherwise><set-status code="202" /></otherwise></choose>
            """)
        let statements = try load(text).get()
        func walk(_ statements: [PolicyStatement]) -> [String] {
            statements.flatMap { [$0.path] + walk($0.policy.nestedStatements) }
        }
        #expect(walk(statements) == [
            "choose[1]",
            "choose[1]/when[1]/set-status[1]",
            "choose[1]/when[1]/retry[1]",
            "choose[1]/when[1]/retry[1]/limit-concurrency[1]",
            "choose[1]/when[1]/retry[1]/limit-concurrency[1]/set-status[1]",
            "choose[1]/otherwise[1]/set-status[1]",
        ])
    }
}

@Suite("Effective document text")
struct EffectiveDocumentTextTests {
    @Test("the printed layout, exactly")
    func layout() throws {
        let loader = PolicyLoader()
        let global = try loader.load("<policies><inbound /><backend><forward-request /></backend><on-error /></policies>", file: "g.xml", scope: .global)
        let api = try loader.load(
            """
            <policies>
              <inbound>
                <choose>
                  <when condition="@(context.Request.Certificate == null)">
                    <return-response><set-status code="403" reason="Invalid client certificate" /></return-response>
                  </when>
                </choose>
                <set-header name="X" exists-action="append"><value>a &amp; b</value></set-header>
              </inbound>
              <backend><base /></backend>
            </policies>
            """, file: "a.xml", scope: .api)
        #expect(EffectivePolicy.merge([global, api]).xml() == """
            <policies>
                <inbound>
                    <!-- api scope -->
                    <choose>
                        <when condition="@(context.Request.Certificate == null)">
                            <return-response>
                                <set-status code="403" reason="Invalid client certificate" />
                            </return-response>
                        </when>
                    </choose>
                    <set-header name="X" exists-action="append">
                        <value>a &amp; b</value>
                    </set-header>
                </inbound>
                <backend>
                    <!-- global scope -->
                    <forward-request />
                </backend>
                <outbound />
                <on-error />
            </policies>

            """)
    }
}
