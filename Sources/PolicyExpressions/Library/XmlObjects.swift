import Foundation

/// LINQ to XML, read-only (`System.Xml.Linq`): `XDocument.Parse`, `XElement.Parse`,
/// `IMessageBody.As<XDocument>()`/`As<XElement>()`, and on the tree `Root`, `Name` (`LocalName`,
/// `NamespaceName`), `Value`, `Element(s)`, `Descendants`, `Attribute(s)`, `Parent`, `HasElements`,
/// `IsEmpty`, `ToString()` (indented by two spaces, as .NET's default). Names given as strings are
/// `XName`s: `"{namespace}local"` or `"local"` (no namespace), compared exactly, as in .NET.
///
/// The parser is Drawbridge's own, strict and bounded: no DTDs (no entity expansion), the five
/// predefined entities and character references, CDATA, comments and processing instructions
/// skipped, namespaces resolved, depth at most 256; a malformed document is .NET's `XmlException`.
enum XmlObjects {
    static let name = HostType(name: "XName", members: [
        .property("LocalName", .string, of: XNameObject.self) { .string($0.local) },
        .property("NamespaceName", .string, of: XNameObject.self) { .string($0.namespace) },
        .method("ToString", [], returns: .string, of: XNameObject.self) { n, _ in .string(n.expanded) },
    ], toString: { ($0 as? XNameObject)?.expanded ?? "" })

    static let attribute = HostType(name: "XAttribute", members: [
        .property("Name", .host(name), of: XAttributeObject.self) { .object($0.name) },
        .property("Value", .string, of: XAttributeObject.self) { .string($0.value) },
        .method("ToString", [], returns: .string, of: XAttributeObject.self) { a, _ in .string(a.description) },
    ], toString: { ($0 as? XAttributeObject)?.description ?? "" })

    static let element: HostType = HostType(name: "XElement", members: elementMembers(), toString: { ($0 as? XElementObject)?.text(indent: 0) ?? "" })

    static let document = HostType(name: "XDocument", members: [
        .property("Root", .host(element), of: XDocumentObject.self) { .object($0.root) },
        .method("Descendants", [], returns: .enumerable(.host(element)), of: XDocumentObject.self) { d, _ in list([d.root] + d.root.descendants()) },
        .method("Descendants", [.string], returns: .enumerable(.host(element)), of: XDocumentObject.self) { d, a in
            let wanted = try XNameObject.parse(try str(a[0]))
            return list(([d.root] + d.root.descendants()).filter { $0.name.matches(wanted) })
        },
        .method("Elements", [], returns: .enumerable(.host(element)), of: XDocumentObject.self) { d, _ in list([d.root]) },
        .method("Elements", [.string], returns: .enumerable(.host(element)), of: XDocumentObject.self) { d, a in
            let wanted = try XNameObject.parse(try str(a[0]))
            return list([d.root].filter { $0.name.matches(wanted) })
        },
        .method("Element", [.string], returns: .host(element), of: XDocumentObject.self) { d, a in
            d.root.name.matches(try XNameObject.parse(try str(a[0]))) ? .object(d.root) : .null
        },
        .method("ToString", [], returns: .string, of: XDocumentObject.self) { d, _ in .string(d.root.text(indent: 0)) },
    ], toString: { ($0 as? XDocumentObject)?.root.text(indent: 0) ?? "" })

    static var all: [HostType] { [name, attribute, element, document] + XmlReaderObjects.all }

    static func list(_ elements: [XElementObject]) -> Value { .list(ListBox(elements.map { .object($0) })) }

