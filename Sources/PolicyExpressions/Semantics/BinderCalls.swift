import Foundation

/// Method calls: overload resolution over library tables and host methods, generic and lambda
/// methods (LINQ, `As<T>`, `Value<T>`), `out` arguments, object and array creation.
extension Binder {
    /// An argument after binding: a value, a lambda still waiting for its parameter types, or an out target.
    enum BoundArgument {
        case value(Bound, offset: Int)
        case lambda([LambdaParameter], LambdaBody, offset: Int)
        case out(OutTarget, offset: Int)
    }

    /// Where an `out` argument writes: an existing local, or a new one declared once its type is known.
    enum OutTarget {
        case existing(Local)
        case declare(name: String, type: TypeSyntax?)
        case discard
    }

    func bindArguments(_ arguments: [Argument]) throws -> [BoundArgument] {
        try arguments.map { argument in
            let expr = argument.value
            if argument.modifier == .out {
                switch expr.kind {
                case .outVariable(let type, let name):
                    if name == "_" { return .out(.discard, offset: expr.offset) }
                    return .out(.declare(name: name, type: type), offset: expr.offset)
                case .name(let name, _):
                    if name == "_" { return .out(.discard, offset: expr.offset) }
                    guard let local = lookup(name) else {
                        throw error("the name '\(name)' does not exist in the current context", at: expr.offset)
                    }
                    if constantSlots.contains(local.slot) { throw error("a constant ('\(name)') cannot be passed as an out argument", at: expr.offset) }
                    return .out(.existing(local), offset: expr.offset)
                default:
                    throw error("an out argument must be an assignable variable", at: expr.offset)
                }
            }
            if argument.modifier == .ref { throw error("ref arguments are not supported", at: expr.offset) }
            if case .lambda(let parameters, let body) = expr.kind { return .lambda(parameters, body, offset: expr.offset) }
            if let lambda = try methodGroupLambda(expr) { return lambda }
            return .value(try bindValue(expr), offset: expr.offset)
        }
    }

    /// A static method group passed as a delegate (`s.All(char.IsDigit)`, `Select(int.Parse)`) is
    /// C#'s method-group conversion: bound as the one-parameter lambda `x => char.IsDigit(x)`, so the
    /// called method's overload is chosen for the delegate's parameter type, as C# does.
    func methodGroupLambda(_ expr: Expr) throws -> BoundArgument? {
        guard case .member(let receiver, let name, let typeArguments) = expr.kind, typeArguments.isEmpty,
            case .staticClass(let className)? = try? bindTarget(receiver),
            StaticMembers.property(className, name) == nil, StaticMembers.hasMethod(className, name)
        else { return nil }
        let parameter = "\u{0}group"  // no source name can collide with it
        let call = Expr(kind: .call(expr, [Argument(name: nil, modifier: .none, value: Expr(kind: .name(parameter, typeArguments: []), offset: expr.offset))]),
                        offset: expr.offset, start: expr.start)
        return .lambda([LambdaParameter(name: parameter, type: nil, offset: expr.offset)], .expression(call), offset: expr.offset)
    }

    /// Binds a lambda once its parameter types are known; returns the body and the parameter slots.
    func bindLambda(_ parameters: [LambdaParameter], _ body: LambdaBody, parameterTypes: [ExpressionType], at offset: Int) throws -> (Bound, [Int]) {
        guard parameters.count == parameterTypes.count else {
            throw error("delegate does not take \(parameters.count) argument\(parameters.count == 1 ? "" : "s")", at: offset)
        }
        pushScope()
        defer { popScope() }
        var slots: [Int] = []
        for (parameter, type) in zip(parameters, parameterTypes) {
            var declared = type
            if let syntax = parameter.type { declared = try resolveType(syntax) }
            slots.append(try declare(parameter.name, declared, at: parameter.offset).slot)
        }
        switch body {
        case .expression(let expr):
            return (try bindValue(expr), slots)
        case .block(let statement):
            lambdaReturnTypes.append(nil)
            let exec = try bindStatement(statement)
            let returnType = lambdaReturnTypes.removeLast() ?? .void
            if returnType != .void, Reachability.completesNormally(statement) {
                throw error("not all code paths return a value in lambda expression", at: offset)
            }
            return (Bound(returnType) { frame in
                if case .returned(let value) = try exec(frame) { return value }
                return .null
            }, slots)
        }
    }

