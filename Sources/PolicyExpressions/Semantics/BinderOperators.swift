import Foundation

/// Unary, binary, assignment and increment operators with C# typing and .NET runtime semantics
/// (unchecked integer arithmetic wraps, integer division truncates, string equality is ordinal).
extension Binder {
    /// Binary numeric promotion (C# spec §12.4.7.3).
    func promote(_ a: ExpressionType, _ b: ExpressionType) -> ExpressionType? {
        let x = a.underlyingNonNullable, y = b.underlyingNonNullable
        guard x.isNumeric, y.isNumeric else { return nil }
        if x == .decimal || y == .decimal {
            if [x, y].contains(.double) || [x, y].contains(.float) { return nil }
            return .decimal
        }
        if x == .double || y == .double { return .double }
        if x == .float || y == .float { return .float }
        if x == .ulong || y == .ulong { return .ulong }
        if x == .long || y == .long { return .long }
        if x == .uint || y == .uint {
            let small: Set<ExpressionType> = [.uint, .byte, .char]
            if small.contains(x) && small.contains(y) { return .uint }
            return .long
        }
        return .int
    }

    func bindUnary(_ op: String, _ operand: Bound, at offset: Int) throws -> Bound {
        let eval = operand.eval
        let type = operand.type.underlyingNonNullable
        let lifted = operand.type.isNullableValue
        func wrap(_ result: ExpressionType, _ f: @escaping @Sendable (Value) throws -> Value) -> Bound {
            if let constant = operand.constant, let folded = try? f(constant) { return .constant(folded, result) }
            return Bound(lifted ? .nullable(result) : result) { frame in
                let value = try eval(frame)
                if case .null = value { return .null }
                return try f(value)
            }
        }
        switch op {
        case "!":
            guard type == .bool else { throw error("operator '!' cannot be applied to operand of type '\(operand.type)'", at: offset) }
            return wrap(.bool) { value in if case .bool(let b) = value { return .bool(!b) }; return value }
        case "-", "+":
            if type == .timeSpan {
                return wrap(.timeSpan) { value in
                    guard case .timeSpan(let t) = value else { return value }
                    if op == "+" { return value }
                    guard t.ticks != Int64.min else { throw ExpressionRuntimeError.overflow("Negating the minimum value of a twos complement number is invalid.") }
                    return .timeSpan(TimeSpanValue(ticks: -t.ticks))
                }
            }
            guard var result = promote(type, .int) else {
                throw error("operator '\(op)' cannot be applied to operand of type '\(operand.type)'", at: offset)
            }
            if op == "-" && result == .uint { result = .long }
            if op == "-" && result == .ulong { throw error("operator '-' cannot be applied to operand of type 'ulong'", at: offset) }
            let target = result
            return wrap(target) { value in
                let promoted = try Conversions.numericCast(value, to: target, checked: false)
                if op == "+" { return promoted }
                switch promoted {
                case .int(let i): return .int(0 &- i)
                case .long(let l): return .long(0 &- l)
                case .double(let d): return .double(-d)
                case .decimal(let d): return .decimal(-d)
                default: return promoted
                }
            }
        case "~":
            guard let result = promote(type, .int), result.isIntegral else {
                throw error("operator '~' cannot be applied to operand of type '\(operand.type)'", at: offset)
            }
            return wrap(result) { value in
                switch try Conversions.numericCast(value, to: result, checked: false) {
                case .int(let i): return .int(~i)
                case .long(let l): return .long(result == .uint ? Int64(~UInt32(truncatingIfNeeded: l)) : ~l)
                case .ulong(let u): return .ulong(~u)
                case let other: return other
                }
            }
        default:
            throw error("unsupported operator '\(op)'", at: offset)
        }
    }

    func bindBinary(_ op: String, _ leftExpr: Expr, _ rightExpr: Expr, at offset: Int) throws -> Bound {
        let left = try bindValue(leftExpr)
        let right = try bindValue(rightExpr)
        return try bindBinary(op, left, right, at: offset, rightOffset: rightExpr.offset)
    }

