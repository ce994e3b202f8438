import ArgumentParser
import Foundation
import Gateway

@main
struct Drawbridge: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drawbridge",
        abstract: "A self-hosted API gateway that speaks APIM policies, with client certificates first class.",
        version: DrawbridgeVersion.current,
        subcommands: [ServeCommand.self, CheckCommand.self, ConfigCommand.self, AdminCommand.self, EchoBackendCommand.self, PolicyCommand.self, ExpressionCommand.self, CertCommand.self, CertCheckCommand.self])

    /// As ArgumentParser's own `main`, except that usage errors exit 2 (64 is EX_USAGE; operators'
    /// scripts and `drawbridge check` callers expect the conventional 2), and configuration errors
    /// print no usage text (commands throw `ExitCode(1)` after reporting them).
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}
