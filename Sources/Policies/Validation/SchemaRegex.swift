/// The `pattern` / `patternProperties` regular expressions of JSON Schema (ECMA-262 syntax), compiled at
/// load into a Thompson NFA and run as a Pike VM: time linear in the input (input length × program
/// size, charged to the validation's work budget), so no schema pattern can make a hostile value
/// backtrack for ever (ReDoS). Hand-written: NSRegularExpression and Swift's Regex both backtrack
/// without a time bound, and no linear-time engine is in the package mirror.
///
/// Supported: literals and escapes (`\t \n \r \f \v \0 \xHH \uHHHH`, escaped punctuation), `.`,
/// classes `[a-z]`, `[^…]`, `\d \D \w \W \s \S` (also inside classes), anchors `^` `$` and `\b` `\B`,
/// groups `( )`, `(?: )`, `(?<name> )`, alternation, `* + ? {n} {n,} {n,m}` and their lazy forms
/// (which match the same strings). Refused at load: backreferences and lookaround (not regular), and
/// programs over `maximumInstructions` (counted repetitions are expanded).
struct SchemaRegex: Sendable {
    enum Instruction: Sendable {
        case char(Unicode.Scalar)
        case any
        case set(CharacterSet, negated: Bool)
        case split(Int, Int)
        case jump(Int)
        case lineStart
        case lineEnd
        case wordBoundary(Bool)
        case match
    }

    struct CharacterSet: Sendable {
        var ranges: [ClosedRange<UInt32>] = []
        func contains(_ scalar: Unicode.Scalar) -> Bool { ranges.contains { $0.contains(scalar.value) } }
    }

    let pattern: String
    let program: [Instruction]

    static let maximumInstructions = 4000

    struct SyntaxError: Error { let message: String }

    init(_ pattern: String) throws(SyntaxError) {
        self.pattern = pattern
        var parser = RegexParser(scalars: Array(pattern.unicodeScalars))
        let tree = try parser.parseAlternation()
        guard parser.index == parser.scalars.count else { throw SyntaxError(message: "unbalanced ')'") }
        var emitter = Emitter()
        try emitter.emit(tree)
        emitter.program.append(.match)
        program = emitter.program
    }

    /// Whether the pattern matches somewhere in `text` (ECMA-262 `RegExp.test`, unanchored). `budget`
    /// is charged a step per thread per character; nil when it ran out.
    func test(_ text: String, budget: inout Int) -> Bool? {
        let input = Array(text.unicodeScalars)
        var current: [Int] = []
        var next: [Int] = []
        var onList = [Int](repeating: -1, count: program.count)
        var generation = 0

        func isWord(_ position: Int) -> Bool {
            guard position >= 0, position < input.count else { return false }
            let v = input[position].value
            return (v >= 0x30 && v <= 0x39) || (v >= 0x41 && v <= 0x5A) || (v >= 0x61 && v <= 0x7A) || v == 0x5F
        }

        // Adds a thread and follows its epsilon moves; returns true when it reaches `match`.
        func add(_ pc: Int, at position: Int, to list: inout [Int]) -> Bool {
            var stack = [pc]
            var matched = false
            while let top = stack.popLast() {
                guard onList[top] != generation else { continue }
                onList[top] = generation
                switch program[top] {
                case .jump(let target): stack.append(target)
                case .split(let a, let b): stack.append(b); stack.append(a)
                case .lineStart: if position == 0 { stack.append(top + 1) }
                case .lineEnd: if position == input.count { stack.append(top + 1) }
                case .wordBoundary(let wanted):
                    if (isWord(position - 1) != isWord(position)) == wanted { stack.append(top + 1) }
                case .match: matched = true
                default: list.append(top)
                }
            }
            return matched
        }

        generation = 1
        for position in 0...input.count {
            // A new attempt starts at every position (unanchored search); threads already in
            // `current` carry this generation's marks, so none is added twice.
            if add(0, at: position, to: &current) { return true }
            budget -= current.count + 1
            if budget < 0 { return nil }
            guard position < input.count else { break }
            let scalar = input[position]
            generation += 1
            next.removeAll(keepingCapacity: true)
            for pc in current {
                let advances: Bool
                switch program[pc] {
                case .char(let expected): advances = scalar == expected
                case .any: advances = scalar != "\n" && scalar != "\r" && scalar != "\u{2028}" && scalar != "\u{2029}"
                case .set(let set, let negated): advances = set.contains(scalar) != negated
                default: advances = false
                }
                if advances, add(pc + 1, at: position + 1, to: &next) { return true }
            }
            swap(&current, &next)
        }
        return false
    }

    // MARK: Parsing

    indirect enum Node {
        case empty
        case atom(Instruction)
        case sequence([Node])
        case alternation([Node])
        case repeated(Node, min: Int, max: Int?)
    }

