/// `xsl:output` as compiled, and writing a result tree as bytes the way .NET's XmlWriter does for
/// `XslCompiledTransform`: an XML declaration (`encoding="utf-8"`) unless omitted, empty elements
/// as `<a />`, two-space indentation (new lines as `\n`) that stops inside mixed content, and
/// namespace declarations added where a name needs one.
struct XSLTOutputSettings: Sendable {
    enum Method: String, Sendable { case xml, html, text }
    /// Nil: `html` when the result's first element is `<html>` in no namespace, otherwise `xml`.
    var method: Method?
    var indent: Bool?
    var omitXMLDeclaration = false
    var standalone: String?
    var mediaType: String?
}

struct XSLTSerializer {
    let tree: XSLTResultTree
    let settings: XSLTOutputSettings
    let limit: Int
    var out: [UInt8] = []

    static let voidHTMLElements: Set<String> = ["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"]

    var method: XSLTOutputSettings.Method {
        if let method = settings.method { return method }
        let first = tree.nodes[0].children.first { tree.nodes[$0].kind == .element || (tree.nodes[$0].kind == .text && !tree.nodes[$0].value.allSatisfy(\.isWhitespace)) }
        if let first, tree.nodes[first].kind == .element, tree.nodes[first].namespace.isEmpty, tree.nodes[first].local.lowercased() == "html" { return .html }
        return .xml
    }

    static func serialize(_ tree: XSLTResultTree, _ settings: XSLTOutputSettings, limit: Int) throws -> (bytes: [UInt8], method: XSLTOutputSettings.Method) {
        var serializer = XSLTSerializer(tree: tree, settings: settings, limit: limit)
        let method = serializer.method
        switch method {
        case .text: serializer.write(tree.text)
        case .xml, .html: try serializer.document(method)
        }
        guard serializer.out.count <= limit else { throw XSLTError("The result is larger than \(limit) bytes.") }
        return (serializer.out, method)
    }

    mutating func write(_ text: String) { out.append(contentsOf: text.utf8) }

