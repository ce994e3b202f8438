import ArgumentParser
import Foundation
import Gateway

/// `drawbridge check --config gateway.yaml`: what `nginx -t` is to nginx. Loads everything `serve`
/// would and lists every error (with the YAML position where there is one) and warning. Exit 0: no
/// error (warnings allowed); 1: configuration errors; 2: usage.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check a configuration without starting the gateway: every error and warning, then exit 0 (ok) or 1.")

    @Option(name: .long, help: "YAML configuration file.")
    var config: String

    func run() throws {
        Stdout.lineBuffered()
        let (_, findings) = ConfigurationCheck.run(path: config)
        for finding in findings {
            FileHandle.standardError.write(Data("\(finding)\n".utf8))
        }
        let errors = findings.filter { $0.severity == .error }.count
        let warnings = findings.count - errors
        let summary = "\(config): \(errors == 0 ? "configuration OK" : "configuration has errors")"
            + " (\(errors) error\(errors == 1 ? "" : "s"), \(warnings) warning\(warnings == 1 ? "" : "s"))"
        if errors > 0 {
            FileHandle.standardError.write(Data("\(summary)\n".utf8))
            throw ExitCode(1)
        }
        print(summary)
    }
}