    struct RegexParser {
        let scalars: [Unicode.Scalar]
        var index = 0

        func error(_ message: String) -> SyntaxError { SyntaxError(message: message) }

        mutating func parseAlternation() throws(SyntaxError) -> Node {
            var branches = [try parseSequence()]
            while index < scalars.count, scalars[index] == "|" {
                index += 1
                branches.append(try parseSequence())
            }
            return branches.count == 1 ? branches[0] : .alternation(branches)
        }

        mutating func parseSequence() throws(SyntaxError) -> Node {
            var items: [Node] = []
            while index < scalars.count, scalars[index] != "|", scalars[index] != ")" {
                var atom = try parseAtom()
                atom = try parseQuantifier(atom)
                items.append(atom)
            }
            return items.isEmpty ? .empty : .sequence(items)
        }

        mutating func parseQuantifier(_ atom: Node) throws(SyntaxError) -> Node {
            guard index < scalars.count else { return atom }
            var min = 0, max: Int? = nil
            switch scalars[index] {
            case "*": index += 1
            case "+": min = 1; index += 1
            case "?": max = 1; index += 1
            case "{":
                var j = index + 1
                func number() -> Int? {
                    var value = 0, digits = 0
                    while j < scalars.count, scalars[j].value >= 0x30, scalars[j].value <= 0x39 {
                        value = value * 10 + Int(scalars[j].value - 0x30); digits += 1; j += 1
                        if value > 1000 { return 1001 }
                    }
                    return digits > 0 ? value : nil
                }
                guard let low = number() else { return atom }  // a literal '{'
                var high: Int? = low
                if j < scalars.count, scalars[j] == "," {
                    j += 1
                    high = number()
                }
                guard j < scalars.count, scalars[j] == "}" else { return atom }
                guard low <= 1000, (high ?? 0) <= 1000, high.map({ $0 >= low }) ?? true else {
                    throw error("the repetition {\(low),\(high.map(String.init) ?? "")} is out of order or over 1000")
                }
                index = j + 1
                min = low; max = high
            default:
                return atom
            }
            if case .atom(let instruction) = atom, case .lineStart = instruction { throw error("nothing to repeat") }
            if index < scalars.count, scalars[index] == "?" { index += 1 }  // lazy: same language
            return .repeated(atom, min: min, max: max)
        }

        mutating func parseAtom() throws(SyntaxError) -> Node {
            let scalar = scalars[index]
            index += 1
            switch scalar {
            case "^": return .atom(.lineStart)
            case "$": return .atom(.lineEnd)
            case ".": return .atom(.any)
            case "(":
                if index < scalars.count, scalars[index] == "?" {
                    guard index + 1 < scalars.count else { throw error("unterminated group") }
                    let kind = scalars[index + 1]
                    if kind == ":" {
                        index += 2
                    } else if kind == "<", index + 2 < scalars.count, scalars[index + 2] != "=", scalars[index + 2] != "!" {
                        while index < scalars.count, scalars[index] != ">" { index += 1 }
                        index += 1
                    } else {
                        throw error("lookaround assertions are not supported")
                    }
                }
                let inner = try parseAlternation()
                guard index < scalars.count, scalars[index] == ")" else { throw error("missing ')'") }
                index += 1
                return inner
            case "[": return .atom(try parseClass())
            case "\\": return try parseEscape(inClass: false)
            case "*", "+", "?": throw error("nothing to repeat")
            default: return .atom(.char(scalar))
            }
        }

        mutating func parseClass() throws(SyntaxError) -> Instruction {
            var set = CharacterSet()
            var negated = false
            if index < scalars.count, scalars[index] == "^" { negated = true; index += 1 }
            var first = true
            while true {
                guard index < scalars.count else { throw error("missing ']'") }
                var scalar = scalars[index]
                if scalar == "]", !first { index += 1; break }
                first = false
                index += 1
                var low: UInt32
                if scalar == "\\" {
                    guard index < scalars.count else { throw error("trailing '\\'") }
                    let escape = scalars[index]
                    if let shorthand = Self.shorthand(escape) {
                        index += 1
                        set.ranges += shorthand.set.ranges  // negated shorthands inside classes: complement ranges
                        continue
                    }
                    guard case .atom(.char(let literal)) = try parseEscape(inClass: true) else { throw error("invalid escape in a class") }
                    scalar = literal
                }
                low = scalar.value
                if index + 1 < scalars.count, scalars[index] == "-", scalars[index + 1] != "]" {
                    index += 1
                    var high = scalars[index]
                    index += 1
                    if high == "\\" {
                        guard case .atom(.char(let literal)) = try parseEscape(inClass: true) else { throw error("invalid range in a class") }
                        high = literal
                    }
                    guard high.value >= low else { throw error("range out of order in a class") }
                    set.ranges.append(low...high.value)
                } else {
                    set.ranges.append(low...low)
                }
            }
            return .set(set, negated: negated)
        }

