// Release-mode benchmark of the policy pipeline's per-request cost.
// Run: DRAWBRIDGE_ONLY=Policies,PolicyBenchmarks swift run -c release PolicyBenchmarks [--evals N] [--profile-start N]
//      (--profile-start N: only N synchronous starts of the 10-statement pipeline, for perf record)
//
// A 10-statement inbound pipeline (typical header, variable and condition work) and the seed's
// thumbprint rule, each run end to end through `PolicyPipeline.run` with an in-memory backend, so the
// figure is everything the gateway pays per request for policies (not the network).
import Dispatch
import Foundation
import Policies

let tenStatements = """
<policies>
  <inbound>
    <set-variable name="started" value="@(DateTime.UtcNow.Ticks)" />
    <set-variable name="tenant" value="@(context.Request.Headers.GetValueOrDefault("X-Tenant", "public"))" />
    <check-header name="Accept" failed-check-httpcode="406" failed-check-error-message="Accept required" ignore-case="true" />
    <set-header name="X-Request-Id" exists-action="override"><value>@(context.RequestId.ToString())</value></set-header>
    <set-header name="X-Tenant" exists-action="override"><value>@((string)context.Variables["tenant"])</value></set-header>
    <set-header name="X-Debug" exists-action="delete" />
    <set-query-parameter name="api-version" exists-action="skip"><value>2024-01-01</value></set-query-parameter>
    <choose>
      <when condition="@(context.Request.Method == "DELETE")">
        <return-response><set-status code="405" reason="Method Not Allowed" /></return-response>
      </when>
    </choose>
    <set-variable name="path" value="@(context.Request.Url.Path.ToLowerInvariant())" />
    <rewrite-uri template="/v2/{id}" copy-unmatched-params="true" />
  </inbound>
  <backend><forward-request /></backend>
  <outbound />
</policies>
"""

let seedThumbprint = """
<policies>
  <inbound>
    <choose>
      <when condition="@(context.Request.Certificate == null || context.Request.Certificate.Thumbprint != "DESIRED-THUMBPRINT-IN-UPPER-CASE")">
        <return-response><set-status code="403" reason="Invalid client certificate" /></return-response>
      </when>
    </choose>
  </inbound>
  <backend><forward-request /></backend>
  <outbound />
</policies>
"""

/// Answers at once. `enforcesTimeout` false (the default) makes `run` race every call against a
/// timer task, as it does for an embedder without its own deadline; the gateway's backend enforces
/// its timeout, which `GatewayLikeBackend` mirrors.
struct InMemoryBackend: PolicyBackend {
    func send(_ request: BackendRequest) async throws -> BackendResponse {
        BackendResponse(status: 200, headers: [PolicyHeader("Content-Type", "text/plain")], body: BufferedBody("ok"))
    }
}

struct GatewayLikeBackend: PolicyBackend {
    var enforcesTimeout: Bool { true }
    func send(_ request: BackendRequest) async throws -> BackendResponse {
        BackendResponse(status: 200, headers: [PolicyHeader("Content-Type", "text/plain")], body: BufferedBody("ok"))
    }
}

let request = PolicyRequest(
    method: "GET", host: "api.example.test", path: "/orders/42", query: [("x", "1")],
    headers: [PolicyHeader("Accept", "application/json"), PolicyHeader("X-Tenant", "contoso"), PolicyHeader("X-Debug", "1")],
    matchedParameters: [(name: "id", value: "42")],
    identity: PolicyAPIIdentity(apiId: "orders", apiPath: "/orders", serviceURL: URL(string: "http://127.0.0.1:9/"),
                                operationId: "get", urlTemplate: "/{id}"))

let evals = CommandLine.arguments.firstIndex(of: "--evals").flatMap { Int(CommandLine.arguments[$0 + 1]) } ?? 20_000

/// CPU time of the whole process (all threads), in nanoseconds: the machine is shared, and wall
/// time counts the time other processes held the cores.
func cpuNanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}

struct Figure {
    var wall: Double
    var cpu: Double
    var text: String { "\(Int(wall)) ns wall, \(Int(cpu)) ns CPU" }
}

/// Best of 5 rounds of `evals` calls: wall time and the process's CPU time per call.
func best(_ body: () async -> Void) async -> Figure {
    for _ in 0..<1_000 { await body() }   // warm up
    var figure = Figure(wall: .infinity, cpu: .infinity)
    for _ in 0..<5 {
        let wall = DispatchTime.now().uptimeNanoseconds
        let cpu = cpuNanoseconds()
        for _ in 0..<evals { await body() }
        figure.cpu = min(figure.cpu, Double(cpuNanoseconds() - cpu) / Double(evals))
        figure.wall = min(figure.wall, Double(DispatchTime.now().uptimeNanoseconds - wall) / Double(evals))
    }
    return figure
}

/// Per request: the data plane's synchronous start when the pipeline allows it (`startSynchronously`,
/// then `finish` unless the outbound is empty), then the async `run` with a backend that enforces
/// its own timeout (as the gateway's does), then `run` with one that does not (the figure this
/// benchmark printed before the synchronous start existed). In that order: `run`'s timer tasks
/// leave work behind on other threads that would be counted in later CPU figures.
func measure(_ name: String, _ xml: String) async throws {
    let pipeline = try PolicyPipeline.load([(text: xml, file: name, scope: .api)])
    let backend = InMemoryBackend()
    print("\(name) (best of 5 × \(evals)):")
    if pipeline.inboundRunsSynchronously {
        let viaStart = await best {
            switch pipeline.startSynchronously(request) {
            case .respond, .runAsync: break
            case .forward(let exchange):
                if !exchange.outboundIsEmpty, let response = try? await backend.send(exchange.request) { _ = await exchange.finish(response) }
            }
        }
        print("  startSynchronously: \(viaStart.text)")
    }
    let gatewayLike = GatewayLikeBackend()
    print("  run, backend with its own timeout: \((await best { _ = await pipeline.run(request, backend: gatewayLike) }).text)")
    print("  run, timer raced per call: \((await best { _ = await pipeline.run(request, backend: backend) }).text)")
}

if !CommandLine.arguments.contains("--profile-start") {
    try await measure("10-statement inbound pipeline + forward", tenStatements)
    try await measure("seed thumbprint rule (no certificate → 403)", seedThumbprint)
}

// For a profiler (`perf record … PolicyBenchmarks --profile-start N`): N synchronous starts of the
// 10-statement pipeline and nothing else.
if let index = CommandLine.arguments.firstIndex(of: "--profile-start"), index + 1 < CommandLine.arguments.count,
    let count = Int(CommandLine.arguments[index + 1])
{
    let pipeline = try PolicyPipeline.load([(text: tenStatements, file: "ten", scope: .api)])
    for _ in 0..<count { _ = pipeline.startSynchronously(request) }
}
