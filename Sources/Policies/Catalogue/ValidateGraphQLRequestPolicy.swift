import Foundation
import GraphQL
import PolicyExpressions
import Synchronization

/// `<validate-graphql-request error-variable-name="…" max-size="…" max-depth="6">` with
/// `<authorize><rule path="/Type/field" action="allow|remove|reject|ignore"/>…</authorize>`: reads the
/// GraphQL request (GraphQL over HTTP), parses it, validates it against the API's schema (`graphql.schema`
/// of the API's configuration), checks its size and depth, then authorizes each field against the rules.
/// A request error (not GraphQL, too large, too deep, invalid, a `reject` rule) answers the client with an
/// `errors` block and no `data`, and the request goes no further. A `remove` rule takes the field out of the
/// request (a field error). Errors also go to `context.Variables["GraphQLErrors"]` (and `error-variable-name`).
public struct ValidateGraphQLRequestPolicy: Sendable, PolicyDefinition {
    public enum Action: String, Sendable { case allow, remove, reject, ignore }

    /// `/Type/field` or `/field` (a field of the operation types), `*` matching any run of characters.
    public struct Rule: Sendable {
        public let path: String
        let type: String?
        let field: String
        public let action: PolicyParameter<Action>
    }

    public let errorVariableName: PolicyParameter<String>?
    public let maxSize: PolicyParameter<Int>
    public let maxDepth: PolicyParameter<Int>
    public let rules: [Rule]

    /// APIM's ceiling for `max-size` (100 KB).
    static let maximumSize = 102_400

    static let schema = PolicySchema(
        "validate-graphql-request", sections: [.inbound],
        attributes: [
            PolicyAttributeSpec("error-variable-name", .nonEmptyText),
            PolicyAttributeSpec("max-size", .integer(1...maximumSize), required: true),
            PolicyAttributeSpec("max-depth", .integer(1...1_000), default: "6"),
        ],
        children: .elements(["authorize"]))
    static let authorizeSchema = PolicySchema("authorize", children: .elements(["rule"]))
    static let ruleSchema = PolicySchema(
        "rule",
        attributes: [
            PolicyAttributeSpec("path", .nonEmptyText, required: true, expressions: false),
            PolicyAttributeSpec("action", .choice(["allow", "remove", "reject", "ignore"]), default: "allow"),
        ])

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        reader.atMostOne("authorize")
        var rules: [Rule] = []
        for authorize in reader.children(named: "authorize", authorizeSchema) {
            for ruleReader in authorize.children(named: "rule", ruleSchema) {
                guard let path = ruleReader.literal("path"), let action = ruleReader.choice("action", as: Action.self) else { continue }
                guard let (type, field) = Self.pattern(path) else {
                    ruleReader.error(
                        attribute: "path",
                        "invalid path \(ruleReader.quote(path, attribute: "path")) in '<rule>': expected '/Type/field' or '/field' "
                            + "(names of letters, digits and '_', '*' matching any characters)")
                    continue
                }
                rules.append(Rule(path: path, type: type, field: field, action: action))
            }
        }
        guard let maxSize = reader.integer("max-size"), let maxDepth = reader.integer("max-depth") else { return nil }
        return .validateGraphQLRequest(
            ValidateGraphQLRequestPolicy(errorVariableName: reader.string("error-variable-name"), maxSize: maxSize, maxDepth: maxDepth, rules: rules))
    }

    /// The path's type and field patterns (nil when it is not `/Type/field` or `/field`).
    static func pattern(_ path: String) -> (String?, String)? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3, parts[0].isEmpty, path.utf8.count <= 256 else { return nil }
        let names = parts.dropFirst().map(String.init)
        guard names.allSatisfy({ name in
            !name.isEmpty && name.unicodeScalars.allSatisfy { $0 == "_" || $0 == "*" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
        }) else { return nil }
        return names.count == 2 ? (names[0], names[1]) : (nil, names[0])
    }

    /// `*` matches any run of characters (iterative: no backtracking blow-up).
    static func matches(_ pattern: String, _ text: String) -> Bool {
        let p = Array(pattern.utf8), t = Array(text.utf8)
        var i = 0, j = 0, star = -1, mark = 0
        while j < t.count {
            if i < p.count, p[i] != UInt8(ascii: "*"), p[i] == t[j] {
                i += 1; j += 1
            } else if i < p.count, p[i] == UInt8(ascii: "*") {
                star = i; mark = j; i += 1
            } else if star >= 0 {
                i = star + 1; mark += 1; j = mark
            } else {
                return false
            }
        }
        while i < p.count, p[i] == UInt8(ascii: "*") { i += 1 }
        return i == p.count
    }
}


// MARK: Run

