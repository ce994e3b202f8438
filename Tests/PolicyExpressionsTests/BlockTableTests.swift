import Testing
@testable import PolicyExpressions

/// `@{ }` statement blocks: declarations, control flow, exceptions and the "every path must return" rule.
@Suite struct BlockTableTests {
    static let blockCases: [(String, String)] = [
        // Hash classes as declared local types (RFC 4231 test case 2 for HMAC-SHA256).
        ("HMACSHA256 h = new HMACSHA256(Encoding.UTF8.GetBytes(\"Jefe\")); return Convert.ToBase64String(h.ComputeHash(Encoding.UTF8.GetBytes(\"what do ya want for nothing?\")));",
         "s:W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM="),
        ("System.Security.Cryptography.SHA256 d = SHA256.Create(); return d.ComputeHash(new byte[0]).Length;", "i:32"),
        // An anonymous object reached again through a list it holds: refused, not an endless recursion.
        ("var l = new List<object>(); var a = new { l }; l.Add(a); return JsonConvert.SerializeObject(a);", "^JsonException"),
        ("var l = new List<object>(); l.Add(l); return new JProperty(\"p\", l).ToString();", "^JsonException"),
        ("var a = new { n = 1 }; var b = new { a, s = \"x\" }; return JsonConvert.SerializeObject(b);", #"s:{"a":{"n":1},"s":"x"}"#),
        // Local constants and unchecked blocks (C#'s default context already wraps: (byte)0x90 = 144).
        ("const int L = 60 * 20; return L + 1;", "i:1201"), ("const string P = \"a\" + \"b\"; return P;", "s:ab"),
        ("const int a = 1; a = 2; return a;", "!1:18 'a' is a constant"), ("const int a = 1; a++; return a;", "!1:18 'a' is a constant"),
        ("var x = 3; const int c = x; return c;", "!1:26 must be constant"), ("const int c; return 1;", "!1:11 must be initialized"),
        ("long t = 0x1234567890; int r; unchecked { r = (byte)(t >> 8) + (byte)t; } return r;", "i:264"),
        ("checked { return 1; }", "!1:1 'checked' blocks are not supported"),
        ("DateTimeOffset o = new DateTime(1970, 1, 2, 0, 0, 0, DateTimeKind.Utc); return o.ToUnixTimeSeconds();", "l:86400"),
        // byte[] is a mutable array with identity (.NET): elements assigned in place, Array.Copy into
        // it, bounds and arguments checked as .NET's exceptions.
        ("var a = new byte[2]; var b = a; b[0] = 9; return a[0];", "i:9"),
        ("var a = new byte[3]; a[1] += 200; a[1] += 100; return a[1];", "i:44"),
        ("var a = new byte[4]; a[4] = 1; return 1;", "^IndexOutOfRangeException"),
        ("var a = new byte[4]; a[-1] = 1; return 1;", "^IndexOutOfRangeException"),
        ("var g = new byte[16]; Array.Copy(new byte[] {1,2,3,4,5,6,7,8,9,10,11,12}, 0, g, 0, 10); byte[] b = new byte[6]; b[5] = (byte)7; b[0] = 250; Array.Copy(b, 0, g, 10, 6); return BitConverter.ToString(g);",
         "s:01-02-03-04-05-06-07-08-09-0A-FA-00-00-00-00-07"),
        ("var a = new byte[] {1,2,3,4}; Array.Copy(a, 0, a, 1, 3); return Convert.ToBase64String(a);", "s:AQECAw=="),
        ("var a = new int[3]; Array.Copy(new int[] {5,6}, a, 2); return a[1];", "i:6"),
        ("var a = new byte[4]; Array.Copy(new byte[3], 0, a, 2, 3); return 1;", "^ArgumentException: Destination array was not long enough"),
        ("var a = new byte[4]; Array.Copy(new byte[3], 1, a, 0, 3); return 1;", "^ArgumentException: Source array was not long enough"),
        ("var a = new byte[4]; Array.Copy(new byte[3], a, -1); return 1;", "^ArgumentOutOfRangeException: Non-negative number required"),
        ("var a = new byte[4]; Array.Copy(new byte[3], -1, a, 0, 1); return 1;", "^ArgumentOutOfRangeException"),
        ("byte[] a = null; Array.Copy(new byte[3], a, 1); return 1;", "^ArgumentNullException"),
        ("var a = new int[3]; Array.Copy(new long[] {5,6}, a, 2); return a[1];", "!1:27 element types must be the same"),
        ("var a = 1; Array.Copy(a, new int[1], 1); return 1;", "!1:23 argument 1 of 'Array.Copy' must be an array"),
        ("Array.Copy(new int[1], new int[1]); return 1;", "!1:7 no overload for method 'Copy' takes 2 arguments"),
        ("var g = Guid.NewGuid(); return new Guid(g.ToByteArray()) == g;", "True"),
        ("return new Guid(new byte[15]);", "^ArgumentException: Byte array for Guid must be exactly 16 bytes long"),
        ("var a = new byte[1]; var b = new byte[1]; return (a == b) + \" \" + (a == a);", "s:False True"),
        ("var a = new byte[] { 1, 2 }; var b = a.ToArray(); b[0] = 9; return a[0] + \" \" + b[0];", "s:1 9"),
        // Local functions: declared for the whole block, recursive, capturing outer locals.
        ("int Twice(int x) { return x * 2; } return Twice(21);", "i:42"),
        ("int A(int n) => n <= 0 ? 0 : B(n - 1) + 1; int B(int n) => n <= 0 ? 0 : A(n - 1) + 1; return A(10);", "i:10"),
        ("int F(int n) { var r = n; if (n > 0) { F(n - 1); } return r; } return F(5);", "i:5"),
        (#"var log = new List<string>(); void Add(string s) { log.Add(s); } Add("a"); Add("b"); return string.Join(",", log);"#, "s:a,b"),
        ("var k = 3; int M(int x) => x * k; return M(2);", "i:6"),
        ("short S(short h) { return (short)((((int)h & 0xFF) << 8) | (int)((h >> 8) & 0xFF)); } return (int)S((short)0x0102);", "i:513"),
        ("int F(int n) => F(n + 1); return F(0);", "^InvalidOperationException: nested deeper than 64"),
        ("int F() { } return F();", "!1:1 'F': not all code paths return a value"),
        ("void V() { return 1; } V(); return 0;", "!1:19 a return keyword must not be followed"),
        ("int G() { return; } return G();", "!1:11 an object of a type convertible to 'int' is required"),
        ("int F(int a) => a; return F();", "!1:27 no overload for method 'F' takes 0 arguments"),
        ("int F(int a) => a; int F(int b) => b; return 1;", "!1:20 already defined"),
        // The HMAC classes' Key as an object initializer (RFC 4231 test case 2).
        ("var h = new System.Security.Cryptography.HMACSHA256 { Key = Encoding.UTF8.GetBytes(\"Jefe\") }; return Convert.ToBase64String(h.ComputeHash(Encoding.UTF8.GetBytes(\"what do ya want for nothing?\")));",
         "s:W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM="),
        ("var h = new HMACSHA256 { Key = null }; return 1;", "^ArgumentNullException"),
        ("var h = new HMACSHA256 { Nope = 1 }; return 1;", "!1:9 object initializers are not supported"),
        // XmlReader over a StringReader, in a using statement.
        (#"var names = new List<string>(); using (XmlReader r = XmlReader.Create(new StringReader("<a><b>1</b><c/></a>"))) { while (r.Read()) { names.Add(r.NodeType + ":" + r.Name + r.Value); } } return string.Join(",", names);"#,
         "s:Element:a,Element:b,Text:1,EndElement:b,Element:c,EndElement:a"),
        (#"using (var r = XmlReader.Create(new StringReader("<a><b>1</b><c>2</c></a>"))) { r.MoveToContent(); r.Read(); var b = XNode.ReadFrom(r) as XElement; return b.Value + r.Name; }"#, "s:1c"),
        (#"using (var r = XmlReader.Create(new StringReader("<a/>"))) { r = null; return 1; }"#, "!1:62 'r' is a constant"),
        // LINQ to XML (read-only), results as .NET gives them.
        (#"var doc = XDocument.Parse("<r><a x=\"1\">t</a><b><a>u</a></b></r>"); return doc.Descendants().Where(e => e.Name.LocalName == "a").Count();"#, "i:2"),
        (#"var doc = XDocument.Parse("<?xml version=\"1.0\"?><r><a>t</a><b><a>u</a></b></r>"); return string.Join(",", doc.Descendants("a").Select(e => e.Value));"#, "s:t,u"),
        (#"var root = XDocument.Parse("<r xmlns=\"urn:x\"><v>1</v></r>").Root; return root.Element("{urn:x}v").Value + (root.Element("v") == null ? "|none" : "|found") + "|" + root.Name.NamespaceName;"#, "s:1|none|urn:x"),
        (#"var e = XElement.Parse("<a x='1' p:y='2' xmlns:p='urn:p'/>"); return e.Attribute("x").Value + e.Attribute("{urn:p}y").Value + (e.Attribute("z") == null) + e.IsEmpty;"#, "s:12TrueTrue"),
        (#"return XElement.Parse("<r><a>1</a><b/></r>").ToString();"#, "s:<r>\n  <a>1</a>\n  <b />\n</r>"),
        (#"return XDocument.Parse("<r><a>x &amp; y &#x41;<![CDATA[<z>]]></a><!-- c --></r>").Root.Value;"#, "s:x & y A<z>"),
        (#"var s = XDocument.Parse("<s:Envelope xmlns:s=\"urn:s\"><s:Body><Item>ABC</Item></s:Body></s:Envelope>").Descendants().First(d => d.Name.LocalName == "Item"); return s.Parent.Name.ToString() + "=" + s.Value;"#, "s:{urn:s}Body=ABC"),
        (#"return XDocument.Parse("<r>").Root.Value;"#, "^XmlException"), (#"return XDocument.Parse("<!DOCTYPE r><r/>").Root.Value;"#, "^XmlException: DTD is prohibited"),
        (#"return XDocument.Parse("<a/><b/>").Root.Value;"#, "^XmlException: multiple root"), (#"return XDocument.Parse("<p:a/>").Root.Value;"#, "^XmlException: undeclared prefix"),
        // JProperty.Remove(): out of the object the property came from (Newtonsoft's Parent).
        (#"var o = JObject.Parse("{\"a\":1,\"b\":2}"); o.Property("a").Remove(); return o.ToString(Formatting.None);"#, #"s:{"b":2}"#),
        (#"var o = JObject.Parse("{\"a\":1,\"b\":2,\"c\":3}"); foreach (var p in o.Properties().Where(p => (int)p.Value > 1).ToList()) { p.Remove(); } return o.ToString(Formatting.None);"#, #"s:{"a":1}"#),
        (#"var o = JObject.Parse("{\"a\":1}"); o.Property("x").Remove(); return 0;"#, "^NullReferenceException"),
        (#"var p = new JProperty("p", 1); p.Remove(); return 0;"#, "^InvalidOperationException: The parent is missing."),
        (#"var o = JObject.Parse("{\"a\":1}"); var p = o.Property("a"); p.Remove(); p.Remove(); return 0;"#, "^InvalidOperationException: The parent is missing."),
        ("return 1;", "i:1"), ("var x = 2; x = x * 3; return x;", "i:6"), ("int a = 1, b = 2; return a + b;", "i:3"),
        ("var s = \"a\"; s += \"b\"; s += 1; return s;", "s:ab1"), ("var i = 5; i++; ++i; i--; return i;", "i:6"), ("var i = 5; return i++ + i;", "i:11"),
        ("int x = 10; x -= 3; x *= 2; x /= 4; x %= 2; return x;", "i:1"), ("int x = 1; x <<= 3; x |= 1; x &= 7; x ^= 2; return x;", "i:3"),
        ("string s = null; s ??= \"d\"; return s;", "s:d"), ("byte b = 250; b += 10; return b;", "i:4"),
        ("if (1 > 2) { return \"a\"; } else { return \"b\"; }", "s:b"), ("if (true) return 1; return 2;", "i:1"),
        ("if (false) return 1; else if (true) return 2; else return 3;", "i:2"),
        ("var sum = 0; foreach (var n in new[] { 1, 2, 3 }) { sum += n; } return sum;", "i:6"),
        ("var sum = 0; for (var i = 0; i < 5; i++) { if (i == 3) continue; sum += i; } return sum;", "i:7"),
        ("var i = 0; while (true) { i++; if (i > 4) break; } return i;", "i:5"), ("var i = 0; do { i += 2; } while (i < 5); return i;", "i:6"),
        ("var r = \"\"; foreach (var c in \"abc\") r = c + r; return r;", "s:cba"),
        ("var total = 0; foreach (var kv in new Dictionary<string, int> { { \"a\", 1 }, { \"b\", 2 } }) total += kv.Value; return total;", "i:3"),
        ("switch (\"b\") { case \"a\": return 1; case \"b\": return 2; default: return 3; }", "i:2"),
        ("switch (7) { case 1: case 7: return \"hit\"; default: return \"miss\"; }", "s:hit"),
        ("var r = 0; switch (2) { case 2: r = 20; break; default: r = -1; break; } return r;", "i:20"),
        ("switch (\"z\") { case \"a\": return 1; } return 0;", "i:0"),
        ("try { return int.Parse(\"x\"); } catch (FormatException) { return -1; }", "i:-1"),
        ("try { return int.Parse(\"x\"); } catch (Exception e) { return e.Message; }", "s:Input string was not in a correct format."),
        ("try { throw new InvalidOperationException(\"boom\"); } catch (InvalidOperationException e) { return e.Message; }", "s:boom"),
        ("try { var x = ((string)null).Length; return 0; } catch (ArgumentException) { return 1; } catch (NullReferenceException) { return 2; }", "i:2"),
        ("try { return 1 / int.Parse(\"0\"); } catch (ArithmeticException) { return -1; }", "i:-1"), // DivideByZeroException derives from ArithmeticException
        ("var log = \"\"; try { log += \"t\"; } finally { log += \"f\"; } return log;", "s:tf"),
        ("try { throw new Exception(\"x\"); } catch (Exception e) when (e.Message == \"y\") { return 1; } catch { return 2; }", "i:2"),
        ("throw new ArgumentException(\"bad\");", "^ArgumentException: bad"), ("try { int.Parse(\"q\"); return 0; } catch (FormatException) { throw; }", "^FormatException"),
        (#"var body = context.Request.Body.As<JObject>(preserveContent: true); body["added"] = "yes"; body["id"] = (int)body["id"] + 1; return body.ToString(Formatting.None);"#,
         #"s:{"id":43,"name":"Ada","tags":["a","b"],"nested":{"ok":true,"price":9.5},"added":"yes"}"#),
        (#"var o = new JObject(); o.Add("a", 1); o["b"] = new JArray(1, 2); o.Remove("a"); return o.ToString(Formatting.None);"#, #"s:{"b":[1,2]}"#),
        (#"var list = new List<string>(); list.Add("x"); list.AddRange(new[] { "y", "z" }); list.Remove("y"); list.Insert(0, "w"); return string.Join("", list);"#, "s:wxz"),
        (#"var d = new Dictionary<string, string>(); d["k"] = "v"; d["k"] = "w"; return d["k"] + d.Count;"#, "s:w1"),
        (#"var sb = new StringBuilder(); for (var i = 0; i < 3; i++) { sb.Append(i); } return sb.ToString();"#, "s:012"),
        (#"var parts = "a=1;b=2".Split(';').Select(p => p.Split('=')).ToDictionary(p => p[0], p => int.Parse(p[1])); return parts["b"];"#, "i:2"),
        (#"if (!int.TryParse("17", out var n)) { return -1; } return n + 1;"#, "i:18"),
        (#"var items = new[] { 3, 1, 2 }.OrderBy(x => x).ToList(); items.Reverse(); return items[0];"#, "i:3"),
        (#"context.Trace("hello"); return true;"#, "True"),
        (#"var found = new[] { 1, 2, 3 }.Select(x => { var y = x * 2; return y; }).Last(); return found;"#, "i:6"),
        (#"var xs = new List<int> { 1, 2, 3, 4 }; xs.RemoveAll(x => x % 2 == 0); return xs.Count;"#, "i:2"),
        ("var i = 0; while (true) { i++; }", "^InvalidOperationException: iteration budget"), // a runaway loop fails instead of hanging
        // Compile-time errors with positions
        ("var x = 1;", "!1:11 not all code paths return a value"), ("if (true) { return 1; }", "i:1"), ("if (context.Tracing) { return 1; }", "!1:35 not all code paths return a value"),
        ("if (context.Tracing) return 1; else return 2;", "i:2"), ("while (true) { } ", "^InvalidOperationException"),
        ("var x = 1; var x = 2; return x;", "!1:16 already defined"), ("x = 1; return x;", "!1:1 the name 'x' does not exist"),
        ("var x; return 1;", "!1:5 implicitly-typed variables must be initialized"), ("var x = null; return x;", "!1:9 cannot assign <null>"),
        ("return 1", "!1:9 expected ';'"), ("1 + 2; return 0;", "!1:1 only assignment, call"), ("int x = \"s\"; return x;", "!1:9 cannot implicitly convert type 'string' to 'int'"),
        ("switch (1) { case 1: var a = 1; default: return 0; }", "!1:14 control cannot fall through"),
        ("switch (1) { case 1: return 1; case 1: return 2; default: return 0; }", "!1:37 multiple cases"),
        ("return context.Request.Headerz;", "!1:24 'IRequest' has no member 'Headerz'"), ("return;", "!1:1 an object of a type convertible to 'object' is required"),
        ("try { return 1; }", "!1:18 expected 'catch' or 'finally'"), ("throw;", "!1:1 a throw statement with no arguments is not allowed outside of a catch clause"),
        ("foreach (var c in 5) { } return 0;", "!1:19 foreach statement cannot operate on variables of type 'int'"),
        ("if (1) return 1; return 0;", "!1:5 cannot implicitly convert type 'int' to 'bool'"),
        ("var x = 1;\nvar y = x +;\nreturn y;", "!2:12 unexpected ';'"),
        ("\n\n  return context.Request.Certifcate;", "!3:26 'IRequest' has no member 'Certifcate'"),
    ]

    @Test(arguments: blockCases) func block(_ source: String, _ expected: String) { check(source, expected, kind: .block) }

    /// The example from REFERENCE §2.1: decode a header value with an `out` variable declared beforehand.
    @Test func referenceExampleDecodesHeader() throws {
        let source = #"string[] v; if (context.Request.Headers.TryGetValue("Authorization", out v) && v.Length > 0) return Encoding.UTF8.GetString(Convert.FromBase64String(v[0])); return null;"#
        let withHeader = TestContext.make(headers: [("Authorization", ["dXNlcjpwYXNz"])])
        #expect(render(try TestContext.run(source, kind: .block, context: withHeader)) == "s:user:pass")
        #expect(render(try TestContext.run(source, kind: .block, context: TestContext.make(headers: []))) == "null")
    }

    @Test func certificateFactoryBacksTheConstructor() throws {
        let model = TypeModel(contextType: ContextTypes.context, certificateFactory: { raw, _ in
            FakeCertificate(thumbprint: raw.map { String(format: "%02X", $0) }.joined())
        })
        let compiled = try ExpressionCompiler(model: model).compile("new X509Certificate2(new byte[] { 0xAB, 0x01 }).Thumbprint")
        #expect(render(try compiled.evaluate(context: TestContext.make())) == "s:AB01")
        #expect(throws: ExpressionCompileError.self) { try TestContext.compiler.compile("new X509Certificate2(new byte[0])") }
    }

    @Test func traceReachesTheHost() throws {
        let context = TestContext.make()
        _ = try TestContext.run(#"context.Trace("a" + 1); return 0;"#, kind: .block, context: context)
        #expect(context.traced == ["a1"])
    }
}

/// Hostile XML for `XDocument.Parse`: an `XmlException` or a document, never a trap.
@Suite struct XmlParserFuzzTests {
    @Test func randomDocumentsFailCleanly() {
        let pieces = ["<", ">", "/", "a", "b:c", "=", "\"", "'", "&", "amp;", "#x41;", "#99999999;", "<![CDATA[", "]]>", "<!--", "-->",
                      "<?", "?>", "xmlns:b", "xmlns", " ", "\n", "x"]
        var state: UInt64 = 0xfeed
        var parsed = 0
        for _ in 0..<3000 {
            var text = ""
            state = state &* 6364136223846793005 &+ 1442695040888963407
            for step in 0..<Int(state >> 59 + 1) {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                text += pieces[Int((state >> 33) % UInt64(pieces.count))]
                _ = step
            }
            if (try? XmlObjects.parse(text)) != nil { parsed += 1 }
        }
        // Deep nesting is refused, not recursed into without bound.
        let deep = String(repeating: "<a>", count: 10_000) + String(repeating: "</a>", count: 10_000)
        #expect(throws: ExpressionRuntimeError.self) { try XmlObjects.parse(deep) }
        // (Whatever parsed must be a document with a root.)
        #expect((try? XmlObjects.parse("<a>x</a>"))?.value == "x")
        _ = parsed
    }
}
