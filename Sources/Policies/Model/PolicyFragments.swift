/// The policy fragments available to a load, by id.
public struct PolicyFragments: Sendable {
    private var byID: [String: PolicyFragment] = [:]

    public init(_ fragments: [PolicyFragment] = []) {
        for fragment in fragments { byID[fragment.id] = fragment }
    }

    public subscript(id: String) -> PolicyFragment? { byID[id] }

    public var ids: [String] { byID.keys.sorted() }
}

/// Replaces every `<include-fragment fragment-id="x"/>` (at any depth) with the statements of
/// fragment x, itself expanded. A fragment that includes itself, directly or not, is an error.
struct FragmentInliner {
    let fragments: PolicyFragments
    static let maximumDepth = 16

    /// - Parameter depth: element nesting so far; the inlined tree is bounded like a read one.
    func inline(_ elements: [PolicyXMLElement], context: PolicyParsingContext, including: [String] = [], depth: Int = 1) -> [PolicyXMLElement] {
        if depth > context.maximumDepth, let first = elements.first {
            context.error(at: first.position, "policies are nested deeper than \(context.maximumDepth) levels (included fragments count)")
            return []
        }
        var result: [PolicyXMLElement] = []
        for element in elements {
            guard element.name == "include-fragment" else {
                if element.childElements.isEmpty {
                    result.append(element)
                } else {
                    result.append(
                        element.replacingChildren(inlineChildren(element.children, context: context, including: including, depth: depth + 1)))
                }
                continue
            }
            let reader = PolicyElementReader(
                element: element, schema: IncludeFragmentPolicy.schema, context: context, section: nil, path: "include-fragment")
            guard reader.isValid, let id = reader.literal("fragment-id") else { continue }
            guard let fragment = fragments[id] else {
                let ids = fragments.ids
                let known = ids.isEmpty
                    ? "no fragments are loaded"
                    : "known fragments: \(ids.prefix(10).joined(separator: ", "))" + (ids.count > 10 ? ", …" : "")
                context.error(at: element.position, "unknown policy fragment '\(id)' (\(known))")
                continue
            }
            if including.contains(id) {
                let cycle = (including.drop { $0 != id } + [id]).joined(separator: " → ")
                context.error(at: element.position, "policy fragment '\(id)' includes itself (\(cycle))")
                continue
            }
            guard including.count < Self.maximumDepth else {
                context.error(at: element.position, "policy fragments are nested deeper than \(Self.maximumDepth) levels")
                continue
            }
            result += inline(fragment.statements, context: context, including: including + [id], depth: depth)
        }
        return result
    }

    private func inlineChildren(_ nodes: [PolicyXMLNode], context: PolicyParsingContext, including: [String], depth: Int) -> [PolicyXMLNode] {
        var result: [PolicyXMLNode] = []
        for node in nodes {
            switch node {
            case .text:
                result.append(node)
            case .element(let element):
                result += inline([element], context: context, including: including, depth: depth).map(PolicyXMLNode.element)
            }
        }
        return result
    }
}
