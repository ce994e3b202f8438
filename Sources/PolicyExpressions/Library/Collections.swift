import Foundation

/// Enumeration of any sequence value into an array of elements.
enum Sequences {
    static func enumerator(for type: ExpressionType) -> @Sendable (Value) throws -> [Value] {
        switch type {
        case .json(.object):
            return { value in
                guard case .json(let token) = value else { throw ExpressionRuntimeError.nullReference() }
                guard case .object(let properties) = token.storage else { return token.children.map { .json($0) } }
                return properties.map { .pair(PairBox(key: .string($0.0), value: .json($0.1))) }
            }
        case .json:
            return { value in
                guard case .json(let token) = value else { throw ExpressionRuntimeError.nullReference() }
                if case .value = token.storage { throw ExpressionRuntimeError.invalidOperation("Cannot access child value on Newtonsoft.Json.Linq.JValue.") }
                return token.children.map { .json($0) }
            }
        default:
            return { value in try items(value) }
        }
    }

    static func items(_ value: Value) throws -> [Value] {
        switch value {
        case .list(let box): return box.items
        case .byteArray(let b): return b.map { .int(Int32($0)) }
        case .string(let s): return s.utf16.map { .char($0) }
        case .dictionary(let d): return d.pairs
        case .pair(let p): return try items(p.value)
        case .json(let token):
            if case .value = token.storage { throw ExpressionRuntimeError.invalidOperation("Cannot access child value on Newtonsoft.Json.Linq.JValue.") }
            return token.children.map { .json($0) }
        case .object(let object):
            guard let sequence = object as? any EnumerableHostObject else {
                throw ExpressionRuntimeError.invalidCast(from: object.hostType.name, to: "System.Collections.IEnumerable")
            }
            return try sequence.elements()
        case .null: throw ExpressionRuntimeError.argumentNull("source")
        default: throw ExpressionRuntimeError.invalidCast(from: Conversions.runtimeTypeName(value), to: "System.Collections.IEnumerable")
        }
    }
}

/// Arrays, `List<T>`, `HashSet<T>` and dictionaries (including APIM's header/variable extensions).
enum Collections {
    static func listBox(_ v: Value) throws -> ListBox {
        if case .list(let box) = v { return box }
        throw ExpressionRuntimeError.nullReference()
    }

    static func dictionary(_ v: Value) throws -> DictionaryBox {
        if case .dictionary(let box) = v { return box }
        throw ExpressionRuntimeError.nullReference()
    }

    static func property(of type: ExpressionType, _ name: String) -> PropertyImpl? {
        switch (type, name) {
        case (.array, "Length"), (.array, "LongLength"):
            return PropertyImpl(name == "Length" ? .int : .long) { v in
                let n: Int
                switch v {
                case .byteArray(let b): n = b.count
                case .list(let box): n = box.items.count
                default: throw ExpressionRuntimeError.nullReference()
                }
                return name == "Length" ? .int(Int32(n)) : .long(Int64(n))
            }
        case (.list, "Count"), (.hashSet, "Count"):
            return PropertyImpl(.int) { v in
                if case .byteArray(let b) = v { return .int(Int32(b.count)) }
                return .int(Int32(try listBox(v).items.count))
            }
        case (.dictionary, "Count"):
            return PropertyImpl(.int) { .int(Int32(try dictionary($0).count)) }
        case (.dictionary(let k, _), "Keys"):
            return PropertyImpl(.list(k)) { .list(ListBox(try dictionary($0).keys)) }
        case (.dictionary(_, let v), "Values"):
            return PropertyImpl(.list(v)) { .list(ListBox(try dictionary($0).values)) }
        default:
            return nil
        }
    }

    static func index(_ i: Value, count: Int, isArray: Bool) throws -> Int {
        let n = try int(i)
        guard n >= 0, n < count else {
            if isArray { throw ExpressionRuntimeError.indexOutOfRange() }
            throw ExpressionRuntimeError.argumentOutOfRange("index", "Index was out of range. Must be non-negative and less than the size of the collection.")
        }
        return n
    }

