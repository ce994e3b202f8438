/// The policy that actually runs for an operation: the scopes' documents spliced at their
/// `<base/>`s (REFERENCE.md §1.2). At the broadest scope `<base/>` is a no-op; a section without
/// `<base/>` drops the broader scopes' statements for that section, and so does a document that
/// leaves the section out (it is empty, as in APIM; boilerplates write `<base/>` in all four).
public struct EffectivePolicy: Sendable {
    public let sections: [PolicySection: [PolicyStatement]]
    /// The documents merged, broad to narrow.
    public let scopes: [PolicyScope]
    /// The secret named values of every merged document: always hidden when printing.
    public let secrets: NamedValues

    public func statements(in section: PolicySection) -> [PolicyStatement] { sections[section] ?? [] }

    /// Merges documents of different scopes (in any order; they are sorted broad to narrow).
    /// A scope without a document behaves as if it had only `<base/>` everywhere.
    public static func merge(_ policies: [ScopedPolicy]) -> EffectivePolicy {
        let chain = policies.enumerated().sorted { ($0.element.scope, $0.offset) < ($1.element.scope, $1.offset) }.map(\.element)
        var sections: [PolicySection: [PolicyStatement]] = [:]
        for section in PolicySection.allCases {
            sections[section] = effective(chain, upTo: chain.count - 1, section)
        }
        let secrets = chain.reduce(NamedValues()) { $0.merging($1.secrets) }
        return EffectivePolicy(sections: sections, scopes: chain.map(\.scope), secrets: secrets)
    }

    private static func effective(_ chain: [ScopedPolicy], upTo index: Int, _ section: PolicySection) -> [PolicyStatement] {
        guard index >= 0 else { return [] }
        var result: [PolicyStatement] = []
        for statement in chain[index].statements(in: section) {
            if case .base = statement.policy {
                result += effective(chain, upTo: index - 1, section)
            } else {
                result.append(statement)
            }
        }
        return result
    }

    /// The merged document as APIM's "Calculate effective policy" shows it, each run of statements
    /// marked with the scope it came from. Secret named values (those the documents were loaded
    /// with, plus any in `namedValues`) are replaced by their placeholders.
    public func xml(redacting namedValues: NamedValues = NamedValues()) -> String {
        var printer = PolicyXMLPrinter()
        printer.line("<policies>")
        for section in PolicySection.allCases {
            let statements = statements(in: section)
            if statements.isEmpty {
                printer.line("    <\(section) />")
                continue
            }
            printer.line("    <\(section)>")
            var currentScope: PolicyScope? = nil
            for statement in statements {
                if statement.scope != currentScope {
                    printer.line("        <!-- \(statement.scope) scope -->")
                    currentScope = statement.scope
                }
                printer.print(statement.element, depth: 2)
            }
            printer.line("    </\(section)>")
        }
        printer.line("</policies>")
        return secrets.merging(namedValues.secrets).redact(printer.output)
    }
}
