import Foundation

/// Newtonsoft JToken/JObject/JArray/JValue/JProperty members.
enum JsonMembers {
    static func token(_ v: Value) throws -> JToken {
        if case .json(let t) = v { return t }
        throw ExpressionRuntimeError.nullReference()
    }

    static func child(_ token: JToken, key: Value) throws -> Value {
        switch token.storage {
        case .object:
            guard case .string(let name) = key else {
                throw ExpressionRuntimeError.argument("Accessed JObject values with invalid key value: \(Formatting.toString(key)). Object property name expected.")
            }
            return token.property(name).map(Value.json) ?? .null
        case .array(let items):
            guard case .int(let i) = key else {
                throw ExpressionRuntimeError.argument("Accessed JArray values with invalid key value: \"\(Formatting.toString(key))\". Int32 array index expected.")
            }
            guard i >= 0, Int(i) < items.count else {
                throw ExpressionRuntimeError.argumentOutOfRange("index", "Index was out of range. Must be non-negative and less than the size of the collection.")
            }
            return .json(items[Int(i)])
        case .property(_, let value):
            return try child(value, key: key)
        case .value:
            throw ExpressionRuntimeError.invalidOperation("Cannot access child value on Newtonsoft.Json.Linq.JValue.")
        }
    }

    static func set(_ token: JToken, key: Value, value: JToken) throws {
        switch token.storage {
        case .object:
            guard case .string(let name) = key else { throw ExpressionRuntimeError.argument("Set JObject values with invalid key value: \(Formatting.toString(key)). Object property name expected.") }
            token.setProperty(name, value)
        case .array(var items):
            guard case .int(let i) = key, i >= 0, Int(i) < items.count else {
                throw ExpressionRuntimeError.argumentOutOfRange("index", "Index was out of range. Must be non-negative and less than the size of the collection.")
            }
            items[Int(i)] = value
            token.storage = .array(items)
        default:
            throw ExpressionRuntimeError.invalidOperation("Cannot set child value on \(token.kind.rawValue).")
        }
    }

    static func bindIndexer(_ binder: Binder, _ receiver: Bound, _ key: Bound, at offset: Int) throws -> Bound {
        let k = key.eval, recv = receiver.eval
        switch receiver.type {
        case .json(.object):
            _ = try binder.convert(key, to: .string, at: offset)
        case .json(.array):
            _ = try binder.convert(key, to: .int, at: offset)
        default:
            guard key.type == .string || key.type == .int || key.type == .object else {
                throw binder.error("cannot convert '\(key.type)' to a JSON key", at: offset)
            }
        }
        if let constant = key.constant {
            return Bound(.json(.token)) { frame in try child(try token(try recv(frame)), key: constant) }
        }
        return Bound(.json(.token)) { frame in try child(try token(try recv(frame)), key: try k(frame)) }
    }

    static func property(_ kind: ExpressionType.JsonKind, _ name: String) -> PropertyImpl? {
        switch name {
        case "Type": return PropertyImpl(.enumeration(.jTokenType)) { .enumeration(try token($0).tokenType, .jTokenType) }
        case "HasValues": return PropertyImpl(.bool) { .bool(!(try token($0).children.isEmpty)) }
        case "Count" where kind == .object || kind == .array:
            return PropertyImpl(.int) { .int(Int32(try token($0).children.count)) }
        case "First": return PropertyImpl(.json(.token)) { try token($0).children.first.map(Value.json) ?? .null }
        case "Last": return PropertyImpl(.json(.token)) { try token($0).children.last.map(Value.json) ?? .null }
        case "Name" where kind == .property:
            return PropertyImpl(.string) { v in
                guard case .property(let n, _) = try token(v).storage else { return .null }
                return .string(n)
            }
        case "Value" where kind == .property:
            return PropertyImpl(.json(.token)) { v in
                guard case .property(_, let value) = try token(v).storage else { return .null }
                return .json(value)
            }
        case "Value" where kind == .value:
            return PropertyImpl(.object) { v in
                guard case .value(let p) = try token(v).storage else { return .null }
                switch p {
                case .null: return .null
                case .bool(let b): return .bool(b)
                case .integer(let i): return .long(i)
                case .float(let d): return .double(d)
                case .string(let s): return .string(s)
                case .date(let d): return .dateTime(d)
                case .guid(let g): return .guid(g)
                case .timeSpan(let t): return .timeSpan(t)
                case .bytes(let b): return .bytes(b)
                }
            }
        case "Path": return nil
        default: return nil
        }
    }

