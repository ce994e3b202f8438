import Foundation

/// `System.Text.RegularExpressions` on top of NSRegularExpression (ICU syntax is close to .NET's
/// for the patterns policies use: classes, quantifiers, anchors, `(?<name>...)` groups).
final class RegexObject: HostObject, @unchecked Sendable {
    // NSRegularExpression is immutable and documented thread-safe.
    let expression: NSRegularExpression
    let pattern: String
    let groupNames: [String]
    var hostType: HostType { RegexObjects.regex }

    init(pattern: String, options: Int32) throws {
        var nsOptions: NSRegularExpression.Options = []
        if options & 1 != 0 { nsOptions.insert(.caseInsensitive) }
        if options & 2 != 0 { nsOptions.insert(.anchorsMatchLines) }
        if options & 16 != 0 { nsOptions.insert(.dotMatchesLineSeparators) }
        if options & 32 != 0 { nsOptions.insert(.allowCommentsAndWhitespace) }
        do {
            expression = try NSRegularExpression(pattern: pattern, options: nsOptions)
        } catch {
            throw ExpressionRuntimeError.argument("Invalid pattern '\(pattern)'.")
        }
        self.pattern = pattern
        var names: [String] = []
        let scalars = Array(pattern.unicodeScalars)
        var i = 0
        while i + 3 < scalars.count {
            if scalars[i] == "\\" { i += 2; continue }
            if scalars[i] == "(", scalars[i + 1] == "?", scalars[i + 2] == "<", scalars[i + 3] != "=", scalars[i + 3] != "!" {
                var j = i + 3
                var name = ""
                while j < scalars.count, scalars[j] != ">" { name.unicodeScalars.append(scalars[j]); j += 1 }
                names.append(name)
            }
            i += 1
        }
        groupNames = names
    }

    private static let cacheLock = NSLock()
    nonisolated(unsafe) private static var cache: [String: RegexObject] = [:]

    /// Static `Regex.*` calls reuse compiled patterns, like .NET's Regex cache.
    static func cached(_ pattern: String, _ options: Int32) throws -> RegexObject {
        let key = "\(options)/\(pattern)"
        cacheLock.lock()
        if let hit = cache[key] { cacheLock.unlock(); return hit }
        cacheLock.unlock()
        let compiled = try RegexObject(pattern: pattern, options: options)
        cacheLock.lock()
        if cache.count > 256 { cache.removeAll() }
        cache[key] = compiled
        cacheLock.unlock()
        return compiled
    }

    /// Runs the matcher with a deadline: ICU backtracking has no built-in limit, so a catastrophic
    /// pattern fails with `RegexMatchTimeoutException` (as .NET does with a match timeout) instead of hanging.
    static let matchTimeoutNanoseconds: UInt64 = 1_000_000_000

    private func run(_ input: String, from start: Int, firstOnly: Bool) throws -> [NSTextCheckingResult] {
        let length = (input as NSString).length
        let range = NSRange(location: min(start, length), length: max(0, length - start))
        var results: [NSTextCheckingResult] = []
        var timedOut = false
        var engineFailed = false
        // Like .NET, the timeout bounds each match attempt, not the whole `Matches`/`Replace` scan.
        var deadline = DispatchTime.now().uptimeNanoseconds + RegexObject.matchTimeoutNanoseconds
        // `.reportCompletion` makes ICU's failures visible: when its backtracking stack overflows (e.g. `^a*$`
        // on ~1M characters) the enumeration just ends with `.internalError` and no match. Returning
        // "no match" would make a deny rule fail open, so that is an exception too.
        expression.enumerateMatches(in: input, options: [.reportProgress, .reportCompletion], range: range) { result, flags, stop in
            if flags.contains(.internalError) {
                engineFailed = true
                stop.pointee = true
            } else if let result {
                results.append(result)
                if firstOnly { stop.pointee = true }
                deadline = DispatchTime.now().uptimeNanoseconds + RegexObject.matchTimeoutNanoseconds
            } else if !flags.contains(.completed), DispatchTime.now().uptimeNanoseconds > deadline {
                timedOut = true
                stop.pointee = true
            }
        }
        if engineFailed {
            throw ExpressionRuntimeError("RegexMatchTimeoutException", "The Regex engine could not complete the match: it ran out of backtracking stack on an input of \(length) characters. The input was not matched, so the expression fails rather than report no match.")
        }
        if timedOut || (results.isEmpty && DispatchTime.now().uptimeNanoseconds > deadline) {
            throw ExpressionRuntimeError("RegexMatchTimeoutException", "The Regex engine has timed out while trying to match a pattern to an input string. This can occur for many reasons, including very large inputs or excessive backtracking caused by nested quantifiers, back-references and other factors.")
        }
        return results
    }