    static func methods(of type: ExpressionType, _ name: String) -> [Overload]? {
        switch type {
        case .list(let t):
            switch name {
            case "Add", "Enqueue", "Push": return [m1(t, .void) { l, x in
                let box = try listBox(l)
                try Library.checkCount(box.items.count + 1)
                box.items.append(x)
                return .null
            }]
            case "AddRange": return [m1(.enumerable(t), .void) { l, x in
                let box = try listBox(l), added = try Sequences.items(x)
                try Library.checkCount(box.items.count + added.count)  // `list.AddRange(list)` doubles
                box.items += added
                return .null
            }]
            case "Remove": return [m1(t, .bool) { l, x in
                let box = try listBox(l)
                guard let i = box.items.firstIndex(where: { Arithmetic.equals($0, x) }) else { return .bool(false) }
                box.items.remove(at: i)
                return .bool(true)
            }]
            case "RemoveAt": return [m1(.int, .void) { l, i in
                let box = try listBox(l)
                box.items.remove(at: try index(i, count: box.items.count, isArray: false))
                return .null
            }]
            case "Insert": return [m2(.int, t, .void) { l, i, x in
                let box = try listBox(l)
                let n = try int(i)
                guard n >= 0, n <= box.items.count else { throw ExpressionRuntimeError.argumentOutOfRange("index", "Index must be within the bounds of the List.") }
                box.items.insert(x, at: n)
                return .null
            }]
            case "Contains": return [m1(t, .bool) { l, x in .bool(try listBox(l).items.contains { Arithmetic.equals($0, x) }) }]
            case "IndexOf": return [m1(t, .int) { l, x in .int(Int32(try listBox(l).items.firstIndex { Arithmetic.equals($0, x) } ?? -1)) }]
            case "Clear": return [m0(.void) { l in try listBox(l).items.removeAll(); return .null }]
            case "Reverse": return [m0(.void) { l in try listBox(l).items.reverse(); return .null }]
            case "Sort": return [m0(.void) { l in
                let box = try listBox(l)
                var failure: Error?
                box.items.sort { a, b in
                    do { return try Arithmetic.compare(a, b) < 0 } catch { failure = error; return false }
                }
                if let failure { throw failure }
                return .null
            }]
            case "GetRange": return [m2(.int, .int, .list(t)) { l, i, n in
                let items = try listBox(l).items
                let start = try int(i), count = try int(n)
                guard start >= 0, count >= 0, start + count <= items.count else { throw ExpressionRuntimeError.argument("Offset and length were out of bounds for the array or count is greater than the number of elements from index to the end of the source collection.") }
                return .list(ListBox(Array(items[start..<start + count])))
            }]
            case "Dequeue", "Pop", "Peek":
                return [m0(t) { l in
                    let box = try listBox(l)
                    guard !box.items.isEmpty else { throw ExpressionRuntimeError.invalidOperation(name == "Pop" || name == "Peek" ? "Stack empty." : "Queue empty.") }
                    switch name {
                    case "Dequeue": return box.items.removeFirst()
                    case "Pop": return box.items.removeLast()
                    default: return box.items.last ?? .null
                    }
                }]
            default: return nil
            }
        case .hashSet(let t):
            switch name {
            case "Add": return [m1(t, .bool) { s, x in
                let box = try listBox(s)
                if box.items.contains(where: { Arithmetic.equals($0, x) }) { return .bool(false) }
                box.items.append(x)
                return .bool(true)
            }]
            case "Remove": return [m1(t, .bool) { s, x in
                let box = try listBox(s)
                guard let i = box.items.firstIndex(where: { Arithmetic.equals($0, x) }) else { return .bool(false) }
                box.items.remove(at: i)
                return .bool(true)
            }]
            case "Contains": return [m1(t, .bool) { s, x in .bool(try listBox(s).items.contains { Arithmetic.equals($0, x) }) }]
            case "Clear": return [m0(.void) { s in try listBox(s).items.removeAll(); return .null }]
            default: return nil
            }
        case .dictionary(let k, let v):
            switch name {
            case "ContainsKey": return [m1(k, .bool) { d, key in
                if key.isNull { throw ExpressionRuntimeError.argumentNull("key") }
                return .bool(try dictionary(d)[key] != nil)
            }]
            case "ContainsValue": return [m1(v, .bool) { d, x in .bool(try dictionary(d).values.contains { Arithmetic.equals($0, x) }) }]
            case "Add": return [m2(k, v, .void) { d, key, x in
                if key.isNull { throw ExpressionRuntimeError.argumentNull("key") }
                guard try dictionary(d).add(key, x) else {
                    throw ExpressionRuntimeError.argument("An item with the same key has already been added. Key: \(Formatting.toString(key))")
                }
                return .null
            }]
            case "TryAdd": return [m2(k, v, .bool) { d, key, x in .bool(try dictionary(d).add(key, x)) }]
            // APIM's extension on the `AsFormUrlEncodedContent()` dictionary (`IDictionary<string, IList<string>>`):
            // back to `application/x-www-form-urlencoded` text, `key=value` per value in insertion order, joined
            // with `&`, both sides form-encoded (space as `+`); a null or empty list gives no pair, a null value `key=`.
            case "ToFormUrlEncodedContent" where k == .string && v == .list(.string):
                return [m0(.string) { d in
                    let box = try dictionary(d)
                    var pairs: [String] = []
                    for (key, values) in zip(box.keys, box.values) {
                        guard case .list(let list) = values else { continue }
                        let name = WebCoding.urlEncode(Formatting.toString(key))
                        for value in list.items { pairs.append(name + "=" + (value.isNull ? "" : WebCoding.urlEncode(Formatting.toString(value)))) }
                    }
                    return .string(pairs.joined(separator: "&"))
                }]
            case "Remove": return [m1(k, .bool) { d, key in .bool(try dictionary(d).remove(key)) }]
            case "Clear": return [m0(.void) { d in try dictionary(d).removeAll(); return .null }]
            case "TryGetValue": return [mout([k], out: v, .bool) { d, a in
                if a[0].isNull { throw ExpressionRuntimeError.argumentNull("key") }
                if let found = try dictionary(d)[a[0]] { return (.bool(true), found) }
                return (.bool(false), Binder.defaultValue(of: v))
            }]
            default: return nil
            }
        default:
            return nil
        }
    }

