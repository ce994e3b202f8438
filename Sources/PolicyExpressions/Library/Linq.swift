import Foundation

/// System.Linq.Enumerable, bound at compile time: lambdas get their parameter types from the
/// receiver's element type; results are materialised eagerly (policies never observe laziness).
enum Linq {
    static let methods: Set<String> = [
        "Any", "All", "Where", "Select", "SelectMany", "First", "FirstOrDefault", "Last", "LastOrDefault", "Single",
        "SingleOrDefault", "Count", "LongCount", "Sum", "Min", "Max", "Average", "Contains", "OrderBy", "OrderByDescending",
        "ThenBy", "ThenByDescending", "Distinct", "Skip", "Take", "SkipWhile", "TakeWhile", "Concat", "Union", "Intersect",
        "Except", "ToArray", "ToList", "ToDictionary", "ToHashSet", "Aggregate", "SequenceEqual", "GroupBy", "Reverse",
        "ElementAt", "ElementAtOrDefault", "DefaultIfEmpty", "Cast", "OfType", "Zip",
    ]

    typealias Lambda = @Sendable (Frame, Value) throws -> Value

    struct Bundle {
        let binder: Binder
        let name: String
        let offset: Int
        let args: [Binder.BoundArgument]
        let element: ExpressionType

        func lambda(_ index: Int, _ types: [ExpressionType]) throws -> (Bound, [Int]) {
            guard index < args.count, case .lambda(let parameters, let body, let lambdaOffset) = args[index] else {
                throw binder.error("argument \(index + 1) of '\(name)' must be a lambda expression", at: offset)
            }
            return try binder.bindLambda(parameters, body, parameterTypes: types, at: lambdaOffset)
        }

        /// A one-parameter lambda over the element, as an invoker.
        func selector(_ index: Int) throws -> (ExpressionType, Lambda) {
            let (bound, slots) = try lambda(index, [element])
            let slot = slots[0], eval = bound.eval
            return (bound.type, { frame, item in
                frame.slots[slot] = item
                return try eval(frame)
            })
        }

        func predicate(_ index: Int) throws -> Lambda {
            let (type, f) = try selector(index)
            guard type == .bool else { throw binder.error("cannot convert lambda expression: the body of '\(name)' must be 'bool', not '\(type)'", at: offset) }
            return f
        }

        func value(_ index: Int, _ type: ExpressionType? = nil) throws -> Bound {
            guard index < args.count, case .value(let bound, let argOffset) = args[index] else {
                throw binder.error("argument \(index + 1) of '\(name)' must be a value", at: offset)
            }
            guard let type else { return bound }
            return try binder.convert(bound, to: type, at: argOffset)
        }

        func arity(_ counts: Int...) throws {
            guard counts.contains(args.count) else {
                throw binder.error("no overload for method '\(name)' takes \(args.count) argument\(args.count == 1 ? "" : "s")", at: offset)
            }
        }
    }

    static func noElements() -> ExpressionRuntimeError { .invalidOperation("Sequence contains no elements") }
    static func noMatch() -> ExpressionRuntimeError { .invalidOperation("Sequence contains no matching element") }

