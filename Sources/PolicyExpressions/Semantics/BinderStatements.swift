/// Statements of `@{ }` blocks, planned into `Exec` closures that report normal completion,
/// `break`, `continue` or `return`.
extension Binder {
    func bindStatement(_ statement: Stmt) throws -> Exec {
        switch statement.kind {
        case .block(let statements):
            pushScope()
            defer { popScope() }
            // Local functions are in scope in the whole block: signatures first, bodies in order.
            var declared: [String: LocalFunction] = [:]
            for statement in statements {
                guard case .localFunction(let name, let returnSyntax, let parameters, _) = statement.kind else { continue }
                guard declared[name] == nil, lookup(name) == nil else {
                    throw error("a local variable or function named '\(name)' is already defined in this scope", at: statement.offset)
                }
                let returns = returnSyntax.name == "void" && returnSyntax.arrayRanks == 0 ? ExpressionType.void : try resolveType(returnSyntax)
                declared[name] = LocalFunction(returns: returns, parameterTypes: try parameters.map { try resolveType($0.type ?? returnSyntax) })
            }
            localFunctions.append(declared)
            defer { localFunctions.removeLast() }
            let execs = try statements.map(bindStatement)
            if !declared.isEmpty {
                // The block owns its local functions; calls (in their own bodies too) refer to them
                // unowned, so a recursive function is no reference cycle (freed with the expression).
                let owned = Array(declared.values)
                localFunctionsBound.append(contentsOf: owned)
                return { frame in
                    withExtendedLifetime(owned) {}
                    for exec in execs {
                        let flow = try exec(frame)
                        if case .normal = flow { continue }
                        return flow
                    }
                    return .normal
                }
            }
            if execs.count == 1 { return execs[0] }
            return { frame in
                for exec in execs {
                    let flow = try exec(frame)
                    if case .normal = flow { continue }
                    return flow
                }
                return .normal
            }
        case .empty:
            return { _ in .normal }
        case .declaration(let typeSyntax, let declarators):
            var execs: [Exec] = []
            for declarator in declarators {
                var type: ExpressionType
                var value: Bound?
                if let typeSyntax {
                    type = try resolveType(typeSyntax)
                    if let valueExpr = declarator.value { value = try bindValue(valueExpr, convertingTo: type) }
                } else {
                    guard let valueExpr = declarator.value else { throw error("implicitly-typed variables must be initialized", at: declarator.offset) }
                    let bound = try bindValue(valueExpr)
                    if bound.type == .null { throw error("cannot assign <null> to an implicitly-typed variable", at: valueExpr.offset) }
                    if bound.type == .void { throw error("cannot assign void to an implicitly-typed variable", at: valueExpr.offset) }
                    type = bound.type
                    value = bound
                }
                let slot = try declare(declarator.name, type, at: declarator.offset).slot
                let initial = Binder.defaultValue(of: type)
                if let eval = value?.eval {
                    execs.append { frame in
                        frame.slots[slot] = try eval(frame)
                        return .normal
                    }
                } else {
                    execs.append { frame in
                        frame.slots[slot] = initial
                        return .normal
                    }
                }
            }
            if execs.count == 1 { return execs[0] }
            let all = execs
            return { frame in
                for exec in all { _ = try exec(frame) }
                return .normal
            }
        case .usingStatement(let resource, let body):
            pushScope()
            defer { popScope() }
            let acquire: Exec
            if case .declaration(let typeSyntax, let declarators) = resource.kind {
                guard declarators.allSatisfy({ $0.value != nil }) else { throw error("a using variable must be initialized", at: resource.offset) }
                acquire = try bindStatement(resource)
                for declarator in declarators {
                    if let local = lookup(declarator.name) { constantSlots.insert(local.slot) }
                }
                _ = typeSyntax
            } else {
                acquire = try bindStatement(resource)
            }
            let exec = try bindStatement(body)
            return { frame in
                _ = try acquire(frame)
                return try exec(frame)
            }
        case .localFunction(let name, _, let parameters, let body):
            guard let function = localFunctions.last?[name] else { throw error("a local function must be declared in a block", at: statement.offset) }
            let firstSlot = slotCount
            pushScope()
            defer { popScope() }
            for (parameter, type) in zip(parameters, function.parameterTypes) {
                function.parameterSlots.append(try declare(parameter.name, type, at: parameter.offset).slot)
            }
            let eval: Eval
            switch body {
            case .expression(let expr):
                eval = function.returns == .void ? try bindValue(expr).eval : try bindValue(expr, convertingTo: function.returns).eval
            case .block(let block):
                lambdaReturnTypes.append(function.returns)
                let exec = try bindStatement(block)
                lambdaReturnTypes.removeLast()
                if function.returns != .void, Reachability.completesNormally(block) {
                    throw error("'\(name)': not all code paths return a value", at: statement.offset)
                }
                eval = { frame in
                    if case .returned(let value) = try exec(frame) { return value }
                    return .null
                }
            }
            function.slotRange = firstSlot..<slotCount
            function.body = eval
            return { _ in .normal }
        case .constantDeclaration(let typeSyntax, let declarators):
            // A local constant: its value must be a compile-time constant (literals and operators on
            // them); bound as a declaration, then its names are read-only.
            for declarator in declarators {
                guard let value = declarator.value else { throw error("a const local must be initialized", at: declarator.offset) }
                guard try bindValue(value).constant != nil else {
                    throw error("the expression being assigned to '\(declarator.name)' must be constant", at: value.offset)
                }
            }
            let exec = try bindStatement(Stmt(kind: .declaration(typeSyntax, declarators), offset: statement.offset, endOffset: statement.endOffset))
            for declarator in declarators { if let local = lookup(declarator.name) { constantSlots.insert(local.slot) } }
            return exec
        case .expression(let expr):
            let eval = try bindValue(expr).eval
            return { frame in
                _ = try eval(frame)
                return .normal
            }
        case .ifElse(let conditionExpr, let thenStatement, let elseStatement):
            let condition = try bindCondition(conditionExpr).eval
            pushScope()
            let then = try bindStatement(thenStatement)
            popScope()
            pushScope()
            let otherwise = try elseStatement.map(bindStatement)
            popScope()
            return { frame in
                if case .bool(true) = try condition(frame) { return try then(frame) }
                return try otherwise?(frame) ?? .normal
            }
        case .whileLoop(let conditionExpr, let bodyStatement):
            let condition = try bindCondition(conditionExpr).eval
            pushScope()
            let body = try bindStatement(bodyStatement)
            popScope()
            return { frame in
                while case .bool(true) = try condition(frame) {
                    try frame.spendIteration()
                    switch try body(frame) {
                    case .breakLoop: return .normal
                    case .returned(let value): return .returned(value)
                    case .normal, .continueLoop: continue
                    }
                }
                return .normal
            }
        case .doWhile(let bodyStatement, let conditionExpr):
            pushScope()
            let body = try bindStatement(bodyStatement)
            popScope()
            let condition = try bindCondition(conditionExpr).eval
            return { frame in
                repeat {
                    try frame.spendIteration()
                    switch try body(frame) {
                    case .breakLoop: return .normal
                    case .returned(let value): return .returned(value)
                    case .normal, .continueLoop: break
                    }
                } while try condition(frame).boolValue == true
                return .normal
            }
        case .forLoop(let initializers, let conditionExpr, let iteratorExprs, let bodyStatement):
            pushScope()
            defer { popScope() }
            let inits = try initializers.map(bindStatement)
            let condition = try conditionExpr.map { try bindCondition($0).eval }
            let iterators = try iteratorExprs.map { try bindValue($0).eval }
            pushScope()
            let body = try bindStatement(bodyStatement)
            popScope()
            return { frame in
                for i in inits { _ = try i(frame) }
                while try condition?(frame).boolValue ?? true {
                    try frame.spendIteration()
                    switch try body(frame) {
                    case .breakLoop: return .normal
                    case .returned(let value): return .returned(value)
                    case .normal, .continueLoop: break
                    }
                    for iterator in iterators { _ = try iterator(frame) }
                }
                return .normal
            }
        case .foreachLoop(let typeSyntax, let name, let sequenceExpr, let bodyStatement):
            let sequence = try bindValue(sequenceExpr)
            guard let element = sequence.type.elementType else {
                throw error("foreach statement cannot operate on variables of type '\(sequence.type)'", at: sequenceExpr.offset)
            }
            pushScope()
            defer { popScope() }
            var variableType = element
            var converter: (@Sendable (Value) throws -> Value)?
            if let typeSyntax {
                variableType = try resolveType(typeSyntax)
                if variableType != element {
                    guard Conversions.explicitAllowed(from: element, to: variableType) else {
                        throw error("cannot convert type '\(element)' to '\(variableType)'", at: typeSyntax.offset)
                    }
                    converter = Conversions.explicitConverter(from: element, to: variableType)
                }
            }
            let convert = converter
            let slot = try declare(name, variableType, at: statement.offset).slot
            let body = try bindStatement(bodyStatement)
            let items = Sequences.enumerator(for: sequence.type)
            let eval = sequence.eval
            return { frame in
                for item in try items(try eval(frame)) {
                    try frame.spendIteration()
                    frame.slots[slot] = try convert?(item) ?? item
                    switch try body(frame) {
                    case .breakLoop: return .normal
                    case .returned(let value): return .returned(value)
                    case .normal, .continueLoop: continue
                    }
                }
                return .normal
            }
        case .switchStatement(let subjectExpr, let sections):
            return try bindSwitch(subjectExpr, sections)
        case .tryCatch(let bodyStatement, let catches, let finallyStatement):
            return try bindTry(bodyStatement, catches, finallyStatement)
        case .returnStatement(let valueExpr):
            if lambdaReturnTypes.isEmpty {
                guard let valueExpr else { throw error("an object of a type convertible to 'object' is required", at: statement.offset) }
                let bound = try bindValue(valueExpr)
                if bound.type == .void { throw error("cannot return an expression of type 'void'", at: valueExpr.offset) }
                let eval = bound.eval
                return { frame in .returned(try eval(frame)) }
            }
            guard let valueExpr else {
                if let expected = lambdaReturnTypes[lambdaReturnTypes.count - 1], expected != .void {
                    throw error("an object of a type convertible to '\(expected)' is required", at: statement.offset)
                }
                return { _ in .returned(.null) }
            }
            if lambdaReturnTypes[lambdaReturnTypes.count - 1] == .void {
                throw error("since the local function returns void, a return keyword must not be followed by an object expression", at: valueExpr.offset)
            }
            var bound = try bindValue(valueExpr)
            if let expected = lambdaReturnTypes[lambdaReturnTypes.count - 1] {
                bound = try convert(bound, to: expected, at: valueExpr.offset)
            } else {
                lambdaReturnTypes[lambdaReturnTypes.count - 1] = bound.type
            }
            let eval = bound.eval
            return { frame in .returned(try eval(frame)) }
        case .throwStatement(let valueExpr):
            guard let valueExpr else {
                guard let slot = catchSlots.last else { throw error("a throw statement with no arguments is not allowed outside of a catch clause", at: statement.offset) }
                return { frame in
                    if case .object(let object) = frame.slots[slot], let exception = object as? ExceptionObject { throw exception.error }
                    throw ExpressionRuntimeError("Exception", "Exception of type 'System.Exception' was thrown.")
                }
            }
            let bound = try bindValue(valueExpr)
            guard case .host(let type) = bound.type, type.isAssignable(to: LibraryTypes.exception) else {
                throw error("the type caught or thrown must be derived from System.Exception", at: valueExpr.offset)
            }
            let eval = bound.eval
            return { frame in
                guard case .object(let object) = try eval(frame), let exception = object as? ExceptionObject else {
                    throw ExpressionRuntimeError.nullReference()
                }
                throw exception.error
            }
        case .breakStatement:
            return { _ in .breakLoop }
        case .continueStatement:
            return { _ in .continueLoop }
        }
    }

