import Foundation
import PolicyExpressions

/// A bounded subset of XML Schema 1.0 (XSD) for `validate-content validate-as="xml"|"soap"` with an XML
/// `schema-id`, compiled at load from the schema document (read by the expressions' strict XML parser).
/// Hand-written: the package mirror has no XSD validator, and libxml2's is not bound to (hostile bodies
/// would reach C code).
///
/// Supported: one schema document (`targetNamespace`, `elementFormDefault`, `attributeFormDefault`);
/// global and local `element`s (`name`+`type`, inline types, `ref`, `minOccurs`/`maxOccurs`, `nillable`
/// with `xsi:nil`); named and anonymous `complexType`s with `sequence`, `choice`, `all` (nested, with
/// occurrences), `any` (any element, not validated), `attribute` (`name`, `type`, `use="required"`, `ref`
/// to a global attribute), `anyAttribute`, `mixed`, `simpleContent` (`extension`/`restriction` of a simple
/// type, with attributes) and `complexContent/extension` of a named complex type (its content, then the
/// extension's; attributes of both); `simpleType` `restriction`s with `enumeration`, `pattern` (implicitly
/// anchored, the same linear-time engine as JSON Schema's), `length`, `minLength`, `maxLength`,
/// `minInclusive`, `maxInclusive`, `minExclusive`, `maxExclusive`, `totalDigits`, `fractionDigits`,
/// `whiteSpace`; the built-in types (string and its derived name types, boolean, decimal, integer and its
/// sized and signed variants, float, double, date, dateTime, time, duration, anyURI, QName, base64Binary,
/// hexBinary, anyType, anySimpleType). Identity constraints (`key`, `keyref`, `unique`), `annotation` and
/// `notation` are accepted and not checked. Anything else (`import`, `include`, `redefine`, `group`,
/// `attributeGroup`, `list`, `union`, `substitutionGroup`, `complexContent/restriction`, …) is a load error
/// naming it, so a schema is never half-applied.
final class XMLSchemaSet: Sendable {
    enum Builtin: String, Sendable {
        case string, normalizedString, token, language, Name, NCName, NMTOKEN, NMTOKENS, ID, IDREF, IDREFS, ENTITY, ENTITIES
        case boolean, decimal, integer, long, int, short, byte, nonNegativeInteger, positiveInteger, nonPositiveInteger, negativeInteger
        case unsignedLong, unsignedInt, unsignedShort, unsignedByte, float, double
        case date, dateTime, time, duration, gYear, gYearMonth, gMonth, gMonthDay, gDay
        case anyURI, QName, base64Binary, hexBinary, anySimpleType
    }

    enum TypeRef: Sendable {
        case anyType
        case simple(Int)
        case complex(Int)
    }

    struct SimpleType: Sendable {
        var name: String
        var base: Builtin
        var enumeration: [String]?
        var patterns: [SchemaRegex] = []
        var length: Int?
        var minLength: Int?
        var maxLength: Int?
        var minInclusive: Double?
        var maxInclusive: Double?
        var minExclusive: Double?
        var maxExclusive: Double?
        var totalDigits: Int?
        var fractionDigits: Int?
    }

    struct Attribute: Sendable {
        let name: String
        let namespace: String
        let type: Int?  // a simple type (nil: anySimpleType)
        let required: Bool
    }

    indirect enum Particle: Sendable {
        case element(Int, min: Int, max: Int)
        case sequence([Particle], min: Int, max: Int)
        case choice([Particle], min: Int, max: Int)
        case all([Particle], min: Int, max: Int)
        case any(min: Int, max: Int)
    }

    struct ComplexType: Sendable {
        var name: String
        var content: Particle?
        var attributes: [Attribute] = []
        var anyAttribute = false
        var mixed = false
        /// simpleContent: the text's type.
        var text: Int?
    }

    struct Element: Sendable {
        let name: String
        let namespace: String
        var type: TypeRef
        var nillable: Bool
    }

    let targetNamespace: String
    let globalElements: [String: Int]
    let elements: [Element]
    let simpleTypes: [SimpleType]
    let complexTypes: [ComplexType]

    init(targetNamespace: String, globalElements: [String: Int], elements: [Element], simpleTypes: [SimpleType], complexTypes: [ComplexType]) {
        self.targetNamespace = targetNamespace
        self.globalElements = globalElements
        self.elements = elements
        self.simpleTypes = simpleTypes
        self.complexTypes = complexTypes
    }

    static let xsd = "http://www.w3.org/2001/XMLSchema"
    static let xsi = "http://www.w3.org/2001/XMLSchema-instance"

    // MARK: Compiling

