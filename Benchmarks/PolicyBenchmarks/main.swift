// Release-mode benchmark of the policy pipeline's per-request cost.
// Run: DRAWBRIDGE_ONLY=Policies,PolicyBenchmarks swift run -c release PolicyBenchmarks [--evals N]
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

struct InMemoryBackend: PolicyBackend {
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

func measure(_ name: String, _ xml: String) async throws {
    let pipeline = try PolicyPipeline.load([(text: xml, file: name, scope: .api)])
    let backend = InMemoryBackend()
    for _ in 0..<1_000 { _ = await pipeline.run(request, backend: backend) }   // warm up
    var best = Double.infinity
    for _ in 0..<5 {
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<evals { _ = await pipeline.run(request, backend: backend) }
        let perRun = Double(DispatchTime.now().uptimeNanoseconds - start) / Double(evals)
        best = min(best, perRun)
    }
    print("\(name): \(Int(best)) ns per request (best of 5 × \(evals))")
}

try await measure("10-statement inbound pipeline + forward", tenStatements)
try await measure("seed thumbprint rule (no certificate → 403)", seedThumbprint)
