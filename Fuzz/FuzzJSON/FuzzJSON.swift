// libFuzzer target: the expression runtime's JSON reader on hostile input — the way a request body
// reaches it (`context.Request.Body.As<JObject>()`, `JObject.Parse`, `JToken.Parse`) — plus the
// sample-context loader (`drawbridge expr eval --context`). Build and run with scripts/fuzz.sh.
import PolicyExpressions

private let compiler = ExpressionCompiler(model: SampleContext.typeModel)
private let parsers: [CompiledExpression] = [
    "JToken.Parse(context.Request.Body.As<string>(preserveContent: true)).ToString()",
    "context.Request.Body.As<JObject>(preserveContent: true).ToString()",
    "context.Request.Body.As<JArray>(preserveContent: true).Count",
].compactMap { try? compiler.compile($0) }

/// The input as a JSON string literal, so it reaches the body verbatim.
private func jsonString(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case _ where scalar.value < 0x20: out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard let text = String(validating: UnsafeRawBufferPointer(start: start, count: count), as: UTF8.self) else { return 0 }
    _ = try? SampleContext(json: text)
    if let context = try? SampleContext(json: #"{"request":{"method":"POST","body":"# + jsonString(text) + "}}") {
        for parser in parsers { _ = try? parser.evaluate(context: context, iterationBudget: 10_000) }
    }
    return 0
}