    static func compile(_ bytes: [UInt8]) throws(SchemaError) -> XMLSchemaSet {
        let nodes: [StrictXML.Element]
        do { nodes = try StrictXML.parse(bytes) } catch { throw SchemaError(message: "not well-formed XML: \(error.message)", line: 0, column: 0) }
        var compiler = XSDCompiler(nodes: nodes)
        return try compiler.compile()
    }

    // MARK: Validating

    /// One validation of an instance document (or a SOAP body's parts).
    struct Validation {
        let set: XMLSchemaSet
        let nodes: [StrictXML.Element]
        var budget = 1_000_000
        var errors: [String] = []
        var exhausted = false

        init(set: XMLSchemaSet, nodes: [StrictXML.Element]) {
            self.set = set
            self.nodes = nodes
        }

        mutating func fail(_ message: String) { if errors.count < 20 { errors.append(message) } }

        /// Validates node `index` as a global element of the schema.
        mutating func validateGlobal(_ index: Int) {
            let node = nodes[index]
            guard node.namespace == set.targetNamespace, let declaration = set.globalElements[node.local] else {
                fail("The '\(node.qualified)' element is not declared.")
                return
            }
            validate(index, declaration, depth: 0)
        }

        func children(_ index: Int) -> [Int] {
            nodes[index].children.compactMap { if case .element(let child) = $0, child < nodes.count { child } else { nil } }
        }

        func text(_ index: Int) -> String {
            nodes[index].children.map { if case .text(let text) = $0 { text } else { "" } }.joined()
        }

        mutating func validate(_ index: Int, _ declaration: Int, depth: Int) {
            budget -= 1
            guard budget > 0, depth < 256 else { exhausted = true; return }
            let node = nodes[index]
            let element = set.elements[declaration]
            let nilled = node.attributes.contains { $0.namespace == XMLSchemaSet.xsi && $0.local == "nil" && ($0.value == "true" || $0.value == "1") }
            if nilled {
                if !element.nillable { fail("If the 'nillable' attribute is false in the schema, the 'xsi:nil' attribute must not be present in the instance.") }
                else if !children(index).isEmpty || !text(index).isEmpty { fail("The element '\(node.qualified)' cannot contain text or child elements when it is nil.") }
                return
            }
            switch element.type {
            case .anyType:
                return
            case .simple(let type):
                if let child = children(index).first {
                    fail("The element '\(node.qualified)' cannot contain child element '\(nodes[child].qualified)' because the parent element's content model is text only.")
                    return
                }
                checkAttributes(node, declared: [], anyAttribute: false)
                if let problem = set.check(text(index), type) { fail("The '\(node.qualified)' element is invalid - \(problem)") }
            case .complex(let type):
                let complex = set.complexTypes[type]
                checkAttributes(node, declared: complex.attributes, anyAttribute: complex.anyAttribute)
                let kids = children(index)
                if let textType = complex.text {
                    if let child = kids.first {
                        fail("The element '\(node.qualified)' cannot contain child element '\(nodes[child].qualified)' because the parent element's content model is text only.")
                    } else if let problem = set.check(text(index), textType) {
                        fail("The '\(node.qualified)' element is invalid - \(problem)")
                    }
                    return
                }
                if !complex.mixed, !text(index).allSatisfy({ $0.isWhitespace }) {
                    fail("The element '\(node.qualified)' cannot contain text. List of possible elements expected: '\(expected(complex.content))'.")
                    return
                }
                var matched: [(Int, Int?)] = []
                var position = 0
                let ok = complex.content.map { match($0, kids, &position, &matched) } ?? true
                if position < kids.count {
                    fail("The element '\(node.qualified)' has invalid child element '\(nodes[kids[position]].qualified)'. List of possible elements expected: '\(expected(complex.content))'.")
                } else if !ok {
                    fail("The element '\(node.qualified)' has incomplete content. List of possible elements expected: '\(expected(complex.content))'.")
                }
                for (child, declaration) in matched {
                    guard let declaration else { continue }  // xs:any: not validated
                    validate(child, declaration, depth: depth + 1)
                    if exhausted { return }
                }
            }
        }

        mutating func checkAttributes(_ node: StrictXML.Element, declared: [Attribute], anyAttribute: Bool) {
            for attribute in node.attributes where !attribute.isNamespaceDeclaration && attribute.namespace != XMLSchemaSet.xsi {
                guard let declaration = declared.first(where: { $0.name == attribute.local && $0.namespace == attribute.namespace }) else {
                    if !anyAttribute { fail("The '\(attribute.qualified)' attribute is not declared.") }
                    continue
                }
                if let type = declaration.type, let problem = set.check(attribute.value, type) {
                    fail("The '\(attribute.qualified)' attribute is invalid - \(problem)")
                }
            }
            for declaration in declared where declaration.required {
                if !node.attributes.contains(where: { $0.local == declaration.name && $0.namespace == declaration.namespace }) {
                    fail("The required attribute '\(declaration.name)' is missing.")
                }
            }
        }

