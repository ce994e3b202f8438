import Foundation

struct StaticProperty {
    var type: ExpressionType
    var constant: Value?
    var get: @Sendable () throws -> Value

    static func constant(_ value: Value, _ type: ExpressionType) -> StaticProperty {
        StaticProperty(type: type, constant: value) { value }
    }
    static func computed(_ type: ExpressionType, _ get: @escaping @Sendable () throws -> Value) -> StaticProperty {
        StaticProperty(type: type, constant: nil, get: get)
    }
}

/// Static members of allowed .NET types (`string.Join`, `int.Parse`, `Math.Max`, `Convert.*`, ...).
enum StaticMembers {
    static func property(_ className: String, _ name: String) -> StaticProperty? {
        switch (className, name) {
        case ("String", "Empty"): return .constant(.string(""), .string)
        case ("Int32", "MaxValue"): return .constant(.int(Int32.max), .int)
        case ("Int32", "MinValue"): return .constant(.int(Int32.min), .int)
        case ("Int64", "MaxValue"): return .constant(.long(Int64.max), .long)
        case ("Int64", "MinValue"): return .constant(.long(Int64.min), .long)
        case ("Int16", "MaxValue"): return .constant(.int(Int32(Int16.max)), .short)
        case ("Byte", "MaxValue"): return .constant(.int(255), .byte)
        case ("Double", "MaxValue"): return .constant(.double(Double.greatestFiniteMagnitude), .double)
        case ("Double", "MinValue"): return .constant(.double(-Double.greatestFiniteMagnitude), .double)
        case ("Double", "Epsilon"): return .constant(.double(Double.leastNonzeroMagnitude), .double)
        case ("Double", "NaN"): return .constant(.double(.nan), .double)
        case ("Double", "PositiveInfinity"): return .constant(.double(.infinity), .double)
        case ("Double", "NegativeInfinity"): return .constant(.double(-.infinity), .double)
        case ("Decimal", "Zero"): return .constant(.decimal(0), .decimal)
        case ("Decimal", "One"): return .constant(.decimal(1), .decimal)
        case ("Decimal", "MaxValue"): return .constant(.decimal(Decimal(string: "79228162514264337593543950335") ?? 0), .decimal)
        case ("Boolean", "TrueString"): return .constant(.string("True"), .string)
        case ("Boolean", "FalseString"): return .constant(.string("False"), .string)
        case ("Math", "PI"): return .constant(.double(Double.pi), .double)
        case ("Math", "E"): return .constant(.double(M_E), .double)
        case ("Guid", "Empty"): return .constant(Binder.defaultValue(of: .guid), .guid)
        case ("DateTime", "UtcNow"): return .computed(.dateTime) { .dateTime(.utcNow()) }
        case ("DateTime", "Now"): return .computed(.dateTime) { .dateTime(.now()) }
        case ("DateTime", "Today"): return .computed(.dateTime) { .dateTime(DateTimeValue.now().datePart) }
        case ("DateTime", "MinValue"): return .constant(.dateTime(DateTimeValue(ticks: 0, kind: .unspecified)), .dateTime)
        case ("DateTime", "MaxValue"): return .constant(.dateTime(DateTimeValue(ticks: DateTimeValue.maxTicks, kind: .unspecified)), .dateTime)
        case ("DateTime", "UnixEpoch"): return .constant(.dateTime(DateTimeValue(ticks: DateTimeValue.unixEpochTicks, kind: .utc)), .dateTime)
        case ("DateTimeOffset", "UtcNow"): return .computed(.dateTimeOffset) { .dateTimeOffset(.utcNow()) }
        case ("DateTimeOffset", "Now"): return .computed(.dateTimeOffset) { .dateTimeOffset(.now()) }
        case ("DateTimeOffset", "UnixEpoch"): return .constant(.dateTimeOffset(DateTimeOffsetValue(clockTicks: DateTimeValue.unixEpochTicks, offsetMinutes: 0)), .dateTimeOffset)
        case ("TimeSpan", "Zero"): return .constant(.timeSpan(TimeSpanValue(ticks: 0)), .timeSpan)
        case ("TimeSpan", "MaxValue"): return .constant(.timeSpan(TimeSpanValue(ticks: Int64.max)), .timeSpan)
        case ("TimeSpan", "MinValue"): return .constant(.timeSpan(TimeSpanValue(ticks: Int64.min)), .timeSpan)
        case ("Encoding", "UTF8"): return .constant(.object(EncodingObject.utf8), .host(EncodingObject.type))
        case ("Encoding", "ASCII"): return .constant(.object(EncodingObject.ascii), .host(EncodingObject.type))
        case ("Encoding", "Unicode"): return .constant(.object(EncodingObject.unicode), .host(EncodingObject.type))
        case ("Encoding", "BigEndianUnicode"): return .constant(.object(EncodingObject.bigEndianUnicode), .host(EncodingObject.type))
        case ("Encoding", "UTF32"): return .constant(.object(EncodingObject.utf32), .host(EncodingObject.type))
        case ("Encoding", "Default"): return .constant(.object(EncodingObject.utf8), .host(EncodingObject.type))
        case ("Encoding", "Latin1"): return .constant(.object(EncodingObject.latin1), .host(EncodingObject.type))
        case ("StringComparer", "Ordinal"): return .constant(.enumeration(4, .stringComparison), .enumeration(.stringComparison))
        case ("StringComparer", "OrdinalIgnoreCase"): return .constant(.enumeration(5, .stringComparison), .enumeration(.stringComparison))
        case ("StringComparer", "InvariantCultureIgnoreCase"), ("StringComparer", "CurrentCultureIgnoreCase"):
            return .constant(.enumeration(5, .stringComparison), .enumeration(.stringComparison))
        case ("Environment", "NewLine"): return .constant(.string("\r\n"), .string)
        case ("Uri", "UriSchemeHttp"): return .constant(.string("http"), .string)
        case ("Uri", "UriSchemeHttps"): return .constant(.string("https"), .string)
        default: return nil
        }
    }

