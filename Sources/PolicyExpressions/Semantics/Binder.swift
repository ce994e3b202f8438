import Foundation

/// Binds (type-checks) the syntax tree against the type model and plans it into closures in one
/// pass: every name, member and overload is resolved here, so evaluation does no lookups by name.
final class Binder {
    struct Local {
        let slot: Int
        let type: ExpressionType
    }

    /// What a name or member access denotes: a value, or a type used for static access.
    enum Target {
        case value(Bound)
        case staticClass(String)
        case enumType(EnumType)
        case namespace(String)
    }

    let source: SourceText
    let model: TypeModel
    private var scopes: [[String: Local]] = [[:]]
    /// Slots of `const` locals (assignments and `out` arguments to them are refused).
    var constantSlots: Set<Int> = []
    /// Local functions in scope, innermost block last (declared for the whole block, so they can
    /// call each other and themselves).
    var localFunctions: [[String: LocalFunction]] = []
    /// Every local function bound (weakly exported for tests: they must be freed with the expression).
    var localFunctionsBound: [LocalFunction] = []

    /// A local function: its signature, the slots of its parameters and body, and its body (set once
    /// bound; calls read it at run time, so a function can call one declared after it).
    final class LocalFunction: @unchecked Sendable {
        let returns: ExpressionType
        let parameterTypes: [ExpressionType]
        var parameterSlots: [Int] = []
        var slotRange: Range<Int> = 0..<0
        var body: Eval?
        static let maximumDepth = 64

        init(returns: ExpressionType, parameterTypes: [ExpressionType]) {
            self.returns = returns
            self.parameterTypes = parameterTypes
        }
    }

    func lookupLocalFunction(_ name: String) -> LocalFunction? {
        for scope in localFunctions.reversed() { if let function = scope[name] { return function } }
        return nil
    }
    private(set) var slotCount = 0
    private var conditionalTargets: [Local] = []
    /// Return types of the lambda block bodies being bound (nil entry = not yet known).
    var lambdaReturnTypes: [ExpressionType?] = []
    /// Slot holding the exception of the innermost catch clause (for `throw;`).
    var catchSlots: [Int] = []
    /// Host-object paths evaluated at most once per evaluation: path → (slot, bit).
    private var pathCache: [String: (slot: Int, bit: UInt64)] = [:]
    /// What the expression reads from host objects, as resolved here (exported as `CompiledExpression.uses`).
    private(set) var uses = ExpressionUses()

    /// Records a host member read or called on a receiver of static type `hostType` (and on every
    /// type it conforms to that declares the member), with its `context` path when it has one.
    func recordUse(_ hostType: HostType, _ member: String, path: String?, call: Bool) {
        uses.record(hostType, member)
        if let path { uses.contextPaths.insert(path + "." + member + (call ? "()" : "")) }
    }

    init(source: SourceText, model: TypeModel) {
        self.source = source
        self.model = model
    }

    func error(_ message: String, at offset: Int) -> PositionedError {
        PositionedError(offset: offset, message: message)
    }

    // MARK: Scopes

    func pushScope() { scopes.append([:]) }
    func popScope() { scopes.removeLast() }

    func newSlot() -> Int {
        slotCount += 1
        return slotCount - 1
    }

    func declare(_ name: String, _ type: ExpressionType, at offset: Int) throws -> Local {
        if name == "context" || lookup(name) != nil {
            throw error("a local variable named '\(name)' is already defined in this scope", at: offset)
        }
        let local = Local(slot: newSlot(), type: type)
        scopes[scopes.count - 1][name] = local
        return local
    }

    func lookup(_ name: String) -> Local? {
        for scope in scopes.reversed() { if let local = scope[name] { return local } }
        return nil
    }

    // MARK: Types

    func resolveType(_ syntax: TypeSyntax) throws -> ExpressionType {
        var type = try resolveTypeName(syntax)
        if syntax.nullable {
            if type.isValueType { type = .nullable(type) }
        }
        for _ in 0..<syntax.arrayRanks { type = .array(type) }
        return type
    }