        func expected(_ particle: Particle?) -> String {
            var names: [String] = []
            func walk(_ particle: Particle) {
                guard names.count < 20 else { return }
                switch particle {
                case .element(let index, _, _): if !names.contains(set.elements[index].name) { names.append(set.elements[index].name) }
                case .sequence(let items, _, _), .choice(let items, _, _), .all(let items, _, _): items.forEach(walk)
                case .any: if !names.contains("##any") { names.append("##any") }
                }
            }
            if let particle { walk(particle) }
            return names.joined(separator: ", ")
        }

        /// Greedy matching (XSD's Unique Particle Attribution makes content models deterministic):
        /// consumes children from `position`; false when a minimum is not met.
        mutating func match(_ particle: Particle, _ kids: [Int], _ position: inout Int, _ matched: inout [(Int, Int?)]) -> Bool {
            budget -= 1
            if budget <= 0 { exhausted = true; return false }
            switch particle {
            case .element(let declaration, let min, let max):
                var count = 0
                let element = set.elements[declaration]
                while count < max, position < kids.count, nodes[kids[position]].local == element.name, nodes[kids[position]].namespace == element.namespace {
                    matched.append((kids[position], declaration))
                    position += 1
                    count += 1
                }
                return count >= min
            case .any(let min, let max):
                var count = 0
                while count < max, position < kids.count {
                    matched.append((kids[position], nil))
                    position += 1
                    count += 1
                }
                return count >= min
            case .sequence(let items, let min, let max), .choice(let items, let min, let max):
                let isChoice: Bool = { if case .choice = particle { true } else { false } }()
                var count = 0
                while count < max {
                    let start = position, before = matched.count
                    var ok = true
                    if isChoice {
                        ok = false
                        for item in items {
                            var trial = position
                            let mark = matched.count
                            if match(item, kids, &trial, &matched), trial > position {
                                position = trial
                                ok = true
                                break
                            }
                            matched.removeSubrange(mark...)
                        }
                        // An alternative that may be empty satisfies the choice without consuming.
                        if !ok, items.contains(where: { Self.canBeEmpty($0) }) { ok = true }
                    } else {
                        for item in items where !match(item, kids, &position, &matched) { ok = false; break }
                    }
                    if exhausted { return false }
                    if !ok {
                        // An optional repetition that does not fit is not taken; a required one fails
                        // where it stopped (so the error names the right child).
                        if count >= min {
                            position = start
                            matched.removeSubrange(before...)
                            return true
                        }
                        return false
                    }
                    count += 1
                    if position == start { break }  // an empty repetition: no progress
                }
                return count >= min
            case .all(let items, let min, _):
                var seen = Set<Int>()
                let start = position
                progress: while position < kids.count {
                    for (i, item) in items.enumerated() where !seen.contains(i) {
                        var trial = position
                        let mark = matched.count
                        if match(item, kids, &trial, &matched), trial > position {
                            position = trial
                            seen.insert(i)
                            continue progress
                        }
                        matched.removeSubrange(mark...)
                    }
                    break
                }
                let complete = items.enumerated().allSatisfy { seen.contains($0.offset) || Self.canBeEmpty($0.element) }
                if position == start, min == 0 { return true }
                return complete
            }
        }

        static func canBeEmpty(_ particle: Particle) -> Bool {
            switch particle {
            case .element(_, let min, _), .any(let min, _): return min == 0
            case .sequence(let items, let min, _), .all(let items, let min, _): return min == 0 || items.allSatisfy(canBeEmpty)
            case .choice(let items, let min, _): return min == 0 || items.contains(where: canBeEmpty)
            }
        }
    }

    // MARK: Simple values

