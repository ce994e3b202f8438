import Foundation

/// .NET string operations on UTF-16 code units (so `Length`, indexes and `Substring` match .NET).
enum StringOps {
    static func units(_ s: String) -> [UInt16] { Array(s.utf16) }
    static func string(_ units: some Collection<UInt16>) -> String { String(decoding: units, as: UTF16.self) }

    /// `char.IsWhiteSpace`.
    static func isWhiteSpace(_ c: UInt16) -> Bool {
        switch c {
        case 0x09...0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: return true
        default: return false
        }
    }

    static func indexOf(_ haystack: [UInt16], _ needle: [UInt16], from start: Int = 0, ignoreCase: Bool = false) -> Int {
        if needle.isEmpty { return start }
        guard haystack.count >= needle.count, start <= haystack.count - needle.count else { return -1 }
        let h = ignoreCase ? fold(haystack) : haystack
        let n = ignoreCase ? fold(needle) : needle
        var i = start
        while i <= h.count - n.count {
            if h[i] == n[0] {
                var match = true
                for j in 1..<n.count where h[i + j] != n[j] { match = false; break }
                if match { return i }
            }
            i += 1
        }
        return -1
    }

    static func lastIndexOf(_ haystack: [UInt16], _ needle: [UInt16], ignoreCase: Bool = false) -> Int {
        if needle.isEmpty { return max(0, haystack.count - 1) }
        guard haystack.count >= needle.count else { return -1 }
        let h = ignoreCase ? fold(haystack) : haystack
        let n = ignoreCase ? fold(needle) : needle
        var i = h.count - n.count
        while i >= 0 {
            if Array(h[i..<i + n.count]) == n { return i }
            i -= 1
        }
        return -1
    }

    /// Ordinal-ignore-case folding (upper-cases each code unit, like .NET's OrdinalIgnoreCase).
    static func fold(_ units: [UInt16]) -> [UInt16] {
        units.map { c in
            if c >= 0x61 && c <= 0x7A { return c - 32 }
            if c < 0x80 { return c }
            let s = string([c]).uppercased()
            let u = Array(s.utf16)
            return u.count == 1 ? u[0] : c
        }
    }

    static func equalsIgnoreCase(_ a: String, _ b: String) -> Bool {
        if a == b { return true }
        let x = units(a), y = units(b)
        return x.count == y.count && fold(x) == fold(y)
    }

    /// Culture-sensitive comparison (en-US) approximated: case-insensitive first, then lower before upper.
    static func cultureCompare(_ a: String, _ b: String) -> Int {
        let x = a.lowercased(), y = b.lowercased()
        if x != y {
            for (p, q) in zip(x.unicodeScalars, y.unicodeScalars) where p != q {
                let pa = p.properties.isAlphabetic || p.properties.numericType != nil
                let qa = q.properties.isAlphabetic || q.properties.numericType != nil
                if pa != qa { return pa ? 1 : -1 }  // punctuation sorts before letters and digits
                return p.value < q.value ? -1 : 1
            }
            return x.unicodeScalars.count < y.unicodeScalars.count ? -1 : 1
        }
        if a == b { return 0 }
        for (p, q) in zip(a.unicodeScalars, b.unicodeScalars) where p != q {
            return p.properties.isLowercase ? -1 : 1
        }
        return 0
    }

    static func ordinalCompare(_ a: String, _ b: String) -> Int {
        let x = units(a), y = units(b)
        for (p, q) in zip(x, y) where p != q { return Int(p) - Int(q) }
        return x.count - y.count
    }

    static func compare(_ a: String?, _ b: String?, comparison: Int32) -> Int {
        guard let a else { return b == nil ? 0 : -1 }
        guard let b else { return 1 }
        switch comparison {
        case 4: return ordinalCompare(a, b).signum()
        case 5: return ordinalCompare(string(fold(units(a))), string(fold(units(b)))).signum()
        case 1, 3: return cultureCompare(a.lowercased(), b.lowercased())
        default: return cultureCompare(a, b)
        }
    }

    static func ignoresCase(_ comparison: Int32) -> Bool { comparison % 2 == 1 }

    static func trim(_ s: String, chars: [UInt16]?, start: Bool, end: Bool) -> String {
        let u = units(s)
        var lo = 0, hi = u.count
        let test: (UInt16) -> Bool = { c in chars.map { $0.contains(c) } ?? isWhiteSpace(c) }
        if start { while lo < hi && test(u[lo]) { lo += 1 } }
        if end { while hi > lo && test(u[hi - 1]) { hi -= 1 } }
        return string(u[lo..<hi])
    }