    static func elementMembers() -> [HostMember] {
        [
            .property("Name", .host(name), of: XElementObject.self) { .object($0.name) },
            .property("Value", .string, of: XElementObject.self) { .string($0.value) },
            .property("HasElements", .bool, of: XElementObject.self) { .bool($0.hasElements) },
            .property("IsEmpty", .bool, of: XElementObject.self) { .bool($0.isEmpty) },
            .property("Parent", .host(element), of: XElementObject.self) { $0.parent.map { .object($0) } ?? .null },
            .method("Element", [.string], returns: .host(element), of: XElementObject.self) { e, a in
                let wanted = try XNameObject.parse(try str(a[0]))
                return e.elements.first { $0.name.matches(wanted) }.map { .object($0) } ?? .null
            },
            .method("Elements", [], returns: .enumerable(.host(element)), of: XElementObject.self) { e, _ in list(e.elements) },
            .method("Elements", [.string], returns: .enumerable(.host(element)), of: XElementObject.self) { e, a in
                let wanted = try XNameObject.parse(try str(a[0]))
                return list(e.elements.filter { $0.name.matches(wanted) })
            },
            .method("Descendants", [], returns: .enumerable(.host(element)), of: XElementObject.self) { e, _ in list(e.descendants()) },
            .method("Descendants", [.string], returns: .enumerable(.host(element)), of: XElementObject.self) { e, a in
                let wanted = try XNameObject.parse(try str(a[0]))
                return list(e.descendants().filter { $0.name.matches(wanted) })
            },
            .method("Attribute", [.string], returns: .host(attribute), of: XElementObject.self) { e, a in
                let wanted = try XNameObject.parse(try str(a[0]))
                return e.attributes.first { $0.name.matches(wanted) }.map { .object($0) } ?? .null
            },
            .method("Attributes", [], returns: .enumerable(.host(attribute)), of: XElementObject.self) { e, _ in
                .list(ListBox(e.attributes.map { .object($0) }))
            },
            .method("ToString", [], returns: .string, of: XElementObject.self) { e, _ in .string(e.text(indent: 0)) },
        ]
    }

    static func str(_ value: Value) throws -> String {
        guard case .string(let text) = value else { throw ExpressionRuntimeError.argumentNull("name") }
        return text
    }

    /// `XDocument.Parse` / `XElement.Parse`.
    static func parse(_ text: String) throws -> XElementObject {
        var parser = XmlParser(bytes: Array(text.utf8))
        return try parser.document()
    }
}

final class XNameObject: HostObject, @unchecked Sendable {
    let local: String
    let namespace: String
    var hostType: HostType { XmlObjects.name }

    init(local: String, namespace: String) {
        self.local = local
        self.namespace = namespace
    }

    var expanded: String { namespace.isEmpty ? local : "{\(namespace)}\(local)" }

    func matches(_ other: XNameObject) -> Bool { local == other.local && namespace == other.namespace }

    /// `XName` from a string: `{namespace}local` or `local`.
    static func parse(_ text: String) throws -> XNameObject {
        if text.hasPrefix("{") {
            guard let close = text.firstIndex(of: "}"), text.index(after: close) < text.endIndex else {
                throw ExpressionRuntimeError("XmlException", "The '{' character, hexadecimal value 0x7B, cannot be included in a name.")
            }
            return XNameObject(local: String(text[text.index(after: close)...]), namespace: String(text[text.index(after: text.startIndex)..<close]))
        }
        guard !text.isEmpty else { throw ExpressionRuntimeError.argument("The empty string '' is not a valid local name.") }
        return XNameObject(local: text, namespace: "")
    }
}

final class XAttributeObject: HostObject, @unchecked Sendable {
    let name: XNameObject
    /// The name as written (`p:a`), for `ToString()`.
    let qualified: String
    let value: String
    var hostType: HostType { XmlObjects.attribute }

    init(name: XNameObject, qualified: String, value: String) {
        self.name = name
        self.qualified = qualified
        self.value = value
    }

    var description: String { qualified + "=\"" + XElementObject.escape(value, attribute: true) + "\"" }
}

/// The nodes of one parsed document, by index: elements refer to their parent and children by index,
/// so handles (`XElementObject`) keep the whole tree alive without reference cycles.
final class XTree: @unchecked Sendable {
    enum Child {
        case element(Int)
        case text(String)
        /// Kept only when the parser is asked to (`StrictXML`); LINQ to XML here never sees these.
        case comment(String)
        case processingInstruction(target: String, data: String)
    }

    struct Node {
        let name: XNameObject
        let qualified: String
        var attributes: [XAttributeObject] = []
        var children: [Child] = []
        let parent: Int?
    }

    /// Written by the parser only, before the tree is shared.
    var nodes: [Node] = []
}

/// An element of a parsed tree (a handle: the tree and the element's index).
final class XElementObject: HostObject, @unchecked Sendable {
    let tree: XTree
    let index: Int
    var hostType: HostType { XmlObjects.element }

    init(tree: XTree, index: Int) {
        self.tree = tree
        self.index = index
    }

