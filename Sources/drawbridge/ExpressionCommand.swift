import ArgumentParser
import Foundation
import PolicyExpressions

/// `drawbridge expr …`: work with APIM policy expressions outside the gateway.
struct ExpressionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "expr",
        abstract: "Compile and evaluate APIM policy expressions.",
        subcommands: [Evaluate.self])

    /// `drawbridge expr eval '<expr>' [--context sample.json]`
    struct Evaluate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "eval",
            abstract: "Evaluate an expression (`@(...)`, `@{...}` or bare C#) and print its value, or the error with a caret under the column.")

        @Argument(help: "The expression, e.g. 'context.Request.Headers.GetValueOrDefault(\"Accept\", \"\")'.")
        var expression: String

        @Option(name: .long, help: "A JSON file describing the request context (headers, body, certificate, variables, …).")
        var context: String?

        @Flag(name: .long, help: "Treat the text as the statements of a @{ } block.")
        var block = false

        func run() async throws {
            var json: String?
            if let context {
                do {
                    json = try String(contentsOfFile: context, encoding: .utf8)
                } catch {
                    throw ValidationError("cannot read \(context): \(error.localizedDescription)")
                }
            }
            let output = ExpressionTool.evaluate(expression, contextJSON: json, kind: block ? .block : nil)
            print(output.text)
            if !output.succeeded { throw ExitCode.failure }
        }
    }
}
