/// `<choose>`: the first `<when>` whose condition is true runs; otherwise `<otherwise>`, if any.
public struct ChoosePolicy: Sendable, PolicyDefinition {
    public struct When: Sendable {
        public let condition: PolicyParameter<Bool>
        public let statements: [PolicyStatement]
        /// `choose[1]/when[2]`
        public let path: String
        public let position: SourcePosition
    }

    public let whens: [When]
    /// Nil when there is no `<otherwise>` (different from an empty one only for traces).
    public let otherwise: [PolicyStatement]?

    static let schema = PolicySchema("choose", children: .elements(["when", "otherwise"]))
    static let whenSchema = PolicySchema(
        "when", attributes: [PolicyAttributeSpec("condition", .boolean, required: true)], children: .policies)
    static let otherwiseSchema = PolicySchema("otherwise", children: .policies)

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        var whens: [When] = []
        var otherwise: [PolicyStatement]? = nil
        var otherwiseSeen = false
        for child in reader.element.childElements {
            switch child.name {
            case "when":
                if otherwiseSeen {
                    reader.context.error(at: child.position, "'<when>' must come before '<otherwise>' in '<choose>'")
                }
                let when = reader.child(child, whenSchema)
                let statements = reader.statements(of: child)
                if let condition = when.boolean("condition") {
                    whens.append(When(condition: condition, statements: statements, path: when.path, position: child.position))
                }
            case "otherwise":
                if otherwiseSeen {
                    reader.context.error(at: child.position, "'<choose>' may contain at most one '<otherwise>'")
                }
                otherwiseSeen = true
                _ = reader.child(child, otherwiseSchema)
                otherwise = reader.statements(of: child)
            default:
                break  // reported by the schema check
            }
        }
        if !reader.element.childElements.contains(where: { $0.name == "when" }) {
            reader.error("'<choose>' requires at least one '<when>'")
        }
        return .choose(ChoosePolicy(whens: whens, otherwise: otherwise))
    }
}