    func bindBinary(_ op: String, _ left: Bound, _ right: Bound, at offset: Int, rightOffset: Int) throws -> Bound {
        let l = left.eval, r = right.eval
        let lt = left.type, rt = right.type
        func fail() -> PositionedError {
            error("operator '\(op)' cannot be applied to operands of type '\(lt)' and '\(rt)'", at: offset)
        }
        switch op {
        case "&&", "||":
            guard lt == .bool, rt == .bool else { throw fail() }
            if op == "&&" {
                return Bound(.bool) { frame in
                    guard case .bool(true) = try l(frame) else { return .bool(false) }
                    return try r(frame)
                }
            }
            return Bound(.bool) { frame in
                if case .bool(true) = try l(frame) { return .bool(true) }
                return try r(frame)
            }
        case "??":
            guard !lt.isValueType || lt.isNullableValue || lt == .null else {
                throw error("operator '??' cannot be applied to operands of type '\(lt)' and '\(rt)'", at: offset)
            }
            var resultType: ExpressionType
            let underlying = lt.underlyingNonNullable
            if Conversions.implicitScore(from: rt, to: underlying) != nil, lt != .null {
                resultType = rt.isNullableValue || rt == .null ? lt : underlying
            } else if Conversions.implicitScore(from: lt, to: rt) != nil {
                resultType = rt
            } else {
                throw fail()
            }
            if resultType == .null { resultType = .object }
            let convertedRight = try convert(right, to: resultType, at: rightOffset).eval
            let converter = Conversions.implicitConverter(from: underlying, to: resultType)
            return Bound(resultType) { frame in
                let value = try l(frame)
                if case .null = value { return try convertedRight(frame) }
                return try converter?(value) ?? value
            }
        case "==", "!=":
            return try bindEquality(op == "!=", left, right, at: offset)
        case "<", ">", "<=", ">=":
            return try bindComparison(op, left, right, at: offset)
        case "+":
            if lt == .string || rt == .string {
                if lt == .void || rt == .void { throw fail() }
                if let a = left.constant?.stringValue, let b = right.constant?.stringValue { return .constant(.string(a + b), .string) }
                let ls = try Library.formatter(for: lt, format: nil), rs = try Library.formatter(for: rt, format: nil)
                return Bound(.string) { frame in
                    let a = try l(frame), b = try r(frame)
                    return .string(try Library.concat(try ls(a), try rs(b)))
                }
            }
            if let temporal = try bindTemporal(op, left, right) { return temporal }
            return try bindArithmetic(op, left, right, at: offset)
        case "-":
            if let temporal = try bindTemporal(op, left, right) { return temporal }
            return try bindArithmetic(op, left, right, at: offset)
        case "*", "/", "%":
            return try bindArithmetic(op, left, right, at: offset)
        case "&", "|", "^":
            if lt.underlyingNonNullable == .bool && rt.underlyingNonNullable == .bool {
                return Bound(.bool) { frame in
                    guard case .bool(let a) = try l(frame), case .bool(let b) = try r(frame) else { return .null }
                    switch op {
                    case "&": return .bool(a && b)
                    case "|": return .bool(a || b)
                    default: return .bool(a != b)
                    }
                }
            }
            if case .enumeration(let e) = lt, lt == rt {
                return Bound(lt) { frame in
                    guard case .enumeration(let a, _) = try l(frame), case .enumeration(let b, _) = try r(frame) else { return .null }
                    switch op {
                    case "&": return .enumeration(a & b, e)
                    case "|": return .enumeration(a | b, e)
                    default: return .enumeration(a ^ b, e)
                    }
                }
            }
            return try bindArithmetic(op, left, right, at: offset)
        case "<<", ">>":
            guard let shifted = promote(lt, .int), shifted.isIntegral, promote(rt, .int) == .int else { throw fail() }
            return try foldable(Bound(shifted) { frame in
                let a = try Conversions.numericCast(try l(frame), to: shifted, checked: false)
                let count = try Conversions.toInt64(try r(frame))
                switch a {
                case .int(let i): return .int(op == "<<" ? i << (count & 31) : i >> (count & 31))
                case .long(let v):
                    if shifted == .uint {
                        let u = UInt32(truncatingIfNeeded: v)
                        return .long(Int64(op == "<<" ? u << (count & 31) : u >> (count & 31)))
                    }
                    return .long(op == "<<" ? v << (count & 63) : v >> (count & 63))
                case .ulong(let u): return .ulong(op == "<<" ? u << (count & 63) : u >> (count & 63))
                default: return a
                }
            }, left, right)
        default:
            throw error("unsupported operator '\(op)'", at: offset)
        }
    }

