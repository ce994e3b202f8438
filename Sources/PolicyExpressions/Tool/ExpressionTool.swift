/// `drawbridge expr eval '<expr>' [--context sample.json]` as a library function (the CLI prints its output).
public enum ExpressionTool {
    public struct Output: Sendable, Equatable {
        public let text: String
        public let succeeded: Bool
    }

    /// Compiles `source` (a `@( )` expression, or a `@{ }` block when it starts with `{`… or `kind` says so)
    /// against the sample context and evaluates it. Errors come back as text with a caret under the column.
    public static func evaluate(_ source: String, contextJSON: String? = nil, kind: ExpressionKind? = nil) -> Output {
        let context: SampleContext
        do {
            context = try SampleContext(json: contextJSON ?? "{}")
        } catch {
            return Output(text: "error: \(error)", succeeded: false)
        }
        var text = source
        var resolvedKind = kind ?? .expression
        // Accept the policy spelling too: `@(…)` and `@{…}`.
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if kind == nil, trimmed.hasPrefix("@("), trimmed.hasSuffix(")") {
            text = String(trimmed.dropFirst(2).dropLast())
        } else if kind == nil, trimmed.hasPrefix("@{"), trimmed.hasSuffix("}") {
            text = String(trimmed.dropFirst(2).dropLast())
            resolvedKind = .block
        }
        let compiler = ExpressionCompiler(model: SampleContext.typeModel)
        do {
            let compiled = try compiler.compile(text, kind: resolvedKind)
            do {
                let value = try compiled.evaluate(context: context)
                return Output(text: display(value, type: compiled.resultType), succeeded: true)
            } catch {
                return Output(text: "ExpressionValueEvaluationFailure: \(error.exceptionType): \(error.message)", succeeded: false)
            }
        } catch {
            return Output(text: caret(error, in: text), succeeded: false)
        }
    }

    /// `1:17: message` followed by the offending line and a caret under the column.
    public static func caret(_ error: ExpressionCompileError, in source: String) -> String {
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
        let line = error.line - 1 < lines.count ? String(lines[error.line - 1]) : ""
        let indent = String(line.prefix(max(0, error.column - 1)).map { $0 == "\t" ? "\t" : " " })
        return "error: \(error)\n  \(line)\n  \(indent)^"
    }

    /// The value as C# would show it, with its static type: `"text" (string)`, `42 (int)`, `null`.
    public static func display(_ value: Value, type: ExpressionType) -> String {
        switch value {
        case .null: return "null"
        case .string(let s): return "\"\(s)\" (\(type))"
        case .json(let token): return JsonWriter.write(token, indented: true) + " (\(type))"
        case .list(let box): return "[" + box.items.map { display($0, type: .object) }.joined(separator: ", ") + "] (\(type))"
        default: return Formatting.toString(value) + " (\(type))"
        }
    }
}
