import Foundation
import PolicyExpressions

/// An expression ready to run: the compiled form the loader produced (or one compiled here when the
/// loader ran without the context compiler).
struct RuntimeExpression: Sendable {
    let compiled: CompiledExpression
    let source: PolicyExpressionSource

    static func make(_ expression: PolicyExpression, compiler: ContextExpressionCompiler) throws(PolicyPipelineError) -> RuntimeExpression {
        if let compiled = expression.compiled as? ContextCompiledExpression {
            return RuntimeExpression(compiled: compiled.compiled, source: expression.source)
        }
        do {
            guard let compiled = try compiler.compile(expression.source, expecting: expression.resultType) as? ContextCompiledExpression else {
                throw PolicyExpressionCompileError("internal: unexpected compiled form")
            }
            return RuntimeExpression(compiled: compiled.compiled, source: expression.source)
        } catch let error as PolicyExpressionCompileError {
            let position = expression.source.position(atSourceOffset: error.sourceOffset ?? 0)
            throw PolicyPipelineError([PolicyDiagnostic(at: position, "expression error: \(error.message)")])
        } catch {
            throw PolicyPipelineError([PolicyDiagnostic(at: expression.source.position, "expression error: \(error)")])
        }
    }
}

/// A policy setting as the executor holds it: a constant, or an expression plus a conversion of its
/// value to what the policy needs.
enum RuntimeParameter<T: Sendable>: Sendable {
    case constant(T)
    case expression(RuntimeExpression)

    static func make(_ parameter: PolicyParameter<T>, compiler: ContextExpressionCompiler) throws(PolicyPipelineError) -> RuntimeParameter<T> {
        switch parameter {
        case .constant(let value): return .constant(value)
        case .expression(let expression): return .expression(try RuntimeExpression.make(expression, compiler: compiler))
        }
    }

    /// What the parameter's expression reads (nothing for a constant), from the expression binder.
    var uses: ExpressionUses {
        if case .expression(let expression) = self { return expression.compiled.uses }
        return ExpressionUses()
    }
}

/// Turning expression values into policy inputs, the way APIM converts them.
enum ValueConversion {
    /// `ToString()` of a value: evaluated by a one-off expression so that .NET formatting rules
    /// (numbers, dates, JSON) stay in the expression library.
    static let toStringExpression: CompiledExpression? = try? ExpressionCompiler(
        model: TypeModel(contextType: ValueHolder.type)
    ).compile("context.Value == null ? \"\" : context.Value.ToString()")

    static func string(_ value: Value) -> String {
        switch value {
        case .null: return ""
        case .string(let text): return text
        case .bool(let flag): return flag ? "True" : "False"
        case .int(let number): return String(number)
        case .long(let number): return String(number)
        default:
            if let expression = toStringExpression,
                case .string(let text)? = try? expression.evaluate(context: ValueHolder(value))
            {
                return text
            }
            return String(describing: value)
        }
    }

    static func bool(_ value: Value) -> Bool? {
        switch value {
        case .bool(let flag): return flag
        case .string(let text):
            switch ASCII.trimmingWhitespace(text).lowercased() {
            case "true": return true
            case "false": return false
            default: return nil
            }
        default: return nil
        }
    }

    static func int(_ value: Value) -> Int? {
        switch value {
        case .int(let number): return Int(number)
        case .long(let number): return Int(exactly: number)
        case .ulong(let number): return Int(exactly: number)
        case .string(let text): return Int(ASCII.trimmingWhitespace(text))
        default: return nil
        }
    }

    static func bytes(_ value: Value) -> [UInt8] {
        if let bytes = value.bytesValue { return bytes }
        return Array(string(value).utf8)
    }
}

/// The `context` of the one-off `ToString()` expression.
final class ValueHolder: HostObject, @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
    var hostType: HostType { Self.type }
    static let type = HostType(name: "ValueHolder", members: [
        .property("Value", .object, of: ValueHolder.self) { $0.value },
    ])
}