    static func methods(_ kind: ExpressionType.JsonKind, _ name: String) -> [Overload]? {
        let formatting = ExpressionType.enumeration(.formatting)
        switch name {
        case "ToString":
            return [
                m0(.string) { .string(try JsonWriter.checkedTokenToString(try token($0))) },
                m1(formatting, .string) { t, f in .string(try JsonWriter.checkedWrite(try token(t), indented: enumRaw(f) == 1)) },
            ]
        case "DeepClone": return [m0(.json(kind == .value || kind == .property ? kind : kind)) { .json(try token($0).deepClone()) }]
        case "Children": return [m0(.enumerable(.json(.token))) { .list(ListBox(try token($0).children.map(Value.json))) }]
        case "SelectToken": return [
            m1(.string, .json(.token)) { t, p in try JsonPath.select(try token(t), try argStr(p, "path")).first.map(Value.json) ?? .null },
            m2(.string, .bool, .json(.token)) { t, p, strict in
                let found = try JsonPath.select(try token(t), try argStr(p, "path"))
                if found.isEmpty && strict.boolValue == true { throw ExpressionRuntimeError("JsonException", "Property '\(try argStr(p, "path"))' does not exist on JObject.") }
                return found.first.map(Value.json) ?? .null
            },
        ]
        case "SelectTokens": return [m1(.string, .enumerable(.json(.token))) { t, p in .list(ListBox(try JsonPath.select(try token(t), try argStr(p, "path")).map(Value.json))) }]
        case "Properties" where kind == .object || kind == .token:
            return [m0(.enumerable(.json(.property))) { v in
                let object = try token(v)
                guard case .object(let props) = object.storage else { return .list(ListBox([])) }
                return .list(ListBox(props.map { .json(JToken.ownedProperty($0.0, $0.1, of: object)) }))
            }]
        case "Property" where kind == .object:
            return [m1(.string, .json(.property)) { v, n in
                let name = try argStr(n, "name")
                let object = try token(v)
                guard let found = object.property(name) else { return .null }
                return .json(JToken.ownedProperty(name, found, of: object))
            }]
        case "ContainsKey" where kind == .object:
            return [m1(.string, .bool) { v, n in .bool(try token(v).property(try argStr(n, "propertyName")) != nil) }]
        case "TryGetValue" where kind == .object:
            return [mout([.string], out: .json(.token), .bool) { v, a in
                guard let found = try token(v).property(try argStr(a[0], "propertyName")) else { return (.bool(false), .null) }
                return (.bool(true), .json(found))
            }]
        case "Remove" where kind == .object:
            return [m1(.string, .bool) { v, n in .bool(try token(v).removeProperty(try argStr(n, "propertyName"))) }]
        case "Remove" where kind == .array:
            return [m1(.json(.token), .bool) { v, item in
                let t = try token(v)
                guard case .array(var items) = t.storage, case .json(let target) = item,
                      let i = items.firstIndex(where: { $0 === target }) else { return .bool(false) }
                items.remove(at: i)
                t.storage = .array(items)
                return .bool(true)
            }]
        case "Remove" where kind == .property:
            // `JProperty.Remove()`: out of the object it came from (`Property(name)`, `Properties()`).
            return [m0(.void) { v in
                try token(v).removeFromOwner()
                return .null
            }]
        case "Remove" where kind == .token || kind == .value:
            return nil
        case "RemoveAt" where kind == .array:
            return [m1(.int, .void) { v, i in
                let t = try token(v)
                guard case .array(var items) = t.storage else { return .null }
                items.remove(at: try Collections.index(i, count: items.count, isArray: false))
                t.storage = .array(items)
                return .null
            }]
        case "Add" where kind == .object:
            return [
                m2(.string, .json(.token), .void) { v, n, x in
                    let t = try token(v), name = try argStr(n, "propertyName")
                    if t.property(name) != nil { throw ExpressionRuntimeError.argument("Can not add property \(name) to Newtonsoft.Json.Linq.JObject. Property with the same name already exists on object.") }
                    t.setProperty(name, Conversions.toJValue(x))
                    return .null
                },
                m1(.json(.property), .void) { v, p in
                    let t = try token(v)
                    guard case .json(let prop) = p, case .property(let name, let value) = prop.storage else { throw ExpressionRuntimeError.argumentNull("content") }
                    if t.property(name) != nil { throw ExpressionRuntimeError.argument("Can not add property \(name) to Newtonsoft.Json.Linq.JObject. Property with the same name already exists on object.") }
                    t.setProperty(name, value)
                    return .null
                },
            ]
        case "Add" where kind == .array:
            return [m1(.object, .void) { v, x in
                let t = try token(v)
                guard case .array(var items) = t.storage else { return .null }
                items.append(Conversions.toJValue(x))
                t.storage = .array(items)
                return .null
            }]
        case "Merge" where kind == .object:
            return [m1(.object, .void) { v, other in
                let t = try token(v)
                guard case .json(let o) = other, case .object(let props) = o.storage else { return .null }
                for (name, value) in props { t.setProperty(name, try value.deepClone()) }
                return .null
            }]
        default:
            return nil
        }
    }