extension ValidateGraphQLRequestPolicy {
    struct Step: WaitingPolicyStep {
        let errorVariableName: RuntimeParameter<String>?
        let maxSize: RuntimeParameter<Int>
        let maxDepth: RuntimeParameter<Int>
        let rules: [(type: String?, field: String, path: String, action: RuntimeParameter<String>)]

        func run(_ execution: PolicyExecution, _ step: CompiledStep) async throws -> Flow {
            guard let api = execution.options.graphQL else {
                throw PolicyFailure.generic(
                    step.name, reason: "GraphQLSchemaMissing",
                    "The API has no GraphQL schema ('graphql.schema' in its configuration): validate-graphql-request cannot run.")
            }
            let state = execution.state
            let maxSize = try execution.int(maxSize, step, in: 1...ValidateGraphQLRequestPolicy.maximumSize)
            let maxDepth = try execution.int(maxDepth, step, in: 1...1_000)
            let variable = try errorVariableName.map { try execution.string($0, step) }
            func requestError(_ errors: [GraphQLError]) -> Flow {
                record(errors, variable: variable, state)
                state.record(.info, "validate-graphql-request: request error: \(errors.first?.message ?? "")")
                state.status = 400
                state.reason = "Bad Request"
                state.responseHeaders = [PolicyHeader("Content-Type", "application/json")]
                state.backendBody = nil
                state.responseBody = MessageBodyObject(Array(GraphQLJSON.errorsDocument(errors).utf8))
                return .stop
            }
            // The payload: the body of a POST, the query string of a GET.
            let isGet = state.method == "GET"
            var body: [UInt8] = []
            if isGet {
                let size = state.query.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 2 }
                if size > maxSize { return requestError([GraphQLError(message: "The request is larger than \(maxSize) bytes.")]) }
            } else {
                do {
                    try await execution.loadRequestBody()
                } catch let failure as PolicyFailure where failure.status == 413 {
                    return requestError([GraphQLError(message: "The request is larger than \(maxSize) bytes.")])
                }
                body = state.requestBody?.bytes ?? []
                if body.count > maxSize { return requestError([GraphQLError(message: "The request is larger than \(maxSize) bytes.")]) }
            }
            let request: GraphQLOperationRequest
            let document: Document
            do {
                request = try GraphQLOperationRequest.read(
                    method: state.method, query: state.query, contentType: HeaderList.values(state.requestHeaders, "Content-Type").first, body: body)
                document = try request.document()
            } catch {
                return requestError([GraphQLError(message: error.message)])
            }
            // Validation against the schema, collecting every field with its parent type for the rules.
            let fields = FieldCollector()
            let errors = validate(schema: api.schema, ast: document, rules: specifiedRules + [fields.rule])
            if !errors.isEmpty { return requestError(errors) }
            // Fail closed: every field must be looked at by the rules.
            if fields.overflowed {
                return requestError([GraphQLError(message: "The query has more than \(FieldCollector.limit) fields.")])
            }
            guard let operation = GraphQLOperations.select(document, name: request.operationName) else {
                return requestError([GraphQLError(message: request.operationName.map { "Unknown operation named '\($0)'." }
                    ?? "Must provide operation name if query contains multiple operations.")])
            }
            let depth = GraphQLOperations.depth(operation, fragments: GraphQLOperations.fragments(document), limit: maxDepth)
            if depth > maxDepth {
                return requestError([GraphQLError(message: "The query exceeds the maximum depth of \(maxDepth).")])
            }
            // Authorization: the first rule that applies and does not say `ignore` decides.
            var actions: [Int: String] = [:]
            var removals: [(start: Int, end: Int)] = []
            var fieldErrors: [GraphQLError] = []
            let roots = Set([api.schema.queryType?.name, api.schema.mutationType?.name, api.schema.subscriptionType?.name].compactMap { $0 })
            for field in fields.collected {
                for (index, rule) in rules.enumerated() {
                    let applies = rule.type.map { ValidateGraphQLRequestPolicy.matches($0, field.parent) && ValidateGraphQLRequestPolicy.matches(rule.field, field.name) }
                        ?? (roots.contains(field.parent) && ValidateGraphQLRequestPolicy.matches(rule.field, field.name))
                    guard applies else { continue }
                    let action: String
                    if let known = actions[index] { action = known } else {
                        action = try execution.string(rule.action, step).trimmingCharacters(in: .whitespaces).lowercased()
                        actions[index] = action
                    }
                    if action == "ignore" { continue }
                    if action == "reject" {
                        return requestError([GraphQLError(
                            message: "The field '\(field.parent).\(field.name)' is not authorized (rule '\(rule.path)').", locations: field.locations)])
                    }
                    if action == "remove" {
                        removals.append((field.start, field.end))
                        fieldErrors.append(GraphQLError(
                            message: "The field '\(field.parent).\(field.name)' was removed: it is not authorized (rule '\(rule.path)').",
                            locations: field.locations))
                    } else if action != "allow" {
                        throw PolicyFailure.expression(step.name, "'\(action)' is not an action of validate-graphql-request (allow, remove, reject, ignore).")
                    }
                    break
                }
            }
            guard !removals.isEmpty else { return .proceed }
            // The removed fields are cut out of the document's text; what is left must still be a valid request.
            let rewritten = Self.removing(removals, from: request.query)
            var edited = request
            edited.query = rewritten
            do {
                let check = try edited.document()
                let remaining = validate(schema: api.schema, ast: check)
                if let first = remaining.first { throw GraphQLOperationRequest.Problem(message: first.message) }
            } catch {
                return requestError(fieldErrors + [GraphQLError(message: "Nothing valid is left of the request once unauthorized fields are removed.")])
            }
            record(fieldErrors, variable: variable, state)
            switch request.form {
            case .json: state.requestBody = MessageBodyObject(Array(request.json(query: rewritten).utf8))
            case .graphQLBody: state.requestBody = MessageBodyObject(Array(rewritten.utf8))
            case .queryString: state.query = state.query.map { $0.name == "query" ? (name: "query", value: rewritten) : $0 }
            }
            state.record(.info, "validate-graphql-request: \(removals.count) field(s) removed")
            return .proceed
        }