    var node: XTree.Node { tree.nodes[index] }
    var name: XNameObject { node.name }
    var qualified: String { node.qualified }
    var attributes: [XAttributeObject] { node.attributes }
    var parent: XElementObject? { node.parent.map { XElementObject(tree: tree, index: $0) } }
    var isEmpty: Bool { node.children.isEmpty }
    var hasElements: Bool { node.children.contains { if case .element = $0 { true } else { false } } }

    var elements: [XElementObject] { node.children.compactMap { if case .element(let i) = $0 { XElementObject(tree: tree, index: i) } else { nil } } }

    /// Document order, without the element itself (iterative: depth is bounded by the parser anyway).
    func descendants() -> [XElementObject] {
        var out: [XElementObject] = []
        var stack: [XElementObject] = elements.reversed()
        while let next = stack.popLast() {
            out.append(next)
            stack.append(contentsOf: next.elements.reversed())
        }
        return out
    }

    /// `Value`: the text of the element and all its descendants, concatenated.
    var value: String {
        var out = ""
        for child in node.children {
            switch child {
            case .text(let text): out += text
            case .element(let i): out += XElementObject(tree: tree, index: i).value
            case .comment, .processingInstruction: break
            }
        }
        return out
    }

    static func escape(_ text: String, attribute: Bool) -> String {
        var out = ""
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"" where attribute: out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }

    /// .NET's default `ToString()`: two-space indentation, except inside mixed content.
    func text(indent: Int) -> String {
        var head = "<" + qualified
        for attribute in attributes { head += " " + attribute.description }
        let children = node.children
        if children.isEmpty { return head + " />" }
        head += ">"
        let mixed = children.contains { if case .text = $0 { true } else { false } }
        if mixed {
            var body = ""
            for child in children {
                switch child {
                case .text(let text): body += Self.escape(text, attribute: false)
                case .element(let i): body += XElementObject(tree: tree, index: i).text(indent: -1)
                case .comment, .processingInstruction: break
                }
            }
            return head + body + "</" + qualified + ">"
        }
        guard indent >= 0 else {
            return head + elements.map { $0.text(indent: -1) }.joined() + "</" + qualified + ">"
        }
        let pad = String(repeating: "  ", count: indent + 1)
        var body = ""
        for element in elements { body += "\n" + pad + element.text(indent: indent + 1) }
        return head + body + "\n" + String(repeating: "  ", count: indent) + "</" + qualified + ">"
    }
}

final class XDocumentObject: HostObject, @unchecked Sendable {
    let root: XElementObject
    var hostType: HostType { XmlObjects.document }
    init(root: XElementObject) { self.root = root }
}

/// A strict XML 1.0 reader for expression values (no DTD, bounded depth); also read by
/// `StrictXML` for other modules (the `xsl-transform` policy's input).
struct XmlParser {
    let bytes: [UInt8]
    var index = 0
    let tree = XTree()
    static let maximumDepth = 256
    /// Keep comments and processing instructions inside the root element as children (`StrictXML`).
    var keepsCommentsAndInstructions = false

    init(bytes: [UInt8]) { self.bytes = bytes }

    func failure(_ message: String) -> ExpressionRuntimeError { ExpressionRuntimeError("XmlException", message) }

    func starts(with text: String) -> Bool {
        let t = Array(text.utf8)
        return index + t.count <= bytes.count && Array(bytes[index..<(index + t.count)]) == t
    }

