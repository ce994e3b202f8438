import Foundation

/// `new T(...)` for the allowed types.
enum Constructors {
    static func values(_ binder: Binder, _ args: [Binder.BoundArgument], at offset: Int) throws -> [Bound] {
        try args.map { argument in
            guard case .value(let bound, _) = argument else { throw binder.error("invalid constructor argument", at: offset) }
            return bound
        }
    }

    static func bind(_ binder: Binder, _ syntax: TypeSyntax, _ args: [Binder.BoundArgument], at offset: Int) throws -> Bound {
        let name = TypeNames.strip(syntax.name)
        let argValues = try values(binder, args, at: offset)
        func call(_ type: ExpressionType, _ overloads: [Overload]) throws -> Bound {
            let bound = try binder.invoke(overloads, receiver: nil, args, owner: name, name: "constructor", at: offset)
            return Bound(type, bound.eval)
        }
        // Library classes that have no declarable type of their own.
        if let algorithm = hmacAlgorithm(name) {
            return try call(.host(HashObject.type), [
                m1(.byteArray, .host(HashObject.type)) { _, k in .object(HashObject(algorithm, key: try bytes(k, "key"))) },
                m0(.host(HashObject.type)) { _ in .object(HashObject(algorithm, key: (0..<64).map { _ in UInt8.random(in: 0...255) })) },
            ])
        }
        if let algorithm = HashObject.Algorithm(rawValue: name.replacingOccurrences(of: "Managed", with: "").replacingOccurrences(of: "CryptoServiceProvider", with: "")),
           name != algorithm.rawValue {
            return try call(.host(HashObject.type), [m0(.host(HashObject.type)) { _ in .object(HashObject(algorithm)) }])
        }
        let type = try binder.resolveType(syntax)
        switch type {
        case .list(let e), .hashSet(let e):
            let isSet: Bool
            if case .hashSet = type { isSet = true } else { isSet = false }
            return try call(type, [
                m0(type) { _ in .list(ListBox([])) },
                m1(.int, type) { _, n in
                    guard try int(n) >= 0 else { throw ExpressionRuntimeError.argumentOutOfRange("capacity") }
                    return .list(ListBox([]))
                },
                m1(.enumerable(e), type) { _, source in
                    var items = try Sequences.items(source)
                    if isSet {
                        var unique: [Value] = []
                        for x in items where !unique.contains(where: { Arithmetic.equals($0, x) }) { unique.append(x) }
                        items = unique
                    }
                    return .list(ListBox(items))
                },
            ])
        case .dictionary(let k, let v):
            let comparer = ExpressionType.enumeration(.stringComparison)
            return try call(type, [
                m0(type) { _ in .dictionary(DictionaryBox()) },
                m1(.int, type) { _, _ in .dictionary(DictionaryBox()) },
                m1(comparer, type) { _, c in .dictionary(DictionaryBox(ignoresCase: StringOps.ignoresCase(enumRaw(c)))) },
                m1(.dictionary(k, v), type) { _, d in .dictionary(try Collections.dictionary(d).copy()) },
                m2(.dictionary(k, v), comparer, type) { _, d, c in .dictionary(try Collections.dictionary(d).copy(ignoresCase: StringOps.ignoresCase(enumRaw(c)))) },
            ])
        case .pair(let k, let v):
            return try call(type, [m2(k, v, type) { _, a, b in .pair(PairBox(key: a, value: b)) }])
        case .json(.object):
            return try call(type, [
                m0(type) { _ in .json(.object()) },
                Overload([.array(.object)], type, isParams: true, .a1 { _, items in
                    let object = JToken.object()
                    for item in try Library.list(items) {
                        guard case .json(let p) = item, case .property(let name, let value) = p.storage else {
                            throw ExpressionRuntimeError.argument("Can not add \(Conversions.runtimeTypeName(item)) to Newtonsoft.Json.Linq.JObject.")
                        }
                        object.setProperty(name, value)
                    }
                    return .json(object)
                }),
            ])
        case .json(.array):
            return try call(type, [
                m0(type) { _ in .json(.array()) },
                Overload([.array(.object)], type, isParams: true, .a1 { _, items in
                    let list = try Library.list(items)
                    try JsonLimits.validate(.list(ListBox(list)))
                    // `new JArray(someEnumerable)` flattens a single sequence argument, like Newtonsoft.
                    if list.count == 1, case .list(let inner) = list[0] { return .json(.array(inner.items.map(JsonConvertOps.toJToken))) }
                    return .json(.array(list.map(JsonConvertOps.toJToken)))
                }),
            ])
        case .json(.property):
            return try call(type, [m2(.string, .object, type) { _, n, v in
                try JsonLimits.validate(v)  // a collection that contains itself must not recurse
                return .json(JToken(.property(try argStr(n, "name"), JsonConvertOps.toJToken(v))))
            }])
        case .json(.value):
            return try call(type, [m1(.object, type) { _, v in .json(Conversions.toJValue(v)) }])
        case .dateTime:
            let kind = ExpressionType.enumeration(.dateTimeKind)
            @Sendable func make(_ a: [Value], kind: Value? = nil) throws -> Value {
                let n = try a.map(int)
                let k = kind.map { DateTimeValue.Kind(rawValue: enumRaw($0)) ?? .unspecified } ?? .unspecified
                return .dateTime(try DateTimeValue(year: n[0], month: n[1], day: n[2], hour: n.count > 3 ? n[3] : 0,
                                                   minute: n.count > 4 ? n[4] : 0, second: n.count > 5 ? n[5] : 0,
                                                   millisecond: n.count > 6 ? n[6] : 0, kind: k))
            }
            return try call(type, [
                mn([.int, .int, .int], type) { _, a in try make(a) },
                mn([.int, .int, .int, .int, .int, .int], type) { _, a in try make(a) },
                mn([.int, .int, .int, .int, .int, .int, kind], type) { _, a in try make(Array(a.prefix(6)), kind: a[6]) },
                mn([.int, .int, .int, .int, .int, .int, .int], type) { _, a in try make(a) },
                mn([.int, .int, .int, .int, .int, .int, .int, kind], type) { _, a in try make(Array(a.prefix(7)), kind: a[7]) },
                m1(.long, type) { _, t in
                    let ticks = try Conversions.toInt64(t)
                    guard ticks >= 0, ticks <= DateTimeValue.maxTicks else { throw ExpressionRuntimeError.argumentOutOfRange("ticks", "Ticks must be between DateTime.MinValue.Ticks and DateTime.MaxValue.Ticks.") }
                    return .dateTime(DateTimeValue(ticks: ticks, kind: .unspecified))
                },
                m2(.long, kind, type) { _, t, k in
                    let ticks = try Conversions.toInt64(t)
                    guard ticks >= 0, ticks <= DateTimeValue.maxTicks else { throw ExpressionRuntimeError.argumentOutOfRange("ticks") }
                    return .dateTime(DateTimeValue(ticks: ticks, kind: DateTimeValue.Kind(rawValue: enumRaw(k)) ?? .unspecified))
                },
            ])
        case .timeSpan:
            @Sendable func span(_ d: Int, _ h: Int, _ m: Int, _ s: Int, _ ms: Int = 0) throws -> Value {
                .timeSpan(try TimeSpanValue.fromParts(days: Int64(d), hours: Int64(h), minutes: Int64(m), seconds: Int64(s), milliseconds: Int64(ms)))
            }
            return try call(type, [
                m1(.long, type) { _, t in .timeSpan(TimeSpanValue(ticks: try Conversions.toInt64(t))) },
                m3(.int, .int, .int, type) { _, h, m, s in try span(0, try int(h), try int(m), try int(s)) },
                mn([.int, .int, .int, .int], type) { _, a in try span(try int(a[0]), try int(a[1]), try int(a[2]), try int(a[3])) },
                mn([.int, .int, .int, .int, .int], type) { _, a in try span(try int(a[0]), try int(a[1]), try int(a[2]), try int(a[3]), try int(a[4])) },
            ])
        case .dateTimeOffset:
            return try call(type, [
                m1(.dateTime, type) { _, d in
                    let value = DateTimeOffsetValue(dateTime: try dt(d))
                    return .dateTimeOffset(try DateTimeOffsetValue.checked(clockTicks: value.clockTicks, offsetMinutes: Int64(value.offsetMinutes)))
                },
                m2(.dateTime, .timeSpan, type) { _, d, o in
                    .dateTimeOffset(try DateTimeOffsetValue.checked(clockTicks: try dt(d).ticks, offset: try ts(o)))
                },
            ])
        case .guid:
            return try call(type, [
                m1(.string, type) { _, s in
                    guard let g = Library.parseGuid(try argStr(s, "g")) else { throw ExpressionRuntimeError.format("Unrecognized Guid format.") }
                    return .guid(g)
                },
                // .NET's layout (as ToByteArray): the first three fields little-endian, the last eight as they are.
                m1(.byteArray, type) { _, b in
                    guard case .byteArray(let box) = b else { throw ExpressionRuntimeError.argumentNull("b") }
                    let u = box.bytes
                    guard u.count == 16 else { throw ExpressionRuntimeError.argument("Byte array for Guid must be exactly 16 bytes long. (Parameter 'b')") }
                    return .guid(UUID(uuid: (u[3], u[2], u[1], u[0], u[5], u[4], u[7], u[6], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15])))
                },
            ])
        case .string:
            return try call(type, [
                m2(.char, .int, type) { _, c, n in
                    guard case .char(let u) = c else { return .string("") }
                    let count = try int(n)
                    guard count >= 0 else { throw ExpressionRuntimeError.argumentOutOfRange("count", "Non-negative number required.") }
                    try Library.checkSize(count)
                    return .string(StringOps.string([UInt16](repeating: u, count: count)))
                },
                m1(.array(.char), type) { _, a in .string(StringOps.string(try Library.chars(a))) },
            ])
        case .host(let host):
            return try hostConstructor(binder, host, args, argValues, at: offset)
        default:
            throw binder.error("cannot create an instance of '\(type)'", at: offset)
        }
    }

    static func hmacAlgorithm(_ name: String) -> HashObject.Algorithm? {
        switch name {
        case "HMACMD5": return .md5
        case "HMACSHA1": return .sha1
        case "HMACSHA256": return .sha256
        case "HMACSHA384": return .sha384
        case "HMACSHA512": return .sha512
        default: return nil
        }
    }

    static func hostConstructor(_ binder: Binder, _ host: HostType, _ args: [Binder.BoundArgument], _ values: [Bound], at offset: Int) throws -> Bound {
        let type = ExpressionType.host(host)
        func call(_ overloads: [Overload]) throws -> Bound {
            Bound(type, try binder.invoke(overloads, receiver: nil, args, owner: host.name, name: "constructor", at: offset).eval)
        }
        if host.isAssignable(to: LibraryTypes.exception) {
            let name = host.name
            return try call([
                m0(type) { _ in .object(ExceptionObject(ExpressionRuntimeError(name, "Exception of type 'System.\(name)' was thrown."))) },
                m1(.string, type) { _, m in .object(ExceptionObject(ExpressionRuntimeError(name, Library.optionalString(m) ?? ""))) },
                m2(.string, .host(LibraryTypes.exception), type) { _, m, _ in .object(ExceptionObject(ExpressionRuntimeError(name, Library.optionalString(m) ?? ""))) },
            ])
        }
        switch host.name {
        case "X509Certificate2":
            guard let factory = binder.model.certificateFactory else {
                throw binder.error("creating an X509Certificate2 is not supported by this gateway", at: offset)
            }
            @Sendable func make(_ raw: Value, _ password: String?) throws -> Value {
                do { return .object(try factory(try bytes(raw, "rawData"), password)) } catch let error as ExpressionRuntimeError { throw error } catch {
                    throw ExpressionRuntimeError("CryptographicException", "Cannot find the requested object.")
                }
            }
            return try call([
                m1(.byteArray, type) { _, raw in try make(raw, nil) },
                m2(.byteArray, .string, type) { _, raw, password in try make(raw, Library.optionalString(password)) },
            ])
        case "Regex":
            let options = ExpressionType.enumeration(.regexOptions)
            return try call([
                m1(.string, type) { _, p in .object(try RegexObject.cached(try argStr(p, "pattern"), 0)) },
                m2(.string, options, type) { _, p, o in .object(try RegexObject.cached(try argStr(p, "pattern"), enumRaw(o))) },
            ])
        case "StringBuilder":
            return try call([
                m0(type) { _ in .object(StringBuilderObject()) },
                m1(.string, type) { _, s in .object(StringBuilderObject(Library.optionalString(s) ?? "")) },
                m1(.int, type) { _, _ in .object(StringBuilderObject()) },
            ])
        case "StringReader":
            return try call([m1(.string, type) { _, s in .object(StringReaderObject(try argStr(s, "s"))) }])
        case "Uri":
            return try call([m1(.string, type) { _, s in .object(try UriObject(try argStr(s, "uriString"))) }])
        case "Random":
            return try call([
                m0(type) { _ in .object(RandomObject(seed: nil)) },
                m1(.int, type) { _, s in .object(RandomObject(seed: Int32(truncatingIfNeeded: try int(s)))) },
            ])
        default:
            throw binder.error("cannot create an instance of '\(host.name)'", at: offset)
        }
    }
}