    func match(_ input: String, from start: Int = 0) throws -> MatchObject {
        MatchObject(result: try run(input, from: start, firstOnly: true).first, input: input as NSString, regex: self)
    }

    func matches(_ input: String) throws -> [MatchObject] {
        let ns = input as NSString
        return try run(input, from: 0, firstOnly: false).map { MatchObject(result: $0, input: ns, regex: self) }
    }

    /// .NET replacement syntax: `$1`, `${name}`, `$0`/`$&`, `$$`.
    func replace(_ input: String, _ replacement: String) throws -> String {
        try replace(input) { match in match.expand(replacement) }
    }

    func replace(_ input: String, _ evaluator: (MatchObject) throws -> String) throws -> String {
        let ns = input as NSString
        var output = ""
        var last = 0
        for match in try matches(input) {
            guard let r = match.result?.range else { continue }
            output += ns.substring(with: NSRange(location: last, length: r.location - last))
            let replacement = try evaluator(match)
            // `$0$0$0…` on a large input multiplies it: hold the output to the string limit as it grows.
            if output.utf8.count + replacement.utf8.count > Library.maximumSize { throw Library.outOfMemory("a string longer than \(Library.maximumSize) bytes") }
            output += replacement
            last = r.location + r.length
        }
        output += ns.substring(from: last)
        return output
    }

    func split(_ input: String) throws -> [String] {
        let ns = input as NSString
        var parts: [String] = []
        var last = 0
        for match in try matches(input) {
            guard let r = match.result?.range else { continue }
            parts.append(ns.substring(with: NSRange(location: last, length: r.location - last)))
            // .NET includes captured groups in the output of Split.
            if let result = match.result, result.numberOfRanges > 1 {
                for g in 1..<result.numberOfRanges where result.range(at: g).location != NSNotFound {
                    parts.append(ns.substring(with: result.range(at: g)))
                }
            }
            last = r.location + r.length
        }
        parts.append(ns.substring(from: last))
        return parts
    }
}

final class MatchObject: HostObject, @unchecked Sendable {
    let result: NSTextCheckingResult?
    let input: NSString
    let regex: RegexObject
    var hostType: HostType { RegexObjects.match }

    init(result: NSTextCheckingResult?, input: NSString, regex: RegexObject) {
        self.result = result
        self.input = input
        self.regex = regex
    }

    func group(_ index: Int) -> GroupObject {
        guard let result, index >= 0, index < result.numberOfRanges else { return GroupObject(range: nil, input: input, name: String(index)) }
        let range = result.range(at: index)
        return GroupObject(range: range.location == NSNotFound ? nil : range, input: input, name: String(index))
    }

    func group(_ name: String) -> GroupObject {
        if let index = Int(name) { return group(index) }
        guard let result, regex.groupNames.contains(name) else { return GroupObject(range: nil, input: input, name: name) }
        let range = result.range(withName: name)
        return GroupObject(range: range.location == NSNotFound ? nil : range, input: input, name: name)
    }

    var value: String { group(0).value }

    func expand(_ replacement: String) -> String {
        let chars = Array(replacement)
        var out = ""
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c == "$", i + 1 < chars.count {
                let next = chars[i + 1]
                if next == "$" { out += "$"; i += 2; continue }
                if next == "&" { out += value; i += 2; continue }
                if next == "{", let close = chars[(i + 2)...].firstIndex(of: "}") {
                    out += group(String(chars[(i + 2)..<close])).value
                    i = close + 1
                    continue
                }
                if next.isNumber {
                    var j = i + 1
                    var digits = ""
                    while j < chars.count, chars[j].isNumber { digits.append(chars[j]); j += 1 }
                    out += group(Int(digits) ?? 0).value
                    i = j
                    continue
                }
            }
            out.append(c)
            i += 1
        }
        return out
    }
}