    mutating func skipSpace() { while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 } }

    /// Skips comments and processing instructions (and whitespace) outside the root.
    mutating func skipMisc() throws {
        while true {
            skipSpace()
            if starts(with: "<?") {
                guard let end = find("?>") else { throw failure("Unexpected end of file while parsing a processing instruction.") }
                index = end + 2
            } else if starts(with: "<!--") {
                guard let end = find("-->") else { throw failure("Unexpected end of file while parsing Comment.") }
                index = end + 3
            } else if starts(with: "<!DOCTYPE") || starts(with: "<!doctype") {
                throw failure("DTD is prohibited in this XML document.")
            } else {
                return
            }
        }
    }

    func find(_ text: String) -> Int? {
        let t = Array(text.utf8)
        var at = index
        while at + t.count <= bytes.count {
            if bytes[at] == t[0], Array(bytes[at..<(at + t.count)]) == t { return at }
            at += 1
        }
        return nil
    }

    mutating func document() throws -> XElementObject {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
        try skipMisc()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "<") else { throw failure("Data at the root level is invalid. Line 1, position 1.") }
        let root = try element(depth: 0, parent: nil, parentScope: ["xml": "http://www.w3.org/XML/1998/namespace"])
        try skipMisc()
        guard index >= bytes.count else { throw failure("There are multiple root elements.") }
        return XElementObject(tree: tree, index: root)
    }

    mutating func name() throws -> String {
        let start = index
        while index < bytes.count {
            let b = bytes[index]
            if [0x20, 0x09, 0x0A, 0x0D, UInt8(ascii: "="), UInt8(ascii: ">"), UInt8(ascii: "/"), UInt8(ascii: "<"), UInt8(ascii: "\""), UInt8(ascii: "'")].contains(b) { break }
            index += 1
        }
        guard index > start else { throw failure("Name cannot begin with the '\(index < bytes.count ? String(UnicodeScalar(bytes[index])) : "EOF")' character.") }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    mutating func decode(_ raw: ArraySlice<UInt8>) throws -> String {
        guard raw.contains(UInt8(ascii: "&")) else { return String(decoding: raw, as: UTF8.self) }
        var out = ""
        var text = Array(raw)[...]
        while let amp = text.firstIndex(of: UInt8(ascii: "&")) {
            out += String(decoding: text[..<amp], as: UTF8.self)
            guard let semi = text[amp...].firstIndex(of: UInt8(ascii: ";")), semi - amp <= 12 else { throw failure("An error occurred while parsing EntityName.") }
            let entity = String(decoding: text[(amp + 1)..<semi], as: UTF8.self)
            switch entity {
            case "lt": out += "<"
            case "gt": out += ">"
            case "amp": out += "&"
            case "quot": out += "\""
            case "apos": out += "'"
            default:
                var number: UInt32?
                if entity.hasPrefix("#x") { number = UInt32(entity.dropFirst(2), radix: 16) } else if entity.hasPrefix("#") { number = UInt32(entity.dropFirst(), radix: 10) }
                guard let number, let scalar = Unicode.Scalar(number) else { throw failure("Reference to undeclared entity '\(entity)'.") }
                out.unicodeScalars.append(scalar)
            }
            text = text[(semi + 1)...]
        }
        return out + String(decoding: text, as: UTF8.self)
    }

    static func split(_ qualified: String) -> (prefix: String, local: String) {
        guard let colon = qualified.firstIndex(of: ":") else { return ("", qualified) }
        return (String(qualified[..<colon]), String(qualified[qualified.index(after: colon)...]))
    }

    /// Reads an element into the tree; returns its index.
    mutating func element(depth: Int, parent: Int?, parentScope: [String: String]) throws -> Int {
        guard depth < Self.maximumDepth else { throw failure("The XML document is nested deeper than \(Self.maximumDepth) elements.") }
        index += 1  // '<'
        let qualified = try name()
        var rawAttributes: [(String, String)] = []
        var selfClosing = false
        while true {
            skipSpace()
            guard index < bytes.count else { throw failure("Unexpected end of file has occurred.") }
            if bytes[index] == UInt8(ascii: ">") { index += 1; break }
            if starts(with: "/>") { index += 2; selfClosing = true; break }
            let attributeName = try name()
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "=") else { throw failure("'=' is expected after the attribute '\(attributeName)'.") }
            index += 1
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") || bytes[index] == UInt8(ascii: "'") else {
                throw failure("'\"' or ''' is expected for the value of '\(attributeName)'.")
            }
            let quote = bytes[index]
            index += 1
            let start = index
            while index < bytes.count, bytes[index] != quote {
                guard bytes[index] != UInt8(ascii: "<") else { throw failure("'<', hexadecimal value 0x3C, is an invalid attribute character.") }
                index += 1
            }
            guard index < bytes.count else { throw failure("Unexpected end of file has occurred.") }
            let value = try decode(bytes[start..<index])
            index += 1
            guard !rawAttributes.contains(where: { $0.0 == attributeName }) else { throw failure("'\(attributeName)' is a duplicate attribute name.") }
            rawAttributes.append((attributeName, value))
        }
        var scope = parentScope
        for (attributeName, value) in rawAttributes {
            if attributeName == "xmlns" { scope[""] = value } else if attributeName.hasPrefix("xmlns:") { scope[String(attributeName.dropFirst(6))] = value }
        }
        let (prefix, local) = Self.split(qualified)
        guard let namespace = scope[prefix] ?? (prefix.isEmpty ? "" : nil) else { throw failure("'\(prefix)' is an undeclared prefix.") }
        let element = tree.nodes.count
        tree.nodes.append(XTree.Node(name: XNameObject(local: local, namespace: namespace), qualified: qualified, parent: parent))
        for (attributeName, value) in rawAttributes {
            let (attributePrefix, attributeLocal) = Self.split(attributeName)
            let attributeNamespace: String
            if attributeName == "xmlns" || attributePrefix == "xmlns" {
                attributeNamespace = "http://www.w3.org/2000/xmlns/"
            } else if attributePrefix.isEmpty {
                attributeNamespace = ""
            } else {
                guard let found = scope[attributePrefix] else { throw failure("'\(attributePrefix)' is an undeclared prefix.") }
                attributeNamespace = found
            }
            tree.nodes[element].attributes.append(XAttributeObject(
                name: XNameObject(local: attributeName == "xmlns" ? "xmlns" : attributeLocal, namespace: attributeNamespace),
                qualified: attributeName, value: value))
        }
        if selfClosing { return element }
        var text = ""
        let tree = self.tree
        func flush() {
            if !text.isEmpty { tree.nodes[element].children.append(.text(text)) }
            text = ""
        }
        while true {
            guard index < bytes.count else { throw failure("Unexpected end of file has occurred. The following elements are not closed: \(qualified).") }
            if starts(with: "</") {
                index += 2
                let closing = try name()
                skipSpace()
                guard closing == qualified, index < bytes.count, bytes[index] == UInt8(ascii: ">") else {
                    throw failure("The '\(qualified)' start tag does not match the end tag of '\(closing)'.")
                }
                index += 1
                flush()
                // Whitespace-only text between child elements is not kept (LoadOptions.None).
                if tree.nodes[element].children.contains(where: { if case .element = $0 { true } else { false } }) {
                    tree.nodes[element].children.removeAll { if case .text(let t) = $0 { t.allSatisfy(\.isWhitespace) } else { false } }
                }
                return element
            } else if starts(with: "<!--") {
                guard let end = find("-->") else { throw failure("Unexpected end of file while parsing Comment.") }
                if keepsCommentsAndInstructions {
                    flush()
                    tree.nodes[element].children.append(.comment(String(decoding: bytes[(index + 4)..<end], as: UTF8.self)))
                }
                index = end + 3
            } else if starts(with: "<![CDATA[") {
                guard let end = find("]]>") else { throw failure("Unexpected end of file while parsing CDATA.") }
                text += String(decoding: bytes[(index + 9)..<end], as: UTF8.self)
                index = end + 3
            } else if starts(with: "<?") {
                guard let end = find("?>") else { throw failure("Unexpected end of file while parsing a processing instruction.") }
                if keepsCommentsAndInstructions {
                    flush()
                    let content = bytes[(index + 2)..<end]
                    let split = content.firstIndex { [0x20, 0x09, 0x0A, 0x0D].contains($0) } ?? content.endIndex
                    let target = String(decoding: content[..<split], as: UTF8.self)
                    guard !target.isEmpty, target.lowercased() != "xml" else { throw failure("Unexpected XML declaration.") }
                    let data = String(decoding: content[split...].drop { [0x20, 0x09, 0x0A, 0x0D].contains($0) }, as: UTF8.self)
                    tree.nodes[element].children.append(.processingInstruction(target: target, data: data))
                }
                index = end + 2
            } else if bytes[index] == UInt8(ascii: "<") {
                flush()
                let child = try self.element(depth: depth + 1, parent: element, parentScope: scope)
                tree.nodes[element].children.append(.element(child))
            } else {
                let start = index
                while index < bytes.count, bytes[index] != UInt8(ascii: "<") { index += 1 }
                text += try decode(bytes[start..<index])
            }
        }
    }
}

