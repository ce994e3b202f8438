import Testing
@testable import PolicyExpressions

/// `drawbridge expr eval` behaviour, through the library function the CLI calls.
@Suite struct ExpressionToolTests {
    static let sample = #"""
    { "request": { "method": "POST", "url": "https://api.contoso.com/orders?page=2",
                   "headers": { "Authorization": "Bearer abc", "Accept": ["application/json", "text/plain"] },
                   "body": { "id": 42 },
                   "certificate": { "thumbprint": "ABC123", "subject": "CN=client", "issuer": "CN=ca", "verify": true } },
      "variables": { "tier": "gold", "n": 3 },
      "deployment": { "certificates": { "trusted": { "thumbprint": "ABC123" } } } }
    """#

    @Test func printsTheValueWithItsType() {
        #expect(ExpressionTool.evaluate("1 + 1") == .init(text: "2 (int)", succeeded: true))
        #expect(ExpressionTool.evaluate(#""a" + "b""#) == .init(text: #""ab" (string)"#, succeeded: true))
        #expect(ExpressionTool.evaluate("@(true)") == .init(text: "True (bool)", succeeded: true))
        #expect(ExpressionTool.evaluate("@{ var x = 2; return x * 21; }") == .init(text: "42 (object)", succeeded: true))
    }

    @Test func usesTheSampleContext() {
        let context = Self.sample
        #expect(ExpressionTool.evaluate(#"context.Request.Headers.GetValueOrDefault("Accept", "")"#, contextJSON: context).text == #""application/json,text/plain" (string)"#)
        #expect(ExpressionTool.evaluate(#"context.Request.Body.As<JObject>()["id"].Value<int>()"#, contextJSON: context).text == "42 (int)")
        #expect(ExpressionTool.evaluate(#"(string)context.Variables["tier"]"#, contextJSON: context).text == #""gold" (string)"#)
        #expect(ExpressionTool.evaluate(SeedConditionTests.storeCondition, contextJSON: context).text == "False (bool)")
        #expect(ExpressionTool.evaluate("context.Request.Url.Query.GetValueOrDefault(\"page\", \"1\")", contextJSON: context).text == #""2" (string)"#)
    }

    @Test func compileErrorsShowACaretUnderTheColumn() {
        let output = ExpressionTool.evaluate("context.Request.Certifcate == null")
        #expect(!output.succeeded)
        #expect(output.text == "error: 1:17: 'IRequest' has no member 'Certifcate'\n  context.Request.Certifcate == null\n                  ^")
    }

    @Test func runtimeErrorsNameTheDotNetException() {
        let output = ExpressionTool.evaluate(#"int.Parse("x")"#)
        #expect(output == .init(text: "ExpressionValueEvaluationFailure: FormatException: Input string was not in a correct format.", succeeded: false))
    }

    @Test func malformedSampleIsReported() {
        let output = ExpressionTool.evaluate("1", contextJSON: "{ not json")
        #expect(!output.succeeded)
        #expect(output.text.hasPrefix("error: FormatException: context sample:"))
    }
}
