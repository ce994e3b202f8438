/// Drawbridge's strict XML parser (the one behind `XDocument.Parse`, `XmlObjects`) for other
/// modules: a document as a flat list of elements, in document order, the root first.
///
/// The same rules as LINQ to XML here: no DTDs (no entity expansion), the five predefined entities
/// and character references, CDATA as text, namespaces resolved, depth at most 256, and
/// whitespace-only text between child elements not kept (`LoadOptions.None`). Comments and
/// processing instructions inside the root element are kept (those around it are not).
public enum StrictXML {
    public struct Attribute: Sendable {
        /// As written (`p:a`, `xmlns:p`).
        public let qualified: String
        public let namespace: String
        public let local: String
        public let value: String
        /// A namespace declaration (`xmlns`, `xmlns:p`) rather than an attribute.
        public var isNamespaceDeclaration: Bool { namespace == "http://www.w3.org/2000/xmlns/" }
    }

    public enum Child: Sendable {
        /// An index into the document's elements.
        case element(Int)
        case text(String)
        case comment(String)
        case processingInstruction(target: String, data: String)
    }

    public struct Element: Sendable {
        /// As written (`soap:Envelope`).
        public let qualified: String
        public let namespace: String
        public let local: String
        public let attributes: [Attribute]
        public let children: [Child]
    }

    /// A malformed document; `message` is .NET's `XmlException` message.
    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    /// Parses a whole document (UTF-8, an optional byte-order mark); the root element is at index 0.
    public static func parse(_ bytes: [UInt8]) throws(ParseError) -> [Element] {
        var parser = XmlParser(bytes: bytes)
        parser.keepsCommentsAndInstructions = true
        do {
            _ = try parser.document()
        } catch let error as ExpressionRuntimeError {
            throw ParseError(message: error.message)
        } catch {
            throw ParseError(message: "\(error)")
        }
        return parser.tree.nodes.map { node in
            Element(
                qualified: node.qualified, namespace: node.name.namespace, local: node.name.local,
                attributes: node.attributes.map {
                    Attribute(qualified: $0.qualified, namespace: $0.name.namespace, local: $0.name.local, value: $0.value)
                },
                children: node.children.map {
                    switch $0 {
                    case .element(let index): .element(index)
                    case .text(let text): .text(text)
                    case .comment(let text): .comment(text)
                    case .processingInstruction(let target, let data): .processingInstruction(target: target, data: data)
                    }
                })
        }
    }
}
