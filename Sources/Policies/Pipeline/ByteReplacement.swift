/// Ordinal replace-all on UTF-8 bytes (what .NET `string.Replace(string, string)` does on UTF-16
/// code units: matches of whole scalars are the same on either encoding). Linear time whatever the
/// pattern (Knuth–Morris–Pratt), so a hostile body and pattern cannot make it quadratic.
enum ByteReplacement {
    /// `text` with every non-overlapping occurrence of `pattern` (non-empty) replaced by
    /// `replacement`, left to right; nil when the result would exceed `limit` bytes.
    static func replacingAll(in text: [UInt8], _ pattern: [UInt8], with replacement: [UInt8], limit: Int) -> [UInt8]? {
        guard !pattern.isEmpty, pattern.count <= text.count else { return text.count <= limit ? text : nil }
        var failure = [Int](repeating: 0, count: pattern.count)
        var k = 0
        for i in 1..<max(1, pattern.count) where pattern.count > 1 {
            while k > 0 && pattern[i] != pattern[k] { k = failure[k - 1] }
            if pattern[i] == pattern[k] { k += 1 }
            failure[i] = k
        }
        var out: [UInt8] = []
        out.reserveCapacity(text.count)
        var copiedUpTo = 0
        var matched = 0
        var i = 0
        while i < text.count {
            let byte = text[i]
            while matched > 0 && byte != pattern[matched] { matched = failure[matched - 1] }
            if byte == pattern[matched] { matched += 1 }
            if matched == pattern.count {
                let start = i + 1 - pattern.count
                out.append(contentsOf: text[copiedUpTo..<start])
                out.append(contentsOf: replacement)
                guard out.count <= limit else { return nil }
                copiedUpTo = i + 1
                matched = 0
            }
            i += 1
        }
        out.append(contentsOf: text[copiedUpTo...])
        return out.count <= limit ? out : nil
    }
}