    private func bindSwitch(_ subjectExpr: Expr, _ sections: [SwitchSection]) throws -> Exec {
        let subject = try bindValue(subjectExpr)
        var planned: [(labels: [Value], isDefault: Bool, body: [Exec])] = []
        var seen: [Value] = []
        pushScope()
        defer { popScope() }
        for section in sections {
            var labels: [Value] = []
            var isDefault = false
            for label in section.labels {
                guard let label else { isDefault = true; continue }
                let bound = try bindValue(label, convertingTo: subject.type)
                guard let constant = bound.constant else { throw error("a constant value is expected", at: label.offset) }
                if seen.contains(where: { Arithmetic.equals($0, constant) }) {
                    throw error("the switch statement contains multiple cases with the label value '\(Formatting.toString(constant))'", at: label.offset)
                }
                seen.append(constant)
                labels.append(constant)
            }
            let body = Stmt(kind: .block(section.body), offset: section.offset, endOffset: section.offset)
            if Reachability.completesNormally(body) {
                throw error("control cannot fall through from one case label to another", at: section.offset)
            }
            let execs = try section.body.map(bindStatement)
            planned.append((labels, isDefault, execs))
        }
        let eval = subject.eval
        let table = planned
        return { frame in
            let value = try eval(frame)
            let section = table.first { $0.labels.contains { Arithmetic.equals($0, value) } } ?? table.first { $0.isDefault }
            guard let section else { return .normal }
            for exec in section.body {
                switch try exec(frame) {
                case .normal: continue
                case .breakLoop: return .normal
                case let flow: return flow
                }
            }
            return .normal
        }
    }

