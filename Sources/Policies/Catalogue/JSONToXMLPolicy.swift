import Foundation
import PolicyExpressions

/// `<json-to-xml apply="always|content-type-json" consider-accept-header="true" parse-date="true"
/// namespace-separator="…" namespace-prefix="…" attribute-block-name="…"/>`: the section's body
/// (the request's in inbound, the response's in outbound/on-error), when it is JSON, becomes XML
/// with `Content-Type: application/xml`, the way Json.NET's `DeserializeXmlNode(json, "Document")`
/// writes it:
/// - everything goes inside `<Document>`; a property becomes an element of its name (characters XML
///   names cannot hold are written `_xHHHH_`, as `XmlConvert.EncodeName`); an array repeats the
///   element once per item; `null` is an empty element; strings, numbers and booleans are the
///   element's text (`true`/`false`);
/// - `attribute-block-name="#attrs"`: a property of that name holding an object gives its parent
///   element attributes instead of children;
/// - `namespace-separator=":"`: a name `p:local` is written with the prefix `p`; with
///   `namespace-prefix="xmlns"`, properties of the attribute block named `xmlns:p` declare it.
/// `apply="content-type-json"` converts only a body whose `Content-Type` is JSON;
/// `consider-accept-header="true"` (the default) only when the request's `Accept` asks for XML.
/// A body that is not JSON is left as it is (recorded in the trace). `parse-date` is read and
/// accepted; strings are written as they are either way (Drawbridge does not reformat dates).
public struct JSONToXMLPolicy: Sendable, PolicyDefinition {
    public let apply: PolicyParameter<String>
    public let considerAcceptHeader: PolicyParameter<Bool>
    public let parseDate: PolicyParameter<Bool>
    public let namespaceSeparator: String?
    public let namespacePrefix: String?
    public let attributeBlockName: String?