    private func resolveTypeName(_ syntax: TypeSyntax) throws -> ExpressionType {
        let name = TypeNames.strip(syntax.name)
        let arguments = try syntax.arguments.map(resolveType)
        func arity(_ n: Int) throws {
            if arguments.count != n {
                throw error("using the generic type '\(name)' requires \(n) type argument\(n == 1 ? "" : "s")", at: syntax.offset)
            }
        }
        if arguments.isEmpty, let predefined = TypeNames.predefined[name] { return predefined }
        switch name {
        case "List", "IList", "ICollection", "IReadOnlyList", "IReadOnlyCollection", "Queue", "Stack":
            try arity(1); return .list(arguments[0])
        case "IEnumerable":
            if arguments.isEmpty { return .enumerable(.object) }
            try arity(1); return .enumerable(arguments[0])
        case "HashSet", "ISet":
            try arity(1); return .hashSet(arguments[0])
        case "Dictionary", "IDictionary", "IReadOnlyDictionary", "SortedDictionary":
            try arity(2); return .dictionary(arguments[0], arguments[1])
        case "KeyValuePair":
            try arity(2); return .pair(arguments[0], arguments[1])
        case "Nullable":
            try arity(1); return .nullable(arguments[0])
        default:
            break
        }
        if arguments.isEmpty, let enumType = EnumType(rawValue: name) { return .enumeration(enumType) }
        if let host = model.namedTypes[name] ?? model.namedTypes[syntax.name] {
            if !arguments.isEmpty { throw error("the non-generic type '\(name)' cannot be used with type arguments", at: syntax.offset) }
            return .host(host)
        }
        // The concrete hash classes, written as declared types (`HMACSHA256 h = new HMACSHA256(key)`),
        // are the one host type their constructors and `Create()` make.
        if arguments.isEmpty, TypeNames.hashAlgorithms.contains(name), let host = model.namedTypes["HashAlgorithm"] { return .host(host) }
        throw error("the type or namespace name '\(syntax.display)' could not be found", at: syntax.offset)
    }

    // MARK: Expressions

    func bindValue(_ expr: Expr) throws -> Bound {
        switch try bindTarget(expr) {
        case .value(let bound): return bound
        case .staticClass(let name): throw error("'\(name)' is a type, which is not valid in the given context", at: expr.offset)
        case .enumType(let type): throw error("'\(type.rawValue)' is a type, which is not valid in the given context", at: expr.offset)
        case .namespace(let name): throw error("the name '\(name)' does not exist in the current context", at: expr.offset)
        }
    }

    /// Binds and converts to `type` implicitly (assignment, argument, return).
    func bindValue(_ expr: Expr, convertingTo type: ExpressionType) throws -> Bound {
        let bound = try bindValue(expr)
        return try convert(bound, to: type, at: expr.offset)
    }

    func bindCondition(_ expr: Expr) throws -> Bound {
        let bound = try bindValue(expr)
        guard bound.type == .bool else {
            throw error("cannot implicitly convert type '\(bound.type)' to 'bool'", at: expr.offset)
        }
        return bound
    }

    func convert(_ bound: Bound, to type: ExpressionType, at offset: Int) throws -> Bound {
        if bound.type == type { return bound }
        // Implicit constant expression conversion (C# §10.2.11): `byte b = 1`, `new byte[] { 0xAB }`.
        if case .int(let v)? = bound.constant, let narrowed = Binder.constantNarrowing(v, to: type.underlyingNonNullable) {
            return .constant(narrowed, type)
        }
        guard Conversions.implicitScore(from: bound.type, to: type) != nil else {
            if bound.type == .void { throw error("an expression of type 'void' has no value", at: offset) }
            let explicitHint = Conversions.explicitAllowed(from: bound.type, to: type) ? " (an explicit conversion exists; are you missing a cast?)" : ""
            throw error("cannot implicitly convert type '\(bound.type)' to '\(type)'\(explicitHint)", at: offset)
        }
        guard let converter = Conversions.implicitConverter(from: bound.type, to: type) else {
            return Bound(type, constant: bound.constant, bound.eval)
        }
        let eval = bound.eval
        if let constant = bound.constant, let folded = try? converter(constant) {
            return .constant(folded, type)
        }
        return Bound(type) { frame in try converter(try eval(frame)) }
    }

