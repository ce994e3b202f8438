// libFuzzer target: a whole APIM policy document, as `drawbridge policy check` loads it.
// PolicyXMLReader (named values, C#-aware attribute scanning, entities) → sections → catalogue
// checks → every @(…)/@{…} compiled against the `context` model; then, when the document loads,
// the effective-policy merge and its XML printing. Build and run with scripts/fuzz.sh.
import Policies

private let loader = PolicyLoader(
    options: PolicyLoadOptions(
        namedValues: NamedValues([
            NamedValue(name: "backend-url", value: "https://backend.example", isSecret: false),
            NamedValue(name: "api-key", value: "s3cr3t<&\"", isSecret: true),
            NamedValue(name: "expr", value: "@(context.Request.Method)", isSecret: false),
        ]),
        skipUnsupportedPolicies: false),
    compiler: ContextExpressionCompiler())

private let skippingLoader = PolicyLoader(
    options: PolicyLoadOptions(skipUnsupportedPolicies: true), compiler: ContextExpressionCompiler())

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: start, count: count)
    // Files reach the loader as UTF-8 text (PolicyCheck rejects invalid UTF-8 before reading).
    guard let text = String(validating: bytes, as: UTF8.self) else { return 0 }
    let useSkipping = count > 0 && bytes[count - 1] == 0x0A   // cheap mode switch from the input itself
    let chosen = useSkipping ? skippingLoader : loader
    // 1. What `policy check` does: reader + structure + load + compile, fragments recognised.
    let diagnostics = PolicyCheck.check([PolicyCheck.Input(file: "fuzz.xml", text: text)], loader: chosen)
    for diagnostic in diagnostics { _ = diagnostic.description }
    // 2. The raw reader entry point.
    if let root = try? chosen.readXML(text, file: "fuzz.xml") { _ = root.name }
    // 3. Effective policy (the document at API scope, merged alone) and its printing.
    if diagnostics.allSatisfy({ $0.severity != .error }),
       let merged = try? chosen.effective([PolicyLoader.ScopedText(scope: .api, file: "fuzz.xml", text: text)]) {
        _ = merged.policy.xml()
    }
    return 0
}