final class GroupObject: HostObject, @unchecked Sendable {
    let range: NSRange?
    let input: NSString
    let name: String
    var hostType: HostType { RegexObjects.group }

    init(range: NSRange?, input: NSString, name: String) {
        self.range = range
        self.input = input
        self.name = name
    }

    var value: String { range.map { input.substring(with: $0) } ?? "" }
}

final class GroupCollectionObject: EnumerableHostObject, @unchecked Sendable {
    let match: MatchObject
    var hostType: HostType { RegexObjects.groupCollection }
    init(_ match: MatchObject) { self.match = match }
    func elements() -> [Value] {
        (0..<(match.result?.numberOfRanges ?? 1)).map { .object(match.group($0)) }
    }
}

final class MatchCollectionObject: EnumerableHostObject, @unchecked Sendable {
    let matches: [MatchObject]
    var hostType: HostType { RegexObjects.matchCollection }
    init(_ matches: [MatchObject]) { self.matches = matches }
    func elements() -> [Value] { matches.map { .object($0) } }
}

enum RegexObjects {
    static let options = ExpressionType.enumeration(.regexOptions)

    static let capture = HostType(name: "Capture", members: [
        .property("Value", .string, of: GroupObject.self) { .string($0.value) },
        .property("Index", .int, of: GroupObject.self) { .int(Int32($0.range?.location ?? 0)) },
        .property("Length", .int, of: GroupObject.self) { .int(Int32($0.range?.length ?? 0)) },
    ])

    static let group = HostType(name: "Group", conformances: [capture], members: [
        .property("Success", .bool, of: GroupObject.self) { .bool($0.range != nil) },
        .property("Name", .string, of: GroupObject.self) { .string($0.name) },
        .method("ToString", [], returns: .string, of: GroupObject.self) { g, _ in .string(g.value) },
    ], toString: { ($0 as? GroupObject)?.value ?? "" })

    static let groupCollection = HostType(name: "GroupCollection", members: [
        .property("Count", .int, of: GroupCollectionObject.self) { .int(Int32($0.match.result?.numberOfRanges ?? 1)) },
        .method("get_Item", [.string], returns: .host(group), of: GroupCollectionObject.self) { c, a in .object(c.match.group(try str(a[0]))) },
        .method("get_Item", [.int], returns: .host(group), of: GroupCollectionObject.self) { c, a in .object(c.match.group(try int(a[0]))) },
    ], elementType: .host(group))

    static let match: HostType = HostType(name: "Match", conformances: [group], members: [
        .property("Groups", .host(groupCollection), of: MatchObject.self) { .object(GroupCollectionObject($0)) },
        .property("Success", .bool, of: MatchObject.self) { .bool($0.result != nil) },
        .property("Value", .string, of: MatchObject.self) { .string($0.value) },
        .property("Index", .int, of: MatchObject.self) { .int(Int32($0.result?.range.location ?? 0)) },
        .property("Length", .int, of: MatchObject.self) { .int(Int32($0.result?.range.length ?? 0)) },
        .method("NextMatch", [], returns: .host(RegexObjects.match), of: MatchObject.self) { m, _ in
            guard let r = m.result?.range else { return .object(m) }
            return .object(try m.regex.match(m.input as String, from: r.location + max(r.length, 1)))
        },
        .method("Result", [.string], returns: .string, of: MatchObject.self) { m, a in .string(m.expand(try str(a[0]))) },
        .method("ToString", [], returns: .string, of: MatchObject.self) { m, _ in .string(m.value) },
    ], toString: { ($0 as? MatchObject)?.value ?? "" })

