extension String {
    /// Header names are ASCII tokens (RFC 9110 §5.1): compare them by folding ASCII case over the
    /// UTF-8 bytes, without Foundation's locale-aware comparison (which showed up at the top of the
    /// pipeline's profile). Non-ASCII bytes must match exactly.
    func equalsHeaderName(_ other: String) -> Bool {
        var lhs = utf8.makeIterator()
        var rhs = other.utf8.makeIterator()
        while true {
            switch (lhs.next(), rhs.next()) {
            case (nil, nil): return true
            case let (a?, b?):
                if a == b { continue }
                let lowerA = (a >= 65 && a <= 90) ? a + 32 : a
                let lowerB = (b >= 65 && b <= 90) ? b + 32 : b
                if lowerA != lowerB { return false }
            default: return false
            }
        }
    }
}
