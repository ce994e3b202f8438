import Testing

@testable import Policies

@Suite("choose / when / otherwise")
struct ChoosePolicyTests {
    @Test("whens in order, an optional otherwise, conditions compiled as bool")
    func parses() throws {
        let compiler = RecordingCompiler()
        let policy = loadOne(
            #"<choose><when condition="@(a)"><set-status code="401" /></when><when condition="@(b)" /><otherwise><set-status code="200" /></otherwise></choose>"#,
            compiler: compiler)
        guard case .choose(let choose) = policy else {
            Issue.record("expected choose")
            return
        }
        #expect(choose.whens.map { $0.condition.expression?.source.source } == ["a", "b"])
        #expect(choose.whens[0].statements.map(\.name) == ["set-status"])
        #expect(choose.otherwise?.map(\.name) == ["set-status"])
        #expect(compiler.calls.map(\.resultType) == [.boolean, .boolean])
        #expect(compiler.calls.map(\.source) == ["a", "b"])
    }

    @Test("a literal condition is a checked boolean")
    func literalCondition() {
        guard case .choose(let choose) = loadOne(#"<choose><when condition="True" /></choose>"#) else {
            Issue.record("expected choose")
            return
        }
        #expect(choose.whens.first?.condition.constant == true)
        #expect(choose.otherwise == nil)
    }