    static func bind(_ binder: Binder, _ receiver: Bound, element: ExpressionType, _ name: String, typeArguments: [ExpressionType],
                     _ args: [Binder.BoundArgument], at offset: Int) throws -> Bound {
        let b = Bundle(binder: binder, name: name, offset: offset, args: args, element: element)
        let items = Sequences.enumerator(for: receiver.type)
        let recv = receiver.eval
        @Sendable func source(_ frame: Frame) throws -> [Value] { try items(try recv(frame)) }
        let fallback = Binder.defaultValue(of: element)
        func seq(_ type: ExpressionType, _ f: @escaping @Sendable (Frame, [Value]) throws -> [Value]) -> Bound {
            Bound(.enumerable(type)) { frame in
                let result = try f(frame, try source(frame))
                try Library.checkCount(result.count)  // e.g. `Concat` of a sequence with itself, repeated
                return .list(ListBox(result))
            }
        }
        func scalar(_ type: ExpressionType, _ f: @escaping @Sendable (Frame, [Value]) throws -> Value) -> Bound {
            Bound(type) { frame in try f(frame, try source(frame)) }
        }
        if !typeArguments.isEmpty && !["Cast", "OfType", "Select", "ToDictionary", "Sum", "Max", "Min"].contains(name) {
            throw binder.error("the non-generic usage of '\(name)' cannot have type arguments here", at: offset)
        }

        switch name {
        case "Any":
            try b.arity(0, 1)
            if args.isEmpty { return scalar(.bool) { _, s in .bool(!s.isEmpty) } }
            let p = try b.predicate(0)
            return scalar(.bool) { frame, s in
                for item in s where try p(frame, item).boolValue == true { return .bool(true) }
                return .bool(false)
            }
        case "All":
            try b.arity(1)
            let p = try b.predicate(0)
            return scalar(.bool) { frame, s in
                for item in s where try p(frame, item).boolValue != true { return .bool(false) }
                return .bool(true)
            }
        case "Where":
            try b.arity(1)
            if case .lambda(let parameters, _, _) = args[0], parameters.count == 2 {
                let (bound, slots) = try b.lambda(0, [element, .int])
                let eval = bound.eval
                return seq(element) { frame, s in
                    var result: [Value] = []
                    for (i, item) in s.enumerated() {
                        frame.slots[slots[0]] = item
                        frame.slots[slots[1]] = .int(Int32(i))
                        if try eval(frame).boolValue == true { result.append(item) }
                    }
                    return result
                }
            }
            let p = try b.predicate(0)
            return seq(element) { frame, s in try s.filter { try p(frame, $0).boolValue == true } }
        case "Select":
            try b.arity(1)
            if case .lambda(let parameters, _, _) = args[0], parameters.count == 2 {
                let (bound, slots) = try b.lambda(0, [element, .int])
                let eval = bound.eval
                return seq(bound.type) { frame, s in
                    try s.enumerated().map { i, item in
                        frame.slots[slots[0]] = item
                        frame.slots[slots[1]] = .int(Int32(i))
                        return try eval(frame)
                    }
                }
            }
            let (type, f) = try b.selector(0)
            if type == .void { throw binder.error("the type arguments for method 'Select' cannot be inferred from the usage", at: offset) }
            return seq(type) { frame, s in try s.map { try f(frame, $0) } }
        case "SelectMany":
            try b.arity(1)
            let (type, f) = try b.selector(0)
            guard let inner = type.elementType else { throw binder.error("the type arguments for method 'SelectMany' cannot be inferred from the usage", at: offset) }
            let innerItems = Sequences.enumerator(for: type)
            return seq(inner) { frame, s in
                // The result is a product of sizes (`xs.SelectMany(x => xs)`): check as it grows.
                var result: [Value] = []
                for item in s {
                    let more = try innerItems(try f(frame, item))
                    try Library.checkCount(result.count + more.count)
                    result += more
                }
                return result
            }
        case "First", "Last", "Single", "FirstOrDefault", "LastOrDefault", "SingleOrDefault":
            try b.arity(0, 1)
            let p = args.isEmpty ? nil : try b.predicate(0)
            let orDefault = name.hasSuffix("OrDefault")
            let kind = name.replacingOccurrences(of: "OrDefault", with: "")
            return scalar(element) { frame, s in
                let matches: [Value]
                if let p {
                    if kind == "First" {
                        for item in s where try p(frame, item).boolValue == true { return item }
                        if orDefault { return fallback }
                        throw noMatch()
                    }
                    matches = try s.filter { try p(frame, $0).boolValue == true }
                } else {
                    matches = s
                }
                if kind == "Single", matches.count > 1 {
                    throw ExpressionRuntimeError.invalidOperation(p == nil ? "Sequence contains more than one element" : "Sequence contains more than one matching element")
                }
                guard let found = kind == "Last" ? matches.last : matches.first else {
                    if orDefault { return fallback }
                    throw p == nil ? noElements() : noMatch()
                }
                return found
            }
        case "Count", "LongCount":
            try b.arity(0, 1)
            let isInt = name == "Count"
            let wrap: @Sendable (Int) -> Value = { isInt ? .int(Int32($0)) : .long(Int64($0)) }
            if args.isEmpty { return scalar(name == "Count" ? .int : .long) { _, s in wrap(s.count) } }
            let p = try b.predicate(0)
            return scalar(name == "Count" ? .int : .long) { frame, s in wrap(try s.filter { try p(frame, $0).boolValue == true }.count) }
        case "Sum", "Average", "Min", "Max":
            try b.arity(0, 1)
            var valueType = element
            var project: Lambda?
            if !args.isEmpty {
                let (type, f) = try b.selector(0)
                valueType = type
                project = f
            }
            return try aggregateNumeric(binder, name, valueType, project, source, at: offset)
        case "Contains":
            try b.arity(1)
            let x = try b.value(0, element).eval
            return scalar(.bool) { frame, s in
                let needle = try x(frame)
                return .bool(s.contains { Arithmetic.equals($0, needle) })
            }
        case "OrderBy", "OrderByDescending", "ThenBy", "ThenByDescending":
            try b.arity(1)
            let (_, key) = try b.selector(0)
            let descending = name.hasSuffix("Descending")
            let thenBy = name.hasPrefix("Then")
            return Bound(.enumerable(element)) { frame in
                let value = try recv(frame)
                let s = try items(value)
                var previous: [[Value]] = []
                var directions: [Bool] = []
                if thenBy {
                    guard case .list(let box) = value, let keys = box.sortKeys else {
                        throw ExpressionRuntimeError.invalidOperation("ThenBy requires a sequence ordered by OrderBy.")
                    }
                    previous = keys
                    directions = box.sortDescending
                } else {
                    previous = Array(repeating: [], count: s.count)
                }
                let newKeys = try s.map { try key(frame, $0) }
                let allKeys = zip(previous, newKeys).map { $0 + [$1] }
                directions.append(descending)
                var failure: Error?
                let order = Array(s.indices).sorted { i, j in
                    for (level, desc) in directions.enumerated() {
                        do {
                            let c = try Arithmetic.compare(allKeys[i][level], allKeys[j][level])
                            if c != 0 { return desc ? c > 0 : c < 0 }
                        } catch { failure = error; return false }
                    }
                    return i < j
                }
                if let failure { throw failure }
                let box = ListBox(order.map { s[$0] })
                box.sortKeys = order.map { allKeys[$0] }
                box.sortDescending = directions
                return .list(box)
            }
        case "Distinct":
            try b.arity(0)
            return seq(element) { _, s in
                var result: [Value] = []
                for item in s where !result.contains(where: { Arithmetic.equals($0, item) }) { result.append(item) }
                return result
            }
        case "Skip", "Take":
            try b.arity(1)
            let n = try b.value(0, .int).eval
            let skip = name == "Skip"
            return seq(element) { frame, s in
                let count = max(0, min(s.count, try int(try n(frame))))
                return skip ? Array(s.dropFirst(count)) : Array(s.prefix(count))
            }
        case "SkipWhile", "TakeWhile":
            try b.arity(1)
            let p = try b.predicate(0)
            let skip = name == "SkipWhile"
            return seq(element) { frame, s in
                var index = 0
                while index < s.count, try p(frame, s[index]).boolValue == true { index += 1 }
                return skip ? Array(s[index...]) : Array(s[..<index])
            }
        case "Concat", "Union", "Intersect", "Except", "SequenceEqual", "Zip":
            try b.arity(1)
            let other = try b.value(0)
            guard let otherElement = other.type.elementType else {
                throw binder.error("argument 1 of '\(name)' must be a sequence, not '\(other.type)'", at: offset)
            }
            if name != "Zip" && otherElement != element && Conversions.implicitScore(from: otherElement, to: element) == nil {
                throw binder.error("the type arguments for method '\(name)' cannot be inferred from the usage", at: offset)
            }
            let otherItems = Sequences.enumerator(for: other.type)
            let o = other.eval
            @Sendable func contains(_ list: [Value], _ x: Value) -> Bool { list.contains { Arithmetic.equals($0, x) } }
            switch name {
            case "Concat": return seq(element) { frame, s in s + (try otherItems(try o(frame))) }
            case "Union": return seq(element) { frame, s in
                var result: [Value] = []
                for x in s + (try otherItems(try o(frame))) where !contains(result, x) { result.append(x) }
                return result
            }
            case "Intersect": return seq(element) { frame, s in
                let t = try otherItems(try o(frame))
                var result: [Value] = []
                for x in s where contains(t, x) && !contains(result, x) { result.append(x) }
                return result
            }
            case "Except": return seq(element) { frame, s in
                let t = try otherItems(try o(frame))
                var result: [Value] = []
                for x in s where !contains(t, x) && !contains(result, x) { result.append(x) }
                return result
            }
            case "Zip":
                throw binder.error("'Zip' needs a result selector in C# 7", at: offset)
            default: return scalar(.bool) { frame, s in
                let t = try otherItems(try o(frame))
                return .bool(s.count == t.count && zip(s, t).allSatisfy { Arithmetic.equals($0, $1) })
            }
            }
        case "ToArray", "ToList", "ToHashSet":
            try b.arity(0)
            let type: ExpressionType = name == "ToArray" ? .array(element) : name == "ToList" ? .list(element) : .hashSet(element)
            let isBytes = element == .byte && name == "ToArray"
            return Bound(type) { frame in
                let value = try recv(frame)
                if isBytes, case .byteArray(let array) = value { return .bytes(array.bytes) }  // a new array, as .NET's ToArray
                var s = try items(value)
                if name == "ToHashSet" {
                    var unique: [Value] = []
                    for x in s where !unique.contains(where: { Arithmetic.equals($0, x) }) { unique.append(x) }
                    s = unique
                }
                if isBytes { return .bytes(s.map { UInt8(truncatingIfNeeded: (try? Conversions.toInt64($0)) ?? 0) }) }
                return .list(ListBox(s))
            }
        case "ToDictionary":
            try b.arity(1, 2)
            let (keyType, key) = try b.selector(0)
            var valueType = element
            var valueSelector: Lambda?
            if args.count == 2 {
                let (type, f) = try b.selector(1)
                valueType = type
                valueSelector = f
            }
            let value = valueSelector
            return Bound(.dictionary(keyType, valueType)) { frame in
                let box = DictionaryBox()
                for item in try source(frame) {
                    let k = try key(frame, item)
                    if k.isNull { throw ExpressionRuntimeError.argumentNull("key") }
                    guard box.add(k, try value?(frame, item) ?? item) else {
                        throw ExpressionRuntimeError.argument("An item with the same key has already been added. Key: \(Formatting.toString(k))")
                    }
                }
                return .dictionary(box)
            }
        case "GroupBy":
            try b.arity(1)
            let (keyType, key) = try b.selector(0)
            return seq(.grouping(keyType, element)) { frame, s in
                var keys: [Value] = []
                var groups: [[Value]] = []
                for item in s {
                    let k = try key(frame, item)
                    if let i = keys.firstIndex(where: { Arithmetic.equals($0, k) }) { groups[i].append(item) } else {
                        keys.append(k)
                        groups.append([item])
                    }
                }
                return zip(keys, groups).map { .pair(PairBox(key: $0, value: .list(ListBox($1)))) }
            }
        case "Aggregate":
            try b.arity(1, 2)
            if args.count == 1 {
                let (bound, slots) = try b.lambda(0, [element, element])
                let eval = try binder.convert(bound, to: element, at: offset).eval
                return scalar(element) { frame, s in
                    guard var acc = s.first else { throw noElements() }
                    for item in s.dropFirst() {
                        frame.slots[slots[0]] = acc
                        frame.slots[slots[1]] = item
                        acc = try eval(frame)
                    }
                    return acc
                }
            }
            let seed = try b.value(0)
            let accType = seed.type == .null ? ExpressionType.object : seed.type
            let (bound, slots) = try b.lambda(1, [accType, element])
            let eval = try binder.convert(bound, to: accType, at: offset).eval
            let seedEval = seed.eval
            return scalar(accType) { frame, s in
                var acc = try seedEval(frame)
                for item in s {
                    frame.slots[slots[0]] = acc
                    frame.slots[slots[1]] = item
                    acc = try eval(frame)
                }
                return acc
            }
        case "Reverse":
            try b.arity(0)
            return seq(element) { _, s in s.reversed() }
        case "ElementAt", "ElementAtOrDefault":
            try b.arity(1)
            let n = try b.value(0, .int).eval
            let orDefault = name == "ElementAtOrDefault"
            return scalar(element) { frame, s in
                let i = try int(try n(frame))
                guard i >= 0, i < s.count else {
                    if orDefault { return fallback }
                    throw ExpressionRuntimeError.argumentOutOfRange("index", "Index was out of range. Must be non-negative and less than the size of the collection.")
                }
                return s[i]
            }
        case "DefaultIfEmpty":
            try b.arity(0, 1)
            let d: Eval = args.isEmpty ? constantEval(fallback) : try b.value(0, element).eval
            return seq(element) { frame, s in s.isEmpty ? [try d(frame)] : s }
        case "Cast", "OfType":
            try b.arity(0)
            guard typeArguments.count == 1 else { throw binder.error("'\(name)' requires one type argument", at: offset) }
            let target = typeArguments[0]
            let cast = Conversions.explicitConverter(from: .object, to: target)
            let ofType = name == "OfType"
            return seq(target) { _, s in
                if ofType { return s.filter { Conversions.isInstance($0, of: target.underlyingNonNullable) } }
                return try s.map(cast)
            }
        default:
            throw binder.error("'\(name)' is not supported", at: offset)
        }
    }