    private func bindTry(_ bodyStatement: Stmt, _ catches: [CatchClause], _ finallyStatement: Stmt?) throws -> Exec {
        let body = try bindStatement(bodyStatement)
        var handlers: [(typeName: String, slot: Int?, filter: Eval?, body: Exec)] = []
        for clause in catches {
            pushScope()
            var typeName = "Exception"
            if let syntax = clause.type {
                let type = try resolveType(syntax)
                guard case .host(let host) = type, host.isAssignable(to: LibraryTypes.exception) else {
                    throw error("the type caught or thrown must be derived from System.Exception", at: syntax.offset)
                }
                typeName = host.name
            }
            var slot: Int?
            if let name = clause.name {
                let exceptionType = model.namedTypes[typeName] ?? LibraryTypes.exception
                slot = try declare(name, .host(exceptionType), at: bodyStatement.offset).slot
            }
            let exceptionSlot = slot ?? newSlot()
            catchSlots.append(exceptionSlot)
            let filter = try clause.filter.map { try bindCondition($0).eval }
            let handler = try bindStatement(clause.body)
            catchSlots.removeLast()
            popScope()
            handlers.append((typeName, exceptionSlot, filter, handler))
        }
        let finally = try finallyStatement.map(bindStatement)
        let clauses = handlers
        return { frame in
            var flow: Flow
            do {
                flow = try body(frame)
            } catch let failure as ExpressionRuntimeError {
                var handled: Flow?
                for handler in clauses where ExceptionObject.matches(failure.exceptionType, catchType: handler.typeName) {
                    if let slot = handler.slot { frame.slots[slot] = .object(ExceptionObject(failure)) }
                    if let filter = handler.filter, try filter(frame).boolValue != true { continue }
                    do {
                        handled = try handler.body(frame)
                    } catch {
                        if let finally { _ = try finally(frame) }
                        throw error
                    }
                    break
                }
                guard let handled else {
                    if let finally { _ = try finally(frame) }
                    throw failure
                }
                flow = handled
            }
            if let finally {
                let finallyFlow = try finally(frame)
                if case .normal = finallyFlow { return flow }
                return finallyFlow
            }
            return flow
        }
    }
}