    func bindTarget(_ expr: Expr) throws -> Target {
        switch expr.kind {
        case .literal(let literal):
            return .value(try bindLiteral(literal, at: expr.offset))
        case .interpolated(let parts):
            return .value(try bindInterpolation(parts, at: expr.offset))
        case .name(let name, let typeArguments):
            if !typeArguments.isEmpty { throw error("the name '\(name)' is not a generic method", at: expr.offset) }
            if let local = lookup(name) {
                let slot = local.slot
                return .value(Bound(local.type) { frame in frame.slots[slot] })
            }
            if name == "context" {
                var bound = Bound(.host(model.contextType)) { frame in frame.context }
                bound.path = "context"
                return .value(bound)
            }
            if let enumType = EnumType(rawValue: name) { return .enumType(enumType) }
            if let canonical = TypeNames.canonicalStatic(name) { return .staticClass(canonical) }
            if model.namedTypes[name] != nil || TypeNames.predefined[name] != nil { return .staticClass(name) }
            if ["System", "Newtonsoft"].contains(name) { return .namespace(name) }
            throw error("the name '\(name)' does not exist in the current context", at: expr.offset)
        case .predefinedType(let keyword):
            guard let canonical = TypeNames.canonicalStatic(keyword) else {
                throw error("'\(keyword)' is a type, which is not valid in the given context", at: expr.offset)
            }
            return .staticClass(canonical)
        case .member(let receiver, let name, let typeArguments):
            let target = try bindTarget(receiver)
            return try bindMember(target, name: name, typeArguments: typeArguments, at: expr.offset)
        case .call(let callee, let arguments):
            return .value(try bindCall(callee, arguments, at: expr.offset))
        case .index(let receiver, let arguments):
            return .value(try bindIndex(try bindValue(receiver), arguments, at: expr.offset))
        case .unary(let op, let operand):
            return .value(try bindUnary(op, try bindValue(operand), at: expr.offset))
        case .increment(let target, let delta, let prefix):
            return .value(try bindIncrement(target, delta: delta, prefix: prefix, at: expr.offset))
        case .binary(let op, let left, let right):
            return .value(try bindBinary(op, left, right, at: expr.offset))
        case .conditional(let condition, let whenTrue, let whenFalse):
            return .value(try bindConditional(condition, whenTrue, whenFalse, at: expr.offset))
        case .assign(let op, let target, let value):
            return .value(try bindAssignment(op, target, value, at: expr.offset))
        case .cast(let typeSyntax, let operand):
            let type = try resolveType(typeSyntax)
            return .value(try bindCast(try bindValue(operand), to: type, at: expr.offset))
        case .isType(let operand, let typeSyntax, let designation):
            return .value(try bindIsType(try bindValue(operand), try resolveType(typeSyntax), designation: designation, at: expr.offset))
        case .isNull(let operand, let negated):
            let bound = try bindValue(operand)
            let eval = bound.eval
            return .value(Bound(.bool) { frame in .bool(try eval(frame).isNull != negated) })
        case .asType(let operand, let typeSyntax):
            return .value(try bindAs(try bindValue(operand), try resolveType(typeSyntax), at: expr.offset))
        case .lambda:
            throw error("a lambda expression is only allowed as an argument of a method such as 'Any' or 'Select'", at: expr.offset)
        case .newObject(let typeSyntax, let arguments, let initializer):
            return .value(try bindNewObject(typeSyntax, arguments, initializer, at: expr.offset))
        case .newArray(let elementSyntax, let sizes, let elements):
            return .value(try bindNewArray(elementSyntax, sizes: sizes, elements: elements, at: expr.offset))
        case .newAnonymous(let members):
            var seen = Set<String>()
            var bound: [Bound] = []
            for (name, value) in members {
                guard seen.insert(name).inserted else {
                    throw error("an anonymous type cannot have multiple properties with the same name ('\(name)')", at: value.offset)
                }
                let member = try bindValue(value)
                if member.type == .null || member.type == .void {
                    throw error("cannot assign '\(member.type)' to anonymous type property '\(name)'", at: value.offset)
                }
                bound.append(member)
            }
            let names = members.map(\.0)
            let type = AnonymousObject.makeType(names: names, types: bound.map(\.type))
            let evals = bound.map(\.eval)
            return .value(Bound(.host(type)) { frame in
                .object(AnonymousObject(type: type, names: names, values: try evals.map { try $0(frame) }))
            })
        case .typeOf(let typeSyntax):
            let type = try resolveType(typeSyntax)
            return .value(.constant(.type(type), .type))
        case .defaultValue(let typeSyntax):
            guard let typeSyntax else { return .value(.constant(.null, .null)) }
            let type = try resolveType(typeSyntax)
            return .value(.constant(Binder.defaultValue(of: type), type))
        case .outVariable:
            throw error("an out variable is only allowed as a method argument", at: expr.offset)
        case .conditionalAccess(let receiver, let chain):
            return .value(try bindConditionalAccess(receiver, chain, at: expr.offset))
        case .conditionalAccessTarget:
            guard let target = conditionalTargets.last else { throw error("invalid conditional access", at: expr.offset) }
            let slot = target.slot
            return .value(Bound(target.type) { frame in frame.slots[slot] })
        }
    }

