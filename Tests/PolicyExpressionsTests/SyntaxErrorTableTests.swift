import Testing
@testable import PolicyExpressions

/// Malformed input: each is a specific compile error at a line and column, never a crash.
@Suite struct SyntaxErrorTableTests {
    static let cases: [(String, String)] = [
        ("", "!1:1 expected an expression"), ("1 +", "!1:4 unexpected end"), ("(1 + 2", "!1:7 expected ')'"), ("1 2", "!1:3 unexpected number"),
        (#""unterminated"#, "!1:1 newline in constant"), (#"@"unterminated"#, "!1:1 unterminated string"), ("'ab'", "!1:1 too many characters"),
        ("''", "!1:1 empty character literal"), (#""\q""#, "!1:2 unrecognized escape sequence"), (#"$"{""#, "!1:4 newline in constant"),
        (#"$"}""#, "!1:3 '}' in interpolated string must be doubled"), (#"$"{}""#, "!1:4 empty expression"), ("#", "!1:1 unexpected character '#'"),
        ("99999999999999999999", "!1:1 integral constant is too large"), ("1e999", "!1:1 outside the range of type 'double'"), ("0x", "!1:1 invalid hexadecimal literal"),
        ("12abc", "!1:1 invalid numeric literal"), ("/* open", "!1:1 unterminated comment"), ("a.", "!1:3 expected an identifier"),
        ("context.", "!1:9 expected an identifier"), ("context..Request", "!1:9 expected an identifier"), ("foo", "!1:1 the name 'foo' does not exist"),
        ("context.Foo", "!1:9 'IProxyRequestContext' has no member 'Foo'"), ("context.Request.Certificate.Thumbprnt", "!1:29 'X509Certificate2' has no member 'Thumbprnt'"),
        (#""s".Lenght"#, "!1:5 'string' has no member 'Lenght'"), (#""s".Substring()"#, "!1:5 no overload for method 'Substring' takes 0 arguments"),
        (#""s".Substring("x")"#, "!1:5 invalid arguments"), (#""s".Length()"#, "!1:5 non-invocable member"), (#""s".ToUpper"#, "!1:5 is a method"),
        ("Math.Foo(1)", "!1:6 'Math' does not contain a definition for 'Foo'"), ("Math", "!1:1 'Math' is a type"), ("new Foo()", "!1:5 the type or namespace name 'Foo' could not be found"),
        ("new List<int>", "!1:14 expected '(' or '{'"), ("(Foo)1", "!1:2 the type or namespace name 'Foo' could not be found"), ("1 = 2", "!1:3 left-hand side of an assignment"),
        ("context = null", "!1:1 cannot be assigned"), ("context.Request.Method = \"x\"", "!1:17 cannot be assigned"), ("x => x", "!1:1 lambda expression is only allowed"),
        ("true ? 1", "!1:9 expected ':'"), ("a ? b :", "!1:8 unexpected end of expression"), ("int.Parse(\"1\", out var)", "!1:23 expected an identifier"),
        ("new[] { }", "!1:1 no best type found"), ("new int[2] { 1 }", "!1:1 an array initializer of length '2' is expected"), ("new int[]", "!1:10 array creation must have array size or array initializer"),
        (#""a" * 2"#, "!1:1 operator '*' cannot be applied"), ("-true", "!1:1 operator '-' cannot be applied"), ("!1", "!1:1 operator '!' cannot be applied"),
        ("1 && 2", "!1:1 operator '&&' cannot be applied"), ("1 ?? 2", "!1:1 operator '??' cannot be applied"), ("(1).Foo", "!1:5 'int' has no member 'Foo'"),
        ("new[] { 1 }.Select()", "!1:13 no overload for method 'Select' takes 0 arguments"), ("new[] { 1 }.Where(x => x.Foo)", "!1:26 'int' has no member 'Foo'"),
        ("context.Request.Headers.GetValueOrDefault<int>()", "!1:25 no overload"), (#"DateTime.Parse("x", "y", "z", "w")"#, "!1:10 no overload for method 'Parse' takes 4 arguments"),
        ("typeof(Nope)", "!1:8 could not be found"), ("List<int>.Foo", "!1:1 the name 'List' is not a generic method"), ("((((((((((((((((((((((((((((((((((((((((1))))))))))))))))))))))))))))))))))))))))", "i:1"),
        (String(repeating: "(", count: 400) + "1" + String(repeating: ")", count: 400), "!1:"), (String(repeating: "-", count: 1000) + "1", "!1:"),
        (String(repeating: "a.", count: 300) + "b", "!1:"), ("\n\n   foo", "!3:4 the name 'foo' does not exist"),
        ("context.Request.Certificate.Verify(1)", "!1:29 no overload for method 'Verify' takes 1 argument"), ("context.Trace(\"x\")", "!1:1 has no value"),
    ]

    @Test(arguments: cases)
    func malformed(_ source: String, _ expected: String) {
        if expected == "!1:" {
            // Deep nesting: any positioned compile error is fine, as long as nothing crashes.
            #expect(throws: ExpressionCompileError.self) { try TestContext.compiler.compile(source) }
            return
        }
        check(source, expected)
    }
}
