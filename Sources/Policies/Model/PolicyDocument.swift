/// A `<policies>` document as read, its sections located (each at most once). Statements are still
/// raw elements here; `PolicyLoader` validates them against the policy catalogue.
public struct PolicyDocument: Sendable {
    public let file: String
    public let root: PolicyXMLElement
    public let sections: [PolicySection: PolicyXMLElement]

    public init(file: String, root: PolicyXMLElement, sections: [PolicySection: PolicyXMLElement]) {
        self.file = file
        self.root = root
        self.sections = sections
    }

    /// Locates the sections of a `<policies>` root, reporting anything else.
    static func structure(file: String, root: PolicyXMLElement, diagnostics: inout [PolicyDiagnostic]) -> PolicyDocument {
        guard root.name == "policies" else {
            diagnostics.append(
                PolicyDiagnostic(at: root.position, "expected '<policies>' as the root element, found '<\(root.name)>'"))
            return PolicyDocument(file: file, root: root, sections: [:])
        }
        for attribute in root.attributes {
            diagnostics.append(PolicyDiagnostic(at: attribute.position, "'<policies>' takes no attributes, found '\(attribute.name)'"))
        }
        for text in root.textNodes {
            diagnostics.append(PolicyDiagnostic(at: text.position, "text is not allowed directly inside '<policies>'"))
        }
        var sections: [PolicySection: PolicyXMLElement] = [:]
        for child in root.childElements {
            guard let section = PolicySection(rawValue: child.name) else {
                diagnostics.append(
                    PolicyDiagnostic(
                        at: child.position,
                        "expected '<inbound>', '<backend>', '<outbound>' or '<on-error>' inside '<policies>', found '<\(child.name)>'"))
                continue
            }
            if let earlier = sections[section] {
                diagnostics.append(
                    PolicyDiagnostic(
                        at: child.position,
                        "duplicate section '<\(section)>' (first at line \(earlier.position.line), column \(earlier.position.column))"))
                continue
            }
            for attribute in child.attributes {
                diagnostics.append(PolicyDiagnostic(at: attribute.position, "'<\(section)>' takes no attributes, found '\(attribute.name)'"))
            }
            for text in child.textNodes {
                diagnostics.append(PolicyDiagnostic(at: text.position, "text is not allowed directly inside '<\(section)>'; expected policy elements"))
            }
            sections[section] = child
        }
        return PolicyDocument(file: file, root: root, sections: sections)
    }

    /// The statements of one section (empty when the section is absent).
    public func statements(in section: PolicySection) -> [PolicyXMLElement] {
        sections[section]?.childElements ?? []
    }
}

/// A `<fragment>` document: policy statements inserted wherever `<include-fragment>` names it.
public struct PolicyFragment: Sendable {
    public let id: String
    public let file: String
    public let root: PolicyXMLElement

    public init(id: String, file: String, root: PolicyXMLElement) {
        self.id = id
        self.file = file
        self.root = root
    }

    public var statements: [PolicyXMLElement] { root.childElements }

    static func structure(id: String, file: String, root: PolicyXMLElement, diagnostics: inout [PolicyDiagnostic]) -> PolicyFragment {
        if root.name != "fragment" {
            diagnostics.append(PolicyDiagnostic(at: root.position, "expected '<fragment>' as the root element of a policy fragment, found '<\(root.name)>'"))
        }
        for text in root.textNodes {
            diagnostics.append(PolicyDiagnostic(at: text.position, "text is not allowed directly inside '<fragment>'; expected policy elements"))
        }
        for child in root.childElements {
            if PolicySection(rawValue: child.name) != nil || child.name == "policies" {
                diagnostics.append(PolicyDiagnostic(at: child.position, "a policy fragment cannot contain the section '<\(child.name)>'"))
            } else if child.name == "base" {
                diagnostics.append(PolicyDiagnostic(at: child.position, "a policy fragment cannot contain '<base/>'"))
            }
        }
        return PolicyFragment(id: id, file: file, root: root)
    }
}