    /// Folds an operator applied to two constants (so `-1`, `1 << 4`, `"a" + "b"` are constants).
    /// Like C#, constant integer overflow and constant division by zero are compile-time errors.
    private func foldable(_ bound: Bound, _ left: Bound, _ right: Bound, op: String = "", at offset: Int = 0) throws -> Bound {
        guard let a = left.constant, let b = right.constant else { return bound }
        switch (bound.type, op, a, b) {
        case (.int, "/", _, .int(0)), (.int, "%", _, .int(0)), (.long, "/", _, .long(0)), (.long, "%", _, .long(0)),
             (.decimal, "/", _, _) where Conversions.isZero(b), (.decimal, "%", _, _) where Conversions.isZero(b),
             (.long, "/", _, .int(0)), (.long, "%", _, .int(0)), (.int, "/", _, .long(0)):
            throw error("division by constant zero", at: offset)
        case _ where Binder.constantOverflows(op, bound.type == .long ? .long((try? Conversions.toInt64(a)) ?? 0) : a,
                                              bound.type == .long ? .long((try? Conversions.toInt64(b)) ?? 0) : b):
            throw error("the operation overflows at compile time in checked mode", at: offset)
        default:
            break
        }
        let slots = UnsafeMutablePointer<Value>.allocate(capacity: 1)
        let state = UnsafeMutablePointer<FrameState>.allocate(capacity: 1)
        defer { slots.deallocate(); state.deallocate() }
        state.initialize(to: FrameState(budget: 0))
        guard let value = try? bound.eval(Frame(slots: slots, context: .null, state: state)) else { return bound }
        return .constant(value, bound.type)
    }

    static func constantOverflows(_ op: String, _ a: Value, _ b: Value) -> Bool {
        func check<T: FixedWidthInteger & SignedInteger>(_ x: T, _ y: T) -> Bool {
            switch op {
            case "+": return x.addingReportingOverflow(y).overflow
            case "-": return x.subtractingReportingOverflow(y).overflow
            case "*": return x.multipliedReportingOverflow(by: y).overflow
            case "/", "%": return x == T.min && y == -1
            default: return false
            }
        }
        switch (a, b) {
        case (.int(let x), .int(let y)): return check(x, y)
        case (.long(let x), .long(let y)): return check(x, y)
        default: return false
        }
    }

