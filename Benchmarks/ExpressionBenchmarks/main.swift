// Release-mode micro-benchmarks for compiled policy expressions.
// Run: DRAWBRIDGE_ONLY=PolicyExpressions,ExpressionBenchmarks swift run -c release ExpressionBenchmarks
import Foundation
import PolicyExpressions

// A minimal `context` with the members the benchmarked expressions touch.
final class Certificate: X509Certificate2Object {
    let thumbprint: String
    let subject = "CN=client.contoso.com, O=Contoso, C=US"
    let issuer = "trusted-issuer"
    let serialNumber = "790CE8EEE5F01997408E859972D94A9E"
    let notBefore = DateTimeValue(ticks: 638_000_000_000_000_000, kind: .local)
    let notAfter = DateTimeValue(ticks: 640_000_000_000_000_000, kind: .local)
    let rawData: [UInt8] = Array(repeating: 0x5A, count: 800)
    let subjectName: X500DistinguishedNameObject
    let issuerName: X500DistinguishedNameObject
    init(thumbprint: String) {
        self.thumbprint = thumbprint
        subjectName = X500DistinguishedNameObject(name: "expected-subject-name")
        issuerName = X500DistinguishedNameObject(name: issuer)
    }
    func verify() -> Bool { true }
    func verifyNoRevocation() -> Bool { true }
    func nameInfo(_ nameType: Int32, forIssuer: Bool) -> String { "client.contoso.com" }
}

final class Url: HostObject {
    var hostType: HostType { Types.url }
}

