/// The core XPath 1.0 function library and XSLT's additions that need no files or keys.
extension XSLTRun {
    func call(_ function: XPathFunction, _ arguments: [XPathExpression], _ context: XPathContext) throws -> XPathValue {
        func argument(_ i: Int) throws -> XPathValue { try eval(arguments[i], context) }
        func text(_ i: Int) throws -> String { try string(try argument(i)) }
        /// The optional node-set argument of name functions: its first node, or the context node.
        func nameNode() throws -> Int? {
            guard !arguments.isEmpty else { return context.node }
            guard case .nodes(let nodes) = try argument(0) else { throw XSLTError("The argument of '\(function.rawValue)()' must be a node-set.") }
            return nodes.first
        }
        /// Strings built by functions count against the budget by their length.
        func built(_ text: String) throws -> XPathValue {
            try charge(text.utf8.count / 64)
            guard text.utf8.count <= limits.maximumOutputBytes else { throw XSLTError("A string grew past \(limits.maximumOutputBytes) bytes.") }
            return .string(text)
        }
        switch function {
        case .last: return .number(Double(context.size))
        case .position: return .number(Double(context.position))
        case .count:
            guard case .nodes(let nodes) = try argument(0) else { throw XSLTError("The argument of 'count()' must be a node-set.") }
            return .number(Double(nodes.count))
        case .sum:
            guard case .nodes(let nodes) = try argument(0) else { throw XSLTError("The argument of 'sum()' must be a node-set.") }
            try charge(nodes.count)
            return .number(try nodes.reduce(0) { $0 + XPathValue.number(try stringValue($1)) })
        case .localName:
            guard let node = try nameNode() else { return .string("") }
            return .string(tree[node].local)
        case .namespaceURI:
            guard let node = try nameNode() else { return .string("") }
            return .string(tree[node].namespace)
        case .name:
            guard let node = try nameNode() else { return .string("") }
            let n = tree[node]
            return .string(n.prefix.isEmpty ? n.local : n.prefix + ":" + n.local)
        case .string:
            return .string(arguments.isEmpty ? (try stringValue(context.node)) : try text(0))
        case .number:
            return .number(arguments.isEmpty ? XPathValue.number((try stringValue(context.node))) : try number(try argument(0)))
        case .boolean: return .boolean(try argument(0).boolean)
        case .not: return .boolean(!(try argument(0).boolean))
        case .true: return .boolean(true)
        case .false: return .boolean(false)
        case .concat:
            var out = ""
            for i in arguments.indices { out += try text(i) }
            return try built(out)
        case .startsWith: return .boolean(try text(0).hasPrefix(try text(1)))
        case .contains:
            let haystack = try text(0), needle = try text(1)
            return .boolean(needle.isEmpty || haystack.contains(needle))
        case .substringBefore:
            let haystack = try text(0), needle = try text(1)
            guard let range = haystack.range(of: needle) else { return .string("") }
            return .string(String(haystack[..<range.lowerBound]))
        case .substringAfter:
            let haystack = try text(0), needle = try text(1)
            guard !needle.isEmpty else { return .string(haystack) }
            guard let range = haystack.range(of: needle) else { return .string("") }
            return .string(String(haystack[range.upperBound...]))
        case .substring:
            // Positions are rounded doubles (NaN and infinities included), compared without converting
            // to integers, so no value can trap.
            let scalars = Array(try text(0).unicodeScalars)
            let start = Self.round(try number(try argument(1)))
            let end = arguments.count > 2 ? start + Self.round(try number(try argument(2))) : .infinity
            var out = String.UnicodeScalarView()
            for (offset, scalar) in scalars.enumerated() {
                let position = Double(offset + 1)
                if position >= start && position < end { out.append(scalar) }
            }
            return .string(String(out))
        case .stringLength:
            return .number(Double((arguments.isEmpty ? (try stringValue(context.node)) : try text(0)).unicodeScalars.count))
        case .normalizeSpace:
            let value = arguments.isEmpty ? (try stringValue(context.node)) : try text(0)
            return .string(value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }).joined(separator: " "))
        case .translate:
            let from = Array(try text(1).unicodeScalars), to = Array(try text(2).unicodeScalars)
            var map: [Unicode.Scalar: Unicode.Scalar?] = [:]
            for (i, scalar) in from.enumerated() where map[scalar] == nil { map[scalar] = i < to.count ? to[i] : .some(nil) }
            var out = String.UnicodeScalarView()
            for scalar in try text(0).unicodeScalars {
                if let replacement = map[scalar] {
                    if let replacement { out.append(replacement) }
                } else {
                    out.append(scalar)
                }
            }
            return try built(String(out))
        case .floor: return .number(try number(try argument(0)).rounded(.down))
        case .ceiling: return .number(try number(try argument(0)).rounded(.up))
        case .round: return .number(Self.round(try number(try argument(0))))
        case .lang:
            let wanted = try text(0).lowercased()
            var at = context.node
            while at >= 0 {
                let node = tree[at]
                if let attribute = node.attributes.first(where: { tree[$0].local == "lang" && tree[$0].namespace == "http://www.w3.org/XML/1998/namespace" }) {
                    let lang = tree[attribute].value.lowercased()
                    return .boolean(lang == wanted || lang.hasPrefix(wanted + "-"))
                }
                at = node.parent
            }
            return .boolean(false)
        case .current:
            return .nodes([currentNode])
        case .generateID:
            guard let node = try nameNode() else { return .string("") }
            return .string("IDN\(node)")
        case .systemProperty:
            switch try text(0) {
            case let name where name.hasSuffix(":version"): return .number(1)
            case let name where name.hasSuffix(":vendor"): return .string("Drawbridge")
            default: return .string("")
            }
        case .elementAvailable:
            let name = try text(0)
            guard let colon = name.firstIndex(of: ":") else { return .boolean(false) }
            return .boolean(XSLTCompiler.instructions.contains(String(name[name.index(after: colon)...])))
        case .functionAvailable:
            return .boolean(XPathFunction(rawValue: try text(0)) != nil)
        }
    }

    /// XPath's `round()`: the nearest integer, halves towards positive infinity; NaN and infinities unchanged.
    static func round(_ value: Double) -> Double {
        guard value.isFinite else { return value }
        if value < 0 && value >= -0.5 { return -0.0 }
        return (value + 0.5).rounded(.down)
    }
}