    static func hasMethod(_ className: String, _ name: String) -> Bool {
        methods(className, name) != nil
    }

    static func parse(_ type: ExpressionType) -> [Overload] {
        [m1(.string, type) { _, s in try Library.parseNumber(try argStr(s, "s"), as: type) }]
    }

    static func tryParse(_ type: ExpressionType) -> [Overload] {
        [mout([.string], out: type, .bool) { _, a in
            guard case .string(let s) = a[0], let v = try? Library.parseNumber(s, as: type) else { return (.bool(false), Binder.defaultValue(of: type)) }
            return (.bool(true), v)
        }]
    }

    static let numericTypes: [String: ExpressionType] = [
        "Int32": .int, "Int64": .long, "Double": .double, "Decimal": .decimal, "Byte": .byte, "Single": .float,
        "Int16": .short, "UInt32": .uint, "UInt64": .ulong,
    ]

    static func methods(_ className: String, _ name: String) -> [Overload]? {
        if let type = numericTypes[className] {
            switch name {
            case "Parse": return parse(type)
            case "TryParse": return tryParse(type)
            case "IsNaN" where type == .double: return [m1(.double, .bool) { _, d in .bool(try dbl(d).isNaN) }]
            case "IsInfinity" where type == .double: return [m1(.double, .bool) { _, d in .bool(try dbl(d).isInfinite) }]
            case "IsPositiveInfinity" where type == .double: return [m1(.double, .bool) { _, d in .bool(try dbl(d) == .infinity) }]
            case "IsNegativeInfinity" where type == .double: return [m1(.double, .bool) { _, d in .bool(try dbl(d) == -.infinity) }]
            default: return nil
            }
        }
        switch className {
        case "String": return StringStatics.methods[name]
        case "Boolean":
            switch name {
            case "Parse": return [m1(.string, .bool) { _, s in .bool(try Library.parseBool(try argStr(s, "value"))) }]
            case "TryParse": return [mout([.string], out: .bool, .bool) { _, a in
                guard case .string(let s) = a[0], let b = try? Library.parseBool(s) else { return (.bool(false), .bool(false)) }
                return (.bool(true), .bool(b))
            }]
            default: return nil
            }
        case "Char": return CharStatics.methods[name]
        case "Guid":
            switch name {
            case "NewGuid": return [m0(.guid) { _ in .guid(RandomGuid.make()) }]
            case "Parse": return [m1(.string, .guid) { _, s in
                guard let g = Library.parseGuid(try argStr(s, "input")) else {
                    throw ExpressionRuntimeError.format("Guid should contain 32 digits with 4 dashes (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx).")
                }
                return .guid(g)
            }]
            case "TryParse": return [mout([.string], out: .guid, .bool) { _, a in
                guard case .string(let s) = a[0], let g = Library.parseGuid(s) else { return (.bool(false), Binder.defaultValue(of: .guid)) }
                return (.bool(true), .guid(g))
            }]
            default: return nil
            }
        case "DateTime": return TemporalStatics.dateTime[name]
        case "DateTimeOffset": return TemporalStatics.dateTimeOffset[name]
        case "TimeSpan": return TemporalStatics.timeSpan[name]
        case "Math": return MathStatics.methods[name]
        case "Convert": return ConvertStatics.methods[name]
        case "BitConverter": return ConvertStatics.bitConverter[name]
        case "Regex": return RegexObjects.statics[name]
        case "XDocument" where name == "Parse":
            return [m1(.string, .host(XmlObjects.document)) { _, t in .object(XDocumentObject(root: try XmlObjects.parse(try argStr(t, "text")))) }]
        case "XmlReader" where name == "Create":
            return [m1(.host(XmlReaderObjects.stringReader), .host(XmlReaderObjects.reader)) { _, input in
                guard case .object(let object) = input, let reader = object as? StringReaderObject else { throw ExpressionRuntimeError.argumentNull("input") }
                return .object(XmlReaderObject(root: try XmlObjects.parse(reader.text)))
            }]
        case "XNode" where name == "ReadFrom":
            return [m1(.host(XmlReaderObjects.reader), .host(XmlObjects.element)) { _, input in
                guard case .object(let object) = input, let reader = object as? XmlReaderObject else { throw ExpressionRuntimeError.argumentNull("reader") }
                return try XmlReaderObjects.readFrom(reader)
            }]
        case "XElement" where name == "Parse":
            return [m1(.string, .host(XmlObjects.element)) { _, t in .object(try XmlObjects.parse(try argStr(t, "text"))) }]
        case "Uri":
            switch name {
            case "EscapeDataString": return [m1(.string, .string) { _, s in .string(WebCoding.escapeDataString(try argStr(s, "stringToEscape"))) }]
            case "UnescapeDataString": return [m1(.string, .string) { _, s in .string(WebCoding.urlDecode(try argStr(s, "stringToUnescape"), plusAsSpace: false)) }]
            case "EscapeUriString": return [m1(.string, .string) { _, s in
                .string(try argStr(s, "stringToEscape").addingPercentEncoding(withAllowedCharacters: .urlFragmentAllowed.union(CharacterSet(charactersIn: "#"))) ?? "")
            }]
            case "IsWellFormedUriString": return [m2(.string, .enumeration(.uriKind), .bool) { _, s, k in
                guard case .string(let text) = s else { return .bool(false) }
                let absolute = (try? UriObject(text)) != nil
                switch enumRaw(k) {
                case 1: return .bool(absolute)
                case 2: return .bool(!absolute && !text.contains(" "))
                default: return .bool(!text.contains(" "))
                }
            }]
            default: return nil
            }
        case "WebUtility":
            switch name {
            case "UrlEncode": return [m1(.string, .string) { _, s in s.isNull ? .null : .string(WebCoding.urlEncode(try str(s))) }]
            case "UrlDecode": return [m1(.string, .string) { _, s in s.isNull ? .null : .string(WebCoding.urlDecode(try str(s))) }]
            case "HtmlEncode": return [m1(.string, .string) { _, s in s.isNull ? .null : .string(WebCoding.htmlEncode(try str(s))) }]
            case "HtmlDecode": return [m1(.string, .string) { _, s in s.isNull ? .null : .string(WebCoding.htmlDecode(try str(s))) }]
            default: return nil
            }
        case "JsonConvert":
            switch name {
            case "SerializeObject": return [
                m1(.object, .string) { _, v in .string(try JsonConvertOps.checkedSerialize(v, indented: false)) },
                m2(.object, .enumeration(.formatting), .string) { _, v, f in .string(try JsonConvertOps.checkedSerialize(v, indented: enumRaw(f) == 1)) },
            ]
            case "DeserializeObject": return [m1(.string, .object) { _, s in JsonConvertOps.toClr(try JsonReader.parse(try argStr(s, "value"))) }]
            default: return nil
            }
        case "JObject", "JArray", "JToken":
            let kind: ExpressionType.JsonKind = className == "JObject" ? .object : className == "JArray" ? .array : .token
            switch name {
            case "Parse": return [m1(.string, .json(kind)) { _, s in
                let token = try JsonReader.parse(try argStr(s, "json"))
                if kind != .token && token.kind != kind {
                    throw ExpressionRuntimeError("JsonReaderException", "Error reading \(kind.rawValue) from JsonReader. Current JsonReader item is not an \(kind == .object ? "object" : "array"): \(token.typeName).")
                }
                return .json(token)
            }]
            case "FromObject": return [m1(.object, .json(kind)) { _, v in try JsonLimits.validate(v); return .json(JsonConvertOps.toJToken(v)) }]
            case "DeepEquals" where kind == .token: return [m2(.json(.token), .json(.token), .bool) { _, a, b in
                var x: JToken?, y: JToken?
                if case .json(let t) = a { x = t }
                if case .json(let t) = b { y = t }
                return .bool(try JToken.deepEquals(x, y))
            }]
            default: return nil
            }
        case "Enumerable":
            switch name {
            case "Range": return [m2(.int, .int, .enumerable(.int)) { _, s, c in
                let start = try int(s), count = try int(c)
                guard count >= 0, Int64(start) + Int64(count) - 1 <= Int64(Int32.max) else { throw ExpressionRuntimeError.argumentOutOfRange("count") }
                try Library.checkCount(count)
                return .list(ListBox((0..<count).map { .int(Int32(start + $0)) }))
            }]
            default: return nil
            }
        case "SHA1", "SHA256", "SHA384", "SHA512", "MD5":
            guard let algorithm = HashObject.Algorithm(rawValue: className) else { return nil }
            switch name {
            case "Create": return [m0(.host(HashObject.type)) { _ in .object(HashObject(algorithm)) }]
            case "HashData": return [m1(.byteArray, .byteArray) { _, b in .bytes(HashObject.digest(algorithm, try bytes(b, "source"))) }]
            default: return nil
            }
        case "Array":
            switch name {
            case "IndexOf": return [m2(.array(.object), .object, .int) { _, a, x in
                .int(Int32(try Library.list(a).firstIndex { Arithmetic.equals($0, x) } ?? -1))
            }]
            default: return nil
            }
        case "Object":
            switch name {
            case "Equals": return [m2(.object, .object, .bool) { _, a, b in .bool(Arithmetic.equals(a, b)) }]
            case "ReferenceEquals": return [m2(.object, .object, .bool) { _, a, b in .bool(Arithmetic.equals(a, b)) }]
            default: return nil
            }
        default:
            return nil
        }
    }

