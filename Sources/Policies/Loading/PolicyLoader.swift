import Foundation

/// Turns policy text into validated, compiled policies:
/// named values substituted → XML read → sections located → fragments inlined → every statement
/// checked against the policy catalogue and every expression compiled through the seam.
/// Every problem of a document is collected; secrets never appear in a message.
public struct PolicyLoader: Sendable {
    public let options: PolicyLoadOptions
    public let compiler: (any PolicyExpressionCompiling)?

    public init(options: PolicyLoadOptions = PolicyLoadOptions(), compiler: (any PolicyExpressionCompiling)? = nil) {
        self.options = options
        self.compiler = compiler
    }

    /// Reads a document's XML (either `<policies>` or `<fragment>`), without checking policies.
    public func readXML(_ text: String, file: String) throws(PolicyLoadError) -> PolicyXMLElement {
        var diagnostics: [PolicyDiagnostic] = []
        let root = readRoot(text, file: file, diagnostics: &diagnostics)
        guard let root, !diagnostics.contains(where: { $0.severity == .error }) else { throw failure(diagnostics) }
        return root
    }

    /// Reads a `<policies>` document and locates its sections.
    public func readDocument(_ text: String, file: String) throws(PolicyLoadError) -> PolicyDocument {
        var diagnostics: [PolicyDiagnostic] = []
        guard let root = readRoot(text, file: file, diagnostics: &diagnostics) else { throw failure(diagnostics) }
        let document = PolicyDocument.structure(file: file, root: root, diagnostics: &diagnostics)
        guard !diagnostics.contains(where: { $0.severity == .error }) else { throw failure(diagnostics) }
        return document
    }

    /// Reads a `<fragment>` document. Its statements are checked where it is included.
    public func readFragment(_ text: String, file: String, id: String) throws(PolicyLoadError) -> PolicyFragment {
        var diagnostics: [PolicyDiagnostic] = []
        guard let root = readRoot(text, file: file, diagnostics: &diagnostics) else { throw failure(diagnostics) }
        let fragment = PolicyFragment.structure(id: id, file: file, root: root, diagnostics: &diagnostics)
        guard !diagnostics.contains(where: { $0.severity == .error }) else { throw failure(diagnostics) }
        return fragment
    }

    /// Validates and compiles a document attached at `scope`.
    public func load(_ document: PolicyDocument, scope: PolicyScope, fragments: PolicyFragments = PolicyFragments())
        throws(PolicyLoadError) -> ScopedPolicy
    {
        let context = PolicyParsingContext(
            compiler: compiler, skipUnsupportedPolicies: options.skipUnsupportedPolicies, scope: scope,
            maximumDepth: options.limits.maximumElementDepth)
        let inliner = FragmentInliner(fragments: fragments)
        var sections: [PolicySection: [PolicyStatement]] = [:]
        for section in PolicySection.allCases {
            guard let element = document.sections[section] else { continue }
            let elements = inliner.inline(element.childElements, context: context)
            let statements = context.statements(elements, section: section, parentPath: "", allowsBase: true)
            let bases = statements.filter { if case .base = $0.policy { true } else { false } }
            for extra in bases.dropFirst() {
                context.error(at: extra.position, "'<base/>' may appear at most once in '<\(section)>'")
            }
            for name in oncePerSectionPolicies {
                for extra in statements.filter({ $0.name == name }).dropFirst() {
                    context.error(at: extra.position, "'<\(name)>' may appear at most once in '<\(section)>'")
                }
            }
            sections[section] = statements
        }
        guard context.errorCount == 0 else { throw failure(context.diagnostics) }
        return ScopedPolicy(
            scope: scope, file: document.file, sections: sections, warnings: context.diagnostics.map(redacted),
            secrets: options.namedValues.secrets)
    }

    /// Reads, validates and compiles a `<policies>` document in one step.
    public func load(_ text: String, file: String, scope: PolicyScope, fragments: PolicyFragments = PolicyFragments())
        throws(PolicyLoadError) -> ScopedPolicy
    {
        try load(readDocument(text, file: file), scope: scope, fragments: fragments)
    }

    /// Checks a fragment's statements on their own (no section is known, so section rules are not applied).
    func check(_ fragment: PolicyFragment, fragments: PolicyFragments) -> [PolicyDiagnostic] {
        let context = PolicyParsingContext(
            compiler: compiler, skipUnsupportedPolicies: options.skipUnsupportedPolicies, scope: .global,
            maximumDepth: options.limits.maximumElementDepth)
        let elements = FragmentInliner(fragments: fragments).inline(fragment.statements, context: context, including: [fragment.id])
        _ = context.statements(elements, section: nil, parentPath: "", allowsBase: false)
        return context.diagnostics.map(redacted)
    }

    // MARK: Internals

    /// Reads the root element; named-value problems are reported but do not stop the read.
    func readRoot(_ text: String, file: String, diagnostics: inout [PolicyDiagnostic]) -> PolicyXMLElement? {
        let limit = options.limits.maximumBytes
        guard text.utf8.count <= limit else {
            diagnostics.append(
                PolicyDiagnostic(at: SourcePosition(file: file, line: 1, column: 1), "policy document is \(text.utf8.count) bytes; the limit is \(limit)"))
            return nil
        }
        var unknown: [(offset: Int, name: String)] = []
        let source = SourceText.substituting(
            file: file, text: text, namedValues: options.namedValues, maximumBytes: limit, unknownNames: &unknown)
        guard source.bytes.count <= limit else {
            diagnostics.append(
                PolicyDiagnostic(
                    at: SourcePosition(file: file, line: 1, column: 1),
                    "policy document is over the limit of \(limit) bytes once named values are substituted"))
            return nil
        }
        let root: PolicyXMLElement?
        var readError: PolicyDiagnostic? = nil
        do {
            root = try PolicyXMLReader.read(source, limits: options.limits)
        } catch {
            root = nil
            readError = error
        }
        if !options.allowUnknownNamedValues {
            // `{{name}}` inside a liquid template is the template's when no named value has that name.
            let liquid = unknown.isEmpty ? nil : root.map { SetBodyPolicy.LiquidTemplateStretches(root: $0, source: source) }
            for (offset, name) in unknown {
                let position = source.position(originalOffset: offset)
                if liquid?.contains(position) == true { continue }
                diagnostics.append(PolicyDiagnostic(at: position, "unknown named value '{{\(name)}}'"))
            }
        }
        if let readError { diagnostics.append(readError) }
        return root
    }

    func redacted(_ diagnostic: PolicyDiagnostic) -> PolicyDiagnostic {
        PolicyDiagnostic(diagnostic.severity, at: diagnostic.position, options.namedValues.redact(diagnostic.message))
    }

    private func failure(_ diagnostics: [PolicyDiagnostic]) -> PolicyLoadError {
        PolicyLoadError(diagnostics: diagnostics.map(redacted))
    }
}
