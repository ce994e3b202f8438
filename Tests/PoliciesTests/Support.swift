import Foundation
import Testing

@testable import Policies

/// A stand-in for the expression language: records every expression the loader hands it, and
/// fails on sources containing `FAIL` (reporting the offset of that word) so error mapping can be tested.
final class RecordingCompiler: PolicyExpressionCompiling, @unchecked Sendable {
    struct Compiled: CompiledPolicyExpression {
        let source: String
    }

    struct Call: Sendable {
        let source: String
        let kind: PolicyExpressionKind
        let position: SourcePosition
        let resultType: PolicyExpressionResultType
    }

    private let lock = NSLock()
    private var recorded: [Call] = []

    var calls: [Call] { lock.withLock { recorded } }

    func compile(_ expression: PolicyExpressionSource, expecting resultType: PolicyExpressionResultType) throws
        -> any CompiledPolicyExpression
    {
        lock.withLock {
            recorded.append(Call(source: expression.source, kind: expression.kind, position: expression.position, resultType: resultType))
        }
        if let range = expression.source.range(of: "FAIL") {
            let offset = expression.source.utf8.distance(from: expression.source.startIndex, to: range.lowerBound)
            throw PolicyExpressionCompileError("cannot compile FAIL", sourceOffset: offset)
        }
        return Compiled(source: expression.source)
    }
}

/// Reads XML through the same path the loader uses (named values substituted first).
func readXML(_ text: String, file: String = "test.xml", namedValues: [NamedValue] = []) throws(PolicyLoadError) -> PolicyXMLElement {
    try PolicyLoader(options: PolicyLoadOptions(namedValues: NamedValues(namedValues))).readXML(text, file: file)
}

/// The diagnostics of a read that must fail.
func readErrors(_ text: String, file: String = "test.xml", namedValues: [NamedValue] = [], limits: PolicyReaderLimits = PolicyReaderLimits()) -> [String] {
    do {
        _ = try PolicyLoader(options: PolicyLoadOptions(namedValues: NamedValues(namedValues), limits: limits)).readXML(text, file: file)
        return []
    } catch {
        return error.diagnostics.map(\.description)
    }
}

/// Wraps statements in an inbound section (or the given one).
func policies(_ statements: String, section: PolicySection = .inbound) -> String {
    "<policies><\(section)>\(statements)</\(section)></policies>"
}

/// Loads one document and returns the statements of `section`, or the load's diagnostics.
func load(
    _ text: String, section: PolicySection = .inbound, scope: PolicyScope = .api, options: PolicyLoadOptions = PolicyLoadOptions(),
    compiler: (any PolicyExpressionCompiling)? = nil, fragments: PolicyFragments = PolicyFragments()
) -> Result<[PolicyStatement], PolicyLoadError> {
    do {
        let scoped = try PolicyLoader(options: options, compiler: compiler).load(text, file: "test.xml", scope: scope, fragments: fragments)
        return .success(scoped.statements(in: section))
    } catch {
        return .failure(error)
    }
}

/// The single statement of `statement` placed in `section`; records an issue on failure.
func loadOne(_ statement: String, section: PolicySection = .inbound, compiler: (any PolicyExpressionCompiling)? = nil) -> Policy? {
    switch load(policies(statement, section: section), section: section, compiler: compiler) {
    case .success(let statements):
        #expect(statements.count == 1)
        return statements.first?.policy
    case .failure(let error):
        Issue.record("unexpected load failure:\n\(error)")
        return nil
    }
}

/// The error messages (`file:line:col: message`) of a statement that must fail to load.
func loadErrors(_ statement: String, section: PolicySection = .inbound) -> [String] {
    switch load(policies(statement, section: section), section: section) {
    case .success:
        return []
    case .failure(let error):
        return error.diagnostics.map(\.description)
    }
}

/// The seed document's ```xml blocks, verbatim.
func seedSnippets() throws -> [String] {
    let directory = URL(fileURLWithPath: "/work/shared/seed")
    var snippets: [String] = []
    for name in try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() where name.hasSuffix(".txt") {
        let text = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
        var rest = text[...]
        while let start = rest.range(of: "```xml\n") {
            guard let end = rest[start.upperBound...].range(of: "```") else { break }
            snippets.append(String(rest[start.upperBound..<end.lowerBound]))
            rest = rest[end.upperBound...]
        }
    }
    return snippets
}