    private func bindTemporal(_ op: String, _ left: Bound, _ right: Bound) throws -> Bound? {
        let l = left.eval, r = right.eval
        switch (left.type.underlyingNonNullable, right.type.underlyingNonNullable, op) {
        case (.dateTime, .timeSpan, _):
            return Bound(.dateTime) { frame in
                guard case .dateTime(let d) = try l(frame), case .timeSpan(let t) = try r(frame) else { return .null }
                return .dateTime(try d.adding(ticks: op == "+" ? t.ticks : try t.negated().ticks))
            }
        case (.timeSpan, .dateTime, "+"):
            return Bound(.dateTime) { frame in
                guard case .timeSpan(let t) = try l(frame), case .dateTime(let d) = try r(frame) else { return .null }
                return .dateTime(try d.adding(ticks: t.ticks))
            }
        case (.dateTime, .dateTime, "-"):
            return Bound(.timeSpan) { frame in
                guard case .dateTime(let a) = try l(frame), case .dateTime(let b) = try r(frame) else { return .null }
                return .timeSpan(TimeSpanValue(ticks: a.ticks &- b.ticks))  // both within 0...MaxTicks: cannot overflow
            }
        case (.dateTimeOffset, .dateTimeOffset, "-"):
            return Bound(.timeSpan) { frame in
                guard case .dateTimeOffset(let a) = try l(frame), case .dateTimeOffset(let b) = try r(frame) else { return .null }
                return .timeSpan(TimeSpanValue(ticks: a.utcTicks - b.utcTicks))
            }
        case (.dateTimeOffset, .timeSpan, _):
            return Bound(.dateTimeOffset) { frame in
                guard case .dateTimeOffset(let a) = try l(frame), case .timeSpan(let t) = try r(frame) else { return .null }
                return .dateTimeOffset(try a.adding(ticks: op == "+" ? t.ticks : try t.negated().ticks))
            }
        case (.timeSpan, .timeSpan, _):
            return Bound(.timeSpan) { frame in
                guard case .timeSpan(let a) = try l(frame), case .timeSpan(let b) = try r(frame) else { return .null }
                let (sum, overflow) = op == "+" ? a.ticks.addingReportingOverflow(b.ticks) : a.ticks.subtractingReportingOverflow(b.ticks)
                if overflow { throw ExpressionRuntimeError.overflow("TimeSpan overflowed because the duration is too long.") }
                return .timeSpan(TimeSpanValue(ticks: sum))
            }
        default:
            return nil
        }
    }

    private func bindArithmetic(_ op: String, _ left: Bound, _ right: Bound, at offset: Int) throws -> Bound {
        guard let type = promote(left.type, right.type) else {
            throw error("operator '\(op)' cannot be applied to operands of type '\(left.type)' and '\(right.type)'", at: offset)
        }
        if ["&", "|", "^"].contains(op) && !type.isIntegral {
            throw error("operator '\(op)' cannot be applied to operands of type '\(left.type)' and '\(right.type)'", at: offset)
        }
        let lifted = left.type.isNullableValue || right.type.isNullableValue || left.type == .null || right.type == .null
        let l = left.eval, r = right.eval
        let operation = Arithmetic.operation(op, type)
        let leftType = left.type.underlyingNonNullable, rightType = right.type.underlyingNonNullable
        let bound: Bound
        if type == .int && leftType == .int && rightType == .int && !lifted {
            // Fast path for the common int case.
            switch op {
            case "+": bound = Bound(.int) { frame in
                guard case .int(let a) = try l(frame), case .int(let b) = try r(frame) else { throw ExpressionRuntimeError.nullReference() }
                return .int(a &+ b)
            }
            case "-": bound = Bound(.int) { frame in
                guard case .int(let a) = try l(frame), case .int(let b) = try r(frame) else { throw ExpressionRuntimeError.nullReference() }
                return .int(a &- b)
            }
            case "*": bound = Bound(.int) { frame in
                guard case .int(let a) = try l(frame), case .int(let b) = try r(frame) else { throw ExpressionRuntimeError.nullReference() }
                return .int(a &* b)
            }
            default: bound = Bound(.int) { frame in try operation(try l(frame), try r(frame)) }
            }
        } else {
            bound = Bound(lifted ? .nullable(type) : type) { frame in
                let a = try l(frame), b = try r(frame)
                if a.isNull || b.isNull { return .null }
                return try operation(try Conversions.numericCast(a, to: type, checked: false), try Conversions.numericCast(b, to: type, checked: false))
            }
        }
        return try foldable(bound, left, right, op: op, at: offset)
    }

