/// XSLT 1.0 patterns (section 5.2): location path patterns of child and attribute steps joined by
/// `/` and `//`, possibly from the root, with predicates; `id()` and `key()` patterns are refused.
struct XSLTPathPattern: Sendable {
    struct Step: Sendable {
        let step: XPathStep
        /// The step is preceded by `//` (any ancestor), not `/` (the parent).
        let anyAncestor: Bool
    }
    let absolute: Bool
    let steps: [Step]

    /// XSLT 1.0 section 5.5: 0 for a name, -0.25 for `p:*`, -0.5 for `*` and node tests, 0.5 otherwise.
    var defaultPriority: Double {
        guard steps.count == 1, !absolute, !steps[0].anyAncestor, steps[0].step.predicates.isEmpty else { return 0.5 }
        switch steps[0].step.test {
        case .name(_, let local?): return local.isEmpty ? -0.5 : 0
        case .name(_?, nil): return -0.25
        case .processingInstruction(_?): return 0
        default: return -0.5
        }
    }

    /// The alternatives of a pattern (`a | b`), from its parsed expression.
    static func alternatives(_ expression: XPathExpression) throws(XPathSyntaxError) -> [XSLTPathPattern] {
        switch expression {
        case .union(let left, let right):
            return try alternatives(left) + alternatives(right)
        case .path(nil, let absolute, let steps):
            var converted: [Step] = []
            var pendingDescendant = false
            for step in steps {
                if step.axis == .descendantOrSelf, case .node = step.test, step.predicates.isEmpty {
                    pendingDescendant = true
                    continue
                }
                guard step.axis == .child || step.axis == .attribute else {
                    throw XPathSyntaxError("a pattern may use only the child and attribute axes, not '\(step.axis.rawValue)::'")
                }
                converted.append(Step(step: step, anyAncestor: pendingDescendant))
                pendingDescendant = false
            }
            guard !pendingDescendant else { throw XPathSyntaxError("a pattern cannot end with '//'") }
            return [XSLTPathPattern(absolute: absolute, steps: converted)]
        case .function(let function, _):
            throw XPathSyntaxError("'\(function.rawValue)()' is not a pattern")
        default:
            throw XPathSyntaxError("not a pattern: a pattern is a location path or a union of them")
        }
    }
}

extension XSLTRun {
    func matches(_ pattern: XSLTPathPattern, _ node: Int) throws -> Bool {
        if pattern.steps.isEmpty { return pattern.absolute && node == XSLTSourceTree.root }
        return try matches(pattern, node, step: pattern.steps.count - 1)
    }

    private func matches(_ pattern: XSLTPathPattern, _ node: Int, step k: Int) throws -> Bool {
        try charge()
        let step = pattern.steps[k]
        let candidate = tree[node]
        // A child step matches nodes that are children (never attributes or the root).
        if step.step.axis == .attribute {
            guard candidate.kind == .attribute else { return false }
        } else {
            guard candidate.kind != .attribute, candidate.kind != .root else { return false }
        }
        guard matches(step.step.test, node, axis: step.step.axis) else { return false }
        if !step.step.predicates.isEmpty {
            let parent = candidate.parent
            guard parent >= 0 else { return false }
            let candidates = step.step.axis == .attribute ? tree[parent].attributes : tree[parent].children
            try charge(candidates.count)
            var siblings = candidates.filter { matches(step.step.test, $0, axis: step.step.axis) }
            for predicate in step.step.predicates {
                let saved = currentNode
                currentNode = node
                defer { currentNode = saved }
                siblings = try filter(siblings, predicate)
            }
            guard siblings.contains(node) else { return false }
        }
        let parent = candidate.parent
        if k == 0 {
            guard pattern.absolute else { return true }
            return step.anyAncestor || parent == XSLTSourceTree.root
        }
        if step.anyAncestor {
            var at = parent
            while at > XSLTSourceTree.root {
                if try matches(pattern, at, step: k - 1) { return true }
                at = tree[at].parent
            }
            return false
        }
        guard parent > XSLTSourceTree.root else { return false }
        return try matches(pattern, parent, step: k - 1)
    }
}
