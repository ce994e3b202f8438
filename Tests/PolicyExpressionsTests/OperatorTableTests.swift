import Testing
@testable import PolicyExpressions

/// Literals, operators and precedence (C# spec §12), with .NET runtime semantics.
@Suite struct OperatorTableTests {
    static let cases: [(String, String)] = [
        // Literals
        ("true", "True"), ("false", "False"), ("null", "null"), ("42", "i:42"), ("42L", "l:42"), ("0x1F", "i:31"),
        ("2147483648", "l:2147483648"), ("-2147483648", "i:-2147483648"), ("1_000", "i:1000"), ("1.5", "d:1.5"),
        ("1e3", "d:1000"), ("1.5f", "d:1.5"), ("1.50m", "m:1.5"), ("'a'", "c:a"), ("'\\n' == (char)10", "True"),
        (#""a\tb""#, "s:a\tb"), (#"@"c:\temp""#, #"s:c:\temp"#), (#"@"say ""hi""""#, #"s:say "hi""#), (#""\u0041""#, "s:A"),
        // Interpolated strings (composite formatting rules)
        (#"$"x={1+1}""#, "s:x=2"), (#"$"{{literal}}""#, "s:{literal}"), (#"$"{3.14159:F2}""#, "s:3.14"), (#"$"[{7,3}]""#, "s:[  7]"),
        (#"$"[{7,-3}]""#, "s:[7  ]"), (#"$"{(true ? "y" : "n")}""#, "s:y"), (#"$@"{1}\n""#, #"s:1\n"#), (#"$"{null}|""#, "s:|"),
        // Arithmetic: unchecked int wraps, integer division truncates toward zero
        ("1 + 2 * 3", "i:7"), ("(1 + 2) * 3", "i:9"), ("7 / 2", "i:3"), ("-7 / 2", "i:-3"), ("-7 % 3", "i:-1"), ("7.0 / 2", "d:3.5"),
        // Constant expressions are checked at compile time (CS0220); run-time arithmetic is unchecked and wraps.
        ("2147483647 + 1", "!1:1 overflows at compile time"), ("int.MaxValue * 2", "!1:1 overflows"), ("9223372036854775807L + 1", "!1:1 overflows"),
        (#"int.Parse("2147483647") + 1"#, "i:-2147483648"), (#"(int)context.Variables["n"] * 1000000000"#, "i:-1589934592"),
        (#"long.Parse("9223372036854775807") + 1"#, "l:-9223372036854775808"), (#"-int.Parse("-2147483648")"#, "i:-2147483648"),
        (#"int.Parse("7") / int.Parse("0")"#, "^DivideByZeroException"), (#"int.Parse("7") % int.Parse("0")"#, "^DivideByZeroException"),
        ("1 / 0", "!1:1 division by constant zero"), ("1.0 / 0", "d:Infinity"), ("-1.0 / 0", "d:-Infinity"), ("0.0 / 0", "d:NaN"),
        (#"int.MinValue / int.Parse("-1")"#, "^OverflowException"), ("1m / 0m", "!1:1 division by constant zero"),
        (#"1m / decimal.Parse("0")"#, "^DivideByZeroException"), ("5 % 0.0 == 5 % 0.0", "False"),
        ("1 + 2L", "l:3"), ("1 + 2.5", "d:3.5"), ("1 + 2.5m", "m:3.5"), ("0.1 + 0.2", "d:0.30000000000000004"), ("10 - 3 - 2", "i:5"),
        ("2 * -3", "i:-6"), ("-(-3)", "i:3"), ("+5", "i:5"), ("~0", "i:-1"), ("~5L", "l:-6"), ("'a' + 1", "i:98"), ("(char)('a' + 1)", "c:b"),
        ("1.0m + 2.25m", "m:3.25"), ("10m / 4m", "m:2.5"), ("7m % 3m", "m:1"),
        // Shifts and bitwise
        ("1 << 4", "i:16"), ("1 << 33", "i:2"), ("-16 >> 2", "i:-4"), ("1L << 40", "l:1099511627776"), ("6 & 3", "i:2"), ("6 | 3", "i:7"),
        ("6 ^ 3", "i:5"), ("true & false", "False"), ("true | false", "True"), ("true ^ true", "False"),
        // Comparison and equality
        ("1 < 2", "True"), ("2 <= 2", "True"), ("3 > 4", "False"), ("1 == 1L", "True"), ("1 == 1.0", "True"), ("'a' < 'b'", "True"),
        (#""a" == "a""#, "True"), (#""a" == "A""#, "False"), (#""a" != null"#, "True"), ("null == null", "True"),
        ("double.NaN == double.NaN", "False"), ("double.NaN != double.NaN", "True"), (#""abc" + null == "abc""#, "True"),
        ("DateTime.MinValue < DateTime.MaxValue", "True"), ("TimeSpan.FromMinutes(1) > TimeSpan.FromSeconds(59)", "True"),
        (#""a" < "b""#, "!1:1 cannot be applied"),
        // Logical operators short-circuit (right side would throw)
        (#"false && ((string)null).Length > 0"#, "False"), (#"true || ((string)null).Length > 0"#, "True"), ("!true", "False"),
        ("!(1 > 2) && 3 > 2", "True"), ("true ? 1 : 2", "i:1"), ("false ? 1 : 2", "i:2"), ("1 > 2 ? \"a\" : \"b\"", "s:b"),
        ("true ? 1 : 2.5", "d:1"), ("true ? null : \"x\"", "null"), ("true ? 1 : null", "!1:1 no implicit conversion"),
        ("false ? 1 : true ? 2 : 3", "i:2"),
        // Null-coalescing and null-conditional
        (#"(string)null ?? "d""#, "s:d"), (#""v" ?? "d""#, "s:v"), (#"(string)null ?? (string)null ?? "z""#, "s:z"),
        ("((string)null)?.Length", "null"), (#""abc"?.Length"#, "i:3"), (#"((string)null)?.Length ?? -1"#, "i:-1"),
        (#"((string)null)?.Trim().ToUpper()"#, "null"), (#"" x "?.Trim().ToUpper()"#, "s:X"), ("((int[])null)?[0]", "null"),
        ("new[] { 5, 6 }?[1]", "i:6"), ("((string)null).Length", "^NullReferenceException"),
        // String concatenation formats operands with ToString()
        (#""n=" + 1"#, "s:n=1"), (#"1 + 2 + "x""#, "s:3x"), (#""x" + 1 + 2"#, "s:x12"), (#""b=" + true"#, "s:b=True"),
        (#""d=" + 1.5"#, "s:d=1.5"), (#""c=" + 'z'"#, "s:c=z"), (#""" + 1e20"#, "s:1E+20"), (#""" + 0.00001"#, "s:1E-05"),
        (#""" + 123456789012345.0"#, "s:123456789012345"), (#""" + 1234567890123456.0"#, "s:1.234567890123456E+15"), (#""" + (1.0/3)"#, "s:0.3333333333333333"),
        // Casts (.NET explicit conversions; float→int truncates)
        ("(int)3.9", "i:3"), ("(int)-3.9", "i:-3"), ("(long)3", "l:3"), ("(double)7 / 2", "d:3.5"), ("(byte)300", "i:44"),
        ("(short)40000", "i:-25536"), ("(int)4000000000L", "i:-294967296"), ("(char)65", "c:A"), ("(int)'A'", "i:65"),
        ("(decimal)1.25", "m:1.25"), ("(int)1.5m", "i:1"), ("(double)1.5m", "d:1.5"), ("(string)(object)\"s\"", "s:s"),
        (#"(int)(object)"s""#, "^InvalidCastException"), ("(long)(object)5", "^InvalidCastException"), ("(int)(object)5", "i:5"),
        (#"(string)5"#, "!1:1 cannot convert type 'int' to 'string'"), ("(int?)null", "null"), ("((int?)5).Value", "i:5"),
        ("((int?)null).HasValue", "False"), ("((int?)null).Value", "^InvalidOperationException"), ("((int?)null).GetValueOrDefault()", "i:0"),
        ("((int?)null).GetValueOrDefault(9)", "i:9"), ("(int?)3 + 4", "i:7"), ("(int?)null + 4", "null"),
        // is / as / type patterns
        (#"(object)"s" is string"#, "True"), ("(object)5 is string", "False"), (#"(object)"s" as string"#, "s:s"),
        ("(object)5 as string", "null"), (#"(object)"abc" is string s && s.Length == 3"#, "True"), ("null is string", "False"),
        ("(object)null is null", "True"), ("5 as int", "!1:1 as operator must be used with a reference type"),
        ("typeof(string).Name", "s:String"), ("typeof(int).FullName", "s:System.Int32"), ("default(int)", "i:0"), ("default(string)", "null"),
        ("default(bool)", "False"), ("\"x\".GetType().Name", "s:String"),
        // Enums
        ("StringComparison.OrdinalIgnoreCase", "e:StringComparison.OrdinalIgnoreCase"), ("(int)StringComparison.Ordinal", "i:4"),
        ("StringComparison.Ordinal.ToString()", "s:Ordinal"), ("RegexOptions.IgnoreCase | RegexOptions.Multiline", "e:RegexOptions.IgnoreCase, Multiline"),
        ("DayOfWeek.Friday == new DateTime(2024, 3, 1).DayOfWeek", "True"),
        // Fully qualified names
        (#"System.String.IsNullOrEmpty("")"#, "True"), (#"System.Text.Encoding.UTF8.GetBytes("é").Length"#, "i:2"), ("System.Math.Max(1, 2)", "i:2"),
    ]

    @Test(arguments: cases)
    func expression(_ source: String, _ expected: String) {
        check(source, expected)
    }
}
