import Foundation

/// An XPath 1.0 value, or a result tree fragment (an XSLT variable bound to content).
enum XPathValue {
    /// Source nodes, in document order, without duplicates.
    case nodes([Int])
    case string(String)
    case number(Double)
    case boolean(Bool)
    case fragment(XSLTResultTree)

    var boolean: Bool {
        switch self {
        case .nodes(let nodes): !nodes.isEmpty
        case .string(let text): !text.isEmpty
        case .number(let value): value != 0 && !value.isNaN
        case .boolean(let value): value
        case .fragment: true
        }
    }

    /// XPath's `string()` of a number: integers without a fraction, no exponent, NaN and Infinity.
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "Infinity" : "-Infinity" }
        if value == value.rounded(.towardZero), abs(value) < 1e15 { return String(Int64(value)) }
        let shortest = "\(value)"
        guard shortest.contains("e") else { return shortest }
        return "\(Decimal(value))"
    }

    /// XPath's `number()` of a string: optional whitespace, an optional minus, digits with an
    /// optional point; anything else is NaN.
    static func number(_ text: String) -> Double {
        let trimmed = text.trimmingCharacters(in: .init(charactersIn: " \t\r\n"))
        var body = Substring(trimmed)
        if body.hasPrefix("-") { body = body.dropFirst() }
        guard !body.isEmpty, body.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
            body.filter({ $0 == "." }).count <= 1, body != "."
        else { return .nan }
        return Double(trimmed) ?? .nan
    }
}
