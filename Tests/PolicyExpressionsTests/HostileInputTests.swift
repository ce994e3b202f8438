import Foundation
import Testing
@testable import PolicyExpressions

/// Client-controlled values must never trap the process: each case here crashed (a Swift trap, an
/// allocation failure or a stack overflow) or failed open before the fix, and now yields the .NET
/// exception (or result) instead. `check` runs in-process, so a regression kills the test run.
@Suite struct HostileInputTests {
    /// A JWT (unsigned; `AsJwt` only parses) whose payload is the given JSON text.
    static func jwt(_ payload: String) -> String {
        func b64url(_ text: String) -> String {
            Data(text.utf8).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        }
        return b64url(#"{"alg":"HS256","typ":"JWT"}"#) + "." + b64url(payload) + ".sig"
    }

    // MARK: 1. JWT NumericDate claims

    static let jwtCases: [(String, String, String)] = [
        // claim text, property, expectation
        ("1e300", "ExpirationTime", "^OverflowException"),
        ("-1e300", "ExpirationTime", "^OverflowException"),
        ("9999999999999", "ExpirationTime", "^ArgumentOutOfRangeException"),
        ("-9999999999999", "ExpirationTime", "^ArgumentOutOfRangeException"),
        ("9999999999999", "NotBefore", "^ArgumentOutOfRangeException"),
        ("1e300", "IssuedAt", "^OverflowException"),
        ("253402300800", "ExpirationTime", "^ArgumentOutOfRangeException"),  // one second past DateTime.MaxValue
        ("253402300799", "ExpirationTime", "dt:9999-12-31T23:59:59.0000000Z"),
        ("-62135596800", "IssuedAt", "dt:0001-01-01T00:00:00.0000000Z"),
        ("1700000000.9", "ExpirationTime", "dt:2023-11-14T22:13:20.0000000Z"),  // fraction truncated
        (#""soon""#, "ExpirationTime", "null"),  // not a number: no value, as before
    ]

    @Test(arguments: jwtCases)
    func jwtTimeClaimOutOfRange(claim: String, property: String, expected: String) {
        let claimName = ["ExpirationTime": "exp", "NotBefore": "nbf", "IssuedAt": "iat"][property] ?? "exp"
        let token = Self.jwt(#"{"sub":"x","\#(claimName)":\#(claim)}"#)
        check(#""\#(token)".AsJwt().\#(property)"#, expected)
        // The policy form: a deny rule comparing the expiry fails (on-error) instead of killing the gateway.
        if expected.hasPrefix("^") {
            check(#""\#(token)".AsJwt()?.\#(property) > DateTime.UtcNow"#, expected)
        }
    }

    // MARK: 2. Temporal and numeric conversions (.NET exceptions instead of traps)

    static let temporalCases: [(String, String)] = [
        ("new TimeSpan(int.MaxValue, 0, 0, 0)", "^ArgumentOutOfRangeException: TimeSpan overflowed"),
        ("new TimeSpan(int.MinValue, 0, 0, 0)", "^ArgumentOutOfRangeException"),
        ("new TimeSpan(0, int.MaxValue, int.MaxValue, int.MaxValue, int.MaxValue)", "^ArgumentOutOfRangeException"),
        ("new TimeSpan(int.MaxValue, int.MaxValue, int.MaxValue)", "^ArgumentOutOfRangeException"),
        ("new TimeSpan(1, 2, 3, 4, 5)", "ts:1.02:03:04.0050000"),
        ("new TimeSpan(10675199, 2, 48, 5, 477)", "ts:10675199.02:48:05.4770000"),
        ("DateTime.FromFileTimeUtc(long.MaxValue)", "^ArgumentOutOfRangeException: Not a valid Win32 FileTime."),
        ("DateTime.FromFileTimeUtc(-1)", "^ArgumentOutOfRangeException"),
        ("DateTime.FromFileTimeUtc(0)", "dt:1601-01-01T00:00:00.0000000Z"),
        ("DateTime.MinValue.ToFileTimeUtc()", "^ArgumentOutOfRangeException"),
        ("DateTimeOffset.FromUnixTimeSeconds(long.MinValue)", "^ArgumentOutOfRangeException"),
        ("DateTimeOffset.FromUnixTimeSeconds(long.MaxValue)", "^ArgumentOutOfRangeException"),
        ("DateTimeOffset.FromUnixTimeSeconds(-62135596800).Year", "i:1"),
        ("DateTimeOffset.FromUnixTimeMilliseconds(long.MinValue)", "^ArgumentOutOfRangeException"),
        ("TimeSpan.FromTicks(long.MinValue).Duration()", "^OverflowException"),
        ("TimeSpan.FromTicks(long.MinValue).Negate()", "^OverflowException"),
        ("TimeSpan.FromTicks(-5).Duration()", "ts:00:00:00.0000005"),
        ("TimeSpan.FromTicks(long.MaxValue).Add(TimeSpan.FromTicks(1))", "^OverflowException"),
        ("TimeSpan.FromTicks(long.MinValue).Subtract(TimeSpan.FromTicks(1))", "^OverflowException"),
        ("DateTime.UtcNow - TimeSpan.FromTicks(long.MinValue)", "^OverflowException"),
        ("DateTime.UtcNow.Subtract(TimeSpan.FromTicks(long.MinValue))", "^OverflowException"),
        ("DateTimeOffset.UtcNow + TimeSpan.FromTicks(long.MaxValue)", "^ArgumentOutOfRangeException"),
        ("DateTimeOffset.UtcNow - TimeSpan.FromTicks(long.MinValue)", "^OverflowException"),
        ("DateTimeOffset.FromUnixTimeSeconds(253402300799).AddDays(1)", "^ArgumentOutOfRangeException"),
        ("new DateTimeOffset(DateTime.UtcNow, TimeSpan.FromTicks(long.MaxValue))", "^ArgumentException"),
        ("new DateTimeOffset(DateTime.UtcNow, TimeSpan.FromHours(15))", "^ArgumentOutOfRangeException"),
        ("new DateTimeOffset(DateTime.MinValue, TimeSpan.FromHours(5))", "^ArgumentOutOfRangeException"),
        ("new DateTimeOffset(new DateTime(2020, 1, 1), TimeSpan.FromHours(2)).UtcDateTime.Hour", "i:22"),
        ("DateTime.UtcNow.AddDays(1e300)", "^ArgumentOutOfRangeException"),
        ("Math.Round(1.5m, int.MaxValue)", "^ArgumentOutOfRangeException"),
        ("Math.Round(1.5m, -1)", "^ArgumentOutOfRangeException"),
        ("Math.Round(1.25m, 1)", "m:1.2"),
        ("Convert.ToInt64(9.223372036854775807e18)", "^OverflowException"),
        ("Convert.ToInt64(-9.223372036854775808e18)", "l:-9223372036854775808"),
        ("Convert.ToInt32(1e300)", "^OverflowException"),
        ("(long)9250000000000000000m", "^OverflowException"),  // wrapped to a negative long
        ("Convert.ToInt64(9250000000000000000m)", "^OverflowException"),
        ("(ulong)9250000000000000000m", "ul:9250000000000000000"),
        ("(long)-9223372036854775808m", "l:-9223372036854775808"),
        (#"ulong.Parse("-1")"#, "^OverflowException"),
        (#"uint.Parse("-0")"#, "l:0"),
        (#"Convert.ToByte("-1")"#, "^OverflowException"),
        (#"long.Parse("-9223372036854775808")"#, "l:-9223372036854775808"),
        (#"new Uri("http://a:99999999999999/").Port"#, "^UriFormatException"),
        (#"new Uri("http://a:8080/").Port"#, "i:8080"),
        (#"TimeSpan.Parse("10675199.23:00:00")"#, "^FormatException"),
        (#"TimeSpan.Parse("-9999999999999999")"#, "^FormatException"),
        (#"TimeSpan.Parse("1:-99999999999:00")"#, "^FormatException"),
        (#"TimeSpan.Parse("1.02:03:04.5")"#, "ts:1.02:03:04.5000000"),
        (#"DateTime.ParseExact("20200101000000000000000000", "yyyyyyyyyyyyyyyyyyyyyyyyyy", null)"#, "^FormatException"),
        (#"DateTime.ParseExact("1234567890", "ffffffffff", null)"#, "^FormatException"),
        // Found by FuzzExpression (Fuzz/crashes/FuzzExpression): `tt` read past the end of the input.
        (#"DateTime.ParseExact("P", "ttMMM", null)"#, "^FormatException"),
        (#"DateTime.ParseExact("2024010212345678901", "yyyyMMddFFFFFFFFFFF", null)"#, "^FormatException"),
        (#"DateTime.ParseExact("12345678901234567890123", "yyyyyyyyyyyyyyyyyyyyyyy", null)"#, "^FormatException"),
        (#"DateTime.ParseExact("01/02/2024 10:00 PM", "MM/dd/yyyy hh:mm tt", null).Hour"#, "i:22"),
        (#"DateTime.ParseExact("2020-01-02", "yyyy-MM-dd", null).Day"#, "i:2"),
        (#"DateTime.Parse("0001-01-01T00:00:00+14:00")"#, "^FormatException"),
        (#"DateTimeOffset.Parse("2020-01-01T00:00:00+99:00")"#, "^FormatException"),
        (#"string.Format("{0,-9223372036854775808}", 1)"#, "^FormatException"),
        (#"string.Format("{0,1000000}", 1)"#, "^FormatException"),
        (#"string.Format("{0,3}", 1)"#, "s:  1"),
        (#"(1).ToString("D2147483647")"#, "^FormatException"),
        (#"(1.5).ToString("F16777217")"#, "^OutOfMemoryException"),
        (#"double.NaN.ToString("F2")"#, "s:NaN"),
        (#""abc".Substring(2, int.MaxValue)"#, "^ArgumentOutOfRangeException"),
        (#""abc".Remove(1, int.MaxValue)"#, "^ArgumentOutOfRangeException"),
    ]

    @Test(arguments: temporalCases)
    func conversionsRaiseDotNetExceptions(source: String, expected: String) {
        check(source, expected)
    }

    /// A lambda that mutates the list it is iterating was a Swift exclusivity violation (a trap).
    @Test func listPredicateMutatingItsList() {
        check("var l = new List<int> { 1, 2, 3 }; return l.RemoveAll(x => l.Remove(x));", "i:3", kind: .block)
        check("var l = new List<int> { 1, 2, 3 }; return l.Find(x => l.Remove(x));", "i:1", kind: .block)
        check("var l = new List<int> { 1, 2, 3 }; return l.TrueForAll(x => l.Remove(x));", "True", kind: .block)
    }

    // MARK: 3. Unbounded growth

    static let growthCases: [String] = [
        #"var s = "a"; for (var i = 0; i < 64; i++) { s = s + s; } return s.Length;"#,
        #"var s = "a"; for (var i = 0; i < 64; i++) { s += s; } return s.Length;"#,
        #"var s = "a"; for (var i = 0; i < 64; i++) { s = $"{s}{s}"; } return s.Length;"#,
        #"var s = "a"; for (var i = 0; i < 64; i++) { s = string.Concat(s, s); } return s.Length;"#,
        #"var s = "a"; for (var i = 0; i < 64; i++) { s = string.Join(s, new[] { s, s }); } return s.Length;"#,
        #"var s = "ab"; for (var i = 0; i < 64; i++) { s = s.Replace("a", s); } return s.Length;"#,
        #"var s = "a"; for (var i = 0; i < 64; i++) { s = s.PadLeft(s.Length * 2); } return s.Length;"#,
        #"var s = "a"; for (var i = 0; i < 64; i++) { s = string.Format("{0}{0}", s); } return s.Length;"#,
        #"var s = "a"; for (var i = 0; i < 64; i++) { s = Regex.Replace(s, "^", s); } return s.Length;"#,
        #"var s = "a"; for (var i = 0; i < 64; i++) { s = s.ToUpper() + s.ToLower(); } return s.Length;"#,
        #"var sb = new StringBuilder("a"); for (var i = 0; i < 64; i++) { sb.Append(sb.ToString()); } return sb.Length;"#,
        #"var sb = new StringBuilder("a"); for (var i = 0; i < 64; i++) { sb.AppendFormat("{0}{0}", sb.ToString()); } return sb.Length;"#,
        #"var l = new List<int> { 1 }; for (var i = 0; i < 64; i++) { l.AddRange(l); } return l.Count;"#,
        #"var l = new List<int> { 1 }; for (var i = 0; i < 64; i++) { l = l.Concat(l).ToList(); } return l.Count;"#,
        #"var l = new List<int> { 1, 2 }; for (var i = 0; i < 64; i++) { l = l.SelectMany(x => l).ToList(); } return l.Count;"#,
        #"var s = "a"; for (var i = 0; i < 64; i++) { s = string.Concat(Enumerable.Repeat(s, 2)); } return s.Length;"#,
        #"var j = new JArray(1); for (var i = 0; i < 64; i++) { j.Add(j.DeepClone()); } return j.Count;"#,
    ]

    @Test(arguments: growthCases)
    func growthStopsAtTheSizeLimit(source: String) {
        check(source, "^OutOfMemoryException: Insufficient memory", kind: .block)
    }

    @Test func oneShotAllocationsAreBounded() {
        check("Enumerable.Range(0, int.MaxValue).Count()", "^OutOfMemoryException")
        check(#"Enumerable.Repeat("x", 100000000).Count()"#, "^OutOfMemoryException")
        check("new int[100000000].Length", "^OutOfMemoryException")
        check(#""x".PadLeft(int.MaxValue)"#, "^OutOfMemoryException")
        check(#"new string('x', 16777217)"#, "^OutOfMemoryException")
        // Within the limits, growth still works.
        check(#"var s = "a"; for (var i = 0; i < 10; i++) { s = s + s; } return s.Length;"#, "i:1024", kind: .block)
        check(#""a-b-c".Replace("-", "--")"#, "s:a--b--c")
        check(#""aXa".Replace("x", "yy", StringComparison.OrdinalIgnoreCase)"#, "s:ayya")
        check("Enumerable.Range(1, 1000).Sum()", "i:500500")
    }

    /// JSON values that contain themselves or nest without bound overflowed the stack when written.
    @Test func selfReferencingJsonFailsCleanly() {
        check("var a = new JArray(); a.Add(a); return a.ToString();", "^JsonException", kind: .block)
        check(#"var o = new JObject(); o["x"] = o; return JsonConvert.SerializeObject(o);"#, "^JsonException", kind: .block)
        check("var l = new List<object>(); l.Add(l); return JsonConvert.SerializeObject(l);", "^JsonException", kind: .block)
        check(#"var o = new JObject(); o["x"] = o; return "v=" + o;"#, "^JsonException", kind: .block)
        check(#"var o = new JObject(); o["x"] = o; return o;"#, "^JsonException", kind: .block)  // validated on the way out
        check("var j = new JArray(1); for (var i = 0; i < 64; i++) { j = new JArray(j, j); } return j.Count;", "^OutOfMemoryException", kind: .block)
        check(#"JToken.Parse("{\"a\":[1,{\"b\":2}]}").ToString(Formatting.None)"#, #"s:{"a":[1,{"b":2}]}"#)
    }

    /// Releasing a 100,000-deep chain of lists or JSON objects recursed once per level and overflowed the stack.
    @Test func deepChainsAreReleasedWithoutRecursion() {
        check("var l = new List<object>(); for (var i = 0; i < 100000; i++) { l = new List<object> { l }; } return l.Count;", "i:1", kind: .block)
        check(#"var j = new JObject(); for (var i = 0; i < 100000; i++) { var n = new JObject(); n["a"] = j; j = n; } return j.Count;"#, "i:1", kind: .block)
        check(#"var j = new JObject(); for (var i = 0; i < 100000; i++) { var n = new JObject(); n["a"] = j; j = n; } return j.ToString();"#, "^JsonException", kind: .block)
        check(#"var j = new JObject(); for (var i = 0; i < 100000; i++) { var n = new JObject(); n["a"] = j; j = n; } return j.DeepClone();"#, "^JsonException", kind: .block)
        check("var l = new List<object>(); for (var i = 0; i < 100000; i++) { l = new List<object> { l }; } return JsonConvert.SerializeObject(l);", "^JsonException", kind: .block)
        // Shared children survive the teardown of one parent.
        check(#"var shared = new JObject(); shared["x"] = 1; var a = new JArray(); a.Add(shared); a = null; return (int)shared["x"];"#, "i:1", kind: .block)
    }

    // MARK: 4. Regex fails closed

    static let bigInput = #"new string('a', 1000000)"#

    static let regexCases: [String] = [
        #"Regex.IsMatch(\#(bigInput), "^a*$")"#,
        #"Regex.IsMatch(\#(bigInput), "^(a|b)*$")"#,
        #"!Regex.IsMatch(\#(bigInput), "^(a|b)*$")"#,  // a deny rule written as "not allowed-pattern"
        #"Regex.Match(\#(bigInput), "^(a|b)*$").Success"#,
        #"Regex.Matches(\#(bigInput), "^(a|b)*$").Count"#,
        #"Regex.Replace(\#(bigInput), "^(a|b)*$", "x")"#,
        #"Regex.Split(\#(bigInput), "^(a|b)*$").Length"#,
        #"new Regex("^(a|b)*$").IsMatch(\#(bigInput))"#,
        // Catastrophic backtracking is bounded by the match timeout.
        #"Regex.IsMatch(new string('a', 30) + "!", "(a+)+$")"#,
    ]

    @Test(arguments: regexCases)
    func regexEngineFailureIsAnException(source: String) {
        check(source, "^RegexMatchTimeoutException")
    }

    @Test func regexStillMatchesNormally() {
        check(#"Regex.IsMatch(new string('a', 100000), "^a*$")"#, "True")
        check(#"Regex.Matches(new string('a', 10000), "a").Count"#, "i:10000")
        check(#"Regex.IsMatch("abc", "^(a|b)*$")"#, "False")
    }
}