    static func split(_ s: String, separators: [[UInt16]], options: Int32, count: Int = Int.max) -> [String] {
        let u = units(s)
        var parts: [[UInt16]] = []
        var current: [UInt16] = []
        var i = 0
        let seps = separators.isEmpty ? [] : separators.filter { !$0.isEmpty }
        let useWhitespace = separators.isEmpty
        while i < u.count {
            if parts.count == count - 1 { current += u[i...]; break }
            if useWhitespace {
                if isWhiteSpace(u[i]) { parts.append(current); current = []; i += 1; continue }
            } else if let sep = seps.first(where: { i + $0.count <= u.count && Array(u[i..<i + $0.count]) == $0 }) {
                parts.append(current)
                current = []
                i += sep.count
                continue
            }
            current.append(u[i])
            i += 1
        }
        parts.append(current)
        var result = parts.map { string($0) }
        if options & 2 != 0 { result = result.map { trim($0, chars: nil, start: true, end: true) } }
        if options & 1 != 0 { result = result.filter { !$0.isEmpty } }
        if count <= 0 { return [] }
        return result
    }

    static func replace(_ s: String, _ old: String, _ new: String, ignoreCase: Bool = false) throws -> String {
        if old.isEmpty { throw ExpressionRuntimeError.argument("String cannot be of zero length. (Parameter 'oldValue')") }
        // A longer replacement can multiply the length (`s.Replace("a", s)`): when even the worst case
        // (every position a match) could pass the size limit, count the matches first (stopping as soon
        // as they are too many) and refuse before allocating anything.
        let length = s.utf16.count, oldLength = old.utf16.count, newLength = new.utf16.count
        let u = units(s), o = units(old), n = units(new)
        if newLength > oldLength {
            let (extra, overflow) = (length / oldLength).multipliedReportingOverflow(by: newLength - oldLength)
            if overflow || length + extra > Library.maximumSize {
                let haystack = ignoreCase ? fold(u) : u, needle = ignoreCase ? fold(o) : o
                let allowed = (Library.maximumSize - min(length, Library.maximumSize)) / (newLength - oldLength)
                var matches = 0, i = 0
                while i <= length - oldLength {
                    let found = indexOf(haystack, needle, from: i)
                    if found < 0 { break }
                    matches += 1
                    if matches > allowed { throw Library.outOfMemory("a string longer than \(Library.maximumSize) characters") }
                    i = found + oldLength
                }
            }
        }
        if !ignoreCase { return s.replacingOccurrences(of: old, with: new, options: .literal) }
        // Fold once (not per match) for the case-insensitive search; copy from the original units.
        let haystack = fold(u), needle = fold(o)
        var result: [UInt16] = []
        var i = 0
        while i < u.count {
            let found = indexOf(haystack, needle, from: i)
            if found < 0 { result += u[i...]; break }
            result += u[i..<found]
            result += n
            i = found + o.count
        }
        return string(result)
    }

    /// Composite formatting: `string.Format("{0} {1:N2} {2,5}", ...)`.
    static func format(_ format: String, _ args: [Value]) throws -> String {
        let u = units(format)
        var result: [UInt16] = []
        var i = 0
        func bad() -> ExpressionRuntimeError { .format("Input string was not in a correct format.") }
        while i < u.count {
            let c = u[i]
            if c == 0x7B {  // {
                if i + 1 < u.count && u[i + 1] == 0x7B { result.append(c); i += 2; continue }
                guard let close = u[i...].firstIndex(of: 0x7D) else { throw bad() }
                let spec = string(u[(i + 1)..<close])
                var indexPart = spec
                var formatPart: String?
                if let colon = spec.firstIndex(of: ":") {
                    indexPart = String(spec[..<colon])
                    formatPart = String(spec[spec.index(after: colon)...])
                }
                var alignment = 0
                if let comma = indexPart.firstIndex(of: ",") {
                    // .NET rejects an alignment of 1,000,000 or more (and so never negates Int.min).
                    guard let a = Int(indexPart[indexPart.index(after: comma)...].trimmingCharacters(in: .whitespaces)),
                          a > -1_000_000, a < 1_000_000 else { throw bad() }
                    alignment = a
                    indexPart = String(indexPart[..<comma])
                }
                guard let index = Int(indexPart.trimmingCharacters(in: .whitespaces)), index >= 0, index < 1_000_000 else { throw bad() }
                guard index < args.count else {
                    throw ExpressionRuntimeError.format("Index (zero based) must be greater than or equal to zero and less than the size of the argument list.")
                }
                var text = try Library.format(args[index], formatPart)
                let length = text.utf16.count
                if alignment > length { text = String(repeating: " ", count: alignment - length) + text }
                if -alignment > length { text += String(repeating: " ", count: -alignment - length) }
                if result.count + text.utf16.count > Library.maximumSize { throw Library.outOfMemory("a string longer than \(Library.maximumSize) characters") }
                result += text.utf16
                i = close + 1
                continue
            }
            if c == 0x7D {
                if i + 1 < u.count && u[i + 1] == 0x7D { result.append(c); i += 2; continue }
                throw bad()
            }
            result.append(c)
            i += 1
        }
        return string(result)
    }
}
