import Foundation

/// `<set-method>POST</set-method>`: changes the request method (also the method of a `send-request`).
public struct SetMethodPolicy: Sendable, PolicyDefinition {
    public let method: PolicyParameter<String>

    static let schema = PolicySchema("set-method", sections: [.inbound, .onError], allowsText: true)

    /// An HTTP method is a token (RFC 9110): letters, digits and a few symbols.
    static func isToken(_ text: String) -> Bool {
        // RFC 9110 tchar, checked on the UTF-8 bytes (any non-ASCII byte fails).
        !text.isEmpty && text.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
                UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
                UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
                true
            default: false
            }
        }
    }

    static func make(_ reader: PolicyElementReader) -> SetMethodPolicy? {
        guard let method = reader.text else {
            reader.error("\(reader.tag) requires the method as its text, e.g. '<set-method>POST</set-method>'")
            return nil
        }
        if let literal = method.constant {
            let trimmed = literal.trimmingCharacters(in: .whitespacesAndNewlines)
            guard isToken(trimmed) else {
                reader.context.error(at: reader.element.textNodes.first?.position ?? reader.element.position, "invalid HTTP method \(reader.quoteText(trimmed)) in \(reader.tag)")
                return nil
            }
            return SetMethodPolicy(method: .constant(trimmed.uppercased()))
        }
        return SetMethodPolicy(method: method)
    }

    static func parse(_ reader: PolicyElementReader) -> Policy? { make(reader).map(Policy.setMethod) }
}

// MARK: Run

extension SetMethodPolicy {
    struct Step: SynchronousPolicyStep {
        let method: RuntimeParameter<String>

        func run(_ execution: PolicyExecution, _ step: CompiledStep) throws -> Flow {
            let method = ASCII.uppercased(ASCII.trimmingWhitespace(try execution.string(method, step)))
            guard SetMethodPolicy.isToken(method) else { throw PolicyFailure.expression(step.name, "'\(method)' is not a valid HTTP method.") }
            execution.state.method = method
            return .proceed
        }
    }

    func compile(_ compiler: inout StepCompiler) -> (any SynchronousPolicyStep)? {
        compiler.parameter(method).map { Step(method: $0) }
    }
}
