import Foundation

/// `<validate-odata-request [error-variable-name] [default-odata-version="4.0"] [min-odata-version]
/// [max-odata-version] [max-size]>`: checks a request to an OData API against the OData 4.0/4.01
/// protocol (inbound): the `OData-Version` / `OData-MaxVersion` headers (well-formed versions; the
/// request's version, or `default-odata-version` without the header, within min/max), the body's size
/// (`Content-Length`, else the body's length) against `max-size`, and the system query options — known
/// names only (case-sensitive in 4.0; in 4.01 any case), each at most once, `$top`/`$skip` non-negative
/// integers, `$count` true or false, `$format` json/xml/atom or a media type, `$compute`/`$index` 4.01 only,
/// balanced parentheses and closed string literals in `$filter`, `$orderby`, `$select`, `$expand`,
/// `$search`, `$apply`, `$compute`. A request that breaks any of these is refused with 400 (APIM
/// documents no action attribute for this policy); the errors go to `error-variable-name` as the other
/// validation policies write them. Not checked: that names in the expressions exist in the service's
/// metadata (Drawbridge does not read `$metadata`).
public struct ValidateODataRequestPolicy: Sendable, PolicyDefinition {
    public let errorVariable: String?
    public let defaultVersion: String
    public let minimumVersion: String?
    public let maximumVersion: String?
    public let maxSize: Int?

    static let versions = ["4.0", "4.01"]

    static let schema = PolicySchema(
        "validate-odata-request", sections: [.inbound],
        attributes: [
            PolicyAttributeSpec("error-variable-name", .nonEmptyText, expressions: false),
            PolicyAttributeSpec("default-odata-version", .choice(versions), default: "4.0", expressions: false),
            PolicyAttributeSpec("min-odata-version", .choice(versions), expressions: false),
            PolicyAttributeSpec("max-odata-version", .choice(versions), expressions: false),
            PolicyAttributeSpec("max-size", .integer(0...Int(Int32.max)), expressions: false),
        ])

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        guard let defaultVersion = reader.literal("default-odata-version") else { return nil }
        let minimum = reader.literal("min-odata-version"), maximum = reader.literal("max-odata-version")
        if let minimum, let maximum, version(minimum) ?? 0 > version(maximum) ?? 0 {
            reader.error("'min-odata-version' \(minimum) of '<validate-odata-request>' is above 'max-odata-version' \(maximum)")
        }
        var maxSize: Int?
        if reader.element.attribute("max-size") != nil {
            guard case .constant(let size)? = reader.integer("max-size") else { return nil }
            maxSize = size
        }
        guard reader.isValid else { return nil }
        return .validateODataRequest(ValidateODataRequestPolicy(
            errorVariable: reader.literal("error-variable-name"), defaultVersion: defaultVersion, minimumVersion: minimum, maximumVersion: maximum,
            maxSize: maxSize))
    }

    /// `4.0` → 4.0, `4.01` → 4.01 (OData versions are major.minor with a two-digit minor in 4.01).
    static func version(_ text: String) -> Double? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, (1...2).contains(parts[0].count), (1...2).contains(parts[1].count),
              parts.allSatisfy({ $0.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }) else { return nil }
        return Double(text)
    }

    static let systemOptions: Set<String> = [
        "$filter", "$select", "$expand", "$orderby", "$top", "$skip", "$count", "$search", "$format", "$compute", "$index",
        "$schemaversion", "$levels", "$apply", "$skiptoken", "$deltatoken", "$id",
    ]
    static let expressionOptions: Set<String> = ["$filter", "$orderby", "$select", "$expand", "$search", "$apply", "$compute"]

    /// Parentheses balanced and `'…'` literals closed (`''` is a quote inside one), in at most 64 levels.
    static func wellFormed(_ text: String) -> Bool {
        var depth = 0
        var inString = false
        var scalars = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = nil
        while let scalar = pending ?? scalars.next() {
            pending = nil
            if inString {
                if scalar == "'" {
                    if let next = scalars.next() { if next == "'" { continue }; pending = next }
                    inString = false
                }
                continue
            }
            switch scalar {
            case "'": inString = true
            case "(": depth += 1; if depth > 64 { return false }
            case ")": depth -= 1; if depth < 0 { return false }
            default: break
            }
        }
        return depth == 0 && !inString
    }
}

// MARK: Run

extension ValidateODataRequestPolicy {
    struct Step: SynchronousPolicyStep {
        let policy: ValidateODataRequestPolicy