/// C#'s "end point reachable" analysis, enough for "not all code paths return a value" and
/// "control cannot fall through from one case label to another".
enum Reachability {
    static func completesNormally(_ statement: Stmt) -> Bool {
        switch statement.kind {
        case .returnStatement, .throwStatement, .breakStatement, .continueStatement:
            return false
        case .block(let statements):
            for s in statements where !completesNormally(s) { return false }
            return true
        case .ifElse(let condition, let then, let otherwise):
            if isConstantTrue(condition) { return completesNormally(then) }
            guard let otherwise else { return true }
            return completesNormally(then) || completesNormally(otherwise)
        case .whileLoop(let condition, let body):
            return !isConstantTrue(condition) || containsBreak(body)
        case .forLoop(_, let condition, _, let body):
            return (condition.map { !isConstantTrue($0) } ?? false) || containsBreak(body)
        case .doWhile(let body, let condition):
            return (completesNormally(body) && !isConstantTrue(condition)) || containsBreak(body)
        case .switchStatement(_, let sections):
            let hasDefault = sections.contains { $0.labels.contains { $0 == nil } }
            return !hasDefault || sections.contains { $0.body.contains(where: containsBreak) }
        case .tryCatch(let body, let catches, let finally):
            if let finally, !completesNormally(finally) { return false }
            return completesNormally(body) || catches.contains { completesNormally($0.body) }
        case .usingStatement(_, let body):
            return completesNormally(body)
        default:
            return true
        }
    }

    static func isConstantTrue(_ expr: Expr) -> Bool {
        if case .literal(.bool(true)) = expr.kind { return true }
        return false
    }

    /// A `break` that leaves this loop/switch (not one nested in an inner loop or switch).
    static func containsBreak(_ statement: Stmt) -> Bool {
        switch statement.kind {
        case .breakStatement: return true
        case .block(let statements): return statements.contains(where: containsBreak)
        case .ifElse(_, let then, let otherwise): return containsBreak(then) || (otherwise.map(containsBreak) ?? false)
        case .tryCatch(let body, let catches, let finally):
            return containsBreak(body) || catches.contains { containsBreak($0.body) } || (finally.map(containsBreak) ?? false)
        case .usingStatement(_, let body): return containsBreak(body)
        default: return false
        }
    }
}