    static let schema = PolicySchema(
        "json-to-xml", sections: [.inbound, .outbound, .onError],
        attributes: [
            PolicyAttributeSpec("apply", .choice(["always", "content-type-json"]), required: true),
            PolicyAttributeSpec("consider-accept-header", .boolean, default: "true"),
            PolicyAttributeSpec("parse-date", .boolean, default: "true"),
            PolicyAttributeSpec("namespace-separator", .nonEmptyText, expressions: false),
            PolicyAttributeSpec("namespace-prefix", .nonEmptyText, expressions: false),
            PolicyAttributeSpec("attribute-block-name", .nonEmptyText, expressions: false),
        ])

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        guard let apply = reader.string("apply"), let consider = reader.boolean("consider-accept-header"),
              let parseDate = reader.boolean("parse-date")
        else { return nil }
        let separator = reader.literal("namespace-separator")
        if let separator, separator.count != 1 {
            reader.error(attribute: "namespace-separator", "'namespace-separator' of '<json-to-xml>' must be one character")
            return nil
        }
        return .jsonToXML(JSONToXMLPolicy(
            apply: apply, considerAcceptHeader: consider, parseDate: parseDate, namespaceSeparator: separator,
            namespacePrefix: reader.literal("namespace-prefix"), attributeBlockName: reader.literal("attribute-block-name")))
    }

    /// Whether a media type (a `Content-Type` or one `Accept` entry) is JSON or XML.
    static func mediaType(_ value: String, is kind: String) -> Bool {
        let type = value.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        return type.hasSuffix("/" + kind) || type.hasSuffix("+" + kind)
    }

    /// `XmlConvert.EncodeName`: characters an XML name cannot hold as `_xHHHH_`.
    static func encodeName(_ name: String) -> String {
        guard !name.isEmpty else { return "_x0000_" }
        var out = ""
        for (index, scalar) in name.unicodeScalars.enumerated() {
            // (Unicode properties from the standard library: no Foundation character sets on the request path.)
            let isStart = scalar == "_" || scalar == ":" || scalar.properties.isAlphabetic
            let isPart = isStart || scalar == "-" || scalar == "." || scalar.properties.numericType == .decimal
            if index == 0 ? isStart : isPart {
                out.unicodeScalars.append(scalar)
            } else {
                out += String(format: "_x%04X_", scalar.value)
            }
        }
        return out
    }

    static func escape(_ text: String, attribute: Bool) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"" where attribute: out += "&quot;"
            default:
                // Characters XML 1.0 cannot carry at all are written as character references.
                if scalar.value < 0x20, scalar != "\n", scalar != "\r", scalar != "\t" {
                    out += String(format: "&#x%X;", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}

// MARK: Run

extension JSONToXMLPolicy {
    struct Step: SynchronousPolicyStep {
        let apply: RuntimeParameter<String>
        let considerAcceptHeader: RuntimeParameter<Bool>
        let parseDate: RuntimeParameter<Bool>
        let namespaceSeparator: Character?
        let attributeBlockName: String?

        /// Nesting deeper than this is refused (the converter recurses).
        static let maximumDepth = 64

        func run(_ execution: PolicyExecution, _ step: CompiledStep) throws -> Flow {
            let mode = try execution.string(apply, step)
            guard mode == "always" || mode == "content-type-json" else {
                throw PolicyFailure.expression(step.name, "'\(mode)' is not 'always' or 'content-type-json'.")
            }
            _ = try execution.bool(parseDate, step)
            if try execution.bool(considerAcceptHeader, step) {
                let accepts = HeaderList.values(execution.state.requestHeaders, "Accept").flatMap { $0.split(separator: ",").map(String.init) }
                guard accepts.contains(where: { JSONToXMLPolicy.mediaType($0, is: "xml") }) else { return .proceed }
            }
            if mode == "content-type-json" {
                let headers = execution.worksOnResponse ? execution.state.responseHeaders : execution.state.requestHeaders
                guard let type = HeaderList.values(headers, "Content-Type").first, JSONToXMLPolicy.mediaType(type, is: "json") else { return .proceed }
            }
            guard let bytes = execution.sectionBody(), !bytes.isEmpty else { return .proceed }
            guard let json = try? JToken.parse(json: String(decoding: bytes, as: UTF8.self)) else {
                execution.state.record(.info, "json-to-xml: the body is not JSON; left as it is")
                return .proceed
            }
            var out = "<Document"
            guard writeContent(json, into: &out, depth: 0) else {
                throw PolicyFailure.generic(step.name, reason: "ConversionFailed", "The JSON body is nested deeper than \(Self.maximumDepth) levels.")
            }
            out += "</Document>"
            try execution.replaceSectionBody(Array(out.utf8), step)
            execution.setSectionHeader("Content-Type", "application/xml")
            return .proceed
        }

        /// Writes the rest of an open start tag (attributes, `>`), the content of `token`. False
        /// when too deep. The caller writes the end tag.
        func writeContent(_ token: JToken, into out: inout String, depth: Int) -> Bool {
            guard depth <= Self.maximumDepth else { return false }
            switch token.storage {
            case .object(let properties):
                var children: [(String, JToken)] = []
                for (name, value) in properties {
                    if let block = attributeBlockName, name == block, case .object(let attributes) = value.storage {
                        for (attributeName, attributeValue) in attributes {
                            out += " " + xmlName(attributeName) + "=\"" + JSONToXMLPolicy.escape(text(attributeValue), attribute: true) + "\""
                        }
                    } else {
                        children.append((name, value))
                    }
                }
                out += ">"
                for (name, value) in children {
                    guard writeElement(xmlName(name), value, into: &out, depth: depth + 1) else { return false }
                }
            case .array(let items):
                out += ">"
                for item in items {
                    guard writeElement("Item", item, into: &out, depth: depth + 1) else { return false }
                }
            case .value, .property:
                out += ">" + JSONToXMLPolicy.escape(text(token), attribute: false)
            }
            return true
        }

        /// `<name …>…</name>`, or one per item for an array, `<name />` for null.
        func writeElement(_ name: String, _ token: JToken, into out: inout String, depth: Int) -> Bool {
            switch token.storage {
            case .array(let items):
                for item in items {
                    guard writeElement(name, item, into: &out, depth: depth + 1) else { return false }
                }
                return true
            case .value(.null):
                out += "<" + name + " />"
                return true
            default:
                out += "<" + name
                guard writeContent(token, into: &out, depth: depth) else { return false }
                out += "</" + name + ">"
                return true
            }
        }

        /// A property name as an XML name (the namespace separator becoming `:`).
        func xmlName(_ name: String) -> String {
            guard let separator = namespaceSeparator, let split = name.firstIndex(of: separator) else { return JSONToXMLPolicy.encodeName(name) }
            let prefix = JSONToXMLPolicy.encodeName(String(name[..<split]).replacingOccurrences(of: ":", with: ""))
            let local = JSONToXMLPolicy.encodeName(String(name[name.index(after: split)...]).replacingOccurrences(of: ":", with: ""))
            return prefix + ":" + local
        }

        /// A primitive's text as Json.NET writes it in XML.
        func text(_ token: JToken) -> String {
            guard case .value(let primitive) = token.storage else { return "" }
            switch primitive {
            case .null: return ""
            case .bool(let flag): return flag ? "true" : "false"
            case .integer(let number): return String(number)
            case .float(let number):
                if number == number.rounded(), abs(number) < 1e15 { return String(format: "%.1f", number) }
                return String(number)
            case .string(let string): return string
            case .date(let date):
                // ISO 8601, as Json.NET writes a date in XML.
                var text = String(format: "%04d-%02d-%02dT%02d:%02d:%02d", date.year, date.month, date.day, date.hour, date.minute, date.second)
                let fraction = date.ticks % DateTimeValue.ticksPerSecond
                if fraction != 0 {
                    var digits = String(format: "%07lld", fraction)
                    while digits.hasSuffix("0") { digits.removeLast() }
                    text += "." + digits
                }
                return text + (date.kind == .utc ? "Z" : "")
            case .guid(let uuid): return uuid.uuidString.lowercased()
            case .timeSpan(let span): return ValueConversion.string(.timeSpan(span))
            case .bytes(let bytes): return Data(bytes).base64EncodedString()
            }
        }
    }

    func compile(_ compiler: inout StepCompiler) -> (any SynchronousPolicyStep)? {
        compiler.readsMessageBody()
        guard let apply = compiler.parameter(apply), let consider = compiler.parameter(considerAcceptHeader),
              let parseDate = compiler.parameter(parseDate)
        else { return nil }
        _ = namespacePrefix  // declarations come from the attribute block as `{prefix}{separator}name`.
        return Step(apply: apply, considerAcceptHeader: consider, parseDate: parseDate, namespaceSeparator: namespaceSeparator?.first,
                    attributeBlockName: attributeBlockName)
    }
}
