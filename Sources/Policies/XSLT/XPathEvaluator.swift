/// Evaluating compiled XPath 1.0 over the source tree, inside a transformation run (which owns
/// the variables, the step budget and `current()`).
struct XPathContext {
    let node: Int
    let position: Int
    let size: Int
}

extension XSLTRun {
    /// Evaluates an expression of an instruction (whose context node is `current()`).
    func evaluate(_ expression: XPathExpression, _ context: XPathContext) throws -> XPathValue {
        let saved = currentNode
        currentNode = context.node
        defer { currentNode = saved }
        return try eval(expression, context)
    }

    func evaluateNodes(_ expression: XPathExpression, _ context: XPathContext, _ what: String) throws -> [Int] {
        guard case .nodes(let nodes) = try evaluate(expression, context) else {
            throw XSLTError("The expression of \(what) does not select nodes.")
        }
        return nodes
    }

    /// A node's string-value, charged to the budget by the nodes and text it walks (an element's is
    /// all its descendants' text: repeated over large node-sets it is the costly part).
    func stringValue(_ index: Int) throws -> String {
        let node = tree[index]
        switch node.kind {
        case .attribute, .text, .comment, .processingInstruction:
            try charge(1 + node.value.utf8.count / 256)
            return node.value
        case .root, .element:
            var out = ""
            var stack = Array(node.children.reversed())
            while let next = stack.popLast() {
                let child = tree[next]
                if child.kind == .text {
                    try charge(1 + child.value.utf8.count / 256)
                    out += child.value
                } else if child.kind == .element {
                    try charge()
                    stack.append(contentsOf: child.children.reversed())
                }
            }
            return out
        }
    }

    func string(_ value: XPathValue) throws -> String {
        switch value {
        case .nodes(let nodes):
            return try nodes.first.map { try stringValue($0) } ?? ""
        case .string(let text):
            return text
        case .number(let number):
            return XPathValue.format(number)
        case .boolean(let flag):
            return flag ? "true" : "false"
        case .fragment(let fragment):
            // A fragment's size was charged as it was built; reading it again costs its length.
            let text = fragment.text
            try charge(1 + text.utf8.count / 256)
            return text
        }
    }

    func number(_ value: XPathValue) throws -> Double {
        switch value {
        case .number(let number): number
        case .boolean(let flag): flag ? 1 : 0
        default: XPathValue.number(try string(value))
        }
    }

    func eval(_ expression: XPathExpression, _ context: XPathContext) throws -> XPathValue {
        try charge()
        switch expression {
        case .literal(let text): return .string(text)
        case .number(let value): return .number(value)
        case .variable(let name): return try variable(name)
        case .or(let left, let right):
            return .boolean(try eval(left, context).boolean || eval(right, context).boolean)
        case .and(let left, let right):
            return .boolean(try eval(left, context).boolean && eval(right, context).boolean)
        case .negate(let operand):
            return .number(-(try number(try eval(operand, context))))
        case .arithmetic(let op, let left, let right):
            let a = try number(try eval(left, context)), b = try number(try eval(right, context))
            switch op {
            case "+": return .number(a + b)
            case "-": return .number(a - b)
            case "*": return .number(a * b)
            case "div": return .number(a / b)
            default: return .number(a.truncatingRemainder(dividingBy: b))
            }
        case .compare(let op, let left, let right):
            return .boolean(try compare(op, try eval(left, context), try eval(right, context)))
        case .union(let left, let right):
            guard case .nodes(let a) = try eval(left, context), case .nodes(let b) = try eval(right, context) else {
                throw XSLTError("The operands of '|' must be node-sets.")
            }
            return .nodes(Array(Set(a).union(b)).sorted())
        case .filter(let primary, let predicates):
            guard case .nodes(var nodes) = try eval(primary, context) else {
                throw XSLTError("A predicate applies to a node-set only.")
            }
            for predicate in predicates { nodes = try filter(nodes, predicate) }
            return .nodes(nodes)
        case .path(let start, let absolute, let steps):
            var nodes: [Int]
            if let start {
                guard case .nodes(let selected) = try eval(start, context) else { throw XSLTError("A path must start from a node-set.") }
                nodes = selected
            } else {
                nodes = [absolute ? XSLTSourceTree.root : context.node]
            }
            for step in steps { nodes = try apply(step, to: nodes) }
            return .nodes(nodes)
        case .function(let function, let arguments):
            return try call(function, arguments, context)
        }
    }

    // MARK: Steps

    func apply(_ step: XPathStep, to nodes: [Int]) throws -> [Int] {
        var result: [Int] = []
        var seen = Set<Int>()
        for node in nodes {
            var selected = try axis(step.axis, from: node).filter { matches(step.test, $0, axis: step.axis) }
            for predicate in step.predicates { selected = try filter(selected, predicate) }
            for node in selected where seen.insert(node).inserted { result.append(node) }
        }
        if nodes.count > 1 || step.axis.isReverse { result.sort() }
        return result
    }