    /// Nil when `raw` is a valid value of simple type `index`, else .NET's wording of the problem.
    func check(_ raw: String, _ index: Int) -> String? {
        let type = simpleTypes[index]
        let collapses = type.base != .string
        let value = collapses ? raw.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }).joined(separator: " ") : raw
        let typeName = type.name.isEmpty ? "\(Self.xsd):\(type.base.rawValue)" : type.name
        func invalid(_ reason: String) -> String {
            "The value '\(SchemaValidation.cut(raw))' is invalid according to its datatype '\(typeName)' - \(reason)"
        }
        guard let number = Self.lexical(value, type.base) else { return invalid("The string '\(SchemaValidation.cut(value))' is not a valid \(type.base.rawValue) value.") }
        if let values = type.enumeration, !values.contains(value) { return invalid("The Enumeration constraint failed.") }
        for pattern in type.patterns {
            var budget = 200_000
            if pattern.test(value, budget: &budget) != true { return invalid("The Pattern constraint failed.") }
        }
        let length = type.base == .hexBinary ? value.utf8.count / 2 : value.unicodeScalars.count
        if let exact = type.length, length != exact { return invalid("The actual length is not equal to the specified length.") }
        if let minimum = type.minLength, length < minimum { return invalid("The actual length is less than the MinLength value.") }
        if let maximum = type.maxLength, length > maximum { return invalid("The actual length is greater than the MaxLength value.") }
        if let number {
            if let bound = type.minInclusive, number < bound { return invalid("The MinInclusive constraint failed.") }
            if let bound = type.maxInclusive, number > bound { return invalid("The MaxInclusive constraint failed.") }
            if let bound = type.minExclusive, number <= bound { return invalid("The MinExclusive constraint failed.") }
            if let bound = type.maxExclusive, number >= bound { return invalid("The MaxExclusive constraint failed.") }
            let digits = value.filter(\.isNumber)
            let fraction = value.split(separator: ".").dropFirst().first.map { $0.filter(\.isNumber).count } ?? 0
            if let total = type.totalDigits, digits.drop(while: { $0 == "0" }).count > total { return invalid("The TotalDigits constraint failed.") }
            if let allowed = type.fractionDigits, fraction > allowed { return invalid("The FractionDigits constraint failed.") }
        }
        return nil
    }

    /// nil: not a valid lexical form; .some(nil): valid, not numeric; .some(x): valid number x.
    static func lexical(_ value: String, _ base: Builtin) -> Double?? {
        func integer(_ range: ClosedRange<Double>?) -> Double?? {
            let body = value.hasPrefix("-") || value.hasPrefix("+") ? value.dropFirst() : Substring(value)
            guard !body.isEmpty, body.utf8.count <= 40, body.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let number = Double(value) else { return nil }
            if let range, !range.contains(number) { return nil }
            return .some(number)
        }
        switch base {
        case .string, .normalizedString, .token, .language, .Name, .NCName, .NMTOKEN, .NMTOKENS, .ID, .IDREF, .IDREFS, .ENTITY, .ENTITIES,
             .anyURI, .QName, .anySimpleType, .duration, .gYear, .gYearMonth, .gMonth, .gMonthDay, .gDay:
            return .some(nil)
        case .boolean: return ["true", "false", "1", "0"].contains(value) ? .some(nil) : nil
        case .decimal:
            let body = value.hasPrefix("-") || value.hasPrefix("+") ? value.dropFirst() : Substring(value)
            guard !body.isEmpty, body != ".", body.utf8.count <= 60, body.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: ".") }),
                  body.filter({ $0 == "." }).count <= 1, let number = Double(value) else { return nil }
            return .some(number)
        case .integer: return integer(nil)
        case .long: return integer(-9.223372036854776e18...9.223372036854776e18)
        case .int: return integer(-2_147_483_648...2_147_483_647)
        case .short: return integer(-32_768...32_767)
        case .byte: return integer(-128...127)
        case .nonNegativeInteger: return integer(0...Double.greatestFiniteMagnitude)
        case .positiveInteger: return integer(1...Double.greatestFiniteMagnitude)
        case .nonPositiveInteger: return integer(-Double.greatestFiniteMagnitude...0)
        case .negativeInteger: return integer(-Double.greatestFiniteMagnitude...(-1))
        case .unsignedLong: return integer(0...1.8446744073709552e19)
        case .unsignedInt: return integer(0...4_294_967_295)
        case .unsignedShort: return integer(0...65_535)
        case .unsignedByte: return integer(0...255)
        case .float, .double:
            if ["INF", "-INF", "NaN"].contains(value) { return .some(nil) }
            guard value.utf8.count <= 60, value.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || [0x2B, 0x2D, 0x2E, 0x45, 0x65].contains($0) }),
                  let number = Double(value) else { return nil }
            return .some(number)
        case .date: return SchemaValidation.isDate(Array(value.utf8)[...]) || dateWithZone(value) ? .some(nil) : nil
        case .dateTime:
            let bytes = Array(value.utf8)
            guard let t = bytes.firstIndex(of: UInt8(ascii: "T")) else { return nil }
            return SchemaValidation.isDate(bytes[..<t]) && SchemaValidation.isTime(bytes[(t + 1)...], requireOffset: false) ? .some(nil) : nil
        case .time: return SchemaValidation.isTime(Array(value.utf8)[...], requireOffset: false) ? .some(nil) : nil
        case .base64Binary:
            let compact = value.filter { !$0.isWhitespace }
            return Data(base64Encoded: compact) != nil ? .some(nil) : nil
        case .hexBinary:
            return value.utf8.count % 2 == 0 && value.utf8.allSatisfy(SchemaValidation.isHex) ? .some(nil) : nil
        }
    }

    static func dateWithZone(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        guard bytes.count > 10 else { return false }
        let zone = String(decoding: bytes[10...], as: UTF8.self)
        return SchemaValidation.isDate(bytes[..<10]) && (zone == "Z" || SchemaValidation.isTime(Array("00:00:00\(zone)".utf8)[...], requireOffset: true))
    }
}

