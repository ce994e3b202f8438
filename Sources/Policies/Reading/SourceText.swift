/// A policy file after `{{named-value}}` substitution, with the map back to the original text so
/// every position reported is a position in the file the user wrote.
struct SourceText: Sendable {
    /// A stretch of the substituted text that came from one `{{name}}` placeholder.
    struct Substitution: Sendable {
        let substitutedStart: Int
        let substitutedLength: Int
        let originalStart: Int
        let originalLength: Int
        let name: String
        let isSecret: Bool
    }

    let file: String
    let original: [UInt8]
    /// The text the reader parses.
    let bytes: [UInt8]
    let substitutions: [Substitution]
    private let lineStarts: [Int]
    /// For non-ASCII files, how many characters (Unicode scalars) start before each byte offset,
    /// so a column costs O(1) even on a megabyte-long line.
    private let scalarsBefore: [Int32]?

    init(file: String, original: [UInt8], bytes: [UInt8], substitutions: [Substitution]) {
        self.file = file
        self.original = original
        self.bytes = bytes
        self.substitutions = substitutions
        var starts = [0]
        var isASCII = true
        for (offset, byte) in original.enumerated() {
            if byte == UInt8(ascii: "\n") { starts.append(offset + 1) }
            if byte >= 0x80 { isASCII = false }
        }
        lineStarts = starts
        if isASCII {
            scalarsBefore = nil
        } else {
            var counts = [Int32](repeating: 0, count: original.count + 1)
            var count: Int32 = 0
            for (offset, byte) in original.enumerated() {
                counts[offset] = count
                if byte & 0xC0 != 0x80 { count += 1 }
            }
            counts[original.count] = count
            scalarsBefore = counts
        }
    }

    /// Text with no placeholders (or substitution switched off).
    init(file: String, text: String) {
        let bytes = Array(text.utf8)
        self.init(file: file, original: bytes, bytes: bytes, substitutions: [])
    }

    /// Substitutes `{{name}}` placeholders once, textually, before parsing (APIM semantics: a named
    /// value may hold an expression but not another placeholder, so substituted text is not rescanned).
    /// Unknown names are reported and left in place. Stops copying once the result exceeds
    /// `maximumBytes` (named values could otherwise blow a small file up without bound); the
    /// reader then refuses the oversized text.
    static func substituting(
        file: String, text: String, namedValues: NamedValues, maximumBytes: Int = .max,
        unknownNames: inout [(offset: Int, name: String)]
    ) -> SourceText {
        let original = Array(text.utf8)
        var output: [UInt8] = []
        output.reserveCapacity(original.count)
        var substitutions: [Substitution] = []
        var index = 0
        let open = UInt8(ascii: "{"), close = UInt8(ascii: "}")
        while index < original.count, output.count <= maximumBytes {
            if original[index] == open, index + 1 < original.count, original[index + 1] == open {
                var nameEnd = index + 2
                while nameEnd < original.count, NamedValue.isNameByte(original[nameEnd]) { nameEnd += 1 }
                if nameEnd > index + 2, nameEnd + 1 < original.count,
                    original[nameEnd] == close, original[nameEnd + 1] == close
                {
                    let name = String(decoding: original[(index + 2)..<nameEnd], as: UTF8.self)
                    if let value = namedValues[name] {
                        let valueBytes = Array(value.value.utf8)
                        substitutions.append(
                            Substitution(
                                substitutedStart: output.count, substitutedLength: valueBytes.count,
                                originalStart: index, originalLength: nameEnd + 2 - index,
                                name: value.name, isSecret: value.isSecret))
                        output.append(contentsOf: valueBytes)
                        index = nameEnd + 2
                        continue
                    }
                    unknownNames.append((index, name))
                }
            }
            output.append(original[index])
            index += 1
        }
        return SourceText(file: file, original: original, bytes: output, substitutions: substitutions)
    }

    private func substitutionIndex(containingOrBefore offset: Int) -> Int? {
        var low = 0, high = substitutions.count - 1, found: Int? = nil
        while low <= high {
            let middle = (low + high) / 2
            if substitutions[middle].substitutedStart <= offset {
                found = middle
                low = middle + 1
            } else {
                high = middle - 1
            }
        }
        return found
    }

    /// The original offset of a substituted-text offset. Inside a substituted value it is the
    /// placeholder's `{{`.
    func originalOffset(_ offset: Int) -> Int {
        guard let index = substitutionIndex(containingOrBefore: offset) else { return offset }
        let substitution = substitutions[index]
        let substitutedEnd = substitution.substitutedStart + substitution.substitutedLength
        if offset < substitutedEnd { return substitution.originalStart }
        return substitution.originalStart + substitution.originalLength + (offset - substitutedEnd)
    }

    /// The secret named value a substituted-text offset lies in, if any: text there must not be quoted.
    func secretName(at offset: Int) -> String? {
        guard let index = substitutionIndex(containingOrBefore: offset) else { return nil }
        let substitution = substitutions[index]
        guard substitution.isSecret, offset < substitution.substitutedStart + substitution.substitutedLength
        else { return nil }
        return substitution.name
    }

    /// The first secret named value substituted anywhere in `range` of the substituted text.
    func secretName(in range: Range<Int>) -> String? {
        guard !substitutions.isEmpty, !range.isEmpty else { return nil }
        var index = substitutionIndex(containingOrBefore: range.lowerBound) ?? 0
        while index < substitutions.count, substitutions[index].substitutedStart < range.upperBound {
            let substitution = substitutions[index]
            if substitution.isSecret, substitution.substitutedStart + substitution.substitutedLength > range.lowerBound {
                return substitution.name
            }
            index += 1
        }
        return nil
    }

    func position(originalOffset offset: Int) -> SourcePosition {
        let clamped = max(0, min(offset, original.count))
        var low = 0, high = lineStarts.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if lineStarts[middle] <= clamped { low = middle } else { high = middle - 1 }
        }
        let lineStart = lineStarts[low]
        let column = scalarsBefore.map { Int($0[clamped] - $0[lineStart]) + 1 } ?? clamped - lineStart + 1
        return SourcePosition(file: file, line: low + 1, column: column)
    }

    /// The position, in the original file, of an offset in the substituted text.
    func position(_ offset: Int) -> SourcePosition {
        position(originalOffset: originalOffset(offset))
    }
}
