import Foundation

/// How an attribute's literal value is checked at load time.
public enum PolicyAttributeType: Sendable {
    /// Any text, possibly empty.
    case text
    /// Text that must not be empty.
    case nonEmptyText
    case integer(ClosedRange<Int>)
    case boolean
    /// One of a fixed set of words, compared case-sensitively (fail closed on near-misses).
    case choice([String])
    /// An absolute `http` or `https` URL.
    case absoluteURL

    var resultType: PolicyExpressionResultType {
        switch self {
        case .integer: .integer
        case .boolean: .boolean
        default: .string
        }
    }

    /// Nil when `literal` is acceptable, otherwise what was expected.
    func problem(with literal: String) -> String? {
        switch self {
        case .text:
            return nil
        case .nonEmptyText:
            return literal.isEmpty ? "a non-empty value" : nil
        case .integer(let range):
            guard let value = Int(literal.trimmingCharacters(in: .whitespaces)) else {
                return "an integer" + Self.describe(range)
            }
            return range.contains(value) ? nil : "an integer" + Self.describe(range)
        case .boolean:
            return Self.boolean(literal) == nil ? "'true' or 'false'" : nil
        case .choice(let words):
            return words.contains(literal) ? nil : "one of " + words.map { "'\($0)'" }.joined(separator: ", ")
        case .absoluteURL:
            return Self.absoluteURL(literal) == nil ? "an absolute http or https URL" : nil
        }
    }

    private static func describe(_ range: ClosedRange<Int>) -> String {
        if range.lowerBound == Int.min && range.upperBound == Int.max { return "" }
        if range.upperBound == Int.max { return " of at least \(range.lowerBound)" }
        return " from \(range.lowerBound) to \(range.upperBound)"
    }

    /// .NET `bool.Parse` accepts any letter case.
    static func boolean(_ literal: String) -> Bool? {
        switch literal.trimmingCharacters(in: .whitespaces).lowercased() {
        case "true": true
        case "false": false
        default: nil
        }
    }

    static func absoluteURL(_ literal: String) -> URL? {
        guard let url = URL(string: literal), let scheme = url.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = url.host, !host.isEmpty
        else { return nil }
        return url
    }
}

/// One attribute a policy element accepts.
public struct PolicyAttributeSpec: Sendable {
    public let name: String
    public let type: PolicyAttributeType
    public let isRequired: Bool
    /// The value used when the attribute is absent (as literal text, checked like a written one).
    public let defaultValue: String?
    public let allowsExpressions: Bool
    /// What an expression in this attribute must produce (by default, what `type` implies).
    public let expressionType: PolicyExpressionResultType

    public init(
        _ name: String, _ type: PolicyAttributeType = .text, required: Bool = false, default defaultValue: String? = nil,
        expressions: Bool = true, expressionType: PolicyExpressionResultType? = nil
    ) {
        self.name = name
        self.type = type
        self.isRequired = required
        self.defaultValue = defaultValue
        self.allowsExpressions = expressions
        self.expressionType = expressionType ?? type.resultType
    }
}

/// What may appear inside an element.
public enum PolicyChildren: Sendable {
    case none
    /// Specific configuration elements (like `<value>` or `<when>`), validated by the policy itself.
    case elements([String])
    /// Nested policy statements (the body of `<when>`, `<retry>`, …).
    case policies
    /// Markup that is part of the element's text (XML in a `<set-body>` template).
    case markup
}

/// The declaration of a policy element (or a configuration element inside one).
public struct PolicySchema: Sendable {
    public let elementName: String
    public let sections: Set<PolicySection>
    public let attributes: [PolicyAttributeSpec]
    public let children: PolicyChildren
    public let allowsText: Bool
    /// The type an expression as the element's text must produce.
    public let textType: PolicyExpressionResultType

    public init(
        _ elementName: String, sections: Set<PolicySection> = PolicySection.all, attributes: [PolicyAttributeSpec] = [],
        children: PolicyChildren = .none, allowsText: Bool = false, textType: PolicyExpressionResultType = .string
    ) {
        self.elementName = elementName
        self.sections = sections
        self.attributes = attributes
        self.children = children
        self.allowsText = allowsText
        self.textType = textType
    }

    public func attribute(_ name: String) -> PolicyAttributeSpec? {
        attributes.first { $0.name == name }
    }
}