/// Compiles one schema document into an `XMLSchemaSet`.
struct XSDCompiler {
    let nodes: [StrictXML.Element]
    var targetNamespace = ""
    var qualifiedElements = false
    var qualifiedAttributes = false
    var prefixes: [String: String] = [:]
    var elements: [XMLSchemaSet.Element] = []
    var simpleTypes: [XMLSchemaSet.SimpleType] = []
    var complexTypes: [XMLSchemaSet.ComplexType] = []
    var namedSimple: [String: Int] = [:]
    var simpleNodes: [String: Int] = [:]
    var namedComplex: [String: Int] = [:]
    var globalElementNodes: [String: Int] = [:]
    var globalElements: [String: Int] = [:]
    var globalAttributes: [String: Int] = [:]
    var builtinTypes: [XMLSchemaSet.Builtin: Int] = [:]
    /// Named complex types being compiled (a derivation cycle is an error, not a recursion without end).
    var inProgress: Set<String> = []
    var steps = 0

    init(nodes: [StrictXML.Element]) { self.nodes = nodes }

    func error(_ message: String) -> SchemaError { SchemaError(message: message, line: 0, column: 0) }

    func children(_ index: Int) -> [Int] {
        nodes[index].children.compactMap { if case .element(let child) = $0, child < nodes.count, nodes[child].namespace == XMLSchemaSet.xsd { child } else { nil } }
    }

    func attribute(_ index: Int, _ name: String) -> String? {
        nodes[index].attributes.first { $0.local == name && $0.namespace.isEmpty }?.value
    }

    /// A QName attribute value resolved against the prefixes in scope (declared on the schema or the element).
    func qname(_ text: String, at index: Int) throws(SchemaError) -> (namespace: String, local: String) {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        var scope = prefixes
        for attribute in nodes[index].attributes where attribute.isNamespaceDeclaration {
            scope[attribute.qualified == "xmlns" ? "" : attribute.local] = attribute.value
        }
        if parts.count == 2 {
            guard let namespace = scope[parts[0]] else { throw error("the prefix '\(parts[0])' of '\(text)' is not declared") }
            return (namespace, parts[1])
        }
        return (scope[""] ?? "", text)
    }

    func occurs(_ index: Int) throws(SchemaError) -> (Int, Int) {
        let min = try attribute(index, "minOccurs").map { text throws(SchemaError) -> Int in
            guard let value = Int(text), value >= 0, value <= 100_000 else { throw error("minOccurs '\(text)' is not a count") }
            return value
        } ?? 1
        let max = try attribute(index, "maxOccurs").map { text throws(SchemaError) -> Int in
            if text == "unbounded" { return Int.max }
            guard let value = Int(text), value >= 0, value <= 100_000 else { throw error("maxOccurs '\(text)' is not a count or 'unbounded'") }
            return value
        } ?? 1
        guard max >= min else { throw error("maxOccurs is below minOccurs") }
        return (min, max)
    }

    mutating func compile() throws(SchemaError) -> XMLSchemaSet {
        guard let root = nodes.first, root.namespace == XMLSchemaSet.xsd, root.local == "schema" else {
            throw error("not an XML schema: the root element must be xs:schema in \(XMLSchemaSet.xsd)")
        }
        targetNamespace = attribute(0, "targetNamespace") ?? ""
        qualifiedElements = attribute(0, "elementFormDefault") == "qualified"
        qualifiedAttributes = attribute(0, "attributeFormDefault") == "qualified"
        for attribute in root.attributes where attribute.isNamespaceDeclaration {
            prefixes[attribute.qualified == "xmlns" ? "" : attribute.local] = attribute.value
        }
        // Names first (types and elements may refer to later ones, and to themselves).
        for child in children(0) {
            let kind = nodes[child].local
            guard let name = attribute(child, "name") else {
                if ["annotation", "notation"].contains(kind) { continue }
                throw error("'xs:\(kind)' at the top of the schema is not supported (one schema document; no import, include, redefine, group or attributeGroup)")
            }
            switch kind {
            case "simpleType": simpleNodes[name] = child  // compiled when first referenced (any order), or below
            case "complexType":
                namedComplex[name] = complexTypes.count
                complexTypes.append(XMLSchemaSet.ComplexType(name: name))
            case "element": globalElementNodes[name] = child
            case "attribute": globalAttributes[name] = child
            case "annotation", "notation": continue
            default: throw error("'xs:\(kind)' is not supported")
            }
        }
        for (name, _) in simpleNodes.sorted(by: { $0.key < $1.key }) where namedSimple[name] == nil {
            _ = try namedSimpleType(name)
        }
        for child in children(0) where nodes[child].local == "complexType" {
            guard let name = attribute(child, "name"), let index = namedComplex[name] else { continue }
            complexTypes[index] = try complexType(child, name: name)
        }
        for (name, child) in globalElementNodes.sorted(by: { $0.key < $1.key }) {
            globalElements[name] = try element(child, namespace: targetNamespace)
        }
        return XMLSchemaSet(targetNamespace: targetNamespace, globalElements: globalElements, elements: elements,
                            simpleTypes: simpleTypes, complexTypes: complexTypes)
    }