    static func constantNarrowing(_ v: Int32, to type: ExpressionType) -> Value? {
        switch type {
        case .byte where (0...255).contains(v): return .int(v)
        case .short where (-32768...32767).contains(v): return .int(v)
        case .uint where v >= 0: return .long(Int64(v))
        case .ulong where v >= 0: return .ulong(UInt64(v))
        default: return nil
        }
    }

    static func defaultValue(of type: ExpressionType) -> Value {
        switch type {
        case .bool: return .bool(false)
        case .int, .byte, .short: return .int(0)
        case .long, .uint: return .long(0)
        case .ulong: return .ulong(0)
        case .double, .float: return .double(0)
        case .decimal: return .decimal(0)
        case .char: return .char(0)
        case .dateTime: return .dateTime(DateTimeValue(ticks: 0, kind: .unspecified))
        case .dateTimeOffset: return .dateTimeOffset(DateTimeOffsetValue(clockTicks: 0, offsetMinutes: 0))
        case .timeSpan: return .timeSpan(TimeSpanValue(ticks: 0))
        case .guid: return .guid(UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)))
        case .enumeration(let e): return .enumeration(0, e)
        default: return .null
        }
    }

    private func bindLiteral(_ literal: LiteralValue, at offset: Int) throws -> Bound {
        switch literal {
        case .null: return .constant(.null, .null)
        case .bool(let b): return .constant(.bool(b), .bool)
        case .int(let i): return .constant(.int(i), .int)
        case .uint(let u): return .constant(.long(Int64(u)), .uint)
        case .long(let l): return .constant(.long(l), .long)
        case .ulong(let u): return .constant(.ulong(u), .ulong)
        case .double(let d): return .constant(.double(d), .double)
        case .float(let f): return .constant(.double(f), .float)
        case .decimal(let text):
            guard let d = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")) else {
                throw error("floating-point constant is outside the range of type 'decimal'", at: offset)
            }
            return .constant(.decimal(d), .decimal)
        case .string(let s): return .constant(.string(s), .string)
        case .char(let c): return .constant(.char(c), .char)
        }
    }

    private func bindInterpolation(_ parts: [InterpolationPart], at offset: Int) throws -> Bound {
        var pieces: [Eval] = []
        for part in parts {
            switch part {
            case .text(let text):
                pieces.append { _ in .string(text) }
            case .hole(let expr, let alignmentExpr, let format):
                let bound = try bindValue(expr)
                var alignment = 0
                if let alignmentExpr {
                    let a = try bindValue(alignmentExpr)
                    guard case .int(let width)? = a.constant else { throw error("alignment must be a constant integer", at: alignmentExpr.offset) }
                    alignment = Int(width)
                }
                let formatter = try Library.formatter(for: bound.type, format: format)
                let eval = bound.eval
                let width = alignment
                let tooWide = Int(width.magnitude) > Library.maximumSize
                pieces.append { frame in
                    if tooWide { throw Library.outOfMemory("an interpolation alignment of \(width)") }
                    var text = try formatter(try eval(frame))
                    if width > 0, text.utf16.count < width { text = String(repeating: " ", count: width - text.utf16.count) + text }
                    if width < 0, text.utf16.count < -width { text += String(repeating: " ", count: -width - text.utf16.count) }
                    return .string(text)
                }
            }
        }
        let parts = pieces
        return Bound(.string) { frame in
            var result = ""
            for piece in parts {
                if case .string(let s) = try piece(frame) {
                    if result.utf8.count + s.utf8.count > Library.maximumSize { throw Library.outOfMemory("a string longer than \(Library.maximumSize) bytes") }
                    result += s
                }
            }
            return .string(result)
        }
    }

    // MARK: Member access

    func bindMember(_ target: Target, name: String, typeArguments: [TypeSyntax], at offset: Int) throws -> Target {
        switch target {
        case .namespace(let prefix):
            let qualified = prefix + "." + name
            if let canonical = TypeNames.canonicalStatic(qualified) { return .staticClass(canonical) }
            if let enumType = EnumType(rawValue: TypeNames.strip(qualified)) { return .enumType(enumType) }
            if model.namedTypes[TypeNames.strip(qualified)] != nil { return .staticClass(TypeNames.strip(qualified)) }
            return .namespace(qualified)
        case .enumType(let type):
            guard let member = type.members.first(where: { $0.0 == name }) else {
                throw error("'\(type.rawValue)' does not contain a definition for '\(name)'", at: offset)
            }
            return .value(.constant(.enumeration(member.1, type), .enumeration(type)))
        case .staticClass(let className):
            guard let property = StaticMembers.property(className, name) else {
                if StaticMembers.hasMethod(className, name) {
                    throw error("'\(className).\(name)' is a method group; did you mean to call it?", at: offset)
                }
                throw error("'\(className)' does not contain a definition for '\(name)'", at: offset)
            }
            if let constant = property.constant { return .value(.constant(constant, property.type)) }
            let get = property.get
            return .value(Bound(property.type) { _ in try get() })
        case .value(let receiver):
            return .value(try bindInstanceProperty(receiver, name: name, at: offset))
        }
    }

    func bindInstanceProperty(_ receiver: Bound, name: String, at offset: Int) throws -> Bound {
        let recv = receiver.eval
        if case .host(let hostType) = receiver.type {
            guard let property = hostType.properties[name] else {
                if hostType.methods[name] != nil {
                    throw error("'\(hostType.name).\(name)' is a method; did you mean to call it?", at: offset)
                }
                throw error("'\(hostType.name)' has no member '\(name)'", at: offset)
            }
            recordUse(hostType, name, path: receiver.path, call: false)
            let get = property.get
            let read: Eval = { frame in
                guard case .object(let object) = try recv(frame) else { throw ExpressionRuntimeError.nullReference() }
                return try get(object)
            }
            // Object-valued reads rooted at `context` are stable during one evaluation (expressions cannot
            // change the request), so each distinct path is read once and then served from a slot.
            guard let path = receiver.path, property.type.isCacheableHostValue else { return Bound(property.type, read) }
            let fullPath = path + "." + name
            let entry: (slot: Int, bit: UInt64)
            if let existing = pathCache[fullPath] {
                entry = existing
            } else {
                guard pathCache.count < 64 else { return Bound(property.type, read) }
                entry = (newSlot(), UInt64(1) << UInt64(pathCache.count))
                pathCache[fullPath] = entry
            }
            let slot = entry.slot, bit = entry.bit
            var bound = Bound(property.type) { frame in
                if frame.state.pointee.cached & bit != 0 { return frame.slots[slot] }
                let value = try read(frame)
                frame.slots[slot] = value
                frame.state.pointee.cached |= bit
                return value
            }
            bound.path = fullPath
            return bound
        }
        guard let property = InstanceMembers.property(of: receiver.type, name) else {
            if InstanceMembers.hasMethod(of: receiver.type, name) || Linq.methods.contains(name) {
                throw error("'\(receiver.type).\(name)' is a method; did you mean to call it?", at: offset)
            }
            throw error("'\(receiver.type)' has no member '\(name)'", at: offset)
        }
        let get = property.get
        let nullable = receiver.type.isNullableValue
        return Bound(property.type) { frame in
            let value = try recv(frame)
            if case .null = value, !nullable { throw ExpressionRuntimeError.nullReference() }
            return try get(value)
        }
    }

    private func bindConditionalAccess(_ receiverExpr: Expr, _ chain: Expr, at offset: Int) throws -> Bound {
        let receiver = try bindValue(receiverExpr)
        if receiver.type.isValueType {
            throw error("operator '?' cannot be applied to operand of type '\(receiver.type)'", at: chain.offset)
        }
        let slot = newSlot()
        conditionalTargets.append(Local(slot: slot, type: receiver.type.underlyingNonNullable))
        let body = try bindValue(chain)
        conditionalTargets.removeLast()
        var type = body.type
        if type.isValueType { type = .nullable(type) }
        if type == .void { type = .void }
        let recv = receiver.eval
        let eval = body.eval
        return Bound(type) { frame in
            let value = try recv(frame)
            if case .null = value { return .null }
            frame.slots[slot] = value
            return try eval(frame)
        }
    }

    // MARK: Casts and type tests

    func bindCast(_ operand: Bound, to type: ExpressionType, at offset: Int) throws -> Bound {
        if operand.type == type { return operand }
        if operand.type == .null {
            guard !type.isValueType else { throw error("cannot convert null to '\(type)' because it is a non-nullable value type", at: offset) }
            return .constant(.null, type)
        }
        guard Conversions.explicitAllowed(from: operand.type, to: type) else {
            throw error("cannot convert type '\(operand.type)' to '\(type)'", at: offset)
        }
        let converter = Conversions.explicitConverter(from: operand.type, to: type)
        if let constant = operand.constant, let folded = try? converter(constant) {
            return .constant(folded, type)
        }
        let eval = operand.eval
        return Bound(type) { frame in try converter(try eval(frame)) }
    }

    private func bindIsType(_ operand: Bound, _ type: ExpressionType, designation: String?, at offset: Int) throws -> Bound {
        let eval = operand.eval
        let test = type.underlyingNonNullable
        guard let designation else {
            return Bound(.bool) { frame in .bool(Conversions.isInstance(try eval(frame), of: test)) }
        }
        let local = try declare(designation, test, at: offset)
        let slot = local.slot
        return Bound(.bool) { frame in
            let value = try eval(frame)
            guard Conversions.isInstance(value, of: test) else { return .bool(false) }
            frame.slots[slot] = value
            return .bool(true)
        }
    }

    private func bindAs(_ operand: Bound, _ type: ExpressionType, at offset: Int) throws -> Bound {
        if type.isValueType {
            throw error("the as operator must be used with a reference type or nullable type ('\(type)' is a non-nullable value type)", at: offset)
        }
        let eval = operand.eval
        let test = type.underlyingNonNullable
        return Bound(type) { frame in
            let value = try eval(frame)
            return Conversions.isInstance(value, of: test) ? value : .null
        }
    }

    private func bindConditional(_ conditionExpr: Expr, _ trueExpr: Expr, _ falseExpr: Expr, at offset: Int) throws -> Bound {
        let condition = try bindCondition(conditionExpr)
        var whenTrue = try bindValue(trueExpr)
        var whenFalse = try bindValue(falseExpr)
        let type = try commonType(whenTrue.type, whenFalse.type, at: offset)
        whenTrue = try convert(whenTrue, to: type, at: trueExpr.offset)
        whenFalse = try convert(whenFalse, to: type, at: falseExpr.offset)
        let c = condition.eval, t = whenTrue.eval, f = whenFalse.eval
        if case .bool(let constant)? = condition.constant { return constant ? whenTrue : whenFalse }
        return Bound(type) { frame in
            if case .bool(true) = try c(frame) { return try t(frame) }
            return try f(frame)
        }
    }

    /// The type of `c ? a : b` (C# 7: one side must convert to the other).
    func commonType(_ a: ExpressionType, _ b: ExpressionType, at offset: Int) throws -> ExpressionType {
        if a == b { return a }
        let aToB = Conversions.implicitScore(from: a, to: b) != nil
        let bToA = Conversions.implicitScore(from: b, to: a) != nil
        if aToB && !bToA { return b }
        if bToA && !aToB { return a }
        if aToB && bToA { return a == .null ? b : a }
        throw error("type of conditional expression cannot be determined because there is no implicit conversion between '\(a)' and '\(b)'", at: offset)
    }
}