        func run(_ execution: PolicyExecution, _ step: CompiledStep) throws -> Flow {
            let state = execution.state
            var findings: [ValidationFinding] = []
            func add(_ name: String, _ rule: String, _ text: String) {
                findings.append(ValidationFinding(name: name, type: "ODataRequest", rule: rule, details: text, publicResponse: text, action: .prevent))
            }
            var version = ValidateODataRequestPolicy.version(policy.defaultVersion) ?? 4.0
            let versionHeader = HeaderList.values(state.requestHeaders, "OData-Version")
            if versionHeader.count > 1 {
                add("OData-Version", "IncorrectMessage", "Request cannot contain multiple values for the header OData-Version.")
            } else if let text = versionHeader.first.map(ASCII.trimmingWhitespace) {
                if let given = ValidateODataRequestPolicy.version(text) { version = given } else {
                    add("OData-Version", "IncorrectMessage", "The OData-Version header value '\(SchemaValidation.cut(text))' is not a valid OData version.")
                }
            }
            if let text = HeaderList.values(state.requestHeaders, "OData-MaxVersion").first.map(ASCII.trimmingWhitespace),
               ValidateODataRequestPolicy.version(text) == nil {
                add("OData-MaxVersion", "IncorrectMessage", "The OData-MaxVersion header value '\(SchemaValidation.cut(text))' is not a valid OData version.")
            }
            let shown = version == 4.0 ? "4.0" : version == 4.01 ? "4.01" : String(version)
            if let minimum = policy.minimumVersion, let floor = ValidateODataRequestPolicy.version(minimum), version < floor {
                add("OData-Version", "Version", "OData version \(shown) is lower than the minimum version \(minimum) the API accepts.")
            }
            if let maximum = policy.maximumVersion, let ceiling = ValidateODataRequestPolicy.version(maximum), version > ceiling {
                add("OData-Version", "Version", "OData version \(shown) is higher than the maximum version \(maximum) the API accepts.")
            }
            if let maxSize = policy.maxSize {
                let declared = HeaderList.values(state.requestHeaders, "Content-Length").first.flatMap { Int(ASCII.trimmingWhitespace($0)) }
                let size = max(declared ?? 0, execution.sectionBody()?.count ?? 0)
                if size > maxSize { add("", "SizeLimit", "Request's body is \(size) bytes long and it exceeds the limit of \(maxSize) bytes.") }
            }
            let v401 = version >= 4.01
            var seen = Set<String>()
            for (rawName, value) in state.query.prefix(500) {
                let lowered = rawName.lowercased()
                // 4.01: system query options are case-insensitive and the `$` is optional.
                let name: String
                if rawName.hasPrefix("$") {
                    name = v401 ? lowered : rawName
                } else if v401, ValidateODataRequestPolicy.systemOptions.contains("$" + lowered) {
                    name = "$" + lowered
                } else {
                    continue  // a custom query option
                }
                guard ValidateODataRequestPolicy.systemOptions.contains(name) else {
                    add(rawName, "QueryOption", "The query parameter \(SchemaValidation.cut(rawName)) is not a supported OData system query option.")
                    continue
                }
                guard seen.insert(name).inserted else {
                    add(rawName, "QueryOption", "The system query option \(name) is given more than once.")
                    continue
                }
                if !v401, name == "$compute" || name == "$index" {
                    add(rawName, "QueryOption", "The system query option \(name) is not available in OData 4.0.")
                }
                switch name {
                case "$top", "$skip", "$index":
                    if value.isEmpty || value.utf8.count > 18 || !value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
                        add(rawName, "QueryOption", "The value '\(SchemaValidation.cut(value))' of \(name) is not a non-negative integer.")
                    }
                case "$count":
                    if !["true", "false"].contains(value.lowercased()) {
                        add(rawName, "QueryOption", "The value '\(SchemaValidation.cut(value))' of $count is not true or false.")
                    }
                case "$format":
                    let lower = value.lowercased()
                    let known = ["json", "xml", "atom"].contains(lower)
                        || (lower.split(separator: ";").first.map { $0.split(separator: "/").count == 2 } ?? false)
                    if !known { add(rawName, "QueryOption", "The value '\(SchemaValidation.cut(value))' of $format is not json, xml, atom or a media type.") }
                default:
                    if ValidateODataRequestPolicy.expressionOptions.contains(name) {
                        if value.trimmingCharacters(in: .whitespaces).isEmpty {
                            add(rawName, "QueryOption", "The system query option \(name) has no value.")
                        } else if !ValidateODataRequestPolicy.wellFormed(value) {
                            add(rawName, "QueryOption", "The value of \(name) is not well-formed (unbalanced parentheses or an unclosed string literal).")
                        }
                    }
                }
            }
            return try execution.concludeValidation(findings, variable: policy.errorVariable, step)
        }
    }

    func compile(_ compiler: inout StepCompiler) -> (any SynchronousPolicyStep)? {
        if maxSize != nil { compiler.readsMessageBody() }
        return Step(policy: self)
    }
}