    private func bindEquality(_ negate: Bool, _ left: Bound, _ right: Bound, at offset: Int) throws -> Bound {
        let l = left.eval, r = right.eval
        let lt = left.type, rt = right.type
        // `x == null` / `x != null`: the commonest test in policies.
        if lt == .null || rt == .null {
            let other = lt == .null ? rt : lt
            if other.isValueType && !other.isNullableValue {
                // C# allows it (always false for ==) with a warning.
                return .constant(.bool(negate), .bool)
            }
            let operand = lt == .null ? r : l
            if negate {
                return Bound(.bool) { frame in
                    if case .null = try operand(frame) { return .bool(false) }
                    return .bool(true)
                }
            }
            return Bound(.bool) { frame in
                if case .null = try operand(frame) { return .bool(true) }
                return .bool(false)
            }
        }
        if lt == .string && rt == .string {
            if let constant = right.constant?.stringValue {
                return Bound(.bool) { frame in
                    if case .string(let s) = try l(frame) { return .bool((s == constant) != negate) }
                    return .bool(negate)
                }
            }
            return Bound(.bool) { frame in
                let a = try l(frame), b = try r(frame)
                switch (a, b) {
                case (.string(let x), .string(let y)): return .bool((x == y) != negate)
                case (.null, .null): return .bool(!negate)
                default: return .bool(negate)
                }
            }
        }
        let x = lt.underlyingNonNullable, y = rt.underlyingNonNullable
        if let numeric = promote(x, y) {
            let bound = Bound(.bool) { frame in
                let a = try l(frame), b = try r(frame)
                if a.isNull || b.isNull { return .bool((a.isNull && b.isNull) != negate) }
                let x = try Conversions.numericCast(a, to: numeric, checked: false)
                let y = try Conversions.numericCast(b, to: numeric, checked: false)
                // IEEE equality: NaN is unequal to everything, itself included.
                if case .double(let p) = x, case .double(let q) = y { return .bool((p == q) != negate) }
                let equal = try Arithmetic.compare(x, y) == 0
                return .bool(equal != negate)
            }
            return try foldable(bound, left, right)
        }
        let comparable: Bool
        switch (x, y) {
        case (.bool, .bool), (.char, .char), (.dateTime, .dateTime), (.timeSpan, .timeSpan), (.guid, .guid), (.dateTimeOffset, .dateTimeOffset):
            comparable = true
        case (.enumeration(let a), .enumeration(let b)):
            comparable = a == b
        default:
            // Reference equality for reference types that convert to one another.
            comparable = !x.isValueType && !y.isValueType
                && (Conversions.implicitScore(from: x, to: y) != nil || Conversions.implicitScore(from: y, to: x) != nil)
        }
        guard comparable else {
            throw error("operator '\(negate ? "!=" : "==")' cannot be applied to operands of type '\(lt)' and '\(rt)'", at: offset)
        }
        return Bound(.bool) { frame in
            .bool(Arithmetic.equals(try l(frame), try r(frame)) != negate)
        }
    }

    private func bindComparison(_ op: String, _ left: Bound, _ right: Bound, at offset: Int) throws -> Bound {
        let l = left.eval, r = right.eval
        let x = left.type.underlyingNonNullable, y = right.type.underlyingNonNullable
        let numeric = promote(x, y)
        if numeric == nil {
            switch (x, y) {
            case (.dateTime, .dateTime), (.timeSpan, .timeSpan), (.dateTimeOffset, .dateTimeOffset): break
            case (.enumeration(let a), .enumeration(let b)) where a == b: break
            default:
                throw error("operator '\(op)' cannot be applied to operands of type '\(left.type)' and '\(right.type)'", at: offset)
            }
        }
        let test: @Sendable (Int) -> Bool
        switch op {
        case "<": test = { $0 < 0 }
        case ">": test = { $0 > 0 }
        case "<=": test = { $0 <= 0 }
        default: test = { $0 >= 0 }
        }
        if numeric == .int && left.type == .int && right.type == .int {
            return Bound(.bool) { frame in
                guard case .int(let a) = try l(frame), case .int(let b) = try r(frame) else { return .bool(false) }
                return .bool(test(a < b ? -1 : a == b ? 0 : 1))
            }
        }
        let bound = Bound(.bool) { frame in
            var a = try l(frame), b = try r(frame)
            if a.isNull || b.isNull { return .bool(false) }
            if let numeric {
                a = try Conversions.numericCast(a, to: numeric, checked: false)
                b = try Conversions.numericCast(b, to: numeric, checked: false)
                if case .double(let p) = a, case .double(let q) = b, p.isNaN || q.isNaN { return .bool(false) }
            }
            return .bool(test(try Arithmetic.compare(a, b)))
        }
        return try foldable(bound, left, right)
    }

