import Foundation

/// `<xsl-transform>` with optional `<parameter name="…">value or @(expression)</parameter>`
/// children (`parameter-name="…"`, as the reference's policy statement writes it, is read too)
/// and one `<xsl:stylesheet version="1.0">`: transforms the section's body (the request's in
/// inbound, the response's in outbound) as XML with XSLT 1.0.
///
/// The stylesheet is compiled once, at load, by Drawbridge's own bounded XSLT 1.0 subset
/// (`Sources/Policies/XSLT`; why it is hand-written is said in `XSLTError.swift`): an instruction,
/// function or construct outside the subset is a load error naming it and its line:col, and
/// `document()`, `xsl:import`/`xsl:include`, extension functions and `msxsl:script` are refused
/// (a stylesheet never reads files or the network). Each `<parameter>` sets the top-level
/// `xsl:param` of that name (as a string), evaluated per request.
///
/// At run time:
/// - a body that is not XML (empty, JSON, malformed) fails closed: APIM does not document this
///   case, so Drawbridge raises the error `XslTransformFailed` (status 500) through `on-error`,
///   with the parser's message; the body is left as it was;
/// - a transformation that goes past its limits (template nesting 200, 2,000,000 steps, a result
///   over the pipeline's body limit) fails the same way, never trapping;
/// - `xsl:output method="xml"` (the default) writes `<?xml version="1.0" encoding="utf-8"?>`
///   unless `omit-xml-declaration="yes"`; `indent="yes"` indents by two spaces (new lines as
///   `\n`), not inside mixed content; `method="text"` writes the result's text only;
///   `method="html"` writes HTML (void elements without end tags, no declaration);
/// - the `Content-Type` becomes `xsl:output`'s `media-type` when it has one; otherwise `text`
///   sets `text/plain; charset=utf-8`, `html` sets `text/html; charset=utf-8`, and `xml` keeps an
///   XML `Content-Type` as it is (anything else becomes `application/xml`).
public struct XSLTransformPolicy: Sendable, PolicyDefinition {
    public struct Parameter: Sendable {
        public let name: String
        public let value: PolicyParameter<String>
    }

    public let parameters: [Parameter]
    let stylesheet: XSLTStylesheet

    static let schema = PolicySchema("xsl-transform", sections: [.inbound, .outbound], children: .markup)

    static let parameterSchema = PolicySchema(
        "parameter",
        attributes: [
            PolicyAttributeSpec("name", .nonEmptyText, expressions: false),
            PolicyAttributeSpec("parameter-name", .nonEmptyText, expressions: false),
        ],
        allowsText: true)

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        var parameters: [Parameter] = []
        var stylesheets: [PolicyXMLElement] = []
        for child in reader.element.childElements {
            if child.name == "parameter" {
                let parameter = reader.child(child, parameterSchema)
                let names = [parameter.literal("name"), parameter.literal("parameter-name")].compactMap { $0 }
                guard names.count == 1, let name = names.first else {
                    parameter.error("'<parameter>' of '<xsl-transform>' needs exactly one of 'name' or 'parameter-name'")
                    continue
                }
                if parameters.contains(where: { $0.name == name }) {
                    parameter.error("'<xsl-transform>' has two parameters named '\(name)'")
                    continue
                }
                parameters.append(Parameter(name: name, value: parameter.text ?? .constant("")))
            } else if XSLTCompiler.split(child.name).local == "stylesheet" || XSLTCompiler.split(child.name).local == "transform" {
                stylesheets.append(child)
            } else {
                reader.context.error(
                    at: child.position, "unexpected element '<\(child.name)>' inside '<xsl-transform>' (expected '<parameter>' and '<xsl:stylesheet>')")
            }
        }
        guard let written = stylesheets.first else {
            reader.error("'<xsl-transform>' requires an '<xsl:stylesheet>'")
            return nil
        }
        for extra in stylesheets.dropFirst() {
            reader.context.error(at: extra.position, "'<xsl-transform>' may contain at most one stylesheet")
        }
        let stylesheet: XSLTStylesheet
        do {
            stylesheet = try XSLTCompiler.compile(written)
        } catch {
            reader.context.error(at: error.position, "xsl-transform: \(error.message)")
            return nil
        }
        guard reader.isValid else { return nil }
        return .xslTransform(XSLTransformPolicy(parameters: parameters, stylesheet: stylesheet))
    }

    /// The `Content-Type` after a transformation (see the type's comment); nil: leave it.
    static func contentType(_ method: XSLTOutputSettings.Method, mediaType: String?, current: String?) -> String? {
        if let mediaType { return mediaType }
        switch method {
        case .text: return "text/plain; charset=utf-8"
        case .html: return "text/html; charset=utf-8"
        case .xml:
            if let current, JSONToXMLPolicy.mediaType(current, is: "xml") { return nil }
            return "application/xml"
        }
    }
}

// MARK: Run

extension XSLTransformPolicy {
    struct Step: SynchronousPolicyStep {
        let parameters: [(name: String, value: RuntimeParameter<String>)]
        let stylesheet: XSLTStylesheet

        func run(_ execution: PolicyExecution, _ step: CompiledStep) throws -> Flow {
            var values: [String: String] = [:]
            for parameter in parameters { values[parameter.name] = try execution.string(parameter.value, step) }
            let body = execution.sectionBody() ?? []
            var limits = XSLTLimits()
            limits.maximumOutputBytes = execution.options.maximumBodyBytes
            let result: (bytes: [UInt8], method: XSLTOutputSettings.Method)
            do {
                result = try XSLTRun.transform(stylesheet, body: body, parameters: values, limits: limits)
            } catch {
                throw PolicyFailure.generic(step.name, reason: "XslTransformFailed", error.message)
            }
            try execution.replaceSectionBody(result.bytes, step)
            let headers = execution.worksOnResponse ? execution.state.responseHeaders : execution.state.requestHeaders
            if let type = XSLTransformPolicy.contentType(
                result.method, mediaType: stylesheet.output.mediaType, current: HeaderList.values(headers, "Content-Type").first)
            {
                execution.setSectionHeader("Content-Type", type)
            }
            return .proceed
        }
    }

    func compile(_ compiler: inout StepCompiler) -> (any SynchronousPolicyStep)? {
        compiler.readsMessageBody()
        var compiled: [(name: String, value: RuntimeParameter<String>)] = []
        for parameter in parameters {
            guard let value = compiler.parameter(parameter.value) else { return nil }
            compiled.append((parameter.name, value))
        }
        return Step(parameters: compiled, stylesheet: stylesheet)
    }
}
