// libFuzzer target: the gateway's YAML configuration (Yams compose → GatewayConfigLoader.parse with
// its validation). `parse(yaml:)` reads no file; relative paths only resolve against a fixed folder.
// Build and run with scripts/fuzz.sh.
import GatewayConfiguration

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard let text = String(validating: UnsafeRawBufferPointer(start: start, count: count), as: UTF8.self) else { return 0 }
    if let config = try? GatewayConfigLoader.parse(yaml: text, file: "fuzz.yaml", baseDirectory: "/nonexistent/fuzz") {
        _ = config.apis.count
    }
    return 0
}