        /// The text without the given UTF-8 ranges (fields, with their selections).
        static func removing(_ ranges: [(start: Int, end: Int)], from text: String) -> String {
            let bytes = Array(text.utf8)
            var keep = [Bool](repeating: true, count: bytes.count)
            for range in ranges where range.start >= 0 && range.start <= range.end && range.end <= bytes.count {
                for index in range.start..<range.end { keep[index] = false }
            }
            var result: [UInt8] = []
            result.reserveCapacity(bytes.count)
            for (index, byte) in bytes.enumerated() where keep[index] { result.append(byte) }
            return String(decoding: result, as: UTF8.self)
        }

        /// Appends the errors (as JSON objects) to `GraphQLErrors` and to the named variable.
        func record(_ errors: [GraphQLError], variable: String?, _ state: RequestState) {
            guard !errors.isEmpty else { return }
            let texts = errors.map(GraphQLJSON.errorText)
            for name in Set(["GraphQLErrors"] + (variable.map { [$0] } ?? [])) {
                var items: [JToken] = []
                if case .json(let existing)? = state.variables[.string(name)], case .array(let old) = existing.storage { items = old }
                for text in texts { if let token = try? JToken.parse(json: text) { items.append(token) } }
                state.variables.set(.string(name), .json(JToken.array(items)))
            }
        }
    }

    func compile(_ compiler: inout StepCompiler, _ statement: PolicyStatement) -> (any WaitingPolicyStep)? {
        compiler.policyReadsRequestBody = true
        var variable: RuntimeParameter<String>? = nil
        if let given = errorVariableName {
            guard let made = compiler.parameter(given) else { return nil }
            variable = made
        }
        guard let maxSize = compiler.parameter(maxSize), let maxDepth = compiler.parameter(maxDepth) else { return nil }
        var compiled: [(type: String?, field: String, path: String, action: RuntimeParameter<String>)] = []
        for rule in rules {
            let action: PolicyParameter<String>
            switch rule.action {
            case .constant(let value): action = .constant(value.rawValue)
            case .expression(let expression): action = .expression(expression)
            }
            guard let made = compiler.parameter(action) else { return nil }
            compiled.append((rule.type, rule.field, rule.path, made))
        }
        return Step(errorVariableName: variable, maxSize: maxSize, maxDepth: maxDepth, rules: compiled)
    }
}

/// A validation rule that only records each field with its parent type and its place in the text.
final class FieldCollector: Sendable {
    struct Collected: Sendable {
        let parent: String
        let name: String
        let start: Int
        let end: Int
        let locations: [SourceLocation]
    }

    private let fields = Mutex<(items: [Collected], overflowed: Bool)>(([], false))
    /// At most this many fields are collected (a 100 KB request has fewer); past that the request is refused.
    static let limit = 60_000

    var collected: [Collected] { fields.withLock { $0.items } }
    var overflowed: Bool { fields.withLock { $0.overflowed } }

    var rule: @Sendable (ValidationContext) -> Visitor {
        { [self] context in
            Visitor(enter: { node, _, _, _, _ in
                guard let field = node as? Field, let parent = context.parentType, let loc = field.loc else { return .continue }
                let line = loc.startToken.line, column = loc.startToken.column
                let item = Collected(parent: parent.name, name: field.name.value, start: loc.start, end: loc.end,
                                     locations: [SourceLocation(line: line, column: column)])
                self.fields.withLock { if $0.items.count < Self.limit { $0.items.append(item) } else { $0.overflowed = true } }
                return .continue
            })
        }
    }
}
