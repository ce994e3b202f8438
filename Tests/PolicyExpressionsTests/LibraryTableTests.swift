import Testing
@testable import PolicyExpressions

/// Standard library members. Expected values follow the .NET documentation; subtle formatting notes cite it.
@Suite struct LibraryTableTests {
    static let stringsCases: [(String, String)] = [
        (#""hello".Length"#, "i:5"), (#""héllo".Length"#, "i:5"), (#""😀".Length"#, "i:2"), // UTF-16 code units
        (#""hello".Substring(1)"#, "s:ello"), (#""hello".Substring(1, 3)"#, "s:ell"), (#""hello".Substring(5)"#, "s:"),
        (#""hello".Substring(6)"#, "^ArgumentOutOfRangeException"), (#""hello".Substring(2, 9)"#, "^ArgumentOutOfRangeException"),
        (#""hello".IndexOf("l")"#, "i:2"), (#""hello".IndexOf('o')"#, "i:4"), (#""hello".IndexOf("z")"#, "i:-1"), (#""hello".IndexOf("")"#, "i:0"),
        (#""hello".IndexOf("l", 3)"#, "i:3"), (#""hello".LastIndexOf("l")"#, "i:3"), (#""Hello".IndexOf("h", StringComparison.OrdinalIgnoreCase)"#, "i:0"),
        (#""hello".Contains("ell")"#, "True"), (#""hello".Contains("L")"#, "False"), (#""hello".Contains('h')"#, "True"),
        (#""Hello".StartsWith("He")"#, "True"), (#""Hello".StartsWith("he")"#, "False"), (#""Hello".StartsWith("he", StringComparison.OrdinalIgnoreCase)"#, "True"),
        (#""Hello".EndsWith("llo")"#, "True"), (#""Hello".EndsWith("LLO", StringComparison.OrdinalIgnoreCase)"#, "True"),
        (#""a-b-c".Replace("-", "+")"#, "s:a+b+c"), (#""a-b-c".Replace('-', '_')"#, "s:a_b_c"), (#""abc".Replace("b", null)"#, "s:ac"),
        (#""abc".Replace("", "x")"#, "^ArgumentException"),
        (#""a,b,,c".Split(',')"#, "[s:a,s:b,s:,s:c]"), (#""a,b,,c".Split(new[] { ',' }, StringSplitOptions.RemoveEmptyEntries)"#, "[s:a,s:b,s:c]"),
        (#""a, b ,c".Split(',', StringSplitOptions.TrimEntries)"#, "[s:a,s:b,s:c]"), (#""a;b,c".Split(';', ',')"#, "[s:a,s:b,s:c]"),
        (#""a::b::c".Split(new[] { "::" }, StringSplitOptions.None)"#, "[s:a,s:b,s:c]"), (#""a b".Split()"#, "[s:a,s:b]"),
        (#""a,b,c".Split(',')[1]"#, "s:b"), (#""a,b,c".Split(',').Length"#, "i:3"),
        (#""  x  ".Trim()"#, "s:x"), (#""  x  ".TrimStart()"#, "s:x  "), (#""  x  ".TrimEnd()"#, "s:  x"), (#""--x--".Trim('-')"#, "s:x"),
        (#""/path/".TrimEnd('/')"#, "s:/path"), (#""xxhixx".Trim('x', 'h')"#, "s:i"),
        (#""MiXeD".ToUpper()"#, "s:MIXED"), (#""MiXeD".ToLower()"#, "s:mixed"), (#""abc".ToUpperInvariant()"#, "s:ABC"), (#""ABC".ToLowerInvariant()"#, "s:abc"),
        (#""7".PadLeft(3, '0')"#, "s:007"), (#""7".PadLeft(3)"#, "s:  7"), (#""7".PadRight(3, '.')"#, "s:7.."), (#""long".PadLeft(2)"#, "s:long"),
        (#""a".Equals("a")"#, "True"), (#""a".Equals("A")"#, "False"), (#""a".Equals("A", StringComparison.OrdinalIgnoreCase)"#, "True"),
        (#"string.Equals("a", "A", StringComparison.OrdinalIgnoreCase)"#, "True"), (#"string.Equals(null, null)"#, "True"), (#"string.Equals("a", null)"#, "False"),
        (#"string.IsNullOrEmpty(null)"#, "True"), (#"string.IsNullOrEmpty("")"#, "True"), (#"string.IsNullOrEmpty(" ")"#, "False"),
        (#"string.IsNullOrWhiteSpace(" \t")"#, "True"), (#"string.IsNullOrWhiteSpace("x")"#, "False"), (#"String.Empty"#, "s:"),
        (#"string.Join(",", "a", "b", "c")"#, "s:a,b,c"), (#"string.Join("-", new[] { 1, 2, 3 })"#, "s:1-2-3"), (#"string.Join(", ", new List<string> { "x", "y" })"#, "s:x, y"),
        (#"string.Join(",", new string[0])"#, "s:"), (#"string.Concat("a", "b")"#, "s:ab"), (#"string.Concat("a", "b", "c", "d")"#, "s:abcd"),
        (#"string.Format("{0}-{1}", "a", 2)"#, "s:a-2"), (#"string.Format("{0:D4}", 42)"#, "s:0042"), (#"string.Format("{0,5}|{1,-5}|", "r", "l")"#, "s:    r|l    |"),
        (#"string.Format("{{{0}}}", 1)"#, "s:{1}"), (#"string.Format("{1}", "a")"#, "^FormatException"), (#"string.Format("{0:N2}", 1234.567)"#, "s:1,234.57"),
        (#"string.Compare("a", "b")"#, "i:-1"), (#"string.Compare("b", "a")"#, "i:1"), (#"string.Compare("a", "A", true)"#, "i:0"),
        (#"string.Compare("a", "B", StringComparison.Ordinal) > 0"#, "True"), (#"string.CompareOrdinal("a", "b") < 0"#, "True"),
        (#""abc".CompareTo("abd")"#, "i:-1"), (#""hello".Insert(0, ">")"#, "s:>hello"), (#""hello".Remove(2)"#, "s:he"), (#""hello".Remove(1, 2)"#, "s:hlo"),
        (#""abc".ToCharArray().Length"#, "i:3"), (#""abc"[1]"#, "c:b"), (#""abc"[3]"#, "^IndexOutOfRangeException"), (#"new string('-', 3)"#, "s:---"),
        (#"new string(new[] { 'h', 'i' })"#, "s:hi"), (#""a".ToString()"#, "s:a"), (#""hello".IndexOfAny(new[] { 'l', 'o' })"#, "i:2"),
        (#"((string)null).Trim()"#, "^NullReferenceException"), (#""x".Contains(null)"#, "^ArgumentNullException"),
    ]

    static let numbersCases: [(String, String)] = [
        (#"int.Parse("42")"#, "i:42"), (#"int.Parse(" -7 ")"#, "i:-7"), (#"int.Parse("+3")"#, "i:3"), (#"int.Parse("4.2")"#, "^FormatException"),
        (#"int.Parse("abc")"#, "^FormatException: Input string was not in a correct format."), (#"int.Parse("2147483648")"#, "^OverflowException"),
        (#"int.Parse(null)"#, "^ArgumentNullException"), (#"long.Parse("9223372036854775807")"#, "l:9223372036854775807"),
        (#"double.Parse("3.5")"#, "d:3.5"), (#"double.Parse("1,234.5")"#, "d:1234.5"), (#"double.Parse("1e3")"#, "d:1000"), (#"decimal.Parse("0.10")"#, "m:0.1"),
        (#"bool.Parse("True")"#, "True"), (#"bool.Parse("false")"#, "False"), (#"bool.Parse("yes")"#, "^FormatException"),
        (#"int.TryParse("12", out var n) ? n : -1"#, "i:12"), (#"int.TryParse("x", out var n) ? n : -1"#, "i:-1"), (#"int.TryParse("x", out var n) || n == 0"#, "True"),
        (#"long.TryParse("5", out long l) && l == 5L"#, "True"), (#"double.TryParse("2.5", out var d) ? d : 0"#, "d:2.5"), (#"bool.TryParse("TRUE", out var b) && b"#, "True"),
        (#"Guid.TryParse("not-a-guid", out var g)"#, "False"),
        ("42.ToString()", "s:42"), (#"42.ToString("D5")"#, "s:00042"), (#"255.ToString("X")"#, "s:FF"), (#"255.ToString("x4")"#, "s:00ff"),
        (#"(-1).ToString("X")"#, "s:FFFFFFFF"), (#"1234567.ToString("N0")"#, "s:1,234,567"), (#"1234.5.ToString("N2")"#, "s:1,234.50"),
        (#"3.14159.ToString("F2")"#, "s:3.14"), (#"2.5.ToString("F0")"#, "s:3"), (#"0.125.ToString("F2")"#, "s:0.13"), (#"1.005.ToString("F2")"#, "s:1.00"),
        (#"0.5.ToString("P0")"#, "s:50 %"), (#"12.ToString("F1")"#, "s:12.0"), (#"1234.5678.ToString("0.00")"#, "s:1234.57"), (##"1234.5.ToString("#,##0.0")"##, "s:1,234.5"),
        (#"0.1.ToString()"#, "s:0.1"), (#"(1.0).ToString()"#, "s:1"), (#"(-0.0).ToString()"#, "s:-0"), (#"double.MaxValue.ToString()"#, "s:1.7976931348623157E+308"),
        (#"1.5m.ToString()"#, "s:1.5"), (#"true.ToString()"#, "s:True"), ("'x'.ToString()", "s:x"),
        ("Math.Max(3, 7)", "i:7"), ("Math.Max(3, 7.5)", "d:7.5"), ("Math.Min(-1L, 2)", "l:-1"), ("Math.Abs(-5)", "i:5"), ("Math.Abs(-2.5)", "d:2.5"),
        ("Math.Abs(int.MinValue)", "^OverflowException"), ("Math.Round(2.5)", "d:2"), ("Math.Round(3.5)", "d:4"), // banker's rounding (MidpointRounding.ToEven)
        ("Math.Round(2.5, MidpointRounding.AwayFromZero)", "d:3"), ("Math.Round(1.2345, 2)", "d:1.23"), ("Math.Round(2.5m)", "m:2"),
        ("Math.Floor(-1.5)", "d:-2"), ("Math.Ceiling(1.2)", "d:2"), ("Math.Truncate(-1.7)", "d:-1"), ("Math.Pow(2, 10)", "d:1024"), ("Math.Sqrt(16)", "d:4"),
        ("Math.Sign(-3)", "i:-1"), ("Math.PI > 3.14", "True"), ("Math.Log10(1000)", "d:3"), ("Math.Clamp(15, 0, 10)", "i:10"),
        (#"Convert.ToInt32("12")"#, "i:12"), ("Convert.ToInt32(2.5)", "i:2"), ("Convert.ToInt32(3.5)", "i:4"), ("Convert.ToInt32(true)", "i:1"), // Convert rounds to even
        (#"Convert.ToInt32("ff", 16)"#, "i:255"), (#"Convert.ToInt64("123")"#, "l:123"), (#"Convert.ToDouble("1.5")"#, "d:1.5"), ("Convert.ToString(5)", "s:5"),
        ("Convert.ToString(255, 2)", "s:11111111"), ("Convert.ToString(255, 16)", "s:ff"), (#"Convert.ToBoolean("true")"#, "True"), ("Convert.ToBoolean(0)", "False"),
        ("Convert.ToInt32(null)", "i:0"), (#"Convert.ToInt32("9999999999")"#, "^OverflowException"), ("Convert.ToByte(300)", "^OverflowException"),
        (#"Convert.ToBase64String(Encoding.UTF8.GetBytes("hello"))"#, "s:aGVsbG8="), (#"Encoding.UTF8.GetString(Convert.FromBase64String("aGVsbG8="))"#, "s:hello"),
        (#"Convert.FromBase64String("not base64!")"#, "^FormatException"), (#"Convert.FromBase64String("abc")"#, "^FormatException"),
        (#"Convert.ToBase64String(new byte[] { 1, 2, 3 }, 1, 2)"#, "s:AgM="), (#"Convert.ToHexString(new byte[] { 0xAB, 0x01 })"#, "s:AB01"),
        (#"Encoding.ASCII.GetBytes("é")[0]"#, "i:63"), (#"Encoding.Unicode.GetBytes("A").Length"#, "i:2"), (#"Encoding.UTF8.GetBytes("€").Length"#, "i:3"),
        (#"BitConverter.ToString(new byte[] { 1, 171, 255 })"#, "s:01-AB-FF"), (#"BitConverter.ToString(Encoding.UTF8.GetBytes("hi")).Replace("-", "")"#, "s:6869"),
        (#"BitConverter.GetBytes(1).Length"#, "i:4"), (#"BitConverter.ToInt32(new byte[] { 1, 0, 0, 0 }, 0)"#, "i:1"),
        (#"new Random(42).Next(100) >= 0"#, "True"), (#"new Random().NextDouble() < 1"#, "True"),
    ]

    static let hashingCases: [(String, String)] = [
        // Known-answer vectors: SHA-256("abc"), SHA-1("abc"), MD5(""), HMAC-SHA256 RFC 4231 test case 2.
        (#"BitConverter.ToString(SHA256.Create().ComputeHash(Encoding.UTF8.GetBytes("abc"))).Replace("-", "").ToLower()"#,
         "s:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (#"BitConverter.ToString(SHA1.Create().ComputeHash(Encoding.UTF8.GetBytes("abc"))).Replace("-", "")"#, "s:A9993E364706816ABA3E25717850C26C9CD0D89D"),
        (#"BitConverter.ToString(MD5.Create().ComputeHash(new byte[0])).Replace("-", "").ToLowerInvariant()"#, "s:d41d8cd98f00b204e9800998ecf8427e"),
        (#"Convert.ToBase64String(new HMACSHA256(Encoding.UTF8.GetBytes("Jefe")).ComputeHash(Encoding.UTF8.GetBytes("what do ya want for nothing?")))"#,
         "s:W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM="),
        (#"new HMACSHA1(new byte[] { 1 }).ComputeHash(new byte[] { 2 }).Length"#, "i:20"), (#"SHA512.Create().ComputeHash(new byte[0]).Length"#, "i:64"),
        (#"SHA384.Create().ComputeHash(new byte[0]).Length"#, "i:48"), (#"SHA256.HashData(new byte[0]).Length"#, "i:32"),
    ]

    static let regexCases: [(String, String)] = [
        (#"Regex.IsMatch("abc123", @"\d+")"#, "True"), (#"Regex.IsMatch("abc", @"^\d+$")"#, "False"), (#"Regex.IsMatch("ABC", "abc", RegexOptions.IgnoreCase)"#, "True"),
        (#"Regex.Match("max-age=3600", @"max-age=(?<maxAge>\d+)").Groups["maxAge"].Value"#, "s:3600"),
        (#"Regex.Match("no-cache", @"max-age=(?<maxAge>\d+)").Groups["maxAge"]?.Value"#, "s:"), // failed group: Value is ""
        (#"Regex.Match("no-cache", @"max-age=(\d+)").Success"#, "False"), (#"Regex.Match("a1b22", @"\d+").Value"#, "s:1"),
        (#"Regex.Match("a1b22", @"(\w)(\d)").Groups[2].Value"#, "s:1"), (#"Regex.Match("a1b22", @"\d+").Index"#, "i:1"),
        (#"Regex.Matches("a1b22c333", @"\d+").Count"#, "i:3"), (#"Regex.Matches("a1b22", @"\d+")[1].Value"#, "s:22"),
        (#"Regex.Matches("a1b22", @"\d+").Cast<Match>().Select(m => m.Value).Last()"#, "s:22"),
        (##"Regex.Replace("a1b2", @"\d", "#")"##, "s:a#b#"), (#"Regex.Replace("john smith", @"(\w+) (\w+)", "$2, $1")"#, "s:smith, john"),
        (#"Regex.Replace("2024-01-05", @"(?<y>\d+)-(?<m>\d+)-(?<d>\d+)", "${d}/${m}/${y}")"#, "s:05/01/2024"),
        (#"Regex.Split("a1b2c", @"\d")"#, "[s:a,s:b,s:c]"), (#"Regex.Escape("a.b")"#, #"s:a\.b"#), (#"new Regex(@"^\w+$").IsMatch("word")"#, "True"),
        (#"new Regex("(a)(b)?").Match("a").Groups[2].Success"#, "False"), (#"Regex.Match("a1b22", @"\d+").NextMatch().Value"#, "s:22"),
        (#"Regex.Match("x", "(").Success"#, "^ArgumentException"),
    ]

    static let timeCases: [(String, String)] = [
        // DateTime.ToString standard formats: learn: standard-date-and-time-format-strings ("o" round-trip, "s" sortable, "u" universal sortable, "R" RFC1123).
        (#"new DateTime(2024, 3, 5, 14, 7, 9, DateTimeKind.Utc).ToString("o")"#, "s:2024-03-05T14:07:09.0000000Z"),
        (#"new DateTime(2024, 3, 5, 14, 7, 9).ToString("o")"#, "s:2024-03-05T14:07:09.0000000"),
        (#"new DateTime(2024, 3, 5, 14, 7, 9, DateTimeKind.Utc).ToString("s")"#, "s:2024-03-05T14:07:09"),
        (#"new DateTime(2024, 3, 5, 14, 7, 9, DateTimeKind.Utc).ToString("u")"#, "s:2024-03-05 14:07:09Z"),
        (#"new DateTime(2024, 3, 5, 14, 7, 9, DateTimeKind.Utc).ToString("R")"#, "s:Tue, 05 Mar 2024 14:07:09 GMT"),
        (#"new DateTime(2024, 3, 5, 14, 7, 9).ToString("yyyy-MM-ddTHH:mm:ss")"#, "s:2024-03-05T14:07:09"),
        (#"new DateTime(2024, 3, 5, 14, 7, 9).ToString("yyyyMMdd")"#, "s:20240305"), (#"new DateTime(2024, 3, 5, 14, 7, 9).ToString("dd/MM/yy HH:mm")"#, "s:05/03/24 14:07"),
        (#"new DateTime(2024, 3, 5, 14, 7, 9).ToString("MMM d, yyyy h:mm tt")"#, "s:Mar 5, 2024 2:07 PM"), (#"new DateTime(2024, 3, 5).ToString("dddd")"#, "s:Tuesday"),
        (#"new DateTime(2024, 3, 5, 14, 7, 9, 120).ToString("HH:mm:ss.fff")"#, "s:14:07:09.120"), (#"new DateTime(2024, 3, 5, 14, 7, 9, 120).ToString("ss.FFF")"#, "s:09.12"),
        (#"new DateTime(2024, 3, 5, 14, 7, 9).ToString()"#, "s:3/5/2024 2:07:09 PM"), (#"new DateTime(2024, 3, 5).ToString("d")"#, "s:3/5/2024"),
        (#"new DateTime(2024, 3, 5).ToString("'Date:' yyyy")"#, "s:Date: 2024"),
        ("new DateTime(2024, 2, 29).AddYears(1).Day", "i:28"), ("new DateTime(2024, 1, 31).AddMonths(1).Day", "i:29"), ("new DateTime(2024, 1, 1).AddDays(-1).Year", "i:2023"),
        ("new DateTime(2024, 1, 1).AddHours(36).Day", "i:2"), ("new DateTime(2024, 3, 5).DayOfYear", "i:65"), ("new DateTime(2024, 3, 5).DayOfWeek", "e:DayOfWeek.Tuesday"),
        ("new DateTime(2024, 1, 1, 10, 30, 0).TimeOfDay.TotalMinutes", "d:630"), ("new DateTime(2024, 1, 2) - new DateTime(2024, 1, 1)", "ts:1.00:00:00"),
        ("new DateTime(2024, 1, 1).Subtract(TimeSpan.FromHours(1)).Hour", "i:23"), ("new DateTime(2024, 1, 1) + TimeSpan.FromMinutes(90)", "dt:2024-01-01T01:30:00.0000000"),
        ("new DateTime(2024, 1, 1) < new DateTime(2024, 1, 2)", "True"), ("new DateTime(2024, 13, 1)", "^ArgumentOutOfRangeException"),
        ("new DateTime(2023, 2, 29)", "^ArgumentOutOfRangeException"), ("DateTime.IsLeapYear(2000)", "True"), ("DateTime.DaysInMonth(2023, 2)", "i:28"),
        ("new DateTime(2024, 3, 5, 1, 2, 3).Date", "dt:2024-03-05T00:00:00.0000000"), ("new DateTime(2024, 3, 5).Ticks", "l:638451936000000000"),
        ("DateTime.UtcNow.Kind", "e:DateTimeKind.Utc"), ("DateTime.UtcNow > new DateTime(2020, 1, 1)", "True"), ("DateTime.Now.Kind", "e:DateTimeKind.Local"),
        (#"DateTime.Parse("2024-03-05T14:07:09").ToString("s")"#, "s:2024-03-05T14:07:09"), (#"DateTime.Parse("2024-03-05").Day"#, "i:5"),
        (#"DateTime.Parse("2024-03-05T14:07:09Z").Kind"#, "e:DateTimeKind.Local"), // .NET converts a "Z" time to local time
        (#"DateTime.Parse("2024-03-05T14:07:09Z").ToUniversalTime().ToString("u")"#, "s:2024-03-05 14:07:09Z"),
        (#"DateTime.Parse("Tue, 05 Mar 2024 14:07:09 GMT").ToUniversalTime().Hour"#, "i:14"), (#"DateTime.Parse("3/5/2024 2:07:09 PM").Hour"#, "i:14"),
        (#"DateTime.ParseExact("2024-03-05 14:07", "yyyy-MM-dd HH:mm", null).ToString("s")"#, "s:2024-03-05T14:07:00"),
        (#"DateTime.ParseExact("05/Mar/2024", "dd/MMM/yyyy", null).Month"#, "i:3"), (#"DateTime.ParseExact("2024-03-05", "yyyy-MM-dd HH", null)"#, "^FormatException"),
        (#"DateTime.ParseExact("2:07 PM", "h:mm tt", null).Hour"#, "i:14"), (#"DateTime.ParseExact("20240305", "yyyyMMdd", null).Day"#, "i:5"),
        (#"DateTime.Parse("not a date")"#, "^FormatException"), (#"DateTime.TryParse("nope", out var when)"#, "False"),
        (#"DateTime.SpecifyKind(new DateTime(2024, 1, 1), DateTimeKind.Utc).ToString("o")"#, "s:2024-01-01T00:00:00.0000000Z"),
        ("TimeSpan.FromSeconds(90).ToString()", "s:00:01:30"), ("TimeSpan.FromDays(1.5).ToString()", "s:1.12:00:00"), ("TimeSpan.FromMilliseconds(1.5).ToString()", "s:00:00:00.0015000"),
        ("TimeSpan.FromMinutes(-1).ToString()", "s:-00:01:00"), ("new TimeSpan(1, 2, 3).TotalSeconds", "d:3723"), ("new TimeSpan(2, 1, 2, 3).Days", "i:2"),
        (#"TimeSpan.Parse("01:30:00").TotalMinutes"#, "d:90"), (#"TimeSpan.Parse("1.02:00:00").TotalHours"#, "d:26"), ("TimeSpan.Zero.Ticks", "l:0"),
        (#"TimeSpan.FromSeconds(3725).ToString(@"hh\:mm\:ss")"#, "s:01:02:05"), ("(TimeSpan.FromHours(2) - TimeSpan.FromMinutes(30)).TotalHours", "d:1.5"),
        ("context.Elapsed.TotalMilliseconds", "d:125"),
        ("DateTimeOffset.FromUnixTimeSeconds(0).ToString(\"o\")", "s:1970-01-01T00:00:00.0000000+00:00"), ("DateTimeOffset.FromUnixTimeSeconds(1700000000).Year", "i:2023"),
        ("new DateTimeOffset(new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc)).ToUnixTimeSeconds()", "l:1704067200"),
        // The implicit DateTime → DateTimeOffset operator (as a cast and as an assignment).
        ("((DateTimeOffset)new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc)).ToUnixTimeSeconds()", "l:1704067200"),
        ("((DateTimeOffset)(new DateTime(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc) + TimeSpan.FromSeconds(60 * 20))).ToUnixTimeSeconds()", "l:1200"),
        ("((DateTimeOffset)new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc)).Offset.TotalMinutes", "d:0"),
        (#"DateTimeOffset.Parse("2024-01-01T10:00:00+02:00").UtcDateTime.Hour"#, "i:8"), ("DateTimeOffset.UtcNow.Offset.TotalMinutes", "d:0"),
    ]

    static let miscCases: [(String, String)] = [
        (#"Guid.Parse("3F2504E0-4F89-11D3-9A0C-0305E82C3301").ToString()"#, "s:3f2504e0-4f89-11d3-9a0c-0305e82c3301"),
        (#"Guid.Parse("3f2504e04f8911d39a0c0305e82c3301").ToString("B")"#, "s:{3f2504e0-4f89-11d3-9a0c-0305e82c3301}"),
        (#"Guid.Parse("3f2504e04f8911d39a0c0305e82c3301").ToString("N")"#, "s:3f2504e04f8911d39a0c0305e82c3301"), (#"Guid.Parse("nope")"#, "^FormatException"),
        // APIM's byte[].Encrypt/Decrypt: AES-CBC with PKCS7 (NIST SP 800-38A F.2.1's first block, then the padding block).
        (#"BitConverter.ToString(Convert.FromBase64String("a8G+4i5An5bpPX4Rc5MXKg==").Encrypt("Aes", Convert.FromBase64String("K34VFiiu0qar9xWICc9PPA=="), Convert.FromBase64String("AAECAwQFBgcICQoLDA0ODw=="))).Substring(0, 47)"#,
         "s:76-49-AB-AC-81-19-B2-46-CE-E9-8E-9B-12-E9-19-7D"),
        (#"Convert.FromBase64String("a8G+4i5An5bpPX4Rc5MXKg==").Encrypt("Aes", new byte[16], new byte[16]).Length"#, "i:32"),
        (#"Encoding.UTF8.GetString(Encoding.UTF8.GetBytes("secret text").Encrypt("Rijndael", new byte[32], new byte[16]).Decrypt("Aes", new byte[32], new byte[16]))"#, "s:secret text"),
        (#"new byte[32].Decrypt("Aes", new byte[16], new byte[16])"#, "^CryptographicException"),
        (#"new byte[4].Encrypt("Aes", new byte[15], new byte[16])"#, "^CryptographicException"),
        (#"new byte[4].Encrypt("Aes", new byte[16], new byte[8])"#, "^CryptographicException"),
        (#"new byte[4].Encrypt("DES", new byte[8], new byte[8])"#, "^CryptographicException"),
        // The .NET documentation's example for Guid.ToByteArray.
        (#"BitConverter.ToString(Guid.Parse("35918bc9-196d-40ea-9779-889d79b753f0").ToByteArray())"#, "s:C9-8B-91-35-6D-19-EA-40-97-79-88-9D-79-B7-53-F0"),
        ("Guid.NewGuid().ToString().Length", "i:36"), ("Guid.NewGuid() != Guid.NewGuid()", "True"), ("Guid.Empty.ToString()", "s:00000000-0000-0000-0000-000000000000"),
        (#"new Uri("https://Api.Contoso.com:8443/a/b?x=1#f").Host"#, "s:api.contoso.com"), (#"new Uri("https://api.contoso.com:8443/a/b?x=1").Port"#, "i:8443"),
        (#"new Uri("https://api.contoso.com/a/b?x=1").PathAndQuery"#, "s:/a/b?x=1"), (#"new Uri("https://api.contoso.com/a").Port"#, "i:443"),
        (#"new Uri("https://api.contoso.com/a/b").Segments.Length"#, "i:3"), (#"new Uri("not a uri")"#, "^UriFormatException"),
        (#"new Uri("https://api.contoso.com:8443/a?q=1").GetLeftPart(UriPartial.Authority)"#, "s:https://api.contoso.com:8443"),
        (#"Uri.EscapeDataString("a b&c")"#, "s:a%20b%26c"), (#"Uri.UnescapeDataString("a%20b")"#, "s:a b"),
        (#"WebUtility.UrlEncode("a b&c/d")"#, "s:a+b%26c%2Fd"), (#"WebUtility.UrlDecode("a+b%26c")"#, "s:a b&c"), (#"WebUtility.HtmlEncode("<a href=\"x\">")"#, "s:&lt;a href=&quot;x&quot;&gt;"),
        (#"WebUtility.HtmlDecode("&lt;b&gt; &amp; &#65;")"#, "s:<b> & A"),
        (#"new StringBuilder().Append("a").Append(1).Append('c').ToString()"#, "s:a1c"), (#"new StringBuilder("x").AppendFormat("{0}-{1}", 1, 2).ToString()"#, "s:x1-2"),
        (#"new StringBuilder("abc").Replace("b", "B").Length"#, "i:3"),
        (#"new KeyValuePair<string, int>("k", 1).Value"#, "i:1"),
    ]

    /// Catastrophic backtracking must not hang a request: the match deadline raises RegexMatchTimeoutException
    /// (ICU may also abandon the search on its own backtracking limits, which reads as "no match").
    @Test func catastrophicBacktrackingDoesNotHang() throws {
        let compiled = try TestContext.compiler.compile(#"Regex.IsMatch(new string('a', 40) + "b", "^(a+)+$")"#)
        let start = ContinuousClock.now
        do {
            let value = try compiled.evaluate(context: TestContext.make())
            #expect(value.boolValue == false)
        } catch {
            #expect(error.exceptionType == "RegexMatchTimeoutException")
        }
        #expect(ContinuousClock.now - start < .seconds(5))
    }

    @Test(arguments: stringsCases) func string(_ source: String, _ expected: String) { check(source, expected) }
    @Test(arguments: numbersCases) func number(_ source: String, _ expected: String) { check(source, expected) }
    @Test(arguments: hashingCases) func hash(_ source: String, _ expected: String) { check(source, expected) }
    @Test(arguments: regexCases) func regex(_ source: String, _ expected: String) { check(source, expected) }
    @Test(arguments: timeCases) func time(_ source: String, _ expected: String) { check(source, expected) }
    @Test(arguments: miscCases) func misc(_ source: String, _ expected: String) { check(source, expected) }
}