    /// Generic static methods.
    static func bindSpecial(_ binder: Binder, _ className: String, _ name: String, typeArguments: [ExpressionType],
                            _ args: [Binder.BoundArgument], at offset: Int) throws -> Bound? {
        switch (className, name) {
        case ("JsonConvert", "DeserializeObject") where typeArguments.count == 1:
            let target = typeArguments[0]
            guard args.count == 1, case .value(let text, let argOffset) = args[0] else { throw binder.error("DeserializeObject takes one argument", at: offset) }
            let s = try binder.convert(text, to: .string, at: argOffset).eval
            let convert: @Sendable (JToken) throws -> Value = { token in
                switch target {
                case .json(let kind):
                    if kind != .token && token.kind != kind { throw ExpressionRuntimeError("JsonSerializationException", "Unexpected JSON token while reading \(kind.rawValue).") }
                    return .json(token)
                case .dictionary:
                    guard case .object(let props) = token.storage else { throw ExpressionRuntimeError("JsonSerializationException", "Cannot deserialize the current JSON into a dictionary.") }
                    return .dictionary(DictionaryBox(props.map { ($0.0, JsonConvertOps.toClr($0.1)) }))
                case .object: return JsonConvertOps.toClr(token)
                default:
                    return try Conversions.fromJToken(.json(token), to: target.underlyingNonNullable, nullable: target.isNullableValue || !target.isValueType)
                }
            }
            return Bound(target) { frame in try convert(try JsonReader.parse(try argStr(try s(frame), "value"))) }
        case ("Array", "Exists"), ("Array", "TrueForAll"), ("Array", "Find"), ("Array", "FindAll"):
            // The Array statics that take a Predicate<T>: the LINQ methods they match, over the array.
            guard typeArguments.isEmpty, args.count == 2, case .value(let array, let arrayOffset) = args[0] else {
                throw binder.error("'Array.\(name)' takes an array and a predicate", at: offset)
            }
            guard case .array(let element) = array.type.underlyingNonNullable else {
                throw binder.error("argument 1 of 'Array.\(name)' must be an array, not '\(array.type)'", at: arrayOffset)
            }
            let checked = Bound(array.type) { [eval = array.eval] frame in
                let value = try eval(frame)
                if value.isNull { throw ExpressionRuntimeError.argumentNull("array") }
                return value
            }
            let linqName = ["Exists": "Any", "TrueForAll": "All", "Find": "FirstOrDefault", "FindAll": "Where"][name] ?? name
            let bound = try Linq.bind(binder, checked, element: element, linqName, typeArguments: [], [args[1]], at: offset)
            guard name == "FindAll" else { return bound }
            return Bound(.array(element)) { [eval = bound.eval] frame in try eval(frame) }
        case ("Array", "Copy"):
            return try bindArrayCopy(binder, typeArguments: typeArguments, args, at: offset)
        case ("Enumerable", "Empty"), ("Array", "Empty"):
            guard typeArguments.count == 1, args.isEmpty else { throw binder.error("'\(name)' requires one type argument and no arguments", at: offset) }
            let type: ExpressionType = className == "Array" ? .array(typeArguments[0]) : .enumerable(typeArguments[0])
            return Bound(type) { _ in .list(ListBox([])) }
        case ("Enumerable", "Repeat"):
            guard args.count == 2, case .value(let item, _) = args[0], case .value(let count, let countOffset) = args[1] else {
                throw binder.error("Repeat takes two arguments", at: offset)
            }
            let x = item.eval, n = try binder.convert(count, to: .int, at: countOffset).eval
            return Bound(.enumerable(item.type)) { frame in
                let value = try x(frame), c = try int(try n(frame))
                guard c >= 0 else { throw ExpressionRuntimeError.argumentOutOfRange("count") }
                try Library.checkCount(c)
                return .list(ListBox(Array(repeating: value, count: c)))
            }
        case ("Math", "Max"), ("Math", "Min"):
            // Picks the promoted numeric type of the two arguments, like C#'s overload resolution.
            guard args.count == 2, case .value(let a, let ao) = args[0], case .value(let b, let bo) = args[1],
                  let type = binder.promote(a.type, b.type) else { return nil }
            let x = try binder.convert(a, to: type, at: ao).eval, y = try binder.convert(b, to: type, at: bo).eval
            let isMax = name == "Max"
            return Bound(type) { frame in
                let p = try x(frame), q = try y(frame)
                if case .double(let d) = p, d.isNaN { return p }
                if case .double(let d) = q, d.isNaN { return q }
                let c = try Arithmetic.compare(p, q)
                return isMax ? (c >= 0 ? p : q) : (c <= 0 ? p : q)
            }
        case ("Math", "Abs"):
            guard args.count == 1, case .value(let a, _) = args[0], a.type.isNumeric else { return nil }
            let type = binder.promote(a.type, .int) ?? a.type
            let x = try binder.convert(a, to: type, at: offset).eval
            return Bound(type) { frame in
                switch try x(frame) {
                case .int(let i):
                    if i == Int32.min { throw ExpressionRuntimeError.overflow("Negating the minimum value of a twos complement number is invalid.") }
                    return .int(abs(i))
                case .long(let l):
                    if l == Int64.min { throw ExpressionRuntimeError.overflow("Negating the minimum value of a twos complement number is invalid.") }
                    return .long(abs(l))
                case .double(let d): return .double(abs(d))
                case .decimal(let d): return .decimal(abs(d))
                case let other: return other
                }
            }
        default:
            return nil
        }
    }
}