    /// A call of a local function: arguments converted to its parameter types; its parameter and body
    /// slots saved and restored around the call (so recursion sees its own values).
    func bindLocalCall(_ function: LocalFunction, _ name: String, _ arguments: [Argument], at offset: Int) throws -> Bound {
        guard arguments.count == function.parameterTypes.count else {
            throw error("no overload for method '\(name)' takes \(arguments.count) arguments", at: offset)
        }
        let evals = try zip(arguments, function.parameterTypes).map { argument, type -> Eval in
            guard argument.modifier == .none else { throw error("ref and out arguments of local functions are not supported", at: argument.value.offset) }
            return try bindValue(argument.value, convertingTo: type).eval
        }
        // Unowned: the declaring block's closure owns the function (a strong capture here would be
        // a cycle through the body of a recursive function).
        return Bound(function.returns) { [unowned function] frame in
            guard let body = function.body else { throw ExpressionRuntimeError.invalidOperation("'\(name)' was called before its declaration was reached.") }
            guard frame.state.pointee.callDepth < LocalFunction.maximumDepth else {
                throw ExpressionRuntimeError.invalidOperation("Local function calls nested deeper than \(LocalFunction.maximumDepth).")
            }
            let values = try evals.map { try $0(frame) }
            let range = function.slotRange
            let saved = range.map { frame.slots[$0] }
            for (slot, value) in zip(function.parameterSlots, values) { frame.slots[slot] = value }
            frame.state.pointee.callDepth += 1
            defer {
                frame.state.pointee.callDepth -= 1
                for (offset, slot) in range.enumerated() { frame.slots[slot] = saved[offset] }
            }
            try frame.spendIteration()
            return try body(frame)
        }
    }

    func bindCall(_ callee: Expr, _ arguments: [Argument], at offset: Int) throws -> Bound {
        switch callee.kind {
        case .member(let receiverExpr, let name, let typeArgumentSyntax):
            let target = try bindTarget(receiverExpr)
            let typeArguments = try typeArgumentSyntax.map(resolveType)
            let args = try bindArguments(arguments)
            switch target {
            case .staticClass(let className):
                return try bindStaticCall(className, name, typeArguments: typeArguments, args, at: callee.offset)
            case .value(let receiver):
                return try bindInstanceCall(receiver, name, typeArguments: typeArguments, args, at: callee.offset)
            case .enumType(let type):
                throw error("'\(type.rawValue)' does not contain a definition for '\(name)'", at: callee.offset)
            case .namespace(let ns):
                throw error("the type or namespace name '\(ns).\(name)' could not be found", at: callee.offset)
            }
        case .name(let name, _):
            if let function = lookupLocalFunction(name) { return try bindLocalCall(function, name, arguments, at: callee.offset) }
            if lookup(name) != nil { throw error("'\(name)' is a variable but is used like a method", at: callee.offset) }
            throw error("the name '\(name)' does not exist in the current context", at: callee.offset)
        default:
            throw error("method name expected", at: callee.offset)
        }
    }

    func bindStaticCall(_ className: String, _ name: String, typeArguments: [ExpressionType], _ args: [BoundArgument], at offset: Int) throws -> Bound {
        if let special = try StaticMembers.bindSpecial(self, className, name, typeArguments: typeArguments, args, at: offset) {
            return special
        }
        guard let overloads = StaticMembers.methods(className, name) else {
            if StaticMembers.property(className, name) != nil {
                throw error("non-invocable member '\(className).\(name)' cannot be used like a method", at: offset)
            }
            throw error("'\(className)' does not contain a definition for '\(name)'", at: offset)
        }
        if !typeArguments.isEmpty { throw error("the non-generic method '\(className).\(name)' cannot be used with type arguments", at: offset) }
        return try invoke(overloads, receiver: nil, args, owner: className, name: name, at: offset)
    }