    /// APIM's comma-join rule for multi-valued headers (toolkit: `string.Join(",", values)`).
    static func joined(_ value: Value) -> Value {
        guard case .list(let box) = value else { return value }
        // The common single-valued header is returned as is (no new string).
        if box.items.count == 1, case .string = box.items[0] { return box.items[0] }
        return .string(box.items.map { Formatting.toString($0) }.joined(separator: ","))
    }

    static func bindDictionarySpecial(_ binder: Binder, _ receiver: Bound, _ name: String, typeArguments: [ExpressionType],
                                      _ args: [Binder.BoundArgument], at offset: Int) throws -> Bound? {
        guard name == "GetValueOrDefault", case .dictionary(let keyType, let valueType) = receiver.type else { return nil }
        let values = try args.map { argument -> Bound in
            guard case .value(let bound, _) = argument else { throw binder.error("invalid argument to 'GetValueOrDefault'", at: offset) }
            return bound
        }
        guard values.count == 1 || values.count == 2 else {
            throw binder.error("no overload for method 'GetValueOrDefault' takes \(values.count) arguments", at: offset)
        }
        let key = try binder.convert(values[0], to: keyType, at: offset).eval
        let recv = receiver.eval
        if let target = typeArguments.first {
            // Variables.GetValueOrDefault<T>(name[, default]): cast to T, throwing if the stored type differs.
            guard typeArguments.count == 1 else { throw binder.error("GetValueOrDefault takes one type argument", at: offset) }
            let defaultValue = Binder.defaultValue(of: target)
            let fallback: Eval = values.count == 2 ? try binder.convert(values[1], to: target, at: offset).eval : constantEval(defaultValue)
            let cast = Conversions.explicitConverter(from: .object, to: target)
            return Bound(target) { frame in
                let box = try dictionary(try recv(frame))
                guard let found = box[try key(frame)] else { return try fallback(frame) }
                return try cast(found)
            }
        }
        let isMultiValued = valueType == .array(.string)
        let resultType: ExpressionType = isMultiValued ? .string : valueType
        let defaultValue = Binder.defaultValue(of: resultType)
        let fallback: Eval = values.count == 2 ? try binder.convert(values[1], to: resultType, at: offset).eval : constantEval(defaultValue)
        if isMultiValued, let constantKey = values[0].constant?.stringValue {
            // Header read with a literal name: hash the normalised key once, at compile time.
            let exact = KeyHash.string(constantKey), folded = KeyHash.string(constantKey.lowercased())
            return Bound(.string) { frame in
                let box = try dictionary(try recv(frame))
                guard let found = box.value(forHash: box.ignoresCase ? folded : exact) else { return try fallback(frame) }
                return joined(found)
            }
        }
        return Bound(resultType) { frame in
            let box = try dictionary(try recv(frame))
            guard let found = box[try key(frame)] else { return try fallback(frame) }
            return isMultiValued ? joined(found) : found
        }
    }