    @Test("errors", arguments: [
        ("<choose />", "test.xml:1:20: '<choose>' requires at least one '<when>'"),
        (#"<choose><otherwise /><when condition="true" /></choose>"#, "test.xml:1:41: '<when>' must come before '<otherwise>' in '<choose>'"),
        ("<choose><when /></choose>", "test.xml:1:28: '<when>' requires the attribute 'condition'"),
        (#"<choose><when condition="maybe" /></choose>"#, "test.xml:1:45: invalid value 'maybe' for attribute 'condition' of '<when>': expected 'true' or 'false'"),
        (#"<choose><if condition="true" /><when condition="true" /></choose>"#, "test.xml:1:28: unexpected element '<if>' inside '<choose>' (expected '<when>', '<otherwise>')"),
        (#"<choose><when condition="true" /><otherwise /><otherwise /></choose>"#, "test.xml:1:66: '<choose>' may contain at most one '<otherwise>'"),
        (#"<choose><when condition="true"><nope /></when></choose>"#, "test.xml:1:51: unknown policy element '<nope>'"),
    ])
    func errors(statement: String, expected: String) {
        #expect(loadErrors(statement) == [expected])
    }
}

@Suite("Section rules reach nested statements")
struct NestedSectionRuleTests {
    @Test("a policy nested in choose or retry obeys the rules of the enclosing section")
    func nested() {
        #expect(loadErrors(#"<choose><when condition="true"><rewrite-uri template="/a" /></when></choose>"#, section: .backend) == [
            "test.xml:1:51: the policy '<rewrite-uri>' is not allowed in '<backend>'; it is allowed in '<inbound>'"
        ])
        #expect(loadErrors(#"<retry condition="true" count="1" interval="0"><forward-request /></retry>"#, section: .inbound) == [
            "test.xml:1:67: the policy '<forward-request>' is not allowed in '<inbound>'; it is allowed in '<backend>'"
        ])
    }
}

@Suite("return-response")
struct ReturnResponsePolicyTests {
    @Test("status, headers and body; an optional response variable")
    func parses() {
        let policy = loadOne(
            #"<return-response response-variable-name="saved"><set-status code="401" reason="Unauthorized" /><set-header name="WWW-Authenticate" exists-action="override"><value>Bearer</value></set-header><set-body>{"error":"no"}</set-body></return-response>"#)
        guard case .returnResponse(let response) = policy else {
            Issue.record("expected return-response")
            return
        }
        #expect(response.responseVariableName == "saved")
        #expect(response.status?.code.constant == 401)
        #expect(response.status?.reason?.constant == "Unauthorized")
        #expect(response.headers.map(\.name.constant) == ["WWW-Authenticate"])
        #expect(response.body?.body?.constant == #"{"error":"no"}"#)
    }

    @Test("empty return-response is allowed (200, empty body)")
    func empty() {
        guard case .returnResponse(let response) = loadOne("<return-response />") else {
            Issue.record("expected return-response")
            return
        }
        #expect(response.status == nil)
        #expect(response.headers.isEmpty)
        #expect(response.responseVariableName == nil)
    }

    @Test("errors", arguments: [
        ("<return-response><forward-request /></return-response>", "test.xml:1:37: unexpected element '<forward-request>' inside '<return-response>' (expected '<set-status>', '<set-header>', '<set-body>')"),
        (#"<return-response><set-status code="200" /><set-status code="201" /></return-response>"#, "test.xml:1:62: '<return-response>' may contain at most one '<set-status>'"),
        (#"<return-response response-variable-name="@(x)" />"#, "test.xml:1:61: the attribute 'response-variable-name' of '<return-response>' does not allow policy expressions"),
        (#"<return-response><set-status code="2000" /></return-response>"#, "test.xml:1:55: invalid value '2000' for attribute 'code' of '<set-status>': expected an integer from 100 to 599"),
    ])
    func errors(statement: String, expected: String) {
        #expect(loadErrors(statement) == [expected])
    }
}

@Suite("retry")
struct RetryPolicyTests {
    @Test("attributes, defaults and nested statements")
    func parses() {
        let compiler = RecordingCompiler()
        let policy = loadOne(
            #"<retry condition="@(context.Response.StatusCode >= 500)" count="3" interval="1" delta="2" max-interval="10"><forward-request /></retry>"#,
            section: .backend, compiler: compiler)
        guard case .retry(let retry) = policy else {
            Issue.record("expected retry")
            return
        }
        #expect(retry.condition.expression?.source.source == "context.Response.StatusCode >= 500")
        #expect(retry.count.constant == 3)
        #expect(retry.interval.constant == 1)
        #expect(retry.delta?.constant == 2)
        #expect(retry.maxInterval?.constant == 10)
        #expect(retry.firstFastRetry.constant == false)
        #expect(retry.statements.map(\.path) == ["retry[1]/forward-request[1]"])
        #expect(compiler.calls.map(\.resultType) == [.boolean])
    }

    @Test("errors", arguments: [
        (#"<retry condition="true" count="51" interval="1" />"#, "test.xml:1:51: invalid value '51' for attribute 'count' of '<retry>': expected an integer from 1 to 50"),
        (#"<retry condition="true" count="2" interval="1" max-interval="5" />"#, "test.xml:1:81: 'max-interval' of '<retry>' requires 'delta' (exponential back-off)"),
        (#"<retry condition="true" count="2" interval="9" delta="1" max-interval="5" />"#, "test.xml:1:91: 'max-interval' (5) of '<retry>' is less than 'interval' (9)"),
        (#"<retry count="2" interval="1" />"#, "test.xml:1:20: '<retry>' requires the attribute 'condition'"),
    ])
    func errors(statement: String, expected: String) {
        #expect(loadErrors(statement) == [expected])
    }
}

@Suite("limit-concurrency")
struct LimitConcurrencyPolicyTests {
    @Test("key, max-count and nested statements")
    func parses() {
        guard case .limitConcurrency(let limit) = loadOne(#"<limit-concurrency key="@(context.Request.IpAddress)" max-count="3"><set-status code="200" /></limit-concurrency>"#)
        else {
            Issue.record("expected limit-concurrency")
            return
        }
        #expect(limit.key.expression?.source.source == "context.Request.IpAddress")
        #expect(limit.maxCount == 3)
        #expect(limit.statements.map(\.name) == ["set-status"])
    }

    @Test("errors", arguments: [
        (#"<limit-concurrency key="k" />"#, "test.xml:1:20: '<limit-concurrency>' requires the attribute 'max-count'"),
        (#"<limit-concurrency key="k" max-count="0" />"#, "test.xml:1:58: invalid value '0' for attribute 'max-count' of '<limit-concurrency>': expected an integer of at least 1"),
    ])
    func errors(statement: String, expected: String) {
        #expect(loadErrors(statement) == [expected])
    }
}

@Suite("trace")
struct TracePolicyTests {
    @Test("source, severity default, message and metadata")
    func parses() {
        guard case .trace(let trace) = loadOne(#"<trace source="orders"><message>@(context.RequestId.ToString())</message><metadata name="k" value="v" /><metadata name="id" value="@(context.RequestId)" /></trace>"#)
        else {
            Issue.record("expected trace")
            return
        }
        #expect(trace.source == "orders")
        #expect(trace.severity == .verbose)
        #expect(trace.message.expression?.source.source == "context.RequestId.ToString()")
        #expect(trace.metadata.map(\.name) == ["k", "id"])
        #expect(trace.metadata.first?.value.constant == "v")
        #expect(trace.metadata.last?.value.expression?.source.source == "context.RequestId")
    }

    @Test("the older form: the message as text")
    func legacyText() {
        guard case .trace(let trace) = loadOne("<trace source=\"OnError\">\n  On Error\n</trace>", section: .onError) else {
            Issue.record("expected trace")
            return
        }
        #expect(trace.message.constant == "On Error")
        #expect(loadErrors(#"<trace source="s">a<message>b</message></trace>"#) == [
            "test.xml:1:20: '<trace>' takes its message either as text or as '<message>', not both"
        ])
    }

    @Test("errors", arguments: [
        (#"<trace source="s" />"#, "test.xml:1:20: '<trace>' requires a '<message>' (or the message as its text)"),
        (#"<trace source="s" severity="debug"><message>m</message></trace>"#, "test.xml:1:48: invalid value 'debug' for attribute 'severity' of '<trace>': expected one of 'verbose', 'information', 'error'"),
    ])
    func errors(statement: String, expected: String) {
        #expect(loadErrors(statement) == [expected])
    }

    @Test("allowed in every section, on-error included (REFERENCE.md §1.4 on-error list)", arguments: PolicySection.allCases)
    func sections(section: PolicySection) {
        guard case .trace(let trace) = loadOne(#"<trace source="s" severity="error"><message>m</message></trace>"#, section: section) else {
            Issue.record("expected trace")
            return
        }
        #expect(trace.severity == .error)
        #expect(trace.message.constant == "m")
    }
}

@Suite("A stray bracket after a condition")
struct StrayBracketTests {
    @Test("the error explains that the value became literal text")
    func explained() {
        #expect(loadErrors(#"<choose><when condition="@(a == 1))" /></choose>"#) == [
            "test.xml:1:45: invalid value '@(a == 1))' for attribute 'condition' of '<when>': expected 'true' or 'false' (text follows the expression, so the value is literal text: an expression must be the whole value)"
        ])
    }
}