    mutating func tick() throws(SchemaError) {
        steps += 1
        guard steps < 200_000 else { throw error("the schema is too large (over 200,000 declarations)") }
    }

    mutating func builtin(_ builtin: XMLSchemaSet.Builtin) -> Int {
        if let known = builtinTypes[builtin] { return known }
        simpleTypes.append(XMLSchemaSet.SimpleType(name: "", base: builtin))
        builtinTypes[builtin] = simpleTypes.count - 1
        return simpleTypes.count - 1
    }

    mutating func typeReference(_ text: String, at index: Int) throws(SchemaError) -> XMLSchemaSet.TypeRef {
        let (namespace, local) = try qname(text, at: index)
        if namespace == XMLSchemaSet.xsd {
            if local == "anyType" { return .anyType }
            guard let kind = XMLSchemaSet.Builtin(rawValue: local) else { throw error("the built-in type 'xs:\(local)' is not supported") }
            return .simple(builtin(kind))
        }
        guard namespace == targetNamespace else { throw error("the type '\(text)' is in another namespace (imports are not supported)") }
        if let simple = namedSimple[local] { return .simple(simple) }
        if simpleNodes[local] != nil { return .simple(try namedSimpleType(local)) }
        if let complex = namedComplex[local] { return .complex(complex) }
        throw error("the type '\(text)' is not defined")
    }

    /// A named simple type, compiled on first use (a restriction may name a type declared after it).
    mutating func namedSimpleType(_ name: String) throws(SchemaError) -> Int {
        if let known = namedSimple[name] { return known }
        guard let node = simpleNodes[name] else { throw error("the type '\(name)' is not defined") }
        guard inProgress.insert("simple:" + name).inserted else { throw error("the simple type '\(name)' derives from itself") }
        defer { inProgress.remove("simple:" + name) }
        let index = try simpleType(node, name: name)
        namedSimple[name] = index
        return index
    }

    mutating func simpleTypeIndex(_ text: String, at index: Int) throws(SchemaError) -> Int {
        guard case .simple(let simple) = try typeReference(text, at: index) else { throw error("'\(text)' is not a simple type") }
        return simple
    }

    mutating func simpleType(_ index: Int, name: String) throws(SchemaError) -> Int {
        try tick()
        guard let restriction = children(index).first(where: { nodes[$0].local != "annotation" }) else { throw error("xs:simpleType '\(name)' is empty") }
        guard nodes[restriction].local == "restriction" else { throw error("xs:simpleType '\(name)': xs:\(nodes[restriction].local) is not supported (restrictions only)") }
        var type: XMLSchemaSet.SimpleType
        if let base = attribute(restriction, "base") {
            type = simpleTypes[try simpleTypeIndex(base, at: restriction)]
        } else if let inline = children(restriction).first(where: { nodes[$0].local == "simpleType" }) {
            type = simpleTypes[try simpleType(inline, name: name)]
        } else {
            throw error("xs:simpleType '\(name)': the restriction has no base")
        }
        type.name = name.isEmpty ? type.name : "\(targetNamespace):\(name)"
        try facets(restriction, into: &type)
        simpleTypes.append(type)
        return simpleTypes.count - 1
    }