    // MARK: Assignment

    func bindAssignment(_ op: String, _ targetExpr: Expr, _ valueExpr: Expr, at offset: Int) throws -> Bound {
        let store = try bindStore(targetExpr)
        var value: Bound
        if op == "=" {
            value = try bindValue(valueExpr, convertingTo: store.type)
        } else if op == "??=" {
            let current = store.read
            let right = try bindValue(valueExpr, convertingTo: store.type)
            let r = right.eval
            value = Bound(store.type) { frame in
                let existing = try current(frame)
                return existing.isNull ? try r(frame) : existing
            }
        } else {
            let binaryOp = String(op.dropLast())
            let combined = try bindBinary(binaryOp, Bound(store.type, store.read), try bindValue(valueExpr), at: offset, rightOffset: valueExpr.offset)
            // Compound assignment casts back to the target type (`b += 1` on a byte).
            value = Conversions.implicitScore(from: combined.type, to: store.type) != nil
                ? try convert(combined, to: store.type, at: offset)
                : try bindCast(combined, to: store.type, at: offset)
        }
        let write = store.write
        let eval = value.eval
        return Bound(store.type) { frame in
            let v = try eval(frame)
            try write(frame, v)
            return v
        }
    }

    func bindIncrement(_ targetExpr: Expr, delta: Int, prefix: Bool, at offset: Int) throws -> Bound {
        let store = try bindStore(targetExpr)
        guard store.type.underlyingNonNullable.isNumeric || store.type == .char else {
            throw error("operator '\(delta > 0 ? "++" : "--")' cannot be applied to operand of type '\(store.type)'", at: offset)
        }
        let type = store.type.underlyingNonNullable
        let read = store.read, write = store.write
        let op = Arithmetic.operation(delta > 0 ? "+" : "-", promote(type, .int) ?? .int)
        let promoted = promote(type, .int) ?? .int
        return Bound(store.type) { frame in
            let old = try read(frame)
            if old.isNull { return .null }
            let sum = try op(try Conversions.numericCast(old, to: promoted, checked: false), try Conversions.numericCast(.int(1), to: promoted, checked: false))
            let new = try Conversions.numericCast(sum, to: type, checked: false)
            try write(frame, new)
            return prefix ? new : old
        }
    }

    struct Store {
        var type: ExpressionType
        var read: Eval
        var write: @Sendable (Frame, Value) throws -> Void
    }

    /// An assignable location: a local, a collection element or a JSON property.
    func bindStore(_ expr: Expr) throws -> Store {
        switch expr.kind {
        case .name(let name, _):
            guard let local = lookup(name) else {
                if name == "context" { throw error("property or indexer 'context' cannot be assigned to -- it is read only", at: expr.offset) }
                throw error("the name '\(name)' does not exist in the current context", at: expr.offset)
            }
            guard !constantSlots.contains(local.slot) else {
                throw error("the left-hand side of an assignment must be a variable, property or indexer ('\(name)' is a constant)", at: expr.offset)
            }
            let slot = local.slot
            return Store(type: local.type, read: { frame in frame.slots[slot] }, write: { frame, value in frame.slots[slot] = value })
        case .index(let receiverExpr, let arguments):
            let receiver = try bindValue(receiverExpr)
            return try Collections.indexStore(self, receiver, arguments, at: expr.offset)
        case .member(_, let name, _):
            throw error("property or indexer '\(name)' cannot be assigned to -- it is read only", at: expr.offset)
        default:
            throw error("the left-hand side of an assignment must be a variable, property or indexer", at: expr.offset)
        }
    }
}

