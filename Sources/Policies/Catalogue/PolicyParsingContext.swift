/// State shared while the statements of one document are validated: the diagnostics found so far,
/// the expression compiler, and the options. Lives for one load on one thread.
final class PolicyParsingContext {
    let compiler: (any PolicyExpressionCompiling)?
    let skipUnsupportedPolicies: Bool
    let scope: PolicyScope
    /// Bounds nesting once fragments are inlined (a fragment can sit deep inside another's tree).
    let maximumDepth: Int
    private var depth = 0
    private(set) var diagnostics: [PolicyDiagnostic] = []

    init(compiler: (any PolicyExpressionCompiling)?, skipUnsupportedPolicies: Bool, scope: PolicyScope, maximumDepth: Int) {
        self.compiler = compiler
        self.skipUnsupportedPolicies = skipUnsupportedPolicies
        self.scope = scope
        self.maximumDepth = maximumDepth
    }

    func error(at position: SourcePosition, _ message: String) {
        diagnostics.append(PolicyDiagnostic(.error, at: position, message))
    }

    func warning(at position: SourcePosition, _ message: String) {
        diagnostics.append(PolicyDiagnostic(.warning, at: position, message))
    }

    var errorCount: Int { diagnostics.lazy.filter { $0.severity == .error }.count }

    /// Compiles through the seam; a failure becomes a diagnostic at the exact place in the file.
    func compile(_ source: PolicyExpressionSource, expecting resultType: PolicyExpressionResultType) -> PolicyExpression? {
        guard let compiler else { return PolicyExpression(source: source, compiled: nil, resultType: resultType) }
        do {
            let compiled = try compiler.compile(source, expecting: resultType)
            return PolicyExpression(source: source, compiled: compiled, resultType: resultType)
        } catch let error as PolicyExpressionCompileError {
            let position = error.sourceOffset.map { source.position(atSourceOffset: $0) } ?? source.position
            self.error(at: position, error.message)
        } catch let diagnostic as PolicyDiagnostic {
            diagnostics.append(diagnostic)
        } catch {
            self.error(at: source.position, "\(error)")
        }
        return nil
    }

    /// Reports a policy Drawbridge does not implement: an error, or a warning when the operator
    /// chose to skip unsupported policies (the element is then left out).
    func unsupported(_ element: PolicyXMLElement) {
        let what: String
        if PolicyCatalogue.knownUnsupported.contains(element.name) {
            what = "the policy '<\(element.name)>' is not supported by Drawbridge"
        } else if let suggestion = PolicyCatalogue.suggestion(for: element.name) {
            what = "unknown policy element '<\(element.name)>' (did you mean '<\(suggestion)>'?)"
        } else {
            what = "unknown policy element '<\(element.name)>'"
        }
        if skipUnsupportedPolicies {
            warning(at: element.position, "\(what); skipped (skipUnsupportedPolicies)")
        } else {
            error(at: element.position, what)
        }
    }

    /// Validates and types a list of sibling statements.
    /// - Parameters:
    ///   - allowsBase: true only directly inside a section of a `<policies>` document.
    ///   - section: nil when the section is not known (a fragment checked on its own).
    func statements(_ elements: [PolicyXMLElement], section: PolicySection?, parentPath: String, allowsBase: Bool) -> [PolicyStatement] {
        depth += 1
        defer { depth -= 1 }
        if depth > maximumDepth, let first = elements.first {
            error(at: first.position, "policies are nested deeper than \(maximumDepth) levels (included fragments count)")
            return []
        }
        var counts: [String: Int] = [:]
        var statements: [PolicyStatement] = []
        for element in elements {
            counts[element.name, default: 0] += 1
            let step = "\(element.name)[\(counts[element.name, default: 1])]"
            let path = parentPath.isEmpty ? step : "\(parentPath)/\(step)"
            if let statement = statement(element, section: section, path: path, allowsBase: allowsBase) {
                statements.append(statement)
            }
        }
        return statements
    }

    private func statement(_ element: PolicyXMLElement, section: PolicySection?, path: String, allowsBase: Bool) -> PolicyStatement? {
        let id = element.attribute("id")?.value.literal
        func made(_ policy: Policy) -> PolicyStatement {
            PolicyStatement(policy: policy, name: element.name, id: id, path: path, scope: scope, position: element.position, element: element)
        }
        if element.name == "base" {
            guard allowsBase else {
                error(at: element.position, "'<base/>' is only allowed directly inside '<inbound>', '<backend>', '<outbound>' or '<on-error>'")
                return nil
            }
            let reader = PolicyElementReader(element: element, schema: PolicySchema("base"), context: self, section: section, path: path)
            return reader.isValid ? made(.base) : nil
        }
        guard let definition = PolicyCatalogue.byName[element.name] else {
            unsupported(element)
            return nil
        }
        let schema = definition.schema
        if let section, schema.sections.isEmpty {
            error(at: element.position, "'<\(element.name)>' is a GraphQL resolver policy: it is the root element of a resolver document "
                + "(an API's 'graphql.resolvers'), not a statement of '<\(section)>'")
            return nil
        }
        if let section, !schema.sections.contains(section) {
            let allowed = PolicySection.allCases.filter { schema.sections.contains($0) }.map { "'<\($0)>'" }
            error(at: element.position, "the policy '<\(element.name)>' is not allowed in '<\(section)>'; it is allowed in \(allowed.joined(separator: ", "))")
            return nil
        }
        let reader = PolicyElementReader(element: element, schema: schema, context: self, section: section, path: path)
        // Parse even when attributes were wrong, so errors in nested statements are reported too.
        let policy = definition.parse(reader)
        guard reader.isValid, let policy else { return nil }
        return made(policy)
    }
}