// MARK: XmlReader

/// `new StringReader(text)`: only as the input of `XmlReader.Create`.
final class StringReaderObject: HostObject, @unchecked Sendable {
    let text: String
    var hostType: HostType { XmlReaderObjects.stringReader }
    init(_ text: String) { self.text = text }
}

/// `XmlReader.Create(new StringReader(xml))`, forward-only over the parsed document: `Read()`,
/// `MoveToContent()`, `EOF`, `Name`, `LocalName`, `NodeType` as text, `Value`, `IsStartElement()`,
/// `ReadElementContentAsString()`, and `XNode.ReadFrom(reader)` (the element at the reader, which
/// then moves past it). The document is parsed (strictly, as `XDocument.Parse`) on `Create`.
final class XmlReaderObject: HostObject, @unchecked Sendable {
    enum Node {
        case start(Int)
        case text(String)
        case end(Int)
    }

    let tree: XTree
    let nodes: [Node]
    /// -1 before the first `Read()`; `nodes.count` at the end.
    var position = -1
    var hostType: HostType { XmlReaderObjects.reader }

    init(root: XElementObject) {
        tree = root.tree
        // Document order: start, children, end (an empty element has no end node, as `<a/>`).
        enum Pending {
            case open(Int)
            case close(Int)
            case text(String)
        }
        var nodes: [Node] = []
        var stack: [Pending] = [.open(root.index)]
        while let next = stack.popLast() {
            switch next {
            case .close(let index): nodes.append(.end(index))
            case .text(let text): nodes.append(.text(text))
            case .open(let index):
                nodes.append(.start(index))
                let children = root.tree.nodes[index].children
                guard !children.isEmpty else { continue }
                stack.append(.close(index))
                for child in children.reversed() {
                    switch child {
                    case .element(let i): stack.append(.open(i))
                    case .text(let text): stack.append(.text(text))
                    case .comment, .processingInstruction: break
                    }
                }
            }
        }
        self.nodes = nodes
    }

