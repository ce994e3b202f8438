import Foundation

/// `Encoding.UTF8`, `Encoding.ASCII`, `Encoding.Unicode` (UTF-16LE), `Encoding.UTF32`.
final class EncodingObject: HostObject {
    enum Kind: Sendable { case utf8, ascii, unicode, bigEndianUnicode, utf32, latin1 }
    let kind: Kind
    var hostType: HostType { EncodingObject.type }
    init(_ kind: Kind) { self.kind = kind }

    static let utf8 = EncodingObject(.utf8)
    static let ascii = EncodingObject(.ascii)
    static let unicode = EncodingObject(.unicode)
    static let bigEndianUnicode = EncodingObject(.bigEndianUnicode)
    static let utf32 = EncodingObject(.utf32)
    static let latin1 = EncodingObject(.latin1)

    func encode(_ s: String) -> [UInt8] {
        switch kind {
        case .utf8: return Array(s.utf8)
        case .ascii: return s.utf16.map { $0 < 0x80 ? UInt8($0) : 0x3F }
        case .latin1: return s.utf16.map { $0 < 0x100 ? UInt8($0) : 0x3F }
        case .unicode: return s.utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        case .bigEndianUnicode: return s.utf16.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
        case .utf32: return s.unicodeScalars.flatMap { v in (0..<4).map { UInt8((v.value >> (8 * UInt32($0))) & 0xFF) } }
        }
    }

    func decode(_ b: [UInt8]) -> String {
        switch kind {
        case .utf8: return String(decoding: b, as: UTF8.self)
        case .ascii: return String(decoding: b.map { $0 < 0x80 ? UInt16($0) : 0x3F }, as: UTF16.self)
        case .latin1: return String(decoding: b.map { UInt16($0) }, as: UTF16.self)
        case .unicode, .bigEndianUnicode:
            var units: [UInt16] = []
            var i = 0
            while i + 1 < b.count {
                units.append(kind == .unicode ? UInt16(b[i]) | UInt16(b[i + 1]) << 8 : UInt16(b[i]) << 8 | UInt16(b[i + 1]))
                i += 2
            }
            if b.count % 2 == 1 { units.append(0xFFFD) }
            return String(decoding: units, as: UTF16.self)
        case .utf32:
            var scalars = String.UnicodeScalarView()
            var i = 0
            while i + 3 < b.count {
                let v = UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
                scalars.append(Unicode.Scalar(v) ?? "\u{FFFD}")
                i += 4
            }
            return String(scalars)
        }
    }

    var webName: String {
        switch kind {
        case .utf8: return "utf-8"
        case .ascii: return "us-ascii"
        case .unicode: return "utf-16"
        case .bigEndianUnicode: return "utf-16BE"
        case .utf32: return "utf-32"
        case .latin1: return "iso-8859-1"
        }
    }

    static let type = HostType(name: "Encoding", members: [
        .method("GetBytes", [.string], returns: .byteArray, of: EncodingObject.self) { e, a in .bytes(e.encode(try argStr(a[0], "s"))) },
        .method("GetBytes", [.array(.char)], returns: .byteArray, of: EncodingObject.self) { e, a in
            .bytes(e.encode(StringOps.string(try Library.chars(a[0]))))
        },
        .method("GetString", [.byteArray], returns: .string, of: EncodingObject.self) { e, a in .string(e.decode(try bytes(a[0], "bytes"))) },
        .method("GetString", [.byteArray, .int, .int], returns: .string, of: EncodingObject.self) { e, a in
            let b = try bytes(a[0], "bytes"), start = try int(a[1]), count = try int(a[2])
            guard start >= 0, count >= 0, start + count <= b.count else { throw ExpressionRuntimeError.argumentOutOfRange("bytes", "Index and count must refer to a location within the buffer.") }
            return .string(e.decode(Array(b[start..<start + count])))
        },
        .method("GetByteCount", [.string], returns: .int, of: EncodingObject.self) { e, a in .int(Int32(e.encode(try argStr(a[0], "s")).count)) },
        .property("WebName", .string, of: EncodingObject.self) { .string($0.webName) },
    ])
}

/// `System.Text.StringBuilder` (mutable; lives within one evaluation).
final class StringBuilderObject: HostObject, @unchecked Sendable {
    var text: String
    var hostType: HostType { StringBuilderObject.type }
    init(_ text: String = "") { self.text = text }

    /// Every append goes through here, so a builder cannot grow past `Library.maximumSize`.
    func append(_ piece: String) throws {
        if text.utf8.count + piece.utf8.count > Library.maximumSize {
            throw Library.outOfMemory("a StringBuilder longer than \(Library.maximumSize) bytes")
        }
        text += piece
    }