extension StaticMembers {
    /// `Array.Copy(source, destination, length)` and `Array.Copy(source, sourceIndex, destination,
    /// destinationIndex, length)`: elements copied into the destination array in place (as if through
    /// a temporary, so overlapping ranges of one array copy correctly), with .NET's argument checks
    /// as exceptions.
    static func bindArrayCopy(_ binder: Binder, typeArguments: [ExpressionType], _ args: [Binder.BoundArgument], at offset: Int) throws -> Bound {
        guard typeArguments.isEmpty else { throw binder.error("'Array.Copy' takes no type arguments", at: offset) }
        guard args.count == 3 || args.count == 5 else { throw binder.error("no overload for method 'Copy' takes \(args.count) arguments", at: offset) }
        var values: [(bound: Bound, offset: Int)] = []
        for argument in args {
            guard case .value(let bound, let argumentOffset) = argument else { throw binder.error("'Array.Copy' takes values (no lambdas, ref or out)", at: offset) }
            values.append((bound, argumentOffset))
        }
        let long = args.count == 5
        let (source, destination) = (values[0], values[long ? 2 : 1])
        var elements: [ExpressionType] = []
        for (position, array) in [(1, source), (long ? 3 : 2, destination)] {
            guard case .array(let element) = array.bound.type.underlyingNonNullable else {
                if array.bound.isNullLiteral { elements.append(.object); continue }
                throw binder.error("argument \(position) of 'Array.Copy' must be an array, not '\(array.bound.type)'", at: array.offset)
            }
            elements.append(element)
        }
        guard elements[0] == elements[1] || source.bound.isNullLiteral || destination.bound.isNullLiteral else {
            throw binder.error("'Array.Copy' from '\(elements[0])[]' into '\(elements[1])[]' is not supported (the element types must be the same)", at: offset)
        }
        func integer(_ index: Int) throws -> Eval { try binder.convert(values[index].bound, to: .int, at: values[index].offset).eval }
        let sourceArray = source.bound.eval, destinationArray = destination.bound.eval
        let sourceIndex = long ? try integer(1) : nil, destinationIndex = long ? try integer(3) : nil
        let length = try integer(long ? 4 : 2)
        return Bound(.void) { frame in
            let from = try sourceArray(frame)
            let fromIndex = try sourceIndex.map { try int(try $0(frame)) } ?? 0
            let to = try destinationArray(frame)
            let toIndex = try destinationIndex.map { try int(try $0(frame)) } ?? 0
            let count = try int(try length(frame))
            if from.isNull { throw ExpressionRuntimeError.argumentNull("sourceArray") }
            if to.isNull { throw ExpressionRuntimeError.argumentNull("destinationArray") }
            guard count >= 0 else { throw ExpressionRuntimeError.argumentOutOfRange("length", "Non-negative number required.") }
            guard fromIndex >= 0 else { throw ExpressionRuntimeError.argumentOutOfRange("sourceIndex", "Non-negative number required.") }
            guard toIndex >= 0 else { throw ExpressionRuntimeError.argumentOutOfRange("destinationIndex", "Non-negative number required.") }
            func size(_ value: Value) -> Int {
                switch value {
                case .byteArray(let box): return box.bytes.count
                case .list(let box): return box.items.count
                default: return 0
                }
            }
            // (Int32 operands: the sums cannot overflow Int.)
            guard fromIndex + count <= size(from) else {
                throw ExpressionRuntimeError.argument("Source array was not long enough. Check the source index, length, and the array's lower bounds. (Parameter 'sourceArray')")
            }
            guard toIndex + count <= size(to) else {
                throw ExpressionRuntimeError.argument("Destination array was not long enough. Check the destination index, length, and the array's lower bounds. (Parameter 'destinationArray')")
            }
            switch (from, to) {
            case (.byteArray(let a), .byteArray(let b)):
                let slice = Array(a.bytes[fromIndex..<fromIndex + count])
                b.bytes.replaceSubrange(toIndex..<toIndex + count, with: slice)
            case (.list(let a), .list(let b)):
                let slice = Array(a.items[fromIndex..<fromIndex + count])
                b.items.replaceSubrange(toIndex..<toIndex + count, with: slice)
            default:
                throw ExpressionRuntimeError("ArrayTypeMismatchException", "Source array type cannot be assigned to destination array type.")
            }
            return .null
        }
    }
}
