// SwiftPM links every executable with its entry point renamed to `<module>_main` (so tests can link
// executables), and -parse-as-library emits none: this is that symbol. libFuzzer's own `main` is never
// linked in its place, so hand control to libFuzzer's driver with the LLVMFuzzerTestOneInput below.
@_silgen_name("LLVMFuzzerRunDriver")
private func runLibFuzzer(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafeRawPointer?, Int) -> CInt) -> CInt

@_cdecl("FuzzPolicyXML_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return runLibFuzzer(&count, &arguments) { data, size in
        // libFuzzer passes a null pointer for the empty input.
        fuzz(data ?? UnsafeRawPointer(bitPattern: 1)!, size)
    }
}