/// Runtime arithmetic on promoted operands.
enum Arithmetic {
    static func operation(_ op: String, _ type: ExpressionType) -> @Sendable (Value, Value) throws -> Value {
        return { a, b in
            switch (a, b) {
            case (.int(let x), .int(let y)):
                switch op {
                case "+": return .int(x &+ y)
                case "-": return .int(x &- y)
                case "*": return .int(x &* y)
                case "/":
                    if y == 0 { throw ExpressionRuntimeError.divideByZero() }
                    if x == Int32.min && y == -1 { throw ExpressionRuntimeError.overflow() }
                    return .int(x / y)
                case "%":
                    if y == 0 { throw ExpressionRuntimeError.divideByZero() }
                    if y == -1 { return .int(0) }
                    return .int(x % y)
                case "&": return .int(x & y)
                case "|": return .int(x | y)
                case "^": return .int(x ^ y)
                default: break
                }
            case (.long(let x), .long(let y)):
                let wrap: (Int64) -> Value = { type == .uint ? .long(Int64(UInt32(truncatingIfNeeded: $0))) : .long($0) }
                switch op {
                case "+": return wrap(x &+ y)
                case "-": return wrap(x &- y)
                case "*": return wrap(x &* y)
                case "/":
                    if y == 0 { throw ExpressionRuntimeError.divideByZero() }
                    if x == Int64.min && y == -1 { throw ExpressionRuntimeError.overflow() }
                    return .long(x / y)
                case "%":
                    if y == 0 { throw ExpressionRuntimeError.divideByZero() }
                    if y == -1 { return .long(0) }
                    return .long(x % y)
                case "&": return .long(x & y)
                case "|": return .long(x | y)
                case "^": return .long(x ^ y)
                default: break
                }
            case (.ulong(let x), .ulong(let y)):
                switch op {
                case "+": return .ulong(x &+ y)
                case "-": return .ulong(x &- y)
                case "*": return .ulong(x &* y)
                case "/": if y == 0 { throw ExpressionRuntimeError.divideByZero() }; return .ulong(x / y)
                case "%": if y == 0 { throw ExpressionRuntimeError.divideByZero() }; return .ulong(x % y)
                case "&": return .ulong(x & y)
                case "|": return .ulong(x | y)
                case "^": return .ulong(x ^ y)
                default: break
                }
            case (.double(let x), .double(let y)):
                let result: Double
                switch op {
                case "+": result = x + y
                case "-": result = x - y
                case "*": result = x * y
                case "/": result = x / y
                case "%": result = x.truncatingRemainder(dividingBy: y)
                default: return .null
                }
                return .double(type == .float ? Double(Float(result)) : result)
            case (.decimal(let x), .decimal(let y)):
                var result: Decimal
                switch op {
                case "+": result = x + y
                case "-": result = x - y
                case "*": result = x * y
                case "/":
                    if y == 0 { throw ExpressionRuntimeError.divideByZero() }
                    result = x / y
                case "%":
                    if y == 0 { throw ExpressionRuntimeError.divideByZero() }
                    let quotient = NSDecimalNumber(decimal: x / y).rounding(accordingToBehavior: NSDecimalNumberHandler(
                        roundingMode: (x / y) < 0 ? .up : .down, scale: 0, raiseOnExactness: false, raiseOnOverflow: false,
                        raiseOnUnderflow: false, raiseOnDivideByZero: false)).decimalValue
                    result = x - quotient * y
                default: return .null
                }
                if result.isNaN || abs(NSDecimalNumber(decimal: result).doubleValue) > 7.9228162514264337593543950335e28 {
                    throw ExpressionRuntimeError.overflow("Value was either too large or too small for a Decimal.")
                }
                return .decimal(result)
            default:
                break
            }
            throw ExpressionRuntimeError.invalidOperation("unsupported operands for '\(op)'")
        }
    }

