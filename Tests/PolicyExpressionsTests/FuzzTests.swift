import Testing
@testable import PolicyExpressions

/// Seeded random-input fuzzing: random token soup, mutated valid expressions and raw noise must
/// never crash or hang the compiler — every failure is an `ExpressionCompileError`. Inputs that do
/// compile are evaluated under a small iteration budget and may only fail with a .NET exception.
@Suite struct FuzzTests {
    /// SplitMix64: deterministic across platforms, so a failure reproduces from its seed.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let vocabulary = [
        "context", ".", "Request", "Headers", "Certificate", "Thumbprint", "Variables", "GetValueOrDefault", "(", ")", "[", "]", "{", "}",
        "\"x\"", "@\"v\"", "$\"{1}\"", "'c'", "1", "2.5", "0x1F", "10L", "1.5m", "true", "false", "null", "+", "-", "*", "/", "%", "==", "!=", "<", ">",
        "<=", ">=", "&&", "||", "!", "~", "?", ":", "??", "?.", "?[", "=>", "=", "+=", ",", ";", "new", "var", "if", "else", "return", "foreach",
        "in", "while", "for", "switch", "case", "default", "break", "try", "catch", "throw", "is", "as", "typeof", "string", "int", "JObject",
        "List", "<", ">", "out", "x", "y", "Any", "Select", "Where", "c", "Length", "Substring", "Parse", "Math", "Max", "Regex", "Match",
        "As", "Body", "ToString", "Count", "Split", "Join", "DateTime", "UtcNow", "AddDays", "Convert", "FromBase64String", " ", "\n",
        // Hostile values and the members that used to trap on them.
        "int.MaxValue", "int.MinValue", "long.MinValue", "long.MaxValue", "1e300", "-1", "double.NaN", "TimeSpan", "FromTicks", "Duration",
        "Negate", "FromFileTimeUtc", "FromUnixTimeSeconds", "DateTimeOffset", "AsJwt", "ExpirationTime", "PadLeft", "Replace", "Insert",
        "Remove", "Round", "ToInt64", "Format", "AddRange", "SelectMany", "Concat", "JArray", "Add", "DeepClone",
    ]

    static let corpus = [
        SeedConditionTests.thumbprintCondition, SeedConditionTests.issuerCondition, SeedConditionTests.storeCondition,
        #"context.Request.Headers.GetValueOrDefault("Authorization", "").Split(' ').Last()"#,
        #"(string)context.Variables["x"] + $"-{context.Request.Url.Path}-{DateTime.UtcNow:o}""#,
        #"context.Request.Body.As<JObject>(preserveContent: true)["tags"].Select(t => (string)t).Any(t => t == "a")"#,
        #"string[] v; if (context.Request.Headers.TryGetValue("Authorization", out v) && v.Length > 0) return v[0]; return null;"#,
        #"var sum = 0; foreach (var n in new[] { 1, 2, 3 }) { sum += n; } switch (sum) { case 6: return "six"; default: return "other"; }"#,
        #"Regex.Match(context.Response.Headers.GetValueOrDefault("Cache-Control",""), @"max-age=(?<maxAge>\d+)").Groups["maxAge"]?.Value"#,
    ] + hostileCorpus

    /// Inputs that crashed the process before the expression-safety fixes (HostileInputTests has the exact
    /// expectations); mutating them keeps the neighbourhood of each former trap covered.
    static let hostileCorpus = [
        #"context.Request.Headers.GetValueOrDefault("Authorization", "\#(HostileInputTests.jwt(#"{"exp":1e300,"nbf":9999999999999,"iat":-1e300}"#))").AsJwt().ExpirationTime > DateTime.UtcNow"#,
        #""\#(HostileInputTests.jwt(#"{"exp":9999999999999}"#))".AsJwt()?.NotBefore ?? DateTime.MinValue"#,
        "new TimeSpan(int.MaxValue, 0, 0, 0) + TimeSpan.FromTicks(long.MinValue).Duration()",
        "DateTime.FromFileTimeUtc(long.MaxValue) - DateTimeOffset.FromUnixTimeSeconds(long.MinValue).UtcDateTime",
        "DateTimeOffset.UtcNow - TimeSpan.FromTicks(long.MinValue) + TimeSpan.FromTicks(long.MaxValue).Negate()",
        #"Convert.ToInt64(9.223372036854775807e18) + ulong.Parse("-1") + Math.Round(1.5m, int.MaxValue)"#,
        #"TimeSpan.Parse("10675199.23:00:00").Add(TimeSpan.Parse("-9999999999999999"))"#,
        #"DateTime.ParseExact("20200101000000000000000000", "yyyyyyyyyyyyyyyyyyyyyyyyyy", null).AddDays(1e300)"#,
        #"string.Format("{0,-2147483648}{1:D999999999}", 1, 2) + new Uri("http://a:99999999999999/").Port"#,
        #"var s = "a"; for (var i = 0; i < 40; i++) { s = s + s; s += s.Replace("a", s); } return s.PadLeft(int.MaxValue);"#,
        #"var sb = new StringBuilder("a"); var l = new List<string> { "a" }; for (var i = 0; i < 40; i++) { sb.Append(sb.ToString()); l.AddRange(l); l = l.SelectMany(x => l).ToList(); } return sb.ToString() + string.Join(",", l);"#,
        #"var a = new JArray(); a.Add(a); var o = new JObject(); o["x"] = o; return a.ToString() + JsonConvert.SerializeObject(o) + a.DeepClone();"#,
        #"Regex.IsMatch(new string('a', 400000), "^(a|b)*$") || Regex.Replace(new string('a', 400000), "(a|b)*", "$0$0").Length > 0"#,
        #"var l = new List<int> { 1, 2, 3 }; return l.RemoveAll(x => l.Remove(x)) + l.FindIndex(x => l.Remove(x));"#,
    ]

    static func compileAndRun(_ source: String, context: ContextDouble) {
        for kind in [ExpressionKind.expression, .block] {
            do {
                let compiled = try TestContext.compiler.compile(source, kind: kind)
                _ = try? compiled.evaluate(context: context, iterationBudget: 2_000)
            } catch {
                // A typed compile error with a sane position is the only acceptable failure.
                #expect(error.line >= 1 && error.column >= 1)
                #expect(!error.message.isEmpty)
            }
        }
    }

    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func tokenSoup(seed: UInt64) {
        var rng = Generator(state: seed)
        let context = TestContext.make()
        for _ in 0..<600 {
            let length = Int.random(in: 1...25, using: &rng)
            let source = (0..<length).map { _ in Self.vocabulary.randomElement(using: &rng) ?? "" }.joined(separator: Bool.random(using: &rng) ? " " : "")
            Self.compileAndRun(source, context: context)
        }
    }

    @Test(arguments: [11, 12, 13, 14] as [UInt64])
    func mutatedCorpus(seed: UInt64) {
        var rng = Generator(state: seed)
        let context = TestContext.make()
        let alphabet = Array("(){}[]<>.,;:?!=+-*/%&|^~\"'@$\\ \n0123456789abcxyz_")
        for _ in 0..<500 {
            var chars = Array(Self.corpus.randomElement(using: &rng) ?? "")
            for _ in 0..<Int.random(in: 1...4, using: &rng) where !chars.isEmpty {
                let at = Int.random(in: 0..<chars.count, using: &rng)
                switch Int.random(in: 0..<5, using: &rng) {
                case 0: chars.remove(at: at)
                case 1: chars.insert(alphabet.randomElement(using: &rng) ?? " ", at: at)
                case 2: chars[at] = alphabet.randomElement(using: &rng) ?? " "
                case 3: chars = Array(chars[..<at])
                default:
                    let end = min(chars.count, at + Int.random(in: 1...12, using: &rng))
                    chars.insert(contentsOf: chars[at..<end], at: at)
                }
            }
            Self.compileAndRun(String(chars), context: context)
        }
    }

    @Test func rawNoise() {
        var rng = Generator(state: 99)
        let context = TestContext.make()
        for _ in 0..<400 {
            let scalars = (0..<Int.random(in: 0...40, using: &rng)).compactMap { _ in
                Unicode.Scalar(UInt32.random(in: 0...0x2FFF, using: &rng))
            }
            var text = ""
            text.unicodeScalars.append(contentsOf: scalars)
            Self.compileAndRun(text, context: context)
        }
    }

    @Test func pathologicalNesting() {
        let context = TestContext.make()
        for depth in [100, 1_000, 4_000] {
            Self.compileAndRun(String(repeating: "(", count: depth) + "1" + String(repeating: ")", count: depth), context: context)
            Self.compileAndRun(String(repeating: "!", count: depth) + "true", context: context)
            Self.compileAndRun(String(repeating: "{", count: depth), context: context)
            Self.compileAndRun(String(repeating: "$\"{", count: depth / 10), context: context)
            Self.compileAndRun("new[] {" + String(repeating: "1,", count: depth) + "1 }.Sum()", context: context)
            Self.compileAndRun(String(repeating: "1 + ", count: depth) + "1", context: context)
            Self.compileAndRun(String(repeating: "a ? ", count: depth) + "1", context: context)
        }
    }
}
