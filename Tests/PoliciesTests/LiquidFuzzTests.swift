import Foundation
import Testing

@testable import Policies

/// Hostile templates: the Liquid translator and the compile that follows refuse them with an error,
/// never a trap (random texts over Liquid's significant characters, a fixed seed).
@Suite struct LiquidFuzzTests {
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state
        }
    }

    @Test func randomTemplatesFailCleanly() {
        let pieces = ["{{", "}}", "{%", "%}", "-", "|", ":", ",", "\"", "'", "[", "]", ".", " ", "if", "for", "in", "endif", "endfor",
                      "else", "elsif", "assign", "=", "==", "<", "contains", "and", "or", "context", "Request", "Headers", "body",
                      "x", "0", "Upcase", "Append", "comment", "endcomment", "\n", "\\", "nil", "unless", "endunless"]
        var random = Generator(state: 0x5eed)
        var translated = 0
        for _ in 0..<3000 {
            var text = ""
            for _ in 0..<Int.random(in: 1...24, using: &random) { text += pieces.randomElement(using: &random) ?? "" }
            if (try? LiquidTemplate.translate(text, body: .request)) != nil { translated += 1 }
            // Through the loader too: an error with a position, or a compiled body.
            _ = load(policies("<set-body template=\"liquid\">\(text.replacingOccurrences(of: "<", with: "&lt;"))</set-body>"),
                     options: PolicyLoadOptions(allowUnknownNamedValues: true), compiler: ContextExpressionCompiler())
        }
        #expect(translated > 0)
    }
}
