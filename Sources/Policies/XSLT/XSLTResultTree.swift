/// The result of a transformation (or a variable's result tree fragment) as it is built: elements
/// with their namespace nodes and attributes, text, comments and processing instructions.
struct XSLTResultTree: Sendable {
    enum Kind: Sendable { case root, element, text, comment, processingInstruction }

    struct Attribute: Sendable {
        let prefix: String
        let namespace: String
        let local: String
        var value: String
    }

    struct Node: Sendable {
        let kind: Kind
        var prefix = ""
        var namespace = ""
        /// An element's local name, a processing instruction's target.
        var local = ""
        /// Text, a comment's or a processing instruction's data.
        var value = ""
        /// Text written with `disable-output-escaping="yes"`.
        var raw = false
        var attributes: [Attribute] = []
        var namespaces: [(prefix: String, uri: String)] = []
        var children: [Int] = []
    }

    var nodes: [Node] = [Node(kind: .root)]

    /// The string-value of the whole tree: its text, in order.
    var text: String {
        var out = ""
        var stack = Array(nodes[0].children.reversed())
        while let next = stack.popLast() {
            let node = nodes[next]
            if node.kind == .text { out += node.value } else if node.kind == .element { stack.append(contentsOf: node.children.reversed()) }
        }
        return out
    }
}

/// Builds a result tree: an open element takes attributes until its first child.
struct XSLTResultBuilder {
    var tree = XSLTResultTree()
    var open: [Int] = [0]

    var current: Int { open.last ?? 0 }

    mutating func append(_ node: XSLTResultTree.Node) -> Int {
        let index = tree.nodes.count
        tree.nodes.append(node)
        tree.nodes[current].children.append(index)
        return index
    }

    mutating func text(_ value: String, raw: Bool = false) {
        guard !value.isEmpty else { return }
        if let last = tree.nodes[current].children.last, tree.nodes[last].kind == .text, tree.nodes[last].raw == raw {
            tree.nodes[last].value += value
            return
        }
        _ = append(XSLTResultTree.Node(kind: .text, value: value, raw: raw))
    }

    mutating func startElement(prefix: String, namespace: String, local: String, namespaces: [(prefix: String, uri: String)]) {
        open.append(append(XSLTResultTree.Node(kind: .element, prefix: prefix, namespace: namespace, local: local, namespaces: namespaces)))
    }

    mutating func endElement() {
        if open.count > 1 { open.removeLast() }
    }

    mutating func attribute(_ attribute: XSLTResultTree.Attribute) throws {
        let index = current
        guard index != 0, tree.nodes[index].kind == .element else {
            throw XSLTError("An attribute '\(attribute.local)' was created outside an element.")
        }
        guard tree.nodes[index].children.isEmpty else {
            throw XSLTError("The attribute '\(attribute.local)' was created after the children of the element '\(tree.nodes[index].local)'.")
        }
        if let same = tree.nodes[index].attributes.firstIndex(where: { $0.local == attribute.local && $0.namespace == attribute.namespace }) {
            tree.nodes[index].attributes[same].value = attribute.value
        } else {
            tree.nodes[index].attributes.append(attribute)
        }
    }

    mutating func namespace(prefix: String, uri: String) {
        let index = current
        guard index != 0, tree.nodes[index].children.isEmpty,
            !tree.nodes[index].namespaces.contains(where: { $0.prefix == prefix })
        else { return }
        tree.nodes[index].namespaces.append((prefix, uri))
    }

    /// Copies a finished tree's content (a variable's fragment) under the current node.
    mutating func copy(_ fragment: XSLTResultTree) {
        var stack: [(Int, Int?)] = fragment.nodes[0].children.reversed().map { ($0, nil) }
        // (node in fragment, nil) opens; (-1, depth marker) closes.
        while let (index, closing) = stack.popLast() {
            if closing != nil { endElement(); continue }
            var node = fragment.nodes[index]
            let children = node.children
            node.children = []
            if node.kind == .element {
                open.append(append(node))
                stack.append((-1, 0))
                stack.append(contentsOf: children.reversed().map { ($0, nil) })
            } else if node.kind == .text {
                text(node.value, raw: node.raw)
            } else {
                _ = append(node)
            }
        }
    }
}