    func bindInstanceCall(_ receiver: Bound, _ name: String, typeArguments: [ExpressionType], _ args: [BoundArgument], at offset: Int) throws -> Bound {
        if receiver.type == .void { throw error("an expression of type 'void' has no members", at: offset) }
        if case .host(let hostType) = receiver.type {
            recordUse(hostType, name, path: receiver.path, call: true)
            if let methods = hostType.methods[name] {
                return try invokeHost(methods, receiver: receiver, args, owner: hostType.name, name: name, typeArguments: typeArguments, at: offset)
            }
            if let special = try HostExtensions.bind(self, receiver, hostType, name, typeArguments: typeArguments, args, at: offset) {
                return special
            }
            if let element = hostType.elementType, Linq.methods.contains(name) {
                return try Linq.bind(self, receiver, element: element, name, typeArguments: typeArguments, args, at: offset)
            }
            if hostType.properties[name] != nil {
                throw error("non-invocable member '\(hostType.name).\(name)' cannot be used like a method", at: offset)
            }
            throw error("'\(hostType.name)' has no member '\(name)'", at: offset)
        }
        if let special = try InstanceMembers.bindSpecial(self, receiver, name, typeArguments: typeArguments, args, at: offset) {
            return special
        }
        let linqElement = Linq.methods.contains(name) ? receiver.type.elementType : nil
        if let element = linqElement, InstanceMembers.methods(of: receiver.type, name) == nil {
            return try Linq.bind(self, receiver, element: element, name, typeArguments: typeArguments, args, at: offset)
        }
        guard let overloads = InstanceMembers.methods(of: receiver.type, name) else {
            if InstanceMembers.property(of: receiver.type, name) != nil {
                throw error("non-invocable member '\(receiver.type).\(name)' cannot be used like a method", at: offset)
            }
            throw error("'\(receiver.type)' has no member '\(name)'", at: offset)
        }
        if !typeArguments.isEmpty { throw error("the non-generic method '\(name)' cannot be used with type arguments", at: offset) }
        do {
            return try invoke(overloads, receiver: receiver, args, owner: receiver.type.description, name: name, at: offset)
        } catch let failure as PositionedError {
            // Instance methods win; LINQ extension methods apply when none is applicable (C# §12.8.10.3).
            guard let element = linqElement else { throw failure }
            return try Linq.bind(self, receiver, element: element, name, typeArguments: typeArguments, args, at: offset)
        }
    }

    // MARK: Overload resolution

    /// Picks the best applicable overload (fewest/cheapest implicit conversions) and plans the call.
    func invoke(_ overloads: [Overload], receiver: Bound?, _ args: [BoundArgument], owner: String, name: String, at offset: Int) throws -> Bound {
        // Lowest total conversion cost wins; on a tie the first declared overload wins (tables list the
        // C#-preferred overload first), so a call never fails as "ambiguous".
        var best: (Overload, Int, [ExpressionType])?
        for overload in overloads {
            guard let (score, parameterTypes) = applicability(overload, args) else { continue }
            if best == nil || score < best?.1 ?? Int.max { best = (overload, score, parameterTypes) }
        }
        guard let (overload, _, parameterTypes) = best else {
            let counts = Set(overloads.map(\.parameters.count))
            if !overloads.contains(where: \.isParams), !counts.contains(args.count) {
                throw error("no overload for method '\(name)' takes \(args.count) argument\(args.count == 1 ? "" : "s")", at: offset)
            }
            let types = args.map { argument -> String in
                switch argument {
                case .value(let b, _): return b.type.description
                case .lambda: return "lambda expression"
                case .out: return "out variable"
                }
            }
            throw error("the best overloaded method match for '\(owner).\(name)' has some invalid arguments (\(types.joined(separator: ", ")))", at: offset)
        }
        var evals: [Eval] = []
        var outTarget: (OutTarget, ExpressionType, Int)?
        for (index, argument) in args.enumerated() {
            let parameterType = parameterTypes[index]
            switch argument {
            case .value(let bound, let argOffset):
                evals.append(try convert(bound, to: parameterType, at: argOffset).eval)
            case .out(let target, let argOffset):
                outTarget = (target, parameterType, argOffset)
            case .lambda(_, _, let argOffset):
                throw error("cannot convert lambda expression to type '\(parameterType)'", at: argOffset)
            }
        }
        if overload.isParams, let last = overload.parameters.last, case .array(let element) = last {
            let fixedCount = overload.parameters.count - 1
            let passesArray = args.count == overload.parameters.count && parameterTypes.last == last
            if !passesArray {
                let packed = Array(evals[fixedCount...])
                evals = Array(evals[..<fixedCount])
                let isBytes = element == .byte
                evals.append { frame in
                    let items = try packed.map { try $0(frame) }
                    if isBytes { return .bytes(items.map { UInt8(truncatingIfNeeded: (try? Conversions.toInt64($0)) ?? 0) }) }
                    return .list(ListBox(items))
                }
            }
        }
        return try plan(overload.impl, overload.returns, receiver: receiver, evals, out: outTarget, at: offset)
    }

