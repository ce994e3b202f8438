import Foundation
import Testing

@testable import Policies

@Suite struct ErrorHandlingPipelineTests {
    static let debugHandler = """
        <set-header name="ErrorSource" exists-action="override"><value>@(context.LastError.Source)</value></set-header>
        <set-header name="ErrorReason" exists-action="override"><value>@(context.LastError.Reason)</value></set-header>
        <set-header name="ErrorMessage" exists-action="override"><value>@(context.LastError.Message)</value></set-header>
        <set-header name="ErrorScope" exists-action="override"><value>@(context.LastError.Scope)</value></set-header>
        <set-header name="ErrorSection" exists-action="override"><value>@(context.LastError.Section)</value></set-header>
        <set-header name="ErrorPath" exists-action="override"><value>@(context.LastError.Path)</value></set-header>
        <set-header name="ErrorPolicyId" exists-action="override"><value>@(context.LastError.PolicyId)</value></set-header>
        <set-header name="ErrorStatusCode" exists-action="override"><value>@(context.Response.StatusCode.ToString())</value></set-header>
        """

    static let failingInbound = """
        <choose>
            <when condition="@(true)"><set-variable name="a" value="1" /></when>
            <when condition="@(false)"><set-variable name="a" value="2" /></when>
        </choose>
        <choose>
            <when condition="@(false)"><set-variable name="b" value="1" /></when>
            <when condition="@(true)">
                <set-header id="boom" name="X-Fail" exists-action="override"><value>@(context.Request.Headers["Missing"][0])</value></set-header>
            </when>
        </choose>
        """

    @Test func expressionFailureGoesToOnErrorWithLastError() async throws {
        let xml = document(inbound: Self.failingInbound, onError: Self.debugHandler)
        let (result, sent) = try await execute(xml)
        #expect(sent.isEmpty)
        #expect(result.status == 500)
        #expect(result.header("ErrorSource") == "set-header")
        #expect(result.header("ErrorReason") == "ExpressionValueEvaluationFailure")
        #expect(result.header("ErrorMessage")?.hasPrefix("Expression evaluation failed.") == true)
        #expect(result.header("ErrorMessage")?.contains("KeyNotFoundException") == true)
        #expect(result.header("ErrorScope") == "api")
        #expect(result.header("ErrorSection") == "inbound")
        #expect(result.header("ErrorPath") == "choose[2]/when[2]/set-header[1]")
        #expect(result.header("ErrorPolicyId") == "boom")
        #expect(result.header("ErrorStatusCode") == "500")
    }

    @Test func withoutOnErrorTheClientGetsAPIMJSON() async throws {
        let (result, _) = try await execute(document(inbound: Self.failingInbound))
        #expect(result.status == 500)
        #expect(result.header("Content-Type") == "application/json")
        let body = try #require(result.bodyText)
        #expect(body.hasPrefix("{\"statusCode\":500,\"message\":\"Internal server error\",\"activityId\":\""))
        #expect(result.lastError?.reason == "ExpressionValueEvaluationFailure")
    }

    @Test func onErrorCanReturnItsOwnResponse() async throws {
        let xml = document(inbound: Self.failingInbound, onError: """
            <return-response><set-status code="503" reason="Later" /><set-body>@("failed at " + context.LastError.Path)</set-body></return-response>
            """)
        let (result, _) = try await execute(xml)
        #expect(result.status == 503)
        #expect(result.bodyText == "failed at choose[2]/when[2]/set-header[1]")
    }

    @Test func failureInsideOnErrorGivesTheDefaultError() async throws {
        let xml = document(inbound: Self.failingInbound, onError: "<set-variable name=\"x\" value=\"@(context.Variables[\"nope\"].ToString())\" />")
        let (result, _) = try await execute(xml)
        #expect(result.status == 500)
        #expect(result.lastError?.section == "on-error")
    }

    @Test func outboundFailureKeepsSectionAndSkipsTheRest() async throws {
        let xml = document(outbound: """
            <set-header name="X-Before" exists-action="override"><value>1</value></set-header>
            <set-status code="@(int.Parse("x"))" />
            <set-header name="X-After" exists-action="override"><value>1</value></set-header>
            """, onError: "<set-header name=\"X-Section\" exists-action=\"override\"><value>@(context.LastError.Section)</value></set-header>")
        let (result, sent) = try await execute(xml)
        #expect(sent.count == 1)
        #expect(result.header("X-Section") == "outbound")
        #expect(result.header("X-After") == nil)
        #expect(result.lastError?.source == "set-status")
    }