    private static func aggregateNumeric(_ binder: Binder, _ name: String, _ type: ExpressionType, _ project: Lambda?,
                                         _ source: @escaping @Sendable (Frame) throws -> [Value], at offset: Int) throws -> Bound {
        let base = type.underlyingNonNullable
        let nullable = type.isNullableValue
        let numeric = base.isNumeric
        if name == "Sum" || name == "Average" {
            guard numeric else { throw binder.error("'\(name)' cannot be applied to a sequence of '\(type)'", at: offset) }
        }
        var resultType = type
        if name == "Average" { resultType = base == .decimal ? .decimal : .double; if nullable { resultType = .nullable(resultType) } }
        if name == "Sum", [.byte, .short, .char].contains(base) { resultType = .int }
        let target = resultType.underlyingNonNullable
        return Bound(resultType) { frame in
            var values = try source(frame)
            if let project { values = try values.map { try project(frame, $0) } }
            let present = values.filter { !$0.isNull }
            switch name {
            case "Sum":
                switch target {
                case .int:
                    var total: Int32 = 0
                    for v in present {
                        let (sum, overflow) = total.addingReportingOverflow(Int32(truncatingIfNeeded: try Conversions.toInt64(v)))
                        if overflow { throw ExpressionRuntimeError.overflow() }
                        total = sum
                    }
                    return .int(total)
                case .long:
                    var total: Int64 = 0
                    for v in present {
                        let (sum, overflow) = total.addingReportingOverflow(try Conversions.toInt64(v))
                        if overflow { throw ExpressionRuntimeError.overflow() }
                        total = sum
                    }
                    return .long(total)
                case .decimal: return .decimal(try present.reduce(Decimal(0)) { $0 + (try Conversions.toDecimal($1)) })
                default: return .double(try present.reduce(0.0) { $0 + (try Conversions.toDouble($1)) })
                }
            case "Average":
                guard !present.isEmpty else {
                    if nullable { return .null }
                    throw noElements()
                }
                if target == .decimal { return .decimal(try present.reduce(Decimal(0)) { $0 + (try Conversions.toDecimal($1)) } / Decimal(present.count)) }
                return .double(try present.reduce(0.0) { $0 + (try Conversions.toDouble($1)) } / Double(present.count))
            default:
                guard var best = present.first else {
                    if nullable || !type.isValueType { return .null }
                    throw noElements()
                }
                for v in present.dropFirst() {
                    let c = try Arithmetic.compare(v, best)
                    if name == "Min" ? c < 0 : c > 0 { best = v }
                }
                return best
            }
        }
    }
}