    /// Score of an overload for the arguments (lower is better), with the per-argument parameter types.
    private func applicability(_ overload: Overload, _ args: [BoundArgument]) -> (Int, [ExpressionType])? {
        var parameterTypes = overload.parameters
        if overload.isParams, let last = parameterTypes.last, case .array(let element) = last {
            if args.count == parameterTypes.count, case .value(let b, _) = args[args.count - 1],
               Conversions.implicitScore(from: b.type, to: last) != nil {
                // Array passed directly to the params parameter.
            } else {
                guard args.count >= parameterTypes.count - 1 else { return nil }
                parameterTypes = Array(parameterTypes.dropLast()) + Array(repeating: element, count: args.count - parameterTypes.count + 1)
            }
        }
        guard parameterTypes.count == args.count else { return nil }
        var score = overload.isParams ? 1 : 0
        for (argument, parameter) in zip(args, parameterTypes) {
            switch argument {
            case .value(let bound, _):
                guard let s = Conversions.implicitScore(from: bound.type, to: parameter) else { return nil }
                score += s
            case .out:
                guard case .out = overload.impl else { return nil }
            case .lambda:
                return nil
            }
        }
        if case .out = overload.impl {
            guard case .out? = args.last else { return nil }
        }
        return (score, parameterTypes)
    }

    /// Builds the call closure for an implementation, checking the receiver for null.
    func plan(_ impl: Impl, _ returns: ExpressionType, receiver: Bound?, _ evals: [Eval], out: (OutTarget, ExpressionType, Int)?, at offset: Int) throws -> Bound {
        Binder.sizeChecked(try planUnchecked(impl, returns, receiver: receiver, evals, out: out, at: offset))
    }

    /// Whether values of this static type can grow (strings and collections), so results need the size check.
    static func canGrow(_ type: ExpressionType) -> Bool {
        switch type {
        case .string, .array, .list, .enumerable, .hashSet, .dictionary, .object: return true
        default: return false
        }
    }

    /// The central size check on library results: any string or collection a call returns is held to
    /// `Library.maximumSize`/`maximumCount` (see Library.swift), so no chain of calls can grow a value without bound.
    static func sizeChecked(_ bound: Bound) -> Bound {
        guard canGrow(bound.type), bound.constant == nil else { return bound }
        let eval = bound.eval
        var checked = Bound(bound.type) { frame in
            let value = try eval(frame)
            try Library.checkValue(value)
            return value
        }
        checked.path = bound.path
        return checked
    }

    private func planUnchecked(_ impl: Impl, _ returns: ExpressionType, receiver: Bound?, _ evals: [Eval], out: (OutTarget, ExpressionType, Int)?, at offset: Int) throws -> Bound {
        let nullEval: Eval = { _ in .null }
        let recv: Eval = receiver?.eval ?? nullEval
        let checksNull = receiver.map { !$0.type.isValueType && !$0.type.isNullableValue } ?? false
        @Sendable func target(_ frame: Frame) throws -> Value {
            let value = try recv(frame)
            if checksNull, case .null = value { throw ExpressionRuntimeError.nullReference() }
            return value
        }
        switch impl {
        case .a0(let f):
            return Bound(returns) { frame in try f(try target(frame)) }
        case .a1(let f):
            guard evals.count == 1 else { break }
            let a = evals[0]
            if receiver == nil { return Bound(returns) { frame in try f(.null, try a(frame)) } }
            return Bound(returns) { frame in try f(try target(frame), try a(frame)) }
        case .a2(let f):
            guard evals.count == 2 else { break }
            let a = evals[0], b = evals[1]
            return Bound(returns) { frame in try f(try target(frame), try a(frame), try b(frame)) }
        case .a3(let f):
            guard evals.count == 3 else { break }
            let a = evals[0], b = evals[1], c = evals[2]
            return Bound(returns) { frame in try f(try target(frame), try a(frame), try b(frame), try c(frame)) }
        case .an(let f):
            return Bound(returns) { frame in
                let self_ = try target(frame)
                return try f(self_, try evals.map { try $0(frame) })
            }
        case .out(let f):
            guard let (outTarget, outType, outOffset) = out else { throw error("missing out argument", at: offset) }
            let write = try outWriter(outTarget, type: outType, at: outOffset)
            return Bound(returns) { frame in
                let self_ = try target(frame)
                let (result, outValue) = try f(self_, try evals.map { try $0(frame) })
                write(frame, outValue)
                return result
            }
        }
        throw error("internal error: arity mismatch for a library method", at: offset)
    }