    static func bindListSpecial(_ binder: Binder, _ receiver: Bound, _ element: ExpressionType, _ name: String,
                                _ args: [Binder.BoundArgument], at offset: Int) throws -> Bound? {
        guard ["ForEach", "Find", "FindAll", "Exists", "RemoveAll", "TrueForAll", "FindIndex"].contains(name) else { return nil }
        guard args.count == 1, case .lambda(let parameters, let body, let lambdaOffset) = args[0] else {
            throw binder.error("'\(name)' expects a lambda argument", at: offset)
        }
        let (bound, slots) = try binder.bindLambda(parameters, body, parameterTypes: [element], at: lambdaOffset)
        if name != "ForEach", bound.type != .bool { throw binder.error("cannot convert lambda return type '\(bound.type)' to 'bool'", at: lambdaOffset) }
        let slot = slots[0], predicate = bound.eval, recv = receiver.eval
        let fallback = Binder.defaultValue(of: element)
        let resultType: ExpressionType
        switch name {
        case "ForEach": resultType = .void
        case "Find": resultType = element
        case "FindAll": resultType = .list(element)
        case "RemoveAll", "FindIndex": resultType = .int
        default: resultType = .bool
        }
        return Bound(resultType) { frame in
            let box = try listBox(try recv(frame))
            func test(_ item: Value) throws -> Bool {
                frame.slots[slot] = item
                return try predicate(frame).boolValue == true
            }
            // Iterate a snapshot: the lambda may mutate the list (`l.RemoveAll(x => l.Remove(x))`), and a
            // mutation during an access to `box.items` would be a Swift exclusivity violation (a trap).
            let items = box.items
            switch name {
            case "ForEach":
                for item in items { frame.slots[slot] = item; _ = try predicate(frame) }
                return .null
            case "Find": return try items.first(where: test) ?? fallback
            case "FindAll": return .list(ListBox(try items.filter(test)))
            case "FindIndex": return .int(Int32(try items.firstIndex(where: test) ?? -1))
            case "Exists": return .bool(try items.contains(where: test))
            case "TrueForAll": return .bool(try items.allSatisfy(test))
            default:
                let kept = try items.filter { try !test($0) }
                box.items = kept
                return .int(Int32(items.count - kept.count))
            }
        }
    }

    // MARK: Indexers

    static func bindIndexer(_ binder: Binder, _ receiver: Bound, _ args: [Bound], at offset: Int) throws -> Bound {
        guard args.count == 1 else { throw binder.error("wrong number of indices inside []; expected 1", at: offset) }
        let recv = receiver.eval
        switch receiver.type {
        case .string:
            let i = try binder.convert(args[0], to: .int, at: offset).eval
            return Bound(.char) { frame in
                let s = try str(try recv(frame))
                let n = try int(try i(frame))
                let units = s.utf16
                guard n >= 0, n < units.count else { throw ExpressionRuntimeError.indexOutOfRange() }
                return .char(units[units.index(units.startIndex, offsetBy: n)])
            }
        case .array(let element), .list(let element):
            let isArray: Bool
            if case .array = receiver.type { isArray = true } else { isArray = false }
            let i = try binder.convert(args[0], to: .int, at: offset).eval
            return Bound(element) { frame in
                let value = try recv(frame)
                let n = try i(frame)
                switch value {
                case .byteArray(let b): return .int(Int32(b[try index(n, count: b.count, isArray: isArray)]))
                case .list(let box): return box.items[try index(n, count: box.items.count, isArray: isArray)]
                default: throw ExpressionRuntimeError.nullReference()
                }
            }
        case .dictionary(let keyType, let valueType):
            let key = try binder.convert(args[0], to: keyType, at: offset).eval
            return Bound(valueType) { frame in
                let box = try dictionary(try recv(frame))
                let k = try key(frame)
                if k.isNull { throw ExpressionRuntimeError.argumentNull("key") }
                guard let found = box[k] else { throw ExpressionRuntimeError.keyNotFound(Formatting.toString(k)) }
                return found
            }
        case .json:
            return try JsonMembers.bindIndexer(binder, receiver, args[0], at: offset)
        default:
            throw binder.error("cannot apply indexing with [] to an expression of type '\(receiver.type)'", at: offset)
        }
    }

