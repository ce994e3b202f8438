import Foundation

/// `<rewrite-uri template="/v2/{id}" copy-unmatched-params="true"/>`: rewrites the public URL into
/// the backend's form; `{name}` takes a matched template parameter.
public struct RewriteURIPolicy: Sendable, PolicyDefinition {
    public let template: PolicyParameter<String>
    public let copyUnmatchedParameters: PolicyParameter<Bool>

    static let schema = PolicySchema(
        "rewrite-uri", sections: [.inbound],
        attributes: [
            PolicyAttributeSpec("template", .nonEmptyText, required: true),
            PolicyAttributeSpec("copy-unmatched-params", .boolean, default: "true"),
        ])

    /// Nil when every `{` has a name and a matching `}`; otherwise the problem.
    static func templateProblem(_ template: String) -> String? {
        var open = false
        var name = ""
        for character in template {
            switch character {
            case "{":
                if open { return "'{' inside a parameter name" }
                open = true
                name = ""
            case "}":
                if !open { return "'}' without a matching '{'" }
                if name.isEmpty { return "an empty parameter name '{}'" }
                open = false
            default:
                if open { name.append(character) }
            }
        }
        return open ? "'{' is never closed" : nil
    }

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        guard let template = reader.string("template"), let copy = reader.boolean("copy-unmatched-params") else { return nil }
        if let literal = template.constant, let problem = templateProblem(literal) {
            reader.error(attribute: "template", "invalid URI template \(reader.quote(literal, attribute: "template")) in \(reader.tag): \(problem)")
            return nil
        }
        return .rewriteURI(RewriteURIPolicy(template: template, copyUnmatchedParameters: copy))
    }
}

// MARK: Run

extension RewriteURIPolicy {
    struct Step: SynchronousPolicyStep {
        let template: RuntimeParameter<String>
        let copyUnmatched: RuntimeParameter<Bool>

        func run(_ execution: PolicyExecution, _ step: CompiledStep) throws -> Flow {
            try execution.rewrite(
                template: try execution.string(template, step), copyUnmatched: try execution.bool(copyUnmatched, step), step)
            return .proceed
        }
    }

    func compile(_ compiler: inout StepCompiler) -> (any SynchronousPolicyStep)? {
        guard let template = compiler.parameter(template), let copy = compiler.parameter(copyUnmatchedParameters) else { return nil }
        return Step(template: template, copyUnmatched: copy)
    }
}

extension PolicyExecution {
    /// `rewrite-uri`: `{name}` takes the matched template parameter; the query of the template
    /// replaces the request's, plus (with `copy-unmatched-params`) the parameters the operation's
    /// template did not match.
    func rewrite(template: String, copyUnmatched: Bool, _ step: CompiledStep) throws {
        func parameter(_ name: String) -> String {
            state.matchedParameters.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value ?? ""
        }
        func substitute(_ text: Substring, encode: Bool) -> String {
            var out = ""
            var name: String? = nil
            for character in text {
                if character == "{" {
                    name = ""
                } else if character == "}", let current = name {
                    let value = parameter(current)
                    out += encode ? Self.percentEncodedSegment(value) : value
                    name = nil
                } else if name != nil {
                    name?.append(character)
                } else {
                    out.append(character)
                }
            }
            return out
        }
        let parts = template.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var path = substitute(parts[0], encode: true)
        if !path.hasPrefix("/") { path = "/" + path }
        var query: [(name: String, value: String)] = []
        if parts.count > 1 {
            for pair in parts[1].split(separator: "&") where !pair.isEmpty {
                let halves = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let name = Self.percentDecoded(String(halves[0]))
                let value = halves.count > 1 ? substitute(halves[1], encode: false) : ""
                query.append((name: name, value: Self.percentDecoded(value)))
            }
        }
        if copyUnmatched {
            let matched = Set(state.matchedParameters.map { $0.name.lowercased() })
            let inTemplate = Set(query.map(\.name))
            query += state.query.filter { !matched.contains($0.name.lowercased()) && !inTemplate.contains($0.name) }
        }
        state.operationPath = path
        state.query = query
        state.record(.info, "rewritten to \(state.url.text)")
    }

    /// A path segment percent-encoded as `rewrite-uri` substitutes it (`/` encoded too).
    static let segmentAllowed = CharacterSet.urlPathAllowed.subtracting(["/"])

    static func percentEncodedSegment(_ value: String) -> String {
        // Unreserved and sub-delimiter ASCII bytes (all in `segmentAllowed`) need no encoding.
        let plain = value.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                true
            default: false
            }
        }
        return plain ? value : (value.addingPercentEncoding(withAllowedCharacters: segmentAllowed) ?? value)
    }

    /// `removingPercentEncoding` (the text itself when malformed), without Foundation when there is no `%`.
    static func percentDecoded(_ text: String) -> String {
        guard text.utf8.contains(UInt8(ascii: "%")) else { return text }
        return text.removingPercentEncoding ?? text
    }
}
