import ArgumentParser

@main
struct Drawbridge: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drawbridge",
        abstract: "A self-hosted API gateway that speaks APIM policies, with client certificates first class.",
        subcommands: [ServeCommand.self, EchoBackendCommand.self, PolicyCommand.self, ExpressionCommand.self, CertCommand.self, CertCheckCommand.self])
}