    static func indexTypes(_ binder: Binder, _ type: ExpressionType, at offset: Int) throws -> (ExpressionType, ExpressionType) {
        switch type {
        case .dictionary(let k, let v): return (k, v)
        case .json(.object), .json(.token): return (.string, .json(.token))
        case .list(let e), .array(let e): return (.int, e)
        case .json(.array): return (.int, .json(.token))
        default: throw binder.error("cannot apply indexing with [] to an expression of type '\(type)'", at: offset)
        }
    }

    static func indexStore(_ binder: Binder, _ receiver: Bound, _ arguments: [Argument], at offset: Int) throws -> Binder.Store {
        guard arguments.count == 1 else { throw binder.error("wrong number of indices inside []; expected 1", at: offset) }
        if receiver.type == .string { throw binder.error("property or indexer 'string.this[int]' cannot be assigned to -- it is read only", at: offset) }
        let (keyType, valueType) = try indexTypes(binder, receiver.type, at: offset)
        let keyBound = try binder.bindValue(arguments[0].value)
        let read = try bindIndexer(binder, receiver, [keyBound], at: offset).eval
        let key = try binder.convert(keyBound, to: keyType, at: offset).eval
        let recv = receiver.eval
        let isArray: Bool
        if case .array = receiver.type { isArray = true } else { isArray = false }
        return Binder.Store(type: valueType, read: read) { frame, value in
            let target = try recv(frame)
            let k = try key(frame)
            switch target {
            case .dictionary(let box):
                if k.isNull { throw ExpressionRuntimeError.argumentNull("key") }
                box.set(k, value)
            case .list(let box):
                box.items[try index(k, count: box.items.count, isArray: isArray)] = value
            case .byteArray(let box):
                // (The value was converted to `byte` already: 0…255.)
                let i = try index(k, count: box.bytes.count, isArray: true)
                box.bytes[i] = UInt8(truncatingIfNeeded: try Conversions.toInt64(value))
            case .json(let token):
                try JsonMembers.set(token, key: k, value: Conversions.toJValue(value))
            default:
                throw ExpressionRuntimeError.nullReference()
            }
        }
    }

    /// `Add` calls of a collection initializer (`new List<string> { "a" }`, `new Dictionary<string,int> { {"a", 1} }`).
    static func bindAdd(_ binder: Binder, _ type: ExpressionType, _ items: [Bound], at offset: Int) throws -> @Sendable (Frame, Value) throws -> Void {
        switch type {
        case .list(let e), .hashSet(let e):
            guard items.count == 1 else { throw binder.error("no overload for method 'Add' takes \(items.count) arguments", at: offset) }
            let item = try binder.convert(items[0], to: e, at: offset).eval
            let isSet: Bool
            if case .hashSet = type { isSet = true } else { isSet = false }
            return { frame, collection in
                let box = try listBox(collection)
                let value = try item(frame)
                if isSet && box.items.contains(where: { Arithmetic.equals($0, value) }) { return }
                box.items.append(value)
            }
        case .dictionary(let k, let v):
            guard items.count == 2 else { throw binder.error("no overload for method 'Add' takes \(items.count) arguments", at: offset) }
            let key = try binder.convert(items[0], to: k, at: offset).eval, value = try binder.convert(items[1], to: v, at: offset).eval
            return { frame, collection in
                let k = try key(frame)
                guard try dictionary(collection).add(k, try value(frame)) else {
                    throw ExpressionRuntimeError.argument("An item with the same key has already been added. Key: \(Formatting.toString(k))")
                }
            }
        case .json(.array):
            guard items.count == 1 else { throw binder.error("no overload for method 'Add' takes \(items.count) arguments", at: offset) }
            let item = items[0].eval
            return { frame, collection in
                guard case .json(let token) = collection, case .array(var list) = token.storage else { return }
                list.append(Conversions.toJValue(try item(frame)))
                token.storage = .array(list)
            }
        case .json(.object):
            guard items.count == 1 else { throw binder.error("no overload for method 'Add' takes \(items.count) arguments", at: offset) }
            let item = try binder.convert(items[0], to: .json(.property), at: offset).eval
            return { frame, collection in
                guard case .json(let token) = collection, case .json(let property) = try item(frame), case .property(let name, let value) = property.storage else { return }
                if token.property(name) != nil { throw ExpressionRuntimeError.argument("Can not add property \(name) to Newtonsoft.Json.Linq.JObject. Property with the same name already exists on object.") }
                token.setProperty(name, value)
            }
        default:
            throw binder.error("cannot initialize type '\(type)' with a collection initializer", at: offset)
        }
    }
}
