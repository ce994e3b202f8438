// libFuzzer target: a policy expression from text — Lexer → Parser → Binder against the sample
// `context` model, both as `@( expression )` and `@{ block }` — and, when it compiles, one evaluation
// against a fixed SampleContext (iteration budget bounded so loops cannot hang the run).
// The first byte picks the kind; the rest is the source. Build and run with scripts/fuzz.sh.
import PolicyExpressions

private let compiler = ExpressionCompiler(model: SampleContext.typeModel)

private let sampleJSON = #"""
{ "request": { "method": "POST", "url": "https://api.contoso.com:8443/orders/42?q=1&x=%20y",
               "ipAddress": "203.0.113.9",
               "headers": { "Authorization": "Bearer abc.def.ghi", "Accept": ["application/json", "text/plain"],
                            "Content-Type": "application/json" },
               "body": { "id": 42, "items": [1, 2, 3], "name": "widget", "nested": { "a": [true, null, 1.5] } },
               "certificate": { "thumbprint": "A1B2C3D4E5F60718293A4B5C6D7E8F9012345678",
                                "subject": "CN=client, O=Contoso", "issuer": "CN=Contoso CA",
                                "serialNumber": "0A1B", "notBefore": "2024-01-01T00:00:00Z",
                                "notAfter": "2034-01-01T00:00:00Z", "verify": true } },
  "response": { "statusCode": 200, "statusReason": "OK", "headers": { "X-Id": "1" }, "body": "text body" },
  "variables": { "count": 3, "name": "value", "flag": true, "when": "2024-05-06T07:08:09Z" },
  "deployment": { "gatewayId": "gw", "region": "West Europe", "serviceName": "contoso" },
  "operation": { "id": "op", "method": "POST", "name": "Create", "urlTemplate": "/orders/{id}" },
  "api": { "id": "orders", "name": "Orders", "path": "orders", "version": "v1", "revision": "1" },
  "lastError": { "source": "policy", "reason": "r", "message": "m", "scope": "api", "section": "inbound",
                 "path": "choose[1]", "policyId": "p" } }
"""#

private let context: SampleContext = {
    do { return try SampleContext(json: sampleJSON) } catch { fatalError("sample context: \(error)") }
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count >= 1 else { return 0 }
    let bytes = UnsafeRawBufferPointer(start: start, count: count)
    let kind: ExpressionKind = bytes[0] & 1 == 0 ? .expression : .block
    let evaluate = bytes[0] & 2 == 0
    guard let source = String(validating: UnsafeRawBufferPointer(rebasing: bytes[1...]), as: UTF8.self) else { return 0 }
    guard let compiled = try? compiler.compile(source, kind: kind) else { return 0 }
    if evaluate, let value = try? compiled.evaluate(context: context, iterationBudget: 10_000) {
        _ = ExpressionTool.display(value, type: compiled.resultType)
    }
    return 0
}