    /// Keeps the nodes for which the predicate holds; positions follow the given order.
    func filter(_ nodes: [Int], _ predicate: XPathExpression) throws -> [Int] {
        var kept: [Int] = []
        for (offset, node) in nodes.enumerated() {
            let context = XPathContext(node: node, position: offset + 1, size: nodes.count)
            let value = try eval(predicate, context)
            if case .number(let wanted) = value {
                if wanted == Double(offset + 1) { kept.append(node) }
            } else if value.boolean {
                kept.append(node)
            }
        }
        return kept
    }

    func matches(_ test: XPathNodeTest, _ index: Int, axis: XPathAxis) -> Bool {
        let node = tree[index]
        switch test {
        case .node: return true
        case .text: return node.kind == .text
        case .comment: return node.kind == .comment
        case .processingInstruction(let target): return node.kind == .processingInstruction && (target == nil || target == node.local)
        case .name(let namespace, let local):
            guard node.kind == (axis == .attribute ? .attribute : .element) else { return false }
            if let namespace, node.namespace != namespace { return false }
            if let local, node.local != local { return false }
            return true
        }
    }

    /// The nodes along an axis, in the axis's order (nearest first for reverse axes).
    func axis(_ axis: XPathAxis, from index: Int) throws -> [Int] {
        let node = tree[index]
        var out: [Int] = []
        switch axis {
        case .self: out = [index]
        case .child: out = node.children
        case .attribute: out = node.attributes
        case .parent: out = node.parent >= 0 ? [node.parent] : []
        case .ancestor, .ancestorOrSelf:
            if axis == .ancestorOrSelf { out.append(index) }
            var at = node.parent
            while at >= 0 { out.append(at); at = tree[at].parent }
        case .descendant, .descendantOrSelf:
            if axis == .descendantOrSelf { out.append(index) }
            var stack = Array(node.children.reversed())
            while let next = stack.popLast() {
                try charge()
                out.append(next)
                stack.append(contentsOf: tree[next].children.reversed())
            }
        case .followingSibling, .precedingSibling:
            guard node.kind != .attribute, node.parent >= 0 else { break }
            let siblings = tree[node.parent].children
            guard let at = siblings.firstIndex(of: index) else { break }
            try charge(at)
            out = axis == .followingSibling ? Array(siblings[(at + 1)...]) : Array(siblings[..<at].reversed())
        case .following:
            var start = index + 1
            if node.kind != .attribute { start = subtreeEnd(index) + 1 }
            var at = start
            while at < tree.nodes.count {
                try charge()
                if tree[at].kind != .attribute { out.append(at) }
                at += 1
            }
        case .preceding:
            var ancestors = Set<Int>()
            var up = node.parent
            while up >= 0 { ancestors.insert(up); up = tree[up].parent }
            var at = index - 1
            while at > 0 {
                try charge()
                if tree[at].kind != .attribute, !ancestors.contains(at) { out.append(at) }
                at -= 1
            }
        }
        try charge(out.count)
        return out
    }

    /// The last index inside a node's subtree.
    func subtreeEnd(_ index: Int) -> Int {
        var at = index
        while true {
            let node = tree[at]
            if let last = node.children.last { at = last } else if let last = node.attributes.last { return last } else { return at }
        }
    }

    // MARK: Comparisons

    func compare(_ op: String, _ left: XPathValue, _ right: XPathValue) throws -> Bool {
        // A fragment compares as its string.
        var left = left, right = right
        if case .fragment = left { left = .string(try string(left)) }
        if case .fragment = right { right = .string(try string(right)) }
        switch (left, right) {
        case (.nodes(let a), .nodes(let b)):
            let bs = try b.map { try stringValue($0) }
            for x in a {
                let xs = try stringValue(x)
                try charge(bs.count)
                if try bs.contains(where: { try atomic(op, .string(xs), .string($0)) }) { return true }
            }
            return false
        case (.nodes(let a), _):
            if case .boolean = right { return try atomic(op, .boolean(!a.isEmpty), right) }
            return try a.contains { try atomic(op, .string(try stringValue($0)), right) }
        case (_, .nodes(let b)):
            if case .boolean = left { return try atomic(op, left, .boolean(!b.isEmpty)) }
            return try b.contains { try atomic(op, left, .string(try stringValue($0))) }
        default:
            return try atomic(op, left, right)
        }
    }

    /// Comparing two values that are not node-sets (XPath 1.0 section 3.4).
    func atomic(_ op: String, _ left: XPathValue, _ right: XPathValue) throws -> Bool {
        if op == "=" || op == "!=" {
            let equal: Bool
            switch (left, right) {
            case (.boolean, _), (_, .boolean): equal = left.boolean == right.boolean
            case (.number, _), (_, .number): equal = try number(left) == number(right)
            default: equal = try string(left) == string(right)
            }
            return op == "=" ? equal : !equal
        }
        let a = try number(left), b = try number(right)
        switch op {
        case "<": return a < b
        case "<=": return a <= b
        case ">": return a > b
        default: return a >= b
        }
    }
}