    mutating func escape(_ text: String, attribute: Bool, html: Bool) {
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": write("&amp;")
            case "<" where !(attribute && html): write("&lt;")
            case ">" where !attribute: write("&gt;")
            case "\"" where attribute: write("&quot;")
            case "\n" where attribute && !html: write("&#xA;")
            case "\r": write(attribute ? "&#xD;" : "\r")
            case "\t" where attribute && !html: write("&#x9;")
            default:
                if scalar.value < 0x20, scalar != "\n", scalar != "\t" {
                    write("&#x" + String(scalar.value, radix: 16, uppercase: true) + ";")
                } else {
                    out.append(contentsOf: String(scalar).utf8)
                }
            }
        }
    }

    mutating func document(_ method: XSLTOutputSettings.Method) throws {
        let indent = settings.indent ?? (method == .html)
        if method == .xml, !settings.omitXMLDeclaration {
            write("<?xml version=\"1.0\" encoding=\"utf-8\"")
            if let standalone = settings.standalone { write(" standalone=\"\(standalone)\"") }
            write("?>")
        }
        var scopes: [[String: String]] = [["xml": "http://www.w3.org/XML/1998/namespace", "": ""]]
        // Iterative: (node, depth, closing).
        enum Work { case open(Int, depth: Int), close(Int, depth: Int, indentEnd: Bool) }
        var stack: [Work] = tree.nodes[0].children.reversed().map { .open($0, depth: 0) }
        /// Whether each open element (by depth) holds text: no more indentation inside it.
        var mixed: [Bool] = [tree.nodes[0].children.contains { tree.nodes[$0].kind == .text }]
        let xmlIndent = indent && method == .xml
        /// Lower-cased names of the open elements (html writes script and style text as it is).
        var openNames: [String] = []
        while let work = stack.popLast() {
            guard out.count <= limit else { throw XSLTError("The result is larger than \(limit) bytes.") }
            switch work {
            case .close(let index, let depth, let indentEnd):
                let node = tree.nodes[index]
                scopes.removeLast()
                mixed.removeLast()
                openNames.removeLast()
                if indentEnd { newline(depth) }
                write("</" + qualified(node.prefix, node.local) + ">")
            case .open(let index, let depth):
                let node = tree.nodes[index]
                let parentMixed = mixed.last ?? false
                switch node.kind {
                case .root: break
                case .text:
                    if node.raw || (method == .html && ["script", "style"].contains(openNames.last ?? "")) { write(node.value) } else { escape(node.value, attribute: false, html: method == .html) }
                case .comment:
                    if xmlIndent && !parentMixed && (depth > 0 || !out.isEmpty) { newline(depth) }
                    write("<!--" + node.value + "-->")
                case .processingInstruction:
                    if xmlIndent && !parentMixed && (depth > 0 || !out.isEmpty) { newline(depth) }
                    write("<?" + node.local + (node.value.isEmpty ? "" : " " + node.value) + (method == .html ? ">" : "?>"))
                case .element:
                    if xmlIndent && !parentMixed && (depth > 0 || !out.isEmpty) { newline(depth) }
                    var scope = scopes.last ?? [:]
                    var declarations: [(String, String)] = []
                    var prefix = node.prefix
                    if method == .xml {
                        // The element's own name first, then its namespace nodes that do not clash.
                        if scope[prefix] != node.namespace {
                            if !prefix.isEmpty, node.namespace.isEmpty { prefix = "" }
                            if scope[prefix] != node.namespace {
                                scope[prefix] = node.namespace
                                declarations.append((prefix, node.namespace))
                            }
                        }
                        for (p, uri) in node.namespaces where p != prefix && scope[p] != uri && p != "xml" {
                            scope[p] = uri
                            declarations.append((p, uri))
                        }
                    }
                    let name = qualified(prefix, node.local)
                    write("<" + name)
                    var attributeText: [(String, String)] = []
                    var generated = 0
                    for attribute in node.attributes {
                        var p = attribute.prefix
                        if attribute.namespace.isEmpty {
                            p = ""
                        } else if attribute.namespace == "http://www.w3.org/XML/1998/namespace" {
                            p = "xml"
                        } else if method == .xml, p.isEmpty || scope[p] != attribute.namespace {
                            if let existing = scope.first(where: { !$0.key.isEmpty && $0.value == attribute.namespace })?.key {
                                p = existing
                            } else {
                                if p.isEmpty || scope[p] != nil {
                                    repeat { p = "d\(generated)p"; generated += 1 } while scope[p] != nil
                                }
                                scope[p] = attribute.namespace
                                declarations.append((p, attribute.namespace))
                            }
                        }
                        attributeText.append((qualified(p, attribute.local), attribute.value))
                    }
                    for (p, uri) in declarations {
                        write(p.isEmpty ? " xmlns=\"" : " xmlns:\(p)=\"")
                        escape(uri, attribute: true, html: false)
                        write("\"")
                    }
                    for (attributeName, value) in attributeText {
                        write(" " + attributeName + "=\"")
                        escape(value, attribute: true, html: method == .html)
                        write("\"")
                    }
                    if node.children.isEmpty {
                        if method == .html {
                            write(">")
                            if !(node.namespace.isEmpty && Self.voidHTMLElements.contains(node.local.lowercased())) { write("</" + name + ">") }
                        } else {
                            write(" />")
                        }
                        continue
                    }
                    write(">")
                    let holdsText = node.children.contains { tree.nodes[$0].kind == .text }
                    scopes.append(scope)
                    mixed.append(parentMixed || holdsText)
                    openNames.append(node.local.lowercased())
                    stack.append(.close(index, depth: depth, indentEnd: xmlIndent && !(parentMixed || holdsText)))
                    stack.append(contentsOf: node.children.reversed().map { .open($0, depth: depth + 1) })
                }
            }
        }
    }

    mutating func newline(_ depth: Int) {
        write("\n" + String(repeating: "  ", count: max(0, min(depth, 1000))))
    }

    func qualified(_ prefix: String, _ local: String) -> String { prefix.isEmpty ? local : prefix + ":" + local }
}