/// Generic or special methods of library host types (`IMessageBody.As<T>()`).
enum HostExtensions {
    static func bind(_ binder: Binder, _ receiver: Bound, _ host: HostType, _ name: String, typeArguments: [ExpressionType],
                     _ args: [Binder.BoundArgument], at offset: Int) throws -> Bound? {
        guard host.isAssignable(to: MessageBodyObject.type) else { return nil }
        let preserve: Eval
        switch args.count {
        case 0: preserve = { _ in .bool(false) }
        case 1:
            guard case .value(let b, let argOffset) = args[0] else { throw binder.error("invalid argument", at: offset) }
            preserve = try binder.convert(b, to: .bool, at: argOffset).eval
        default:
            throw binder.error("no overload for method '\(name)' takes \(args.count) arguments", at: offset)
        }
        let recv = receiver.eval
        switch name {
        case "As":
            guard typeArguments.count == 1 else { throw binder.error("the type arguments for method 'As' cannot be inferred from the usage", at: offset) }
            let target = typeArguments[0]
            switch target {
            case .string, .array(.byte), .json: break
            case .host(let host) where host === XmlObjects.document || host === XmlObjects.element: break
            default: throw binder.error("IMessageBody.As<\(target)> is not supported (use string, byte[], JObject, JArray, JToken, XDocument or XElement)", at: offset)
            }
            return Bound(target) { frame in
                guard case .object(let object) = try recv(frame), let body = object as? MessageBodyObject else { throw ExpressionRuntimeError.nullReference() }
                return try body.read(as: target, preserve: try preserve(frame).boolValue == true)
            }
        case "AsFormUrlEncodedContent":
            return Bound(.dictionary(.string, .list(.string))) { frame in
                guard case .object(let object) = try recv(frame), let body = object as? MessageBodyObject else { throw ExpressionRuntimeError.nullReference() }
                return body.formContent(preserve: try preserve(frame).boolValue == true)
            }
        default:
            return nil
        }
    }
}