    /// Three-way comparison of two values of the same kind.
    static func compare(_ a: Value, _ b: Value) throws -> Int {
        func cmp<T: Comparable>(_ x: T, _ y: T) -> Int { x < y ? -1 : x == y ? 0 : 1 }
        switch (a, b) {
        case (.int(let x), .int(let y)): return cmp(x, y)
        case (.long(let x), .long(let y)): return cmp(x, y)
        case (.ulong(let x), .ulong(let y)): return cmp(x, y)
        case (.double(let x), .double(let y)):
            // .NET CompareTo: NaN is smallest and equal to itself.
            if x.isNaN || y.isNaN { return x.isNaN && y.isNaN ? 0 : x.isNaN ? -1 : 1 }
            return cmp(x, y)
        case (.decimal(let x), .decimal(let y)): return cmp(x, y)
        case (.char(let x), .char(let y)): return cmp(x, y)
        case (.dateTime(let x), .dateTime(let y)): return cmp(x.ticks, y.ticks)
        case (.dateTimeOffset(let x), .dateTimeOffset(let y)): return cmp(x.utcTicks, y.utcTicks)
        case (.timeSpan(let x), .timeSpan(let y)): return cmp(x.ticks, y.ticks)
        case (.string(let x), .string(let y)): return StringOps.cultureCompare(x, y)
        case (.bool(let x), .bool(let y)): return x == y ? 0 : (x ? 1 : -1)
        case (.enumeration(let x, _), .enumeration(let y, _)): return cmp(x, y)
        case (.guid(let x), .guid(let y)): return cmp(x.uuidString, y.uuidString)
        case (.null, .null): return 0
        case (.null, _): return -1
        case (_, .null): return 1
        case (.int, _), (.long, _), (.double, _), (.decimal, _), (.ulong, _), (.char, _):
            if let x = try? Conversions.toDouble(a), let y = try? Conversions.toDouble(b) { return cmp(x, y) }
        default: break
        }
        throw ExpressionRuntimeError.argument("At least one object must implement IComparable.")
    }

    /// .NET `Equals` semantics: value equality for value types and strings, reference equality otherwise.
    static func equals(_ a: Value, _ b: Value) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.null, _), (_, .null): return false
        case (.string(let x), .string(let y)): return x == y
        case (.bool(let x), .bool(let y)): return x == y
        case (.int(let x), .int(let y)): return x == y
        case (.long(let x), .long(let y)): return x == y
        case (.ulong(let x), .ulong(let y)): return x == y
        case (.double(let x), .double(let y)): return x == y || (x.isNaN && y.isNaN)
        case (.decimal(let x), .decimal(let y)): return x == y
        case (.char(let x), .char(let y)): return x == y
        case (.dateTime(let x), .dateTime(let y)): return x.ticks == y.ticks
        case (.dateTimeOffset(let x), .dateTimeOffset(let y)): return x.utcTicks == y.utcTicks
        case (.timeSpan(let x), .timeSpan(let y)): return x == y
        case (.guid(let x), .guid(let y)): return x == y
        case (.enumeration(let x, let e), .enumeration(let y, let f)): return x == y && e == f
        case (.pair(let x), .pair(let y)): return equals(x.key, y.key) && equals(x.value, y.value)
        case (.byteArray(let x), .byteArray(let y)): return x === y
        case (.list(let x), .list(let y)): return x === y
        case (.dictionary(let x), .dictionary(let y)): return x === y
        case (.json(let x), .json(let y)): return x === y
        case (.object(let x), .object(let y)): return x === y
        case (.type(let x), .type(let y)): return x == y
        default: return false
        }
    }
}
