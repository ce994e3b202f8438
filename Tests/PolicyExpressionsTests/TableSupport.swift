import Testing
@testable import PolicyExpressions

/// Expectation notation for the tables:
/// - a rendered value (see `render`), e.g. `i:3`, `s:abc`, `True`, `null`, `[s:a,s:b]`;
/// - `!L:C text` — a compile error at line L, column C whose message contains `text`;
/// - `^ExceptionType` — a runtime .NET exception (optionally `^Type: message-substring`).
func check(_ source: String, _ expected: String, kind: ExpressionKind = .expression,
           context: ContextDouble? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
    let compiled: CompiledExpression
    do {
        compiled = try TestContext.compiler.compile(source, kind: kind)
    } catch {
        guard expected.hasPrefix("!") else {
            Issue.record("\(source): unexpected compile error \(error)", sourceLocation: sourceLocation)
            return
        }
        let spec = expected.dropFirst()
        let position = spec.prefix { $0 != " " }
        let text = spec.dropFirst(position.count).trimmingCharacters(in: .whitespaces)
        #expect("\(error.line):\(error.column)" == position, "\(source): \(error)", sourceLocation: sourceLocation)
        if !text.isEmpty { #expect(error.message.contains(text), "\(source): \(error)", sourceLocation: sourceLocation) }
        return
    }
    guard !expected.hasPrefix("!") else {
        Issue.record("\(source): compiled but expected \(expected)", sourceLocation: sourceLocation)
        return
    }
    do {
        let value = try compiled.evaluate(context: context ?? TestContext.make(), iterationBudget: 100_000)
        #expect(render(value) == expected, "\(source)", sourceLocation: sourceLocation)
    } catch {
        guard expected.hasPrefix("^") else {
            Issue.record("\(source): unexpected runtime error \(error)", sourceLocation: sourceLocation)
            return
        }
        let spec = expected.dropFirst()
        if let colon = spec.firstIndex(of: ":") {
            #expect(error.exceptionType == spec[..<colon], "\(source): \(error)", sourceLocation: sourceLocation)
            let text = spec[spec.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            #expect(error.message.contains(text), "\(source): \(error)", sourceLocation: sourceLocation)
        } else {
            #expect(error.exceptionType == spec, "\(source): \(error)", sourceLocation: sourceLocation)
        }
    }
}