    func outWriter(_ target: OutTarget, type: ExpressionType, at offset: Int) throws -> @Sendable (Frame, Value) -> Void {
        switch target {
        case .discard:
            return { _, _ in }
        case .existing(let local):
            guard Conversions.implicitScore(from: type, to: local.type) != nil else {
                throw error("cannot convert from 'out \(local.type)' to 'out \(type)'", at: offset)
            }
            let slot = local.slot
            return { frame, value in frame.slots[slot] = value }
        case .declare(let name, let syntax):
            var declared = type
            if let syntax {
                declared = try resolveType(syntax)
                guard declared == type || Conversions.implicitScore(from: type, to: declared) != nil else {
                    throw error("cannot convert from 'out \(declared)' to 'out \(type)'", at: offset)
                }
            }
            let slot = try declare(name, declared, at: offset).slot
            return { frame, value in frame.slots[slot] = value }
        }
    }

    private func invokeHost(_ methods: [HostMethod], receiver: Bound, _ args: [BoundArgument], owner: String, name: String,
                            typeArguments: [ExpressionType], at offset: Int) throws -> Bound {
        if !typeArguments.isEmpty { throw error("the non-generic method '\(owner).\(name)' cannot be used with type arguments", at: offset) }
        let overloads = methods.map { method -> Overload in
            let invoke = method.invoke
            return Overload(method.parameters, method.returnType, .an { target, arguments in
                guard case .object(let object) = target else { throw ExpressionRuntimeError.nullReference() }
                return try invoke(object, arguments)
            })
        }
        // Zero-argument host methods (e.g. `Verify()`) get a closure without an argument array.
        if args.isEmpty, let method = methods.first(where: { $0.parameters.isEmpty }) {
            let recv = receiver.eval
            let invoke = method.invoke
            return Binder.sizeChecked(Bound(method.returnType) { frame in
                guard case .object(let object) = try recv(frame) else { throw ExpressionRuntimeError.nullReference() }
                return try invoke(object, [])
            })
        }
        return try invoke(overloads, receiver: receiver, args, owner: owner, name: name, at: offset)
    }

    // MARK: Indexers

    func bindIndex(_ receiver: Bound, _ arguments: [Argument], at offset: Int) throws -> Bound {
        let args = try arguments.map { argument -> Bound in
            guard argument.modifier == .none else { throw error("invalid indexer argument", at: argument.value.offset) }
            return try bindValue(argument.value)
        }
        if case .host(let hostType) = receiver.type {
            recordUse(hostType, "get_Item", path: receiver.path, call: true)
            guard let methods = hostType.methods["get_Item"] else {
                throw error("cannot apply indexing with [] to an expression of type '\(hostType.name)'", at: offset)
            }
            return try invokeHost(methods, receiver: receiver, args.map { .value($0, offset: offset) }, owner: hostType.name, name: "this[]", typeArguments: [], at: offset)
        }
        return try Collections.bindIndexer(self, receiver, args, at: offset)
    }

    // MARK: Object creation

