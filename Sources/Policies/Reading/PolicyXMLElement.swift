/// An attribute as read: name, value, and where each starts.
public struct PolicyXMLAttribute: Sendable, Hashable {
    public let name: String
    public let value: PolicyValue
    public let position: SourcePosition
    /// Where the value's text starts (just after the opening quote).
    public let valuePosition: SourcePosition
    /// The secret named value substituted into this value, if any: messages must not quote it.
    public let secretNamedValue: String?

    public init(name: String, value: PolicyValue, position: SourcePosition, valuePosition: SourcePosition, secretNamedValue: String? = nil) {
        self.name = name
        self.value = value
        self.position = position
        self.valuePosition = valuePosition
        self.secretNamedValue = secretNamedValue
    }
}

/// A run of character data (text or CDATA) inside an element.
public struct PolicyXMLText: Sendable, Hashable {
    public let value: PolicyValue
    public let position: SourcePosition
    public let isCDATA: Bool
    /// The secret named value substituted into this text, if any: messages must not quote it.
    public let secretNamedValue: String?

    public init(value: PolicyValue, position: SourcePosition, isCDATA: Bool = false, secretNamedValue: String? = nil) {
        self.value = value
        self.position = position
        self.isCDATA = isCDATA
        self.secretNamedValue = secretNamedValue
    }
}

public enum PolicyXMLNode: Sendable, Hashable {
    case element(PolicyXMLElement)
    case text(PolicyXMLText)
}

/// An element of a policy document exactly as written (before any policy-specific validation).
public struct PolicyXMLElement: Sendable, Hashable {
    public let name: String
    public let attributes: [PolicyXMLAttribute]
    public let children: [PolicyXMLNode]
    /// The position of the `<` that opens the element.
    public let position: SourcePosition

    public init(name: String, attributes: [PolicyXMLAttribute] = [], children: [PolicyXMLNode] = [], position: SourcePosition) {
        self.name = name
        self.attributes = attributes
        self.children = children
        self.position = position
    }

    public func attribute(_ name: String) -> PolicyXMLAttribute? {
        attributes.first { $0.name == name }
    }

    public var childElements: [PolicyXMLElement] {
        children.compactMap { if case .element(let element) = $0 { element } else { nil } }
    }

    /// Text and CDATA children that are not only whitespace.
    public var textNodes: [PolicyXMLText] {
        children.compactMap { node -> PolicyXMLText? in
            guard case .text(let text) = node else { return nil }
            if case .literal(let literal) = text.value, literal.allSatisfy(\.isWhitespace) { return nil }
            return text
        }
    }

    /// The element's text content as one value: the expression when the content is exactly one
    /// expression, otherwise the concatenated text (nil when there is none).
    public var textValue: PolicyValue? {
        let nodes = textNodes
        if nodes.count == 1 { return nodes[0].value }
        if nodes.isEmpty { return nil }
        return .literal(nodes.map(\.value.description).joined())
    }

    /// The secret named value in the element's text, if any.
    public var textSecretNamedValue: String? { textNodes.lazy.compactMap(\.secretNamedValue).first }

    /// A copy with other children (used when fragments are inlined).
    func replacingChildren(_ children: [PolicyXMLNode]) -> PolicyXMLElement {
        PolicyXMLElement(name: name, attributes: attributes, children: children, position: position)
    }
}