    @Test func baseOrderingAcrossScopesAtRuntime() async throws {
        func tag(_ value: String) -> String {
            "<set-header name=\"X-Order\" exists-action=\"append\"><value>\(value)</value></set-header>"
        }
        let global = "<policies><inbound>\(tag("global"))</inbound><backend><forward-request /></backend><outbound /><on-error /></policies>"
        let api = "<policies><inbound>\(tag("api-before"))<base />\(tag("api-after"))</inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>"
        let operation = "<policies><inbound><base />\(tag("operation"))</inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>"
        let built = try PolicyPipeline.load([(operation, "op.xml", .operation), (global, "global.xml", .global), (api, "api.xml", .api)])
        let backend = RecordingBackend()
        _ = await built.run(request(), backend: backend)
        #expect(backend.requests.first.map { HeaderList.values($0.headers, "X-Order") } == ["api-before", "global", "api-after", "operation"])
        // An operation without <base/> in backend drops the global forward-request.
        let noBase = "<policies><inbound><base /></inbound><backend /><outbound /><on-error /></policies>"
        let dropped = try PolicyPipeline.load([(global, "global.xml", .global), (noBase, "op.xml", .operation)])
        let backend2 = RecordingBackend()
        let result = await dropped.run(request(), backend: backend2)
        #expect(backend2.requests.isEmpty)
        #expect(result.backendCalled == false)
    }

    @Test func compileErrorsAreReportedAtLoadWithPositions() throws {
        let xml = "<policies>\n<inbound>\n<set-header name=\"X\" exists-action=\"override\"><value>@(context.Request.Certifcate.Thumbprint)</value></set-header>\n</inbound>\n</policies>"
        do {
            _ = try pipeline(xml)
            Issue.record("a misspelt member must fail the load")
        } catch let error as PolicyLoadError {
            let text = error.diagnostics.map(\.description).joined()
            #expect(text.contains("test.xml:3:"))
            #expect(text.contains("Certifcate"))
        }
        // A when condition that is not a bool is rejected at load.
        #expect(throws: PolicyLoadError.self) {
            try pipeline(document(inbound: "<choose><when condition=\"@(context.Request.Method)\"><set-variable name=\"a\" value=\"1\" /></when></choose>"))
        }
    }

    @Test func contextCompilerMapsErrorOffsets() throws {
        let compiler = ContextExpressionCompiler()
        let source = PolicyExpressionSource(source: "context.Request.Nope", kind: .singleStatement, position: SourcePosition(file: "f.xml", line: 4, column: 10))
        do {
            _ = try compiler.compile(source, expecting: .any)
            Issue.record("must not compile")
        } catch let error as PolicyExpressionCompileError {
            #expect(error.sourceOffset == 16)
            #expect(error.message.contains("Nope"))
        }
        let good = try compiler.compile(PolicyExpressionSource(source: "context.Request.Method == \"GET\"", kind: .singleStatement, position: SourcePosition(file: "f.xml", line: 1, column: 1)), expecting: .boolean)
        #expect(good is ContextCompiledExpression)
    }
}

@Suite struct FragmentRuntimeTests {
    @Test func includedFragmentsRunInPlace() async throws {
        let loader = PolicyLoader()
        let fragments = PolicyFragments([
            try loader.readFragment(
                "<fragment><set-header name=\"X-Order\" exists-action=\"append\"><value>@(\"fragment:\" + context.Request.Method)</value></set-header></fragment>",
                file: "f.xml", id: "tag"),
        ])
        let xml = document(inbound: """
            <set-header name="X-Order" exists-action="append"><value>before</value></set-header>
            <include-fragment fragment-id="tag" />
            <set-header name="X-Order" exists-action="append"><value>after</value></set-header>
            """)
        let built = try PolicyPipeline.load([(xml, "api.xml", .api)], fragments: fragments)
        let backend = RecordingBackend()
        _ = await built.run(request(), backend: backend)
        #expect(backend.requests.first.map { HeaderList.values($0.headers, "X-Order") } == ["before", "fragment:GET", "after"])
    }

    @Test func namedValuesAreSubstitutedBeforeCompiling() async throws {
        let options = PolicyLoadOptions(namedValues: NamedValues([NamedValue(name: "backend-key", value: "s3cret", isSecret: true)]))
        let xml = document(inbound: "<set-header name=\"X-Key\" exists-action=\"override\"><value>{{backend-key}}</value></set-header>")
        let built = try PolicyPipeline.load([(xml, "api.xml", .api)], loadOptions: options)
        let backend = RecordingBackend()
        _ = await built.run(request(), backend: backend)
        #expect(backend.requests.first.map { HeaderList.values($0.headers, "X-Key") } == ["s3cret"])
    }
}