    mutating func facets(_ restriction: Int, into type: inout XMLSchemaSet.SimpleType) throws(SchemaError) {
        var enumeration: [String] = []
        for facet in children(restriction) {
            let value = attribute(facet, "value") ?? ""
            func count() throws(SchemaError) -> Int {
                guard let number = Int(value), number >= 0 else { throw error("the facet xs:\(nodes[facet].local) needs a count, got '\(value)'") }
                return number
            }
            func number() throws(SchemaError) -> Double {
                guard let number = Double(value), number.isFinite else { throw error("the facet xs:\(nodes[facet].local) needs a number, got '\(value)'") }
                return number
            }
            switch nodes[facet].local {
            case "enumeration": enumeration.append(value)
            case "pattern":
                do { type.patterns.append(try SchemaRegex("^(?:" + value + ")$")) } catch { throw self.error("the pattern '\(value)' is not supported: \(error.message)") }
            case "length": type.length = try count()
            case "minLength": type.minLength = try count()
            case "maxLength": type.maxLength = try count()
            case "minInclusive": type.minInclusive = try number()
            case "maxInclusive": type.maxInclusive = try number()
            case "minExclusive": type.minExclusive = try number()
            case "maxExclusive": type.maxExclusive = try number()
            case "totalDigits": type.totalDigits = try count()
            case "fractionDigits": type.fractionDigits = try count()
            case "whiteSpace", "annotation", "simpleType": continue
            default: throw error("the facet xs:\(nodes[facet].local) is not supported")
            }
        }
        if !enumeration.isEmpty { type.enumeration = enumeration }
    }

    mutating func complexType(_ index: Int, name: String) throws(SchemaError) -> XMLSchemaSet.ComplexType {
        try tick()
        if !name.isEmpty {
            guard inProgress.insert(name).inserted else { throw error("the complex type '\(name)' derives from itself") }
        }
        defer { if !name.isEmpty { inProgress.remove(name) } }
        var type = XMLSchemaSet.ComplexType(name: name)
        type.mixed = attribute(index, "mixed") == "true"
        for child in children(index) {
            switch nodes[child].local {
            case "sequence", "choice", "all", "any": type.content = try particle(child)
            case "attribute": type.attributes.append(try attributeDeclaration(child))
            case "anyAttribute": type.anyAttribute = true
            case "annotation": continue
            case "simpleContent":
                guard let derivation = children(child).first(where: { ["extension", "restriction"].contains(nodes[$0].local) }),
                      let base = attribute(derivation, "base") else { throw error("xs:simpleContent needs an extension or restriction with a base") }
                switch try typeReference(base, at: derivation) {
                case .simple(let simple):
                    var text = simpleTypes[simple]
                    if nodes[derivation].local == "restriction" {
                        try facets(derivation, into: &text)
                        simpleTypes.append(text)
                        type.text = simpleTypes.count - 1
                    } else {
                        type.text = simple
                    }
                case .complex(let complex):
                    guard let text = complexTypes[complex].text else { throw error("xs:simpleContent's base '\(base)' has no simple content") }
                    type.text = text
                    type.attributes += complexTypes[complex].attributes
                case .anyType: throw error("xs:simpleContent cannot derive from xs:anyType")
                }
                for item in children(derivation) {
                    switch nodes[item].local {
                    case "attribute": type.attributes.append(try attributeDeclaration(item))
                    case "anyAttribute": type.anyAttribute = true
                    default: continue
                    }
                }
            case "complexContent":
                guard let derivation = children(child).first(where: { nodes[$0].local != "annotation" }), nodes[derivation].local == "extension",
                      let base = attribute(derivation, "base") else { throw error("xs:complexContent is supported as an extension of a named complex type only") }
                var baseContent: XMLSchemaSet.Particle?
                switch try typeReference(base, at: derivation) {
                case .complex(let complex):
                    // (A base declared later in the document is compiled first.)
                    if complexTypes[complex].content == nil, complexTypes[complex].attributes.isEmpty,
                       let node = children(0).first(where: { nodes[$0].local == "complexType" && attribute($0, "name") == complexTypes[complex].name }) {
                        let baseName = complexTypes[complex].name
                        guard !inProgress.contains(baseName) else { throw error("the complex type '\(baseName)' derives from itself") }
                        complexTypes[complex] = try complexType(node, name: baseName)
                    }
                    baseContent = complexTypes[complex].content
                    type.attributes += complexTypes[complex].attributes
                    type.anyAttribute = type.anyAttribute || complexTypes[complex].anyAttribute
                case .anyType: baseContent = nil
                case .simple: throw error("xs:complexContent cannot extend the simple type '\(base)'")
                }
                var extensionContent: XMLSchemaSet.Particle?
                for item in children(derivation) {
                    switch nodes[item].local {
                    case "sequence", "choice", "all": extensionContent = try particle(item)
                    case "attribute": type.attributes.append(try attributeDeclaration(item))
                    case "anyAttribute": type.anyAttribute = true
                    case "annotation": continue
                    default: throw error("xs:\(nodes[item].local) in xs:complexContent is not supported")
                    }
                }
                switch (baseContent, extensionContent) {
                case (let a?, let b?): type.content = .sequence([a, b], min: 1, max: 1)
                case (let a?, nil): type.content = a
                case (nil, let b): type.content = b
                }
            default: throw error("xs:\(nodes[child].local) in xs:complexType is not supported")
            }
        }
        return type
    }