    static let type: HostType = HostType(name: "StringBuilder", members: {
        func appending(_ name: String, _ parameters: [ExpressionType], _ f: @escaping @Sendable (StringBuilderObject, [Value]) throws -> Void) -> HostMember {
            .method(name, parameters, returns: .host(StringBuilderObject.type), of: StringBuilderObject.self) { sb, a in
                try f(sb, a)
                return .object(sb)
            }
        }
        return [
            appending("Append", [.string]) { sb, a in try sb.append(Formatting.toString(a[0])) },
            appending("Append", [.char]) { sb, a in try sb.append(Formatting.toString(a[0])) },
            appending("Append", [.object]) { sb, a in try sb.append(Formatting.toString(a[0])) },
            appending("AppendLine", []) { sb, _ in try sb.append("\r\n") },
            appending("AppendLine", [.string]) { sb, a in try sb.append(Formatting.toString(a[0]) + "\r\n") },
            appending("AppendFormat", [.string, .object]) { sb, a in try sb.append(try StringOps.format(try argStr(a[0], "format"), [a[1]])) },
            appending("AppendFormat", [.string, .object, .object]) { sb, a in try sb.append(try StringOps.format(try argStr(a[0], "format"), Array(a[1...]))) },
            appending("AppendFormat", [.string, .object, .object, .object]) { sb, a in try sb.append(try StringOps.format(try argStr(a[0], "format"), Array(a[1...]))) },
            appending("Insert", [.int, .string]) { sb, a in
                var u = StringOps.units(sb.text)
                let at = try int(a[0])
                guard at >= 0, at <= u.count else { throw ExpressionRuntimeError.argumentOutOfRange("index") }
                let inserted = StringOps.units(Formatting.toString(a[1]))
                try Library.checkSize(u.count + inserted.count)
                u.insert(contentsOf: inserted, at: at)
                sb.text = StringOps.string(u)
            },
            appending("Replace", [.string, .string]) { sb, a in sb.text = try StringOps.replace(sb.text, try argStr(a[0], "oldValue"), Library.optionalString(a[1]) ?? "") },
            appending("Clear", []) { sb, _ in sb.text = "" },
            appending("Remove", [.int, .int]) { sb, a in
                var u = StringOps.units(sb.text)
                let at = try int(a[0]), n = try int(a[1])
                guard at >= 0, n >= 0, at + n <= u.count else { throw ExpressionRuntimeError.argumentOutOfRange("length") }
                u.removeSubrange(at..<at + n)
                sb.text = StringOps.string(u)
            },
            .property("Length", .int, of: StringBuilderObject.self) { .int(Int32($0.text.utf16.count)) },
            .method("ToString", [], returns: .string, of: StringBuilderObject.self) { sb, _ in .string(sb.text) },
        ]
    }(), toString: { ($0 as? StringBuilderObject)?.text ?? "" })
}

/// `Random` (`Next`, `NextDouble`); seeded instances use .NET's legacy subtractive generator.
final class RandomObject: HostObject, @unchecked Sendable {
    private var seedArray = [Int32](repeating: 0, count: 56)
    private var inext = 0
    private var inextp = 21
    private let seeded: Bool
    var hostType: HostType { RandomObject.type }

    init(seed: Int32?) {
        seeded = seed != nil
        guard let seed else { return }
        // Knuth's subtractive generator as in .NET's Net5CompatSeedImpl.
        let subtraction = seed == Int32.min ? Int32.max : abs(seed)
        var mj = 161_803_398 - subtraction
        seedArray[55] = mj
        var mk: Int32 = 1
        for i in 1..<55 {
            let ii = (21 * i) % 55
            seedArray[ii] = mk
            mk = mj - mk
            if mk < 0 { mk += Int32.max }
            mj = seedArray[ii]
        }
        for _ in 1..<5 {
            for i in 1..<56 {
                seedArray[i] = seedArray[i] &- seedArray[1 + (i + 30) % 55]
                if seedArray[i] < 0 { seedArray[i] = seedArray[i] &+ Int32.max }
            }
        }
        inext = 0
        inextp = 21
    }

    private func internalSample() -> Int32 {
        var locINext = inext + 1
        if locINext >= 56 { locINext = 1 }
        var locINextp = inextp + 1
        if locINextp >= 56 { locINextp = 1 }
        var retVal = seedArray[locINext] &- seedArray[locINextp]
        if retVal == Int32.max { retVal -= 1 }
        if retVal < 0 { retVal = retVal &+ Int32.max }
        seedArray[locINext] = retVal
        inext = locINext
        inextp = locINextp
        return retVal
    }

    func sample() -> Double {
        seeded ? Double(internalSample()) * (1.0 / Double(Int32.max)) : Double.random(in: 0..<1)
    }

    func next(_ minValue: Int, _ maxValue: Int) throws -> Int {
        guard minValue <= maxValue else { throw ExpressionRuntimeError.argumentOutOfRange("minValue", "'minValue' cannot be greater than maxValue.") }
        let range = Int64(maxValue) - Int64(minValue)
        return Int(Int64(sample() * Double(range)) + Int64(minValue))
    }

    static let type = HostType(name: "Random", members: [
        .method("Next", [], returns: .int, of: RandomObject.self) { r, _ in .int(Int32(try r.next(0, Int(Int32.max)))) },
        .method("Next", [.int], returns: .int, of: RandomObject.self) { r, a in
            let max = try int(a[0])
            guard max >= 0 else { throw ExpressionRuntimeError.argumentOutOfRange("maxValue", "'maxValue' must be greater than zero.") }
            return .int(Int32(try r.next(0, max)))
        },
        .method("Next", [.int, .int], returns: .int, of: RandomObject.self) { r, a in .int(Int32(try r.next(try int(a[0]), try int(a[1])))) },
        .method("NextDouble", [], returns: .double, of: RandomObject.self) { r, _ in .double(r.sample()) },
    ])
}