    func bindNewObject(_ typeSyntax: TypeSyntax, _ arguments: [Argument], _ initializer: ObjectInitializer, at offset: Int) throws -> Bound {
        let args = try bindArguments(arguments)
        var created = try Constructors.bind(self, typeSyntax, args, at: offset)
        let type = created.type
        switch initializer {
        case .none:
            return created
        case .collection(let items):
            let adders = try items.map { item in
                try Collections.bindAdd(self, created.type, item.map { try bindValue($0) }, at: offset)
            }
            let make = created.eval
            created = Bound(created.type) { frame in
                let object = try make(frame)
                for adder in adders { try adder(frame, object) }
                return object
            }
            return created
        case .indexers(let entries):
            let setters = try entries.map { keys, value -> (Eval, Eval) in
                guard keys.count == 1 else { throw error("indexer initializers take one key", at: offset) }
                let key = try bindValue(keys[0])
                let (keyType, valueType) = try Collections.indexTypes(self, created.type, at: offset)
                return (try convert(key, to: keyType, at: keys[0].offset).eval, try bindValue(value, convertingTo: valueType).eval)
            }
            let make = created.eval
            let isJson = Conversions.isJson(created.type)
            return Bound(created.type) { frame in
                let object = try make(frame)
                for (key, value) in setters {
                    let k = try key(frame), v = try value(frame)
                    switch object {
                    case .dictionary(let box): box.set(k, v)
                    case .json(let token) where isJson:
                        if case .string(let name) = k { token.setProperty(name, Conversions.toJValue(v)) }
                    default: break
                    }
                }
                return object
            }
        case .members(let members):
            // `new HMACSHA256 { Key = bytes }`: the HMAC classes' settable `Key` (the only member
            // initializer the library's types take).
            if let algorithm = Constructors.hmacAlgorithm(TypeNames.strip(typeSyntax.name)), members.count == 1, members[0].0 == "Key" {
                let key = try bindValue(members[0].1, convertingTo: .byteArray).eval
                return Bound(type) { frame in
                    guard case .byteArray(let bytes) = try key(frame) else { throw ExpressionRuntimeError.argumentNull("value") }
                    return .object(HashObject(algorithm, key: bytes.bytes))
                }
            }
            throw error("object initializers are not supported for '\(type)' (member '\(members.first?.0 ?? "")')", at: offset)
        }
    }

    func bindNewArray(_ elementSyntax: TypeSyntax?, sizes: [Expr], elements: [Expr]?, at offset: Int) throws -> Bound {
        var elementType: ExpressionType
        var boundElements: [Bound] = []
        if let elements { boundElements = try elements.map { try bindValue($0) } }
        if let elementSyntax {
            elementType = try resolveType(elementSyntax)
        } else {
            guard let first = boundElements.first else { throw error("no best type found for implicitly-typed array", at: offset) }
            elementType = first.type
            for element in boundElements.dropFirst() where element.type != elementType {
                if Conversions.implicitScore(from: elementType, to: element.type) != nil { elementType = element.type }
            }
            if elementType == .null { throw error("no best type found for implicitly-typed array", at: offset) }
        }
        let converted = try zip(boundElements, elements ?? []).map { try convert($0, to: elementType, at: $1.offset).eval }
        let isBytes = elementType == .byte
        if let sizeExpr = sizes.first {
            let size = try bindValue(sizeExpr, convertingTo: .int)
            if elements != nil, case .int(let n)? = size.constant, Int(n) != converted.count {
                throw error("an array initializer of length '\(n)' is expected", at: offset)
            }
            if elements == nil {
                let sizeEval = size.eval
                let defaultValue = Binder.defaultValue(of: elementType)
                return Bound(.array(elementType)) { frame in
                    guard case .int(let n) = try sizeEval(frame) else { throw ExpressionRuntimeError.nullReference() }
                    guard n >= 0 else { throw ExpressionRuntimeError.overflow() }
                    guard Int(n) <= (isBytes ? Library.maximumSize : Library.maximumCount) else { throw ExpressionRuntimeError("OutOfMemoryException", "Array dimensions exceeded supported range.") }
                    if isBytes { return .bytes([UInt8](repeating: 0, count: Int(n))) }
                    return .list(ListBox(Array(repeating: defaultValue, count: Int(n))))
                }
            }
        }
        return Bound(.array(elementType)) { frame in
            let items = try converted.map { try $0(frame) }
            if isBytes { return .bytes(items.map { UInt8(truncatingIfNeeded: (try? Conversions.toInt64($0)) ?? 0) }) }
            return .list(ListBox(items))
        }
    }
}
