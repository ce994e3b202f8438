import PolicyExpressions

/// The transformation's input as XPath 1.0 sees it: a root node, elements, attributes, text,
/// comments and processing instructions, indexed in document order (an element's attributes
/// follow it, then its children), so sorting node indices sorts nodes into document order. Read by
/// `StrictXML` (whitespace-only text between elements, and comments and processing instructions
/// outside the root element, are not kept; namespace nodes are not modelled).
struct XSLTSourceTree: Sendable {
    enum Kind: Sendable { case root, element, attribute, text, comment, processingInstruction }

    struct Node: Sendable {
        let kind: Kind
        let prefix: String
        let namespace: String
        let local: String
        /// An attribute's value, a text node's or a comment's text, a processing instruction's data
        /// (its target is `local`).
        let value: String
        let parent: Int
        var attributes: [Int] = []
        var children: [Int] = []
        /// Namespace declarations written on this element (`xmlns:p="…"`), kept when it is copied.
        var declarations: [(prefix: String, uri: String)] = []
    }

    private(set) var nodes: [Node]

    static let root = 0

    init(_ bytes: [UInt8]) throws(XSLTError) {
        let elements: [StrictXML.Element]
        do {
            elements = try StrictXML.parse(bytes)
        } catch {
            throw XSLTError("The body is not XML: \(error.message)")
        }
        nodes = [Node(kind: .root, prefix: "", namespace: "", local: "", value: "", parent: -1)]
        guard !elements.isEmpty else { return }
        // Iterative pre-order walk (the parser bounds depth, but no recursion is needed): nodes are
        // appended in document order, so an index comparison is a document-order comparison.
        enum Work { case element(Int, parent: Int), text(String, parent: Int), other(Kind, target: String, String, parent: Int) }
        var stack: [Work] = [.element(0, parent: Self.root)]
        while let work = stack.popLast() {
            switch work {
            case .text(let text, let parent):
                nodes[parent].children.append(nodes.count)
                nodes.append(Node(kind: .text, prefix: "", namespace: "", local: "", value: text, parent: parent))
            case .other(let kind, let target, let value, let parent):
                nodes[parent].children.append(nodes.count)
                nodes.append(Node(kind: kind, prefix: "", namespace: "", local: target, value: value, parent: parent))
            case .element(let index, let parent):
                let element = elements[index]
                let me = nodes.count
                var node = Node(
                    kind: .element, prefix: Self.prefix(element.qualified), namespace: element.namespace, local: element.local,
                    value: "", parent: parent)
                for attribute in element.attributes where attribute.isNamespaceDeclaration {
                    node.declarations.append((attribute.qualified == "xmlns" ? "" : attribute.local, attribute.value))
                }
                nodes.append(node)
                nodes[parent].children.append(me)
                for attribute in element.attributes where !attribute.isNamespaceDeclaration {
                    nodes[me].attributes.append(nodes.count)
                    nodes.append(Node(
                        kind: .attribute, prefix: Self.prefix(attribute.qualified), namespace: attribute.namespace,
                        local: attribute.local, value: attribute.value, parent: me))
                }
                for child in element.children.reversed() {
                    switch child {
                    case .element(let child): stack.append(.element(child, parent: me))
                    case .text(let text): stack.append(.text(text, parent: me))
                    case .comment(let text): stack.append(.other(.comment, target: "", text, parent: me))
                    case .processingInstruction(let target, let data): stack.append(.other(.processingInstruction, target: target, data, parent: me))
                    }
                }
            }
        }
    }

    subscript(_ index: Int) -> Node { nodes[index] }

    /// The namespaces in scope at an element (nearest declaration wins), the `xml` prefix excluded.
    func namespacesInScope(_ index: Int) -> [(prefix: String, uri: String)] {
        var seen = Set<String>()
        var out: [(prefix: String, uri: String)] = []
        var at = index
        while at > 0, at < nodes.count {
            for declaration in nodes[at].declarations where seen.insert(declaration.prefix).inserted {
                out.append(declaration)
            }
            at = nodes[at].parent
        }
        return out.filter { !$0.uri.isEmpty }
    }

    static func prefix(_ qualified: String) -> String {
        guard let colon = qualified.firstIndex(of: ":") else { return "" }
        return String(qualified[..<colon])
    }
}