    mutating func particle(_ index: Int) throws(SchemaError) -> XMLSchemaSet.Particle {
        try tick()
        let (min, max) = try occurs(index)
        switch nodes[index].local {
        case "element": return .element(try element(index, namespace: qualifiedElements || attribute(index, "form") == "qualified" ? targetNamespace : ""), min: min, max: max)
        case "any": return .any(min: min, max: max)
        case "sequence", "choice", "all":
            var items: [XMLSchemaSet.Particle] = []
            for child in children(index) where nodes[child].local != "annotation" { items.append(try particle(child)) }
            switch nodes[index].local {
            case "sequence": return .sequence(items, min: min, max: max)
            case "choice": return .choice(items, min: min, max: max)
            default: return .all(items, min: min, max: max)
            }
        default: throw error("xs:\(nodes[index].local) in a content model is not supported (no xs:group references)")
        }
    }

    mutating func element(_ index: Int, namespace: String) throws(SchemaError) -> Int {
        try tick()
        if let reference = attribute(index, "ref") {
            let (refNamespace, local) = try qname(reference, at: index)
            guard refNamespace == targetNamespace, globalElementNodes[local] != nil else { throw error("the element reference '\(reference)' names no global element") }
            if let known = globalElements[local] { return known }
            // Reserve the global element now (a reference may come before its compilation, or be recursive).
            let reserved = elements.count
            elements.append(XMLSchemaSet.Element(name: local, namespace: targetNamespace, type: .anyType, nillable: false))
            globalElements[local] = reserved
            if let node = globalElementNodes[local] { elements[reserved] = try declaration(node, name: local, namespace: targetNamespace) }
            return reserved
        }
        guard let name = attribute(index, "name") else { throw error("xs:element needs 'name' or 'ref'") }
        if attribute(index, "substitutionGroup") != nil || attribute(index, "abstract") == "true" {
            throw error("xs:element '\(name)': substitution groups and abstract elements are not supported")
        }
        if namespace == targetNamespace, globalElementNodes[name] == index, let known = globalElements[name] { return known }
        let reserved = elements.count
        elements.append(XMLSchemaSet.Element(name: name, namespace: namespace, type: .anyType, nillable: false))
        if namespace == targetNamespace, globalElementNodes[name] == index { globalElements[name] = reserved }
        elements[reserved] = try declaration(index, name: name, namespace: namespace)
        return reserved
    }

    mutating func declaration(_ index: Int, name: String, namespace: String) throws(SchemaError) -> XMLSchemaSet.Element {
        var type = XMLSchemaSet.TypeRef.anyType
        if let typeName = attribute(index, "type") {
            type = try typeReference(typeName, at: index)
        } else if let inline = children(index).first(where: { ["complexType", "simpleType"].contains(nodes[$0].local) }) {
            if nodes[inline].local == "simpleType" { type = .simple(try simpleType(inline, name: "")) } else {
                complexTypes.append(try complexType(inline, name: ""))
                type = .complex(complexTypes.count - 1)
            }
        }
        return XMLSchemaSet.Element(name: name, namespace: namespace, type: type, nillable: attribute(index, "nillable") == "true")
    }

    mutating func attributeDeclaration(_ index: Int) throws(SchemaError) -> XMLSchemaSet.Attribute {
        try tick()
        let required = attribute(index, "use") == "required"
        if let reference = attribute(index, "ref") {
            let (namespace, local) = try qname(reference, at: index)
            guard namespace == targetNamespace, let global = globalAttributes[local] else { throw error("the attribute reference '\(reference)' names no global attribute") }
            let type = try attribute(global, "type").map { text throws(SchemaError) in try simpleTypeIndex(text, at: global) }
            return XMLSchemaSet.Attribute(name: local, namespace: targetNamespace, type: type, required: required)
        }
        guard let name = attribute(index, "name") else { throw error("xs:attribute needs 'name' or 'ref'") }
        var type: Int?
        if let typeName = attribute(index, "type") { type = try simpleTypeIndex(typeName, at: index) }
        else if let inline = children(index).first(where: { nodes[$0].local == "simpleType" }) { type = try simpleType(inline, name: "") }
        let namespace = qualifiedAttributes || attribute(index, "form") == "qualified" ? targetNamespace : ""
        return XMLSchemaSet.Attribute(name: name, namespace: namespace, type: type, required: required)
    }
}