    var eof: Bool { position >= nodes.count }
    var current: Node? { position >= 0 && position < nodes.count ? nodes[position] : nil }

    var name: String {
        switch current {
        case .start(let i)?, .end(let i)?: tree.nodes[i].qualified
        default: ""
        }
    }

    func read() -> Bool {
        if position < nodes.count { position += 1 }
        return position < nodes.count
    }
}

enum XmlReaderObjects {
    static let stringReader = HostType(name: "StringReader", members: [
        .method("Dispose", [], returns: .void, of: StringReaderObject.self) { _, _ in .null },
    ])

    static let reader = HostType(name: "XmlReader", members: [
        .method("Read", [], returns: .bool, of: XmlReaderObject.self) { r, _ in .bool(r.read()) },
        .method("MoveToContent", [], returns: .string, of: XmlReaderObject.self) { r, _ in
            // Content: an element or text; the reader starts before the root, which is content.
            if r.position < 0 { r.position = 0 }
            return .string(r.nodeType)
        },
        .property("EOF", .bool, of: XmlReaderObject.self) { .bool($0.eof) },
        .property("Name", .string, of: XmlReaderObject.self) { .string($0.name) },
        .property("LocalName", .string, of: XmlReaderObject.self) { r in
            switch r.current {
            case .start(let i)?, .end(let i)?: .string(r.tree.nodes[i].name.local)
            default: .string("")
            }
        },
        .property("NodeType", .string, of: XmlReaderObject.self) { .string($0.nodeType) },
        .property("Value", .string, of: XmlReaderObject.self) { r in
            if case .text(let text)? = r.current { return .string(text) }
            return .string("")
        },
        .method("IsStartElement", [], returns: .bool, of: XmlReaderObject.self) { r, _ in
            if r.position < 0 { r.position = 0 }
            if case .start? = r.current { return .bool(true) }
            return .bool(false)
        },
        .method("Dispose", [], returns: .void, of: XmlReaderObject.self) { _, _ in .null },
    ])

    static var all: [HostType] { [stringReader, reader] }

    /// `XNode.ReadFrom(reader)`: the element the reader is on; the reader moves past it.
    static func readFrom(_ reader: XmlReaderObject) throws -> Value {
        guard case .start(let index)? = reader.current else {
            throw ExpressionRuntimeError.invalidOperation("The XmlReader should be on a node of type Element.")
        }
        let element = XElementObject(tree: reader.tree, index: index)
        // Past the element's end node (or past it alone, when empty).
        if reader.tree.nodes[index].children.isEmpty {
            reader.position += 1
        } else {
            var at = reader.position + 1
            while at < reader.nodes.count {
                if case .end(let i) = reader.nodes[at], i == index { break }
                at += 1
            }
            reader.position = at + 1
        }
        return .object(element)
    }
}

extension XmlReaderObject {
    /// `NodeType` as its name (`Element`, `Text`, `EndElement`, `None`).
    var nodeType: String {
        switch current {
        case .start?: "Element"
        case .text?: "Text"
        case .end?: "EndElement"
        case nil: "None"
        }
    }
}