    /// `Value<T>()`, `Value<T>(key)`, `ToObject<T>()`, `Values<T>()`.
    static func bindSpecial(_ binder: Binder, _ receiver: Bound, _ name: String, typeArguments: [ExpressionType],
                            _ args: [Binder.BoundArgument], at offset: Int) throws -> Bound? {
        guard ["Value", "ToObject", "Values"].contains(name) else { return nil }
        guard typeArguments.count == 1 else {
            if name == "ToObject" { throw binder.error("ToObject requires a type argument in policy expressions", at: offset) }
            return nil
        }
        let target = typeArguments[0]
        let recv = receiver.eval
        let keys = try args.map { argument -> Bound in
            guard case .value(let b, _) = argument else { throw binder.error("invalid argument", at: offset) }
            return b
        }
        let convert: @Sendable (Value) throws -> Value = { value in
            if case .json = target { return value }
            if target == .object {
                guard case .json(let t) = value, case .value = t.storage else { return value }
                return try Conversions.fromJToken(value, to: .string, nullable: true)
            }
            if case .dictionary = target {
                guard case .json(let t) = value, case .object(let props) = t.storage else { throw ExpressionRuntimeError.invalidCast(from: "JToken", to: target.description) }
                return .dictionary(DictionaryBox(props.map { ($0.0, JsonConvertOps.toClr($0.1)) }))
            }
            if case .list(let element) = target {
                guard case .json(let t) = value, case .array(let items) = t.storage else { throw ExpressionRuntimeError.invalidCast(from: "JToken", to: target.description) }
                return .list(ListBox(try items.map { try Conversions.fromJToken(.json($0), to: element.underlyingNonNullable, nullable: !element.isValueType || element.isNullableValue) }))
            }
            if case .array(let element) = target, element != .byte {
                guard case .json(let t) = value, case .array(let items) = t.storage else { throw ExpressionRuntimeError.invalidCast(from: "JToken", to: target.description) }
                return .list(ListBox(try items.map { try Conversions.fromJToken(.json($0), to: element.underlyingNonNullable, nullable: !element.isValueType || element.isNullableValue) }))
            }
            return try Conversions.fromJToken(value, to: target.underlyingNonNullable, nullable: target.isNullableValue || !target.isValueType)
        }
        switch (name, keys.count) {
        case ("Value", 0), ("ToObject", 0):
            return Bound(target) { frame in try convert(try recv(frame)) }
        case ("Value", 1):
            let key = keys[0].eval
            return Bound(target) { frame in
                let t = try token(try recv(frame))
                let k = try key(frame)
                let found = try child(t, key: k)
                if found.isNull { return target.isValueType && !target.isNullableValue ? try convert(.json(JToken(value: .null))) : .null }
                return try convert(found)
            }
        case ("Values", 0):
            return Bound(.enumerable(target)) { frame in
                let t = try token(try recv(frame))
                return .list(ListBox(try t.children.map { child in
                    if case .property(_, let v) = child.storage { return try convert(.json(v)) }
                    return try convert(.json(child))
                }))
            }
        default:
            throw binder.error("no overload for method '\(name)' takes \(keys.count) arguments", at: offset)
        }
    }
}