final class Request: HostObject {
    let certificate = Certificate(thumbprint: "DESIRED-THUMBPRINT-IN-UPPER-CASE")
    let headers: DictionaryBox
    let body: MessageBodyObject
    let url = Url()
    var hostType: HostType { Types.request }
    init(jwt: String) {
        headers = DictionaryBox(multiValued: [("Authorization", ["Bearer " + jwt]), ("Accept", ["application/json"]), ("X-Trace", ["1"])])
        body = MessageBodyObject(text: #"{"id": 42, "name": "Ada", "items": [1, 2, 3]}"#)
    }
}

final class Deployment: HostObject {
    let certificates = DictionaryBox([("other", Value.object(Certificate(thumbprint: "AAAA"))),
                                      ("trusted", Value.object(Certificate(thumbprint: "DESIRED-THUMBPRINT-IN-UPPER-CASE")))])
    var hostType: HostType { Types.deployment }
}

final class Context: HostObject {
    let request: Request
    let deployment = Deployment()
    let variables = DictionaryBox([("token", .string("t-123")), ("n", .int(7))])
    var hostType: HostType { Types.context }
    init(jwt: String) { request = Request(jwt: jwt) }
}

enum Types {
    static let url = HostType(name: "IUrl", members: [
        .property("Path", .string, of: Url.self) { _ in .string("/orders/42") },
    ])
    static let request = HostType(name: "IRequest", members: [
        .property("Certificate", .host(X509Types.certificate), of: Request.self) { .object($0.certificate) },
        .property("Headers", .headerDictionary, of: Request.self) { .dictionary($0.headers) },
        .property("Body", .host(MessageBodyObject.type), of: Request.self) { .object($0.body) },
        .property("Method", .string, of: Request.self) { _ in .string("GET") },
        .property("Url", .host(url), of: Request.self) { .object($0.url) },
    ])
    static let deployment = HostType(name: "IDeployment", members: [
        .property("Certificates", .dictionary(.string, .host(X509Types.certificate)), of: Deployment.self) { .dictionary($0.certificates) },
    ])
    static let context = HostType(name: "IProxyRequestContext", members: [
        .property("Request", .host(request), of: Context.self) { .object($0.request) },
        .property("Deployment", .host(deployment), of: Context.self) { .object($0.deployment) },
        .property("Variables", .variableDictionary, of: Context.self) { .dictionary($0.variables) },
    ])
}

let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.sig"
let context = Context(jwt: jwt)
let compiler = ExpressionCompiler(model: TypeModel(contextType: Types.context))

let probes: [(String, String)] = CommandLine.arguments.contains("--probes") ? [
    ("probe: true", "true"), ("probe: context", "context"), ("probe: .Request", "context.Request"),
    ("probe: .Certificate", "context.Request.Certificate"), ("probe: .Thumbprint", "context.Request.Certificate.Thumbprint"),
    ("probe: Verify()", "context.Request.Certificate.Verify()"), ("probe: == null", "context.Request.Certificate == null"),
] : []

let cases: [(String, String)] = probes + [
    ("seed 1 (thumbprint)", #"context.Request.Certificate == null || !context.Request.Certificate.Verify() || context.Request.Certificate.Thumbprint != "DESIRED-THUMBPRINT-IN-UPPER-CASE""#),
    ("seed 2 (issuer, subject)", #"context.Request.Certificate == null || !context.Request.Certificate.Verify() || context.Request.Certificate.Issuer != "trusted-issuer" || context.Request.Certificate.SubjectName.Name != "expected-subject-name""#),
    ("seed 3 (store Any)", #"context.Request.Certificate == null || !context.Request.Certificate.Verify()  || !context.Deployment.Certificates.Any(c => c.Value.Thumbprint == context.Request.Certificate.Thumbprint)"#),
    ("header read", #"context.Request.Headers.GetValueOrDefault("Accept", "")"#),
    ("header test", #"context.Request.Headers.GetValueOrDefault("Accept", "").Contains("json")"#),
    ("JWT claim", #"context.Request.Headers.GetValueOrDefault("Authorization", "").AsJwt()?.Subject"#),
    ("JSON body field", #"context.Request.Body.As<JObject>(preserveContent: true)["id"].Value<int>()"#),
    ("string concat", #""Bearer " + (string)context.Variables["token"]"#),
    ("interpolation", #"$"{context.Request.Method} {context.Request.Url.Path}""#),
    ("typed variable", #"context.Variables.GetValueOrDefault<int>("n") > 5"#),
    ("DateTime.UtcNow \"o\"", #"DateTime.UtcNow.ToString("o")"#),
    ("Regex.IsMatch", #"Regex.IsMatch(context.Request.Url.Path, @"^/orders/\d+$")"#),
    ("LINQ over headers", #"context.Request.Headers.Any(h => h.Key.StartsWith("X-"))"#),
    ("base64 of RawData", #"Convert.ToBase64String(context.Request.Certificate.RawData)"#),
]

func threadCPUNanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}

print("expression".padding(toLength: 28, withPad: " ", startingAt: 0) + "ns/eval   result")
// `--only <prefix>` runs the cases whose name starts with the prefix (for profiling).
let only = CommandLine.arguments.firstIndex(of: "--only").flatMap { $0 + 1 < CommandLine.arguments.count ? CommandLine.arguments[$0 + 1] : nil }
// `--evals N`: evaluate each selected case exactly N times and print nothing else (for counting allocations
// with e.g. `perf stat -e probe_libc:malloc`: run with N = 0 and N = 100000 and divide the difference).
let fixedEvaluations = CommandLine.arguments.firstIndex(of: "--evals").flatMap { $0 + 1 < CommandLine.arguments.count ? Int(CommandLine.arguments[$0 + 1]) : nil }
if let fixedEvaluations {
    for (_, source) in cases where only.map({ name in cases.first { $0.1 == source }?.0.hasPrefix(name) ?? false }) ?? true {
        guard let compiled = try? compiler.compile(source) else { continue }
        for _ in 0..<fixedEvaluations { _ = try? compiled.evaluate(context: context) }
    }
    exit(0)
}

for (name, source) in cases where only.map({ name.hasPrefix($0) }) ?? true {
    let compiled: CompiledExpression
    do { compiled = try compiler.compile(source) } catch {
        print("\(name): compile error \(error)")
        continue
    }
    var last = Value.null
    // Warm up and size a round to roughly 50 ms.
    let probeStart = ContinuousClock.now
    var probe = 0
    while ContinuousClock.now - probeStart < .milliseconds(50) {
        last = (try? compiled.evaluate(context: context)) ?? .null
        probe += 1
    }
    // Best of five rounds: the machine is shared, so the minimum is the least noisy figure.
    let iterations = max(1_000, probe)
    // Thread CPU time, not wall time: other processes on a shared machine do not inflate the figure.
    var perEval = Double.infinity
    for _ in 0..<5 {
        let start = threadCPUNanoseconds()
        for _ in 0..<iterations { last = (try? compiled.evaluate(context: context)) ?? .null }
        perEval = min(perEval, Double(threadCPUNanoseconds() - start) / Double(iterations))
    }
    let shown: String
    switch last {
    case .string(let s): shown = "\"" + s.prefix(40) + "\""
    case .bool(let b): shown = b ? "true" : "false"
    case .int(let i): shown = String(i)
    default: shown = "\(last)".prefix(40).description
    }
    print(name.padding(toLength: 28, withPad: " ", startingAt: 0) + String(format: "%7.0f", perEval) + "   " + shown)
}
