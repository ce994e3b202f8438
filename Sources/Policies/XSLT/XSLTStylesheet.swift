/// A compiled stylesheet: immutable, shared by every request the policy runs for.
struct XSLTStylesheet: Sendable {
    let templates: [XSLTTemplate]
    /// Template rules by mode (the empty name: no mode), best first: higher priority, then later in the stylesheet.
    let rules: [XPathName: [XSLTRule]]
    let named: [XPathName: Int]
    /// Top-level `xsl:param` and `xsl:variable`, in document order.
    let globals: [XSLTVariable]
    let output: XSLTOutputSettings

    static let noMode = XPathName(namespace: "", local: "")
}

struct XSLTTemplate: Sendable {
    let parameters: [XSLTVariable]
    let body: [XSLTInstruction]
}

/// One alternative of a template's match pattern, with its priority.
struct XSLTRule: Sendable {
    let pattern: XSLTPathPattern
    let priority: Double
    let template: Int
}

/// `xsl:variable`, `xsl:param` and `xsl:with-param`.
struct XSLTVariable: Sendable {
    enum Value: Sendable {
        case expression(XPathExpression)
        case content([XSLTInstruction])
        /// No `select` and no content: the empty string.
        case empty
    }
    let name: XPathName
    let value: Value
    let isParameter: Bool
}

struct XSLTSort: Sendable {
    let select: XPathExpression
    let descending: Bool
    let numeric: Bool
}

/// An attribute value template: literal text and `{expression}` parts.
struct XSLTAttributeValue: Sendable {
    enum Part: Sendable {
        case text(String)
        case expression(XPathExpression)
    }
    let parts: [Part]
}

indirect enum XSLTInstruction: Sendable {
    case literalElement(prefix: String, namespace: String, local: String, namespaces: [XSLTNamespace],
                        attributes: [XSLTLiteralAttribute], content: [XSLTInstruction])
    case text(String, raw: Bool)
    case valueOf(XPathExpression, raw: Bool)
    case copyOf(XPathExpression)
    case copy([XSLTInstruction])
    /// `xsl:element` / `xsl:attribute`: the name (and namespace) computed at run time; prefixes
    /// in a computed name resolve against the stylesheet's declarations where it is written.
    case element(name: XSLTAttributeValue, namespace: XSLTAttributeValue?, scope: [String: String], content: [XSLTInstruction])
    case attribute(name: XSLTAttributeValue, namespace: XSLTAttributeValue?, scope: [String: String], content: [XSLTInstruction])
    case applyTemplates(select: XPathExpression?, mode: XPathName, sorts: [XSLTSort], parameters: [XSLTVariable])
    case callTemplate(XPathName, parameters: [XSLTVariable])
    case ifTrue(XPathExpression, [XSLTInstruction])
    case choose([XSLTWhen], otherwise: [XSLTInstruction])
    case forEach(XPathExpression, sorts: [XSLTSort], content: [XSLTInstruction])
    case variable(XSLTVariable)
    case comment([XSLTInstruction])
    case processingInstruction(name: XSLTAttributeValue, content: [XSLTInstruction])
    case message(terminate: Bool, content: [XSLTInstruction])
}

struct XSLTWhen: Sendable {
    let test: XPathExpression
    let content: [XSLTInstruction]
}

struct XSLTNamespace: Sendable {
    let prefix: String
    let uri: String
}

struct XSLTLiteralAttribute: Sendable {
    let prefix: String
    let namespace: String
    let local: String
    let value: XSLTAttributeValue
}