/// A small JSONPath subset for `SelectToken`: `$`, `.name`, `['name']`, `[n]`, `[*]`, `..name`.
enum JsonPath {
    static func select(_ root: JToken, _ path: String) throws -> [JToken] {
        var current = [root]
        let chars = Array(path)
        var i = 0
        if i < chars.count && chars[i] == "$" { i += 1 }
        func readName() -> String {
            var name = ""
            while i < chars.count && chars[i] != "." && chars[i] != "[" { name.append(chars[i]); i += 1 }
            return name
        }
        while i < chars.count {
            if chars[i] == "." {
                i += 1
                if i < chars.count && chars[i] == "." {
                    i += 1
                    let name = readName()
                    current = current.flatMap { descendants($0) }.compactMap { $0.property(name) }
                    continue
                }
                let name = readName()
                if name == "*" { current = current.flatMap(values) } else { current = current.compactMap { $0.property(name) } }
            } else if chars[i] == "[" {
                guard let close = chars[i...].firstIndex(of: "]") else { throw ExpressionRuntimeError("JsonException", "Path ended with open indexer.") }
                let inside = String(chars[(i + 1)..<close]).trimmingCharacters(in: .whitespaces)
                i = close + 1
                if inside == "*" {
                    current = current.flatMap(values)
                } else if let n = Int(inside) {
                    current = current.compactMap { token in
                        guard case .array(let items) = token.storage else { return nil }
                        let index = n < 0 ? items.count + n : n
                        return index >= 0 && index < items.count ? items[index] : nil
                    }
                } else if inside.hasPrefix("'") && inside.hasSuffix("'") && inside.count >= 2 {
                    let name = String(inside.dropFirst().dropLast())
                    current = current.compactMap { $0.property(name) }
                } else {
                    throw ExpressionRuntimeError("JsonException", "Unexpected character while parsing path indexer: \(inside.first ?? " ")")
                }
            } else {
                let name = readName()
                current = current.compactMap { $0.property(name) }
            }
        }
        return current
    }

    static func values(_ token: JToken) -> [JToken] {
        switch token.storage {
        case .object(let props): return props.map(\.1)
        case .array(let items): return items
        default: return []
        }
    }

    static func descendants(_ token: JToken) -> [JToken] {
        [token] + values(token).flatMap(descendants)
    }
}

/// `JsonConvert.SerializeObject` / `DeserializeObject` over our values.
enum JsonConvertOps {
    static func toJToken(_ value: Value) -> JToken {
        switch value {
        case .json(let t): return t
        case .object(let object as AnonymousObject):
            return .object(zip(object.names, object.values).map { ($0.0, toJToken($0.1)) })
        case .list(let box): return .array(box.items.map(toJToken))
        case .dictionary(let box): return .object(zip(box.keys, box.values).map { (Formatting.toString($0), toJToken($1)) })
        case .pair(let p): return .object([("Key", toJToken(p.key)), ("Value", toJToken(p.value))])
        case .enumeration(let raw, _): return JToken(value: .integer(Int64(raw)))
        default: return Conversions.toJValue(value)
        }
    }

    static func serialize(_ value: Value, indented: Bool) -> String {
        if case .null = value { return "null" }
        return JsonWriter.write(toJToken(value), indented: indented)
    }

    /// `JsonConvert.SerializeObject` from an expression: nesting checked before converting (a list
    /// that contains itself would otherwise recurse forever), then a bounded write.
    static func checkedSerialize(_ value: Value, indented: Bool) throws -> String {
        if case .null = value { return "null" }
        try JsonLimits.validate(value)
        return try JsonWriter.checkedWrite(toJToken(value), indented: indented)
    }

    /// `DeserializeObject(string)` yields JTokens; JValue primitives become CLR values.
    static func toClr(_ token: JToken) -> Value {
        guard case .value(let p) = token.storage else { return .json(token) }
        switch p {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .integer(let i): return .long(i)
        case .float(let d): return .double(d)
        case .string(let s): return .string(s)
        case .date(let d): return .dateTime(d)
        case .guid(let g): return .guid(g)
        case .timeSpan(let t): return .timeSpan(t)
        case .bytes(let b): return .bytes(b)
        }
    }
}
