import Testing
@testable import PolicyExpressions

/// JSON (Newtonsoft model), LINQ, collections and the `context` object.
@Suite struct DataTableTests {
    static let jsonCases: [(String, String)] = [
        (#"JObject.Parse("{\"a\":1}")["a"].ToString()"#, "s:1"), (#"(string)JObject.Parse("{\"a\":\"x\"}")["a"]"#, "s:x"),
        (#"(int)JObject.Parse("{\"a\":5}")["a"]"#, "i:5"), (#"(int)JObject.Parse("{\"a\":\"6\"}")["a"]"#, "i:6"), // explicit operator converts strings
        (#"(bool)JObject.Parse("{\"a\":true}")["a"]"#, "True"), (#"(double)JObject.Parse("{\"a\":1.5}")["a"]"#, "d:1.5"),
        (#"JObject.Parse("{\"a\":1}")["missing"]"#, "null"), (#"(string)JObject.Parse("{\"a\":1}")["missing"]"#, "null"),
        (#"(string)JObject.Parse("{\"a\":null}")["a"]"#, "null"), (#"JObject.Parse("{\"a\":null}")["a"] == null"#, "False"), // a JValue of type Null, not C# null
        (#"JObject.Parse("{\"a\":null}")["a"].Type"#, "e:JTokenType.Null"), (#"(int)JObject.Parse("{\"a\":null}")["a"]"#, "^ArgumentException"),
        (#"(int?)JObject.Parse("{\"a\":null}")["a"]"#, "null"), (#"(string)JObject.Parse("{\"a\":{\"b\":1}}")["a"]"#, "^ArgumentException"),
        (#"JObject.Parse("{\"a\":{\"b\":[10,20]}}")["a"]["b"][1].Value<int>()"#, "i:20"), (#"JObject.Parse("{\"a\":[1,2,3]}")["a"].Count()"#, "i:3"),
        (#"JObject.Parse("{\"a\":\"x\"}").Value<string>("a")"#, "s:x"), (#"JObject.Parse("{\"n\":7}").Value<int>("n") + 1"#, "i:8"),
        (#"JObject.Parse("{\"a\":1,\"b\":[true,null]}").ToString(Formatting.None)"#, #"s:{"a":1,"b":[true,null]}"#),
        // JToken.ToString() is indented with two spaces (Newtonsoft Formatting.Indented; CRLF as on Windows).
        (#"JObject.Parse("{\"a\":1}").ToString()"#, "s:{\r\n  \"a\": 1\r\n}"), (#"JArray.Parse("[]").ToString()"#, "s:[]"),
        (#"JObject.Parse("{\"s\":\"q\\\"uote\"}").ToString(Formatting.None)"#, #"s:{"s":"q\"uote"}"#),
        (#"JObject.Parse("{\"d\":1.0}").ToString(Formatting.None)"#, #"s:{"d":1.0}"#), (#"JObject.Parse("{\"d\":1e2}").ToString(Formatting.None)"#, #"s:{"d":100.0}"#),
        (#"JObject.Parse("not json")"#, "^JsonReaderException"), (#"JObject.Parse("[1]")"#, "^JsonReaderException"), (#"JArray.Parse("[1,2]").Count"#, "i:2"),
        (#"JToken.Parse("42").Type"#, "e:JTokenType.Integer"), (#"JToken.Parse("\"s\"").ToString()"#, "s:s"), (#"JToken.Parse("\"s\"").ToString(Formatting.None)"#, #"s:"s""#),
        (#"new JObject(new JProperty("a", 1), new JProperty("b", "x")).ToString(Formatting.None)"#, #"s:{"a":1,"b":"x"}"#),
        (#"new JArray(1, "two", true).ToString(Formatting.None)"#, #"s:[1,"two",true]"#),
        (#"JObject.FromObject(new Dictionary<string, int> { { "k", 1 } }).ToString(Formatting.None)"#, #"s:{"k":1}"#),
        (#"JObject.Parse("{\"a\":1,\"b\":2}").Properties().Select(p => p.Name).Last()"#, "s:b"),
        (#"JObject.Parse("{\"a\":1}").ContainsKey("a")"#, "True"), (#"JObject.Parse("{\"a\":{\"b\":\"deep\"}}").SelectToken("a.b").ToString()"#, "s:deep"),
        (#"JObject.Parse("{\"a\":[{\"n\":1},{\"n\":2}]}").SelectToken("$.a[1].n").Value<int>()"#, "i:2"),
        (#"JObject.Parse("{\"a\":[{\"n\":1},{\"n\":2}]}").SelectTokens("$.a[*].n").Count()"#, "i:2"),
        (#"JObject.Parse("{\"a\":[1,2]}")["a"].Select(t => (int)t).Sum()"#, "i:3"), (#"JArray.Parse("[\"x\",\"y\"]").Values<string>().Last()"#, "s:y"),
        (#"JObject.Parse("{\"a\":1}").TryGetValue("a", out JToken t) && (int)t == 1"#, "True"),
        (#"JObject.Parse("{\"a\":1}")["a"]["b"]"#, "^InvalidOperationException"), (#"JArray.Parse("[1]")[5]"#, "^ArgumentOutOfRangeException"),
        (#"JsonConvert.SerializeObject(new Dictionary<string, object> { { "a", 1 }, { "b", "x" } })"#, #"s:{"a":1,"b":"x"}"#),
        (#"JsonConvert.SerializeObject(new[] { 1, 2 })"#, "s:[1,2]"), (#"JsonConvert.SerializeObject("s")"#, #"s:"s""#), (#"JsonConvert.SerializeObject(null)"#, "s:null"),
        (#"JsonConvert.SerializeObject(true)"#, "s:true"), (#"JsonConvert.SerializeObject(new DateTime(2024, 1, 2, 3, 4, 5, DateTimeKind.Utc))"#, #"s:"2024-01-02T03:04:05Z""#),
        (#"JsonConvert.DeserializeObject<JObject>("{\"a\":2}")["a"].Value<int>()"#, "i:2"), (#"JsonConvert.DeserializeObject<int>("5")"#, "i:5"),
        (#"JsonConvert.DeserializeObject<Dictionary<string, object>>("{\"k\":\"v\"}")["k"]"#, "s:v"),
        // Newtonsoft parses ISO 8601 date-times into Date tokens (DateParseHandling.DateTime): the (string) operator
        // then uses the invariant culture, ToString() the current culture, and serialisation writes ISO again.
        (#"JObject.Parse("{\"d\":\"2024-01-02T03:04:05Z\"}")["d"].Type"#, "e:JTokenType.Date"),
        (#"(string)JObject.Parse("{\"d\":\"2024-01-02T03:04:05Z\"}")["d"]"#, "s:01/02/2024 03:04:05"),
        (#"JObject.Parse("{\"d\":\"2024-01-02T03:04:05Z\"}")["d"].ToString()"#, "s:1/2/2024 3:04:05 AM"),
        (#"JObject.Parse("{\"d\":\"2024-01-02T03:04:05Z\"}").ToString(Formatting.None)"#, #"s:{"d":"2024-01-02T03:04:05Z"}"#),
        (#"((DateTime)JObject.Parse("{\"d\":\"2024-01-02T03:04:05.5Z\"}")["d"]).Millisecond"#, "i:500"),
        (#"(string)JObject.Parse("{\"d\":\"2024-01-02\"}")["d"]"#, "s:2024-01-02"),
        (#"context.Request.Body.As<JObject>()["name"].ToString()"#, "s:Ada"), (#"context.Request.Body.As<JObject>(preserveContent: true)["id"].Value<int>()"#, "i:42"),
        (#"context.Request.Body.As<JObject>()["tags"].Count()"#, "i:2"), (#"(bool)context.Request.Body.As<JObject>()["nested"]["ok"]"#, "True"),
        (#"context.Request.Body.As<string>().Length > 10"#, "True"), (#"context.Request.Body.As<byte[]>()[0]"#, "i:123"),
        (#"((IResponse)context.Variables["tokenResponse"]).Body.As<JObject>()["token"].ToString()"#, "s:t-1"),
        (#"context.Response.Body.As<JObject>()["status"].ToString()"#, "s:ok"), (#"context.Request.Body.As<int>()"#, "!1:22 not supported"),
    ]

    static let linqCases: [(String, String)] = [
        ("new[] { 1, 2, 3 }.Any()", "True"), ("new int[0].Any()", "False"), ("new[] { 1, 2, 3 }.Any(x => x > 2)", "True"), ("new[] { 1, 2, 3 }.All(x => x > 0)", "True"),
        ("new[] { 1, 2, 3 }.Where(x => x % 2 == 1).Count()", "i:2"), ("new[] { 1, 2, 3 }.Select(x => x * 10).Sum()", "i:60"),
        ("new[] { 1, 2, 3 }.Select(x => x.ToString()).Last()", "s:3"), ("new[] { 1, 2, 3 }.First()", "i:1"), ("new int[0].First()", "^InvalidOperationException: Sequence contains no elements"),
        ("new int[0].FirstOrDefault()", "i:0"), ("new string[0].FirstOrDefault()", "null"), ("new[] { 1, 2, 3 }.First(x => x > 1)", "i:2"),
        ("new[] { 1, 2, 3 }.First(x => x > 5)", "^InvalidOperationException: Sequence contains no matching element"), ("new[] { 1, 2, 3 }.Last(x => x < 3)", "i:2"),
        ("new[] { 1, 2, 3 }.LastOrDefault(x => x > 9)", "i:0"), ("new[] { 4 }.Single()", "i:4"), ("new[] { 1, 2 }.Single()", "^InvalidOperationException"),
        ("new[] { 1, 2 }.SingleOrDefault(x => x == 3)", "i:0"), ("new[] { 3, 1, 2 }.OrderBy(x => x).First()", "i:1"),
        ("new[] { 3, 1, 2 }.OrderByDescending(x => x).First()", "i:3"), (#"new[] { "bb", "a", "ab" }.OrderBy(s => s.Length).ThenBy(s => s).Last()"#, "s:bb"),
        (#"string.Join(",", new[] { "bb", "a", "ab", "c" }.OrderBy(s => s.Length).ThenByDescending(s => s))"#, "s:c,a,bb,ab"),
        (#"string.Join(",", new[] { "b", "A", "a", "B" }.OrderBy(s => s))"#, "s:a,A,b,B"), // culture-aware comparer (lowercase first)
        ("new[] { 1, 1, 2 }.Distinct().Count()", "i:2"), ("new[] { 1, 2, 3, 4 }.Skip(1).Take(2).Sum()", "i:5"), ("new[] { 1, 2, 3 }.Take(10).Count()", "i:3"),
        ("new[] { 1, 2, 3 }.Concat(new[] { 4 }).Count()", "i:4"), ("new[] { 1, 2 }.Union(new[] { 2, 3 }).Count()", "i:3"), ("new[] { 1, 2 }.Intersect(new[] { 2, 3 }).Single()", "i:2"),
        ("new[] { 1, 2 }.Except(new[] { 2 }).Single()", "i:1"), ("new[] { 1, 2 }.SequenceEqual(new[] { 1, 2 })", "True"), ("new[] { 1, 2, 3 }.Contains(2)", "True"),
        ("new[] { 1, 2, 3 }.Max()", "i:3"), ("new[] { 1, 2, 3 }.Min()", "i:1"), ("new[] { 1, 2 }.Average()", "d:1.5"), ("new int[0].Max()", "^InvalidOperationException"),
        (#"new[] { "a", "bbb" }.Max(s => s.Length)"#, "i:3"), ("new[] { 1.5, 2.5 }.Sum()", "d:4"), ("new[] { int.MaxValue, 1 }.Sum()", "^OverflowException"), // Enumerable.Sum is checked
        ("new[] { 1, 2, 3 }.Aggregate((a, b) => a * b)", "i:6"), (#"new[] { "a", "b" }.Aggregate("", (acc, s) => acc + s)"#, "s:ab"),
        ("new[] { 1, 2, 3 }.ToList().Count", "i:3"), ("new[] { 1, 2, 3 }.Reverse().First()", "i:3"), ("new[] { 5, 6 }.ElementAt(1)", "i:6"),
        ("new[] { 5, 6 }.ElementAtOrDefault(9)", "i:0"), (#"new[] { "a", "b" }.ToDictionary(s => s, s => s.ToUpper())["b"]"#, "s:B"),
        (#"new[] { "a", "a" }.ToDictionary(s => s)"#, "^ArgumentException"), (#"new[] { "ab", "cd", "e" }.GroupBy(s => s.Length).Count()"#, "i:2"),
        (#"new[] { "ab", "cd", "e" }.GroupBy(s => s.Length).First().Key"#, "i:2"), (#"new[] { "ab", "cd", "e" }.GroupBy(s => s.Length).First().Count()"#, "i:2"),
        (#"new[] { "a b", "c" }.SelectMany(s => s.Split(' ')).Count()"#, "i:3"), ("new[] { 1, 2, 3 }.Where((x, i) => i > 0).First()", "i:2"),
        ("new[] { 1, 2, 3 }.SkipWhile(x => x < 2).First()", "i:2"), ("new[] { 1, 2, 3 }.TakeWhile(x => x < 3).Count()", "i:2"),
        ("new int[0].DefaultIfEmpty(7).First()", "i:7"), ("new object[] { 1, \"a\" }.OfType<string>().Single()", "s:a"), ("Enumerable.Range(1, 4).Sum()", "i:10"),
        ("Enumerable.Repeat(\"x\", 3).Count()", "i:3"), ("Enumerable.Empty<int>().Any()", "False"), (#""hello".Count(c => c == 'l')"#, "i:2"),
        (#""abc".Select(c => c.ToString().ToUpper()).Last()"#, "s:C"), (#""a1b2".Where(char.IsDigit).Count()"#, "i:2"),
        // Method-group conversions (C#: the group's overload for the delegate's parameter type).
        (#""12345".All(char.IsDigit)"#, "True"), (#""12a45".All(char.IsDigit)"#, "False"), (#""a1".Any(char.IsLetter)"#, "True"),
        (#"new[] { "1", "22" }.Select(int.Parse).Sum()"#, "i:23"), (#"new[] { "a", "", null }.Count(string.IsNullOrEmpty)"#, "i:2"),
        (#"char.IsDigit"#, "!1:6 method group"),
        // Array's Predicate<T> statics.
        (#"Array.Exists(new[] { "read", "sendEmail" }, element => element == "sendEmail")"#, "True"),
        (#"Array.Exists(new[] { "read" }, e => e == "sendEmail")"#, "False"), (#"Array.TrueForAll(new[] { 2, 4 }, x => x % 2 == 0)"#, "True"),
        (#"Array.Find(new[] { 1, 5, 9 }, x => x > 3)"#, "i:5"), (#"Array.Find(new[] { 1 }, x => x > 3)"#, "i:0"),
        (#"Array.FindAll(new[] { 1, 5, 9 }, x => x > 3).Length"#, "i:2"), (#"Array.Exists("a1".ToCharArray(), char.IsDigit)"#, "True"),
        (#"Array.Exists((string[])null, e => e == "x")"#, "^ArgumentNullException"),
        // Anonymous types (.NET: ToString "{ typ = JWT, alg = HS256 }"; Json.NET writes the properties in order).
        (#"new { typ = "JWT", alg = "HS256" }.ToString()"#, "s:{ typ = JWT, alg = HS256 }"),
        (#"JsonConvert.SerializeObject(new { typ = "JWT", alg = "HS256", n = 2 })"#, #"s:{"typ":"JWT","alg":"HS256","n":2}"#),
        (#"new { a = 1, b = "x" }.a + 1"#, "i:2"), (#"new { a = 1 }.c"#, "!1:15 "), (#"new { a = 1, a = 2 }"#, "!1:18 multiple properties"),
        (#"new { a = (string)null }.a == null"#, "True"), (#"new { a = null }"#, "!1:11 cannot assign"),
        ("new[] { 1, 2 }.Select(x => x > 1 ? \"big\" : \"small\").First()", "s:small"), ("new[] { 1, 2 }.Any(x => x)", "!1:16 must be 'bool'"),
        ("new[] { 1 }.Select(x => y)", "!1:25 the name 'y' does not exist"),
    ]

    static let collectionCases: [(String, String)] = [
        ("new List<int> { 1, 2 }.Count", "i:2"), ("new List<string> { \"a\" }[0]", "s:a"), ("new List<int>()[0]", "^ArgumentOutOfRangeException"),
        ("new int[2][5]", "^IndexOutOfRangeException"), ("new int[3].Length", "i:3"), ("new string[2][0]", "null"), ("new[] { 1, 2 }.Length", "i:2"),
        (#"new Dictionary<string, int> { { "a", 1 } }["a"]"#, "i:1"), (#"new Dictionary<string, int> { ["a"] = 2 }["a"]"#, "i:2"),
        (#"new Dictionary<string, int>()["x"]"#, "^KeyNotFoundException: The given key 'x' was not present in the dictionary."),
        (#"new Dictionary<string, int> { { "a", 1 } }.ContainsKey("A")"#, "False"),
        (#"new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase) { { "a", 1 } }.ContainsKey("A")"#, "True"),
        (#"new Dictionary<string, int> { { "a", 1 } }.TryGetValue("a", out var v) ? v : 0"#, "i:1"), (#"new Dictionary<string, int> { { "a", 1 } }.Keys.First()"#, "s:a"),
        (#"new Dictionary<string, int> { { "a", 1 }, { "b", 2 } }.Values.Sum()"#, "i:3"), (#"new Dictionary<string, int> { { "a", 1 } }.GetValueOrDefault("z")"#, "i:0"),
        (#"new Dictionary<string, int> { { "a", 1 }, { "a", 2 } }"#, "^ArgumentException"), (#"new HashSet<int> { 1, 1, 2 }.Count"#, "i:2"),
        (#"new Dictionary<string, int> { { "a", 1 } }.Select(kv => kv.Key + "=" + kv.Value).First()"#, "s:a=1"), ("new List<int>(new[] { 3, 4 }).Sum()", "i:7"),
        (#"new KeyValuePair<string, string>("k", "v").Key"#, "s:k"),
    ]

    static let contextCases: [(String, String)] = [
        (#"context.Request.Headers.GetValueOrDefault("Authorization", "")"#, "s:Bearer abc"),
        (#"context.Request.Headers.GetValueOrDefault("authorization", "")"#, "s:Bearer abc"), // header names are case-insensitive
        (#"context.Request.Headers.GetValueOrDefault("Accept", "")"#, "s:application/json,text/plain"), // APIM joins multiple values with ","
        (#"context.Request.Headers.GetValueOrDefault("X-Missing", "none")"#, "s:none"), (#"context.Request.Headers.GetValueOrDefault("X-Missing")"#, "null"),
        (#"context.Request.Headers["Accept"][1]"#, "s:text/plain"), (#"context.Request.Headers["X-Missing"]"#, "^KeyNotFoundException"),
        (#"context.Request.Headers.ContainsKey("x-count")"#, "True"), (#"context.Request.Headers.TryGetValue("Accept", out var v) ? v.Length : 0"#, "i:2"),
        (#"int.Parse(context.Request.Headers.GetValueOrDefault("X-Count", "0")) * 2"#, "i:10"),
        (#"context.Request.Headers.GetValueOrDefault("Authorization", "").AsJwt()"#, "null"), // not a JWT: AsJwt returns null
        (#"context.Request.Headers.Count"#, "i:3"), (#"context.Request.Headers.Any(h => h.Key == "Accept")"#, "True"),
        (#"context.Variables["x"]"#, "s:hello"), (#"(string)context.Variables["x"]"#, "s:hello"), (#"(int)context.Variables["n"] + 1"#, "i:8"),
        (#"(string)context.Variables["n"]"#, "^InvalidCastException: Unable to cast object of type 'System.Int32' to type 'System.String'."),
        (#"context.Variables.GetValueOrDefault<int>("n")"#, "i:7"), (#"context.Variables.GetValueOrDefault<int>("missing")"#, "i:0"),
        (#"context.Variables.GetValueOrDefault<string>("missing", "dflt")"#, "s:dflt"), (#"context.Variables.GetValueOrDefault<string>("n")"#, "^InvalidCastException"),
        (#"context.Variables.GetValueOrDefault("x")"#, "s:hello"), (#"context.Variables.GetValueOrDefault("missing", "d")"#, "s:d"),
        (#"context.Variables.ContainsKey("flag") && (bool)context.Variables["flag"]"#, "True"), (#"context.Variables["nope"]"#, "^KeyNotFoundException"),
        (#"context.Variables["x"].ToString().ToUpper()"#, "s:HELLO"), (#"context.Variables["x"].Length"#, "!1:24 'object' has no member 'Length'"),
        (#"context.Request.Url.Host"#, "s:api.contoso.com"), (#"context.Request.Url.Path"#, "s:/orders/42"), (#"context.Request.Url.Query.GetValueOrDefault("page", "1")"#, "s:2"),
        (#"context.Request.Url.QueryString"#, "s:?page=2"), (#"context.Request.Url.Port"#, "i:443"), (#"context.Request.Url.ToString()"#, "s:https://api.contoso.com/orders/42?page=2"),
        (#"context.Request.Method"#, "s:GET"), (#"context.Request.IpAddress"#, "s:203.0.113.7"), (#"context.Request.MatchedParameters["id"]"#, "s:42"),
        (#"context.Response.StatusCode"#, "i:200"), (#"context.Response.Headers.GetValueOrDefault("Cache-Control", "")"#, "s:max-age=3600"),
        (#"Regex.Match(context.Response.Headers.GetValueOrDefault("Cache-Control",""), @"max-age=(?<maxAge>\d+)").Groups["maxAge"]?.Value"#, "s:3600"),
        (#"context.RequestId.ToString()"#, "s:3f2504e0-4f89-11d3-9a0c-0305e82c3301"), (#"context.Timestamp.ToString("o")"#, "s:2024-01-04T21:20:00.0000000Z"),
        (#"context.Deployment.GatewayId"#, "s:managed"), (#"context.Deployment.Certificates.Count"#, "i:1"), (#"context.Deployment.Certificates["trusted"].Issuer"#, "s:trusted-issuer"),
        (#"context.Deployment.Gateway.InstanceId"#, "s:instance-1"), (#"context.Operation.UrlTemplate"#, "s:/orders/{id}"), (#"context.Api.Version"#, "s:v1"),
        (#"context.Product.Groups.Any(g => g.Name == "Developers")"#, "True"), (#"context.Product.SubscriptionLimit ?? -1"#, "i:-1"), (#"context.User.Email"#, "s:ada@contoso.com"),
        (#"context.Subscription.Key"#, "s:key-1"), (#"context.Workspace?.Name"#, "null"), (#"context.LastError?.Message ?? "none""#, "s:none"), (#"context.LastError.Message"#, "^NullReferenceException"),
        (#"context.Tracing"#, "False"), (#"context.Request.Certificate.Thumbprint"#, "s:DESIRED-THUMBPRINT-IN-UPPER-CASE"), (#"context.Request.Certificate.SerialNumber"#, "s:790CE8EEE5F01997408E859972D94A9E"),
        (#"context.Request.Certificate.NotAfter > context.Request.Certificate.NotBefore"#, "True"), (#"context.Request.Certificate.VerifyNoRevocation()"#, "True"),
        (#"Convert.ToBase64String(context.Request.Certificate.RawData)"#, "s:MIIBCg=="), (#"context.Request.Certificate.IssuerName.Name"#, "s:trusted-issuer"),
        (#"context.Request.Certificate.GetNameInfo(X509NameType.SimpleName, false)"#, "s:"), (#"context.Request.Certificate.Verify().ToString()"#, "s:True"),
        (#"context.Request.Certificate.Extensions"#, "!1:29 'X509Certificate2' has no member 'Extensions'"),
        (#"context.Deployment.Certificates.Values.Any(c => c.Thumbprint == "DESIRED-THUMBPRINT-IN-UPPER-CASE")"#, "True"),
        (#"context.Request.Certificate is X509Certificate2"#, "True"), (#"context.Variables["tokenResponse"] is IResponse r && r.StatusCode == 201"#, "True"),
        (#"(IResponse)context.Variables["x"]"#, "^InvalidCastException"),
        // Forms from Azure/api-management-policy-snippets "Common policy expressions".
        (#"context.Request.Headers.GetValueOrDefault("accept", "").Equals("APPLICATION/JSON,TEXT/PLAIN", StringComparison.OrdinalIgnoreCase)"#, "True"),
        (#"context.Request.MatchedParameters.GetValueOrDefault("id", "optional-default-value")"#, "s:42"),
        (#"context.Request.MatchedParameters.ContainsKey("parameter-name") == true"#, "False"),
        (#"context.Variables.GetValueOrDefault<string>("x", "").Equals("HELLO", StringComparison.OrdinalIgnoreCase)"#, "True"), (#"context.Request.Body != null"#, "True"),
    ]

    static let apimHelperCases: [(String, String)] = [
        // eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9 . {"sub":"1234567890","name":"John Doe","iat":1516239022,"aud":["a","b"],"exp":1700000000}
        (#""eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyLCJhdWQiOlsiYSIsImIiXSwiZXhwIjoxNzAwMDAwMDAwfQ.sig".AsJwt().Subject"#, "s:1234567890"),
        (#""Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyLCJhdWQiOlsiYSIsImIiXSwiZXhwIjoxNzAwMDAwMDAwfQ.sig".AsJwt().Claims.GetValueOrDefault("name", "")"#, "s:John Doe"),
        (#""eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyLCJhdWQiOlsiYSIsImIiXSwiZXhwIjoxNzAwMDAwMDAwfQ.sig".AsJwt().Audiences.Length"#, "i:2"),
        (#""eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyLCJhdWQiOlsiYSIsImIiXSwiZXhwIjoxNzAwMDAwMDAwfQ.sig".AsJwt().ExpirationTime.Value.ToString("o")"#, "s:2023-11-14T22:13:20.0000000Z"),
        (#""eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyLCJhdWQiOlsiYSIsImIiXSwiZXhwIjoxNzAwMDAwMDAwfQ.sig".AsJwt().Algorithm"#, "s:HS256"),
        (#""eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyLCJhdWQiOlsiYSIsImIiXSwiZXhwIjoxNzAwMDAwMDAwfQ.sig".AsJwt().NotBefore"#, "null"),
        (#""x.y".TryParseJwt(out var jwt)"#, "False"), (#""garbage".AsJwt() == null"#, "True"),
        (#""Basic dXNlcjpwYXNz".AsBasic().UserId"#, "s:user"), (#""Basic dXNlcjpwYXNz".AsBasic().Password"#, "s:pass"),
        (#""Basic dXNlcjpwYXNz".TryParseBasic(out var creds) && creds.Password == "pass""#, "True"), (#""Basic !!".AsBasic()"#, "null"),
    ]

    @Test(arguments: jsonCases) func json(_ source: String, _ expected: String) { check(source, expected) }
    @Test(arguments: linqCases) func linq(_ source: String, _ expected: String) { check(source, expected) }
    @Test(arguments: collectionCases) func collection(_ source: String, _ expected: String) { check(source, expected) }
    @Test(arguments: contextCases) func context(_ source: String, _ expected: String) { check(source, expected) }
    @Test(arguments: apimHelperCases) func apimHelper(_ source: String, _ expected: String) { check(source, expected) }
}