    static let matchCollection = HostType(name: "MatchCollection", members: [
        .property("Count", .int, of: MatchCollectionObject.self) { .int(Int32($0.matches.count)) },
        .method("get_Item", [.int], returns: .host(match), of: MatchCollectionObject.self) { c, a in
            let i = try int(a[0])
            guard i >= 0, i < c.matches.count else { throw ExpressionRuntimeError.argumentOutOfRange("i") }
            return .object(c.matches[i])
        },
    ], elementType: .host(match))

    static let regex = HostType(name: "Regex", members: [
        .method("IsMatch", [.string], returns: .bool, of: RegexObject.self) { r, a in .bool(try r.match(try argStr(a[0], "input")).result != nil) },
        .method("Match", [.string], returns: .host(match), of: RegexObject.self) { r, a in .object(try r.match(try argStr(a[0], "input"))) },
        .method("Matches", [.string], returns: .host(matchCollection), of: RegexObject.self) { r, a in .object(MatchCollectionObject(try r.matches(try argStr(a[0], "input")))) },
        .method("Replace", [.string, .string], returns: .string, of: RegexObject.self) { r, a in .string(try r.replace(try argStr(a[0], "input"), try argStr(a[1], "replacement"))) },
        .method("Split", [.string], returns: .array(.string), of: RegexObject.self) { r, a in .list(ListBox(try r.split(try argStr(a[0], "input")).map(Value.string))) },
        .method("ToString", [], returns: .string, of: RegexObject.self) { r, _ in .string(r.pattern) },
    ], toString: { ($0 as? RegexObject)?.pattern ?? "" })

    /// Static `Regex.*` overloads.
    static let statics: [String: [Overload]] = {
        @Sendable func rx(_ p: Value, _ o: Value?) throws -> RegexObject { try RegexObject.cached(try argStr(p, "pattern"), o.map(enumRaw) ?? 0) }
        return [
            "IsMatch": [
                m2(.string, .string, .bool) { _, i, p in .bool(try rx(p, nil).match(try argStr(i, "input")).result != nil) },
                m3(.string, .string, options, .bool) { _, i, p, o in .bool(try rx(p, o).match(try argStr(i, "input")).result != nil) },
            ],
            "Match": [
                m2(.string, .string, .host(match)) { _, i, p in .object(try rx(p, nil).match(try argStr(i, "input"))) },
                m3(.string, .string, options, .host(match)) { _, i, p, o in .object(try rx(p, o).match(try argStr(i, "input"))) },
            ],
            "Matches": [
                m2(.string, .string, .host(matchCollection)) { _, i, p in .object(MatchCollectionObject(try rx(p, nil).matches(try argStr(i, "input")))) },
                m3(.string, .string, options, .host(matchCollection)) { _, i, p, o in .object(MatchCollectionObject(try rx(p, o).matches(try argStr(i, "input")))) },
            ],
            "Replace": [
                m3(.string, .string, .string, .string) { _, i, p, r in .string(try rx(p, nil).replace(try argStr(i, "input"), try argStr(r, "replacement"))) },
                mn([.string, .string, .string, options], .string) { _, a in .string(try rx(a[1], a[3]).replace(try argStr(a[0], "input"), try argStr(a[2], "replacement"))) },
            ],
            "Split": [
                m2(.string, .string, .array(.string)) { _, i, p in .list(ListBox(try rx(p, nil).split(try argStr(i, "input")).map(Value.string))) },
                m3(.string, .string, options, .array(.string)) { _, i, p, o in .list(ListBox(try rx(p, o).split(try argStr(i, "input")).map(Value.string))) },
            ],
            "Escape": [m1(.string, .string) { _, s in .string(NSRegularExpression.escapedPattern(for: try argStr(s, "str"))) }],
            "Unescape": [m1(.string, .string) { _, s in .string(try unescape(try argStr(s, "str"))) }],
        ]
    }()

    static func unescape(_ s: String) throws -> String {
        var out = ""
        var it = s.makeIterator()
        while let c = it.next() {
            guard c == "\\" else { out.append(c); continue }
            guard let e = it.next() else { throw ExpressionRuntimeError.argument("Illegal \\ at end of pattern.") }
            switch e {
            case "n": out += "\n"
            case "t": out += "\t"
            case "r": out += "\r"
            default: out.append(e)
            }
        }
        return out
    }
}
