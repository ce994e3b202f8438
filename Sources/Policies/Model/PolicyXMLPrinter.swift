/// Writes policy elements back as XML that this reader (and APIM) reads again: literal text is
/// escaped, expressions are written as users write them, `@(…)` with raw quotes.
struct PolicyXMLPrinter {
    private(set) var output = ""
    let indentUnit = "    "

    mutating func line(_ text: String) {
        output += text
        output += "\n"
    }

    static func escape(_ text: String, inAttribute: Bool) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"" where inAttribute: escaped += "&quot;"
            case "\n" where inAttribute: escaped += "&#10;"
            case "\t" where inAttribute: escaped += "&#9;"
            case "\r": escaped += "&#13;"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    static func attributeValue(_ value: PolicyValue) -> String {
        switch value {
        case .literal(let text): escape(text, inAttribute: true)
        case .expression(let expression): expression.description
        }
    }

    mutating func print(_ element: PolicyXMLElement, depth: Int) {
        let indent = String(repeating: indentUnit, count: depth)
        var head = "<\(element.name)"
        for attribute in element.attributes {
            head += " \(attribute.name)=\"\(Self.attributeValue(attribute.value))\""
        }
        if element.children.isEmpty {
            line(indent + head + " />")
            return
        }
        let elements = element.childElements
        if elements.isEmpty {
            // Text only: keep it on one line so the text is reproduced exactly.
            line(indent + head + ">" + element.children.map(Self.text).joined() + "</\(element.name)>")
            return
        }
        line(indent + head + ">")
        for child in element.children {
            switch child {
            case .element(let childElement): print(childElement, depth: depth + 1)
            case .text: line(indent + indentUnit + Self.text(child))
            }
        }
        line(indent + "</\(element.name)>")
    }

    /// Nodes as compact XML on one line (the markup inside a `<set-body>`).
    static func inline(_ nodes: [PolicyXMLNode]) -> String {
        nodes.map { node in
            guard case .element(let element) = node else { return text(node) }
            let head = "<\(element.name)" + element.attributes.map { " \($0.name)=\"\(attributeValue($0.value))\"" }.joined()
            return element.children.isEmpty ? head + " />" : head + ">" + inline(element.children) + "</\(element.name)>"
        }.joined()
    }

    private static func text(_ node: PolicyXMLNode) -> String {
        guard case .text(let text) = node else { return "" }
        switch text.value {
        case .expression(let expression):
            return expression.description
        case .literal(let literal):
            if text.isCDATA, !literal.contains("]]>") { return "<![CDATA[\(literal)]]>" }
            return escape(literal, inAttribute: false)
        }
    }
}