        /// `\d \w \s` and their negations as sets (the negations as complements).
        static func shorthand(_ letter: Unicode.Scalar) -> (set: CharacterSet, negated: Bool)? {
            let digit: [ClosedRange<UInt32>] = [0x30...0x39]
            let word: [ClosedRange<UInt32>] = [0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A]
            let space: [ClosedRange<UInt32>] = [0x09...0x0D, 0x20...0x20, 0xA0...0xA0, 0x1680...0x1680, 0x2000...0x200A,
                                                0x2028...0x2029, 0x202F...0x202F, 0x205F...0x205F, 0x3000...0x3000, 0xFEFF...0xFEFF]
            func complement(_ ranges: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
                var result: [ClosedRange<UInt32>] = []
                var next: UInt32 = 0
                for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
                    if range.lowerBound > next { result.append(next...(range.lowerBound - 1)) }
                    next = range.upperBound + 1
                }
                if next <= 0x10FFFF { result.append(next...0x10FFFF) }
                return result
            }
            switch letter {
            case "d": return (CharacterSet(ranges: digit), false)
            case "D": return (CharacterSet(ranges: complement(digit)), true)
            case "w": return (CharacterSet(ranges: word), false)
            case "W": return (CharacterSet(ranges: complement(word)), true)
            case "s": return (CharacterSet(ranges: space), false)
            case "S": return (CharacterSet(ranges: complement(space)), true)
            default: return nil
            }
        }

        mutating func parseEscape(inClass: Bool) throws(SyntaxError) -> Node {
            guard index < scalars.count else { throw error("trailing '\\'") }
            let letter = scalars[index]
            index += 1
            if let shorthand = Self.shorthand(letter) { return .atom(.set(shorthand.set, negated: false)) }
            func hex(_ count: Int) throws(SyntaxError) -> Unicode.Scalar {
                guard index + count <= scalars.count,
                      let value = UInt32(String(String.UnicodeScalarView(scalars[index..<(index + count)])), radix: 16),
                      let scalar = Unicode.Scalar(value)
                else { throw error("invalid \\\(letter) escape") }
                index += count
                return scalar
            }
            switch letter {
            case "t": return .atom(.char("\t"))
            case "n": return .atom(.char("\n"))
            case "r": return .atom(.char("\r"))
            case "f": return .atom(.char("\u{0C}"))
            case "v": return .atom(.char("\u{0B}"))
            case "0": return .atom(.char("\u{0}"))
            case "x": return .atom(.char(try hex(2)))
            case "u": return .atom(.char(try hex(4)))
            case "b": return inClass ? .atom(.char("\u{08}")) : .atom(.wordBoundary(true))
            case "B": if !inClass { return .atom(.wordBoundary(false)) }; throw error("invalid escape \\B in a class")
            case "1"..."9": throw error("backreferences are not supported")
            default:
                guard !(letter.properties.isAlphabetic && letter.isASCII) else { throw error("unknown escape \\\(letter)") }
                return .atom(.char(letter))
            }
        }
    }

    struct Emitter {
        var program: [Instruction] = []

        mutating func emit(_ node: Node) throws(SyntaxError) {
            guard program.count <= SchemaRegex.maximumInstructions else {
                throw SyntaxError(message: "the pattern is too large (over \(SchemaRegex.maximumInstructions) instructions once expanded)")
            }
            switch node {
            case .empty: break
            case .atom(let instruction): program.append(instruction)
            case .sequence(let items): for item in items { try emit(item) }
            case .alternation(let branches):
                var jumps: [Int] = []
                for (i, branch) in branches.enumerated() {
                    if i < branches.count - 1 {
                        let split = program.count
                        program.append(.split(0, 0))
                        try emit(branch)
                        jumps.append(program.count)
                        program.append(.jump(0))
                        program[split] = .split(split + 1, program.count)
                    } else {
                        try emit(branch)
                    }
                }
                for jump in jumps { program[jump] = .jump(program.count) }
            case .repeated(let inner, let min, let max):
                for _ in 0..<min { try emit(inner) }
                if let max {
                    var splits: [Int] = []
                    for _ in min..<max {
                        splits.append(program.count)
                        program.append(.split(0, 0))
                        try emit(inner)
                    }
                    for split in splits { program[split] = .split(split + 1, program.count) }
                } else {
                    let split = program.count
                    program.append(.split(0, 0))
                    try emit(inner)
                    program.append(.jump(split))
                    program[split] = .split(split + 1, program.count)
                }
            }
        }
    }
}
