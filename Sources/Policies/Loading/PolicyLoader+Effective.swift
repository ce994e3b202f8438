/// Conveniences for the configuration layer and the CLI (`drawbridge policy effective`).
extension PolicyLoader {
    /// A policy document's text and the scope it is attached at.
    public struct ScopedText: Sendable {
        public let scope: PolicyScope
        public let file: String
        public let text: String

        public init(scope: PolicyScope, file: String, text: String) {
            self.scope = scope
            self.file = file
            self.text = text
        }
    }

    /// A fragment's text and its id (the name `<include-fragment fragment-id>` uses).
    public struct FragmentText: Sendable {
        public let id: String
        public let file: String
        public let text: String

        public init(id: String, file: String, text: String) {
            self.id = id
            self.file = file
            self.text = text
        }
    }

    /// Reads every fragment, reporting the problems of all of them together.
    public func fragments(_ texts: [FragmentText]) throws(PolicyLoadError) -> PolicyFragments {
        var fragments: [PolicyFragment] = []
        var diagnostics: [PolicyDiagnostic] = []
        for text in texts {
            do {
                fragments.append(try readFragment(text.text, file: text.file, id: text.id))
            } catch {
                diagnostics += error.diagnostics
            }
        }
        guard diagnostics.isEmpty else { throw PolicyLoadError(diagnostics: diagnostics) }
        return PolicyFragments(fragments)
    }

    /// Loads the document of each scope (global → operation, any order) and merges them into the
    /// policy that runs. Problems of all documents are reported together; warnings are returned
    /// beside the result.
    public func effective(_ documents: [ScopedText], fragments: PolicyFragments = PolicyFragments()) throws(PolicyLoadError)
        -> (policy: EffectivePolicy, warnings: [PolicyDiagnostic])
    {
        var loaded: [ScopedPolicy] = []
        var diagnostics: [PolicyDiagnostic] = []
        for document in documents {
            do {
                let scoped = try load(document.text, file: document.file, scope: document.scope, fragments: fragments)
                loaded.append(scoped)
                diagnostics += scoped.warnings
            } catch {
                diagnostics += error.diagnostics
            }
        }
        guard !diagnostics.contains(where: { $0.severity == .error }) else { throw PolicyLoadError(diagnostics: diagnostics) }
        return (EffectivePolicy.merge(loaded), diagnostics)
    }
}
