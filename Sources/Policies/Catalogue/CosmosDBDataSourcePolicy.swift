import Crypto
import Foundation
import PolicyExpressions

/// `<cosmosdb-data-source>`: the root of a GraphQL resolver document resolving a field from a Cosmos DB container
/// through its REST API (the SQL API: `{AccountEndpoint}/dbs/{db}/colls/{container}/docs[/{id}]`, `x-ms-version`
/// 2018-12-31). `<connection-info>`: `<connection-string>` (`AccountEndpoint=…;AccountKey=…;`, read at load: the key
/// signs each request with the master-key HMAC; or `use-managed-identity="true"`: an Entra token for
/// `https://cosmos.azure.com` from the gateway's managed-identity endpoint), `<database-name>`, `<container-name>`.
/// One of `<query-request>` (`<sql-statement>`, `<parameters>`, `<partition-key>`, `<paging>`), `<read-request>`,
/// `<delete-request>`, `<write-request type="insert|replace|upsert">` (`<id>`, `<partition-key data-type>`, `<etag>`,
/// `<set-body>`; triggers and consistency level as headers). `<response>` runs `set-body` and `publish-event` on the
/// answer. A query's field value is the `Documents` array; a read or write's, the item.
public struct CosmosDBDataSourcePolicy: Sendable, PolicyDefinition {
    public enum Kind: String, Sendable { case query, read, delete, write }

    public struct PartitionKey: Sendable {
        public let value: PolicyParameter<String>?
        public let dataType: String
    }

    public let endpoint: URL
    /// The account key (base64-decoded at load); nil with a managed identity.
    let key: [UInt8]?
    public let useManagedIdentity: Bool
    public let database: String
    public let container: String
    public let kind: Kind
    public let sql: PolicyParameter<String>?
    public let parameters: [(name: String, value: PolicyParameter<String>)]
    public let id: PolicyParameter<String>?
    public let partitionKey: PartitionKey?
    public let etag: PolicyParameter<String>?
    /// `match` (If-Match) or `no-match` (If-None-Match).
    public let etagType: String
    public let maxItemCount: PolicyParameter<String>?
    public let continuationToken: PolicyParameter<String>?
    public let writeType: String
    public let consistencyLevel: String?
    public let preTrigger: String?
    public let postTrigger: String?
    public let indexingDirective: String?
    public let lowPrecisionOrderBy: Bool?
    public let body: SetBodyPolicy?
    public let response: [PolicyStatement]?

    static let schema = PolicySchema(
        "cosmosdb-data-source", sections: [],
        children: .elements(["connection-info", "query-request", "read-request", "delete-request", "write-request", "response"]))
    static let connectionSchema = PolicySchema("connection-info", children: .elements(["connection-string", "database-name", "container-name"]))
    static let connectionStringSchema = PolicySchema(
        "connection-string", attributes: [PolicyAttributeSpec("use-managed-identity", .boolean, default: "false", expressions: false)], allowsText: true)
    static func textSchema(_ name: String) -> PolicySchema {
        PolicySchema(name, attributes: [PolicyAttributeSpec("template", .choice(["liquid"]), expressions: false)], allowsText: true)
    }
    static let partitionKeySchema = PolicySchema(
        "partition-key",
        attributes: [
            PolicyAttributeSpec("data-type", .choice(["string", "number", "bool", "none", "null"]), default: "string", expressions: false),
            PolicyAttributeSpec("template", .choice(["liquid"]), expressions: false),
        ], allowsText: true)
    static let etagSchema = PolicySchema(
        "etag",
        attributes: [
            PolicyAttributeSpec("type", .choice(["match", "no-match"]), default: "match", expressions: false),
            PolicyAttributeSpec("template", .choice(["liquid"]), expressions: false),
        ], allowsText: true)
    static let consistencyLevels = ["bounded-staleness", "consistent-prefix", "eventual", "session", "strong"]
    static func requestSchema(_ kind: Kind) -> PolicySchema {
        var attributes: [PolicyAttributeSpec] = []
        var children: [String] = []
        switch kind {
        case .query:
            attributes = [PolicyAttributeSpec("enable-low-precision-order-by", .boolean, expressions: false)]
            children = ["sql-statement", "parameters", "partition-key", "paging"]
        case .read:
            children = ["id", "partition-key"]
        case .delete, .write:
            attributes = [
                PolicyAttributeSpec("consistency-level", .choice(consistencyLevels), expressions: false),
                PolicyAttributeSpec("pre-trigger", .nonEmptyText, expressions: false),
                PolicyAttributeSpec("post-trigger", .nonEmptyText, expressions: false),
            ]
            children = ["id", "partition-key", "etag"]
            if kind == .write {
                attributes += [
                    PolicyAttributeSpec("type", .choice(["insert", "replace", "upsert"]), default: "upsert", expressions: false),
                    PolicyAttributeSpec("indexing-directive", .choice(["default", "include", "exclude"]), expressions: false),
                ]
                children.append("set-body")
            }
        }
        return PolicySchema("\(kind.rawValue)-request", attributes: attributes, children: .elements(children))
    }
    static let parametersSchema = PolicySchema("parameters", children: .elements(["parameter"]))
    static let parameterSchema = PolicySchema(
        "parameter", attributes: [PolicyAttributeSpec("name", .nonEmptyText, required: true, expressions: false)], allowsText: true,
        textType: .any)
    static let pagingSchema = PolicySchema("paging", children: .elements(["max-item-count", "continuation-token"]))
    static let responseSchema = PolicySchema("response", children: .elements(["set-body", "publish-event"]))

    static func parse(_ reader: PolicyElementReader) -> Policy? {
        let element = reader.element
        for name in ["connection-info", "response"] { reader.atMostOne(name) }
        func first(_ name: String, in parent: PolicyXMLElement) -> PolicyXMLElement? { parent.childElements.first { $0.name == name } }
        // A text child (`<id>`, `<sql-statement>`, …): literal or expression; Liquid templates are refused by name.
        func text(_ reader: PolicyElementReader, _ name: String, required: Bool = false, mayBeEmpty: Bool = false) -> PolicyParameter<String>? {
            reader.atMostOne(name)
            guard let child = first(name, in: reader.element) else {
                if required { reader.error("\(reader.tag) requires '<\(name)>'") }
                return nil
            }
            let childReader = reader.child(child, textSchema(name))
            return literalOrExpression(childReader, mayBeEmpty: mayBeEmpty)
        }
        func literalOrExpression(_ childReader: PolicyElementReader, mayBeEmpty: Bool = false) -> PolicyParameter<String>? {
            if childReader.element.attribute("template") != nil {
                childReader.error("'template=\"liquid\"' on \(childReader.tag) is not supported yet by Drawbridge (write the value or an expression)")
                return nil
            }
            switch childReader.text {
            case .constant(let value)?: return .constant(value.trimmingCharacters(in: .whitespacesAndNewlines))
            case let other?: return other
            case nil:
                if mayBeEmpty { return .constant("") }
                childReader.error("\(childReader.tag) requires its value as text")
                return nil
            }
        }
        // Connection.
        var endpoint: URL? = nil
        var key: [UInt8]? = nil
        var managed = false
        var database = "", container = ""
        if let info = first("connection-info", in: element) {
            let infoReader = reader.child(info, connectionSchema)
            for name in ["connection-string", "database-name", "container-name"] { infoReader.atMostOne(name) }
            if let stringElement = first("connection-string", in: info) {
                let stringReader = infoReader.child(stringElement, connectionStringSchema)
                managed = stringReader.literal("use-managed-identity").flatMap(PolicyAttributeType.boolean) ?? false
                if case .constant(let text)? = stringReader.text {
                    (endpoint, key) = connection(text, managed: managed, stringReader)
                } else {
                    stringReader.error("'<connection-string>' must be literal text (named values are fine), not an expression")
                }
            } else {
                infoReader.error("'<connection-info>' requires '<connection-string>'")
            }
            for (name, target) in [("database-name", 0), ("container-name", 1)] {
                guard let child = first(name, in: info) else {
                    infoReader.error("'<connection-info>' requires '<\(name)>'")
                    continue
                }
                let childReader = infoReader.child(child, PolicySchema(name, allowsText: true))
                guard case .constant(let value)? = childReader.text, !value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                    childReader.error("'<\(name)>' requires a literal name")
                    continue
                }
                let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
                guard !trimmed.contains("/"), !trimmed.contains("?"), !trimmed.contains("#") else {
                    childReader.error("'<\(name)>' must not contain '/', '?' or '#'")
                    continue
                }
                if target == 0 { database = trimmed } else { container = trimmed }
            }
        } else {
            reader.error("'<cosmosdb-data-source>' requires '<connection-info>'")
        }
        // The one request.
        let requests = element.childElements.filter { ["query-request", "read-request", "delete-request", "write-request"].contains($0.name) }
        guard requests.count == 1, let requestElement = requests.first, let kind = Kind(rawValue: String(requestElement.name.dropLast("-request".count)))
        else {
            reader.error("'<cosmosdb-data-source>' requires exactly one of '<query-request>', '<read-request>', '<delete-request>', '<write-request>'")
            return nil
        }
        let request = reader.child(requestElement, requestSchema(kind))
        var sql: PolicyParameter<String>? = nil
        var parameters: [(name: String, value: PolicyParameter<String>)] = []
        var maxItemCount: PolicyParameter<String>? = nil
        var continuation: PolicyParameter<String>? = nil
        var id: PolicyParameter<String>? = nil
        var etag: PolicyParameter<String>? = nil
        var etagType = "match"
        var body: SetBodyPolicy? = nil
        if kind == .query {
            sql = text(request, "sql-statement")
            request.atMostOne("parameters")
            if let list = first("parameters", in: requestElement) {
                for parameter in request.child(list, parametersSchema).children(named: "parameter", parameterSchema) {
                    guard let name = parameter.literal("name") else { continue }
                    guard name.hasPrefix("@"), name.count > 1 else {
                        parameter.error(attribute: "name", "a query parameter's name starts with '@' (got \(parameter.quote(name, attribute: "name")))")
                        continue
                    }
                    if let value = literalOrExpression(parameter) { parameters.append((name, value)) }
                }
            }
            request.atMostOne("paging")
            if let paging = first("paging", in: requestElement) {
                let pagingReader = request.child(paging, pagingSchema)
                maxItemCount = text(pagingReader, "max-item-count", required: true)
                // Empty for the first page.
                continuation = text(pagingReader, "continuation-token", required: true, mayBeEmpty: true)
            }
        } else {
            id = text(request, "id", required: kind != .write)
        }
        var partitionKey: PartitionKey? = nil
        request.atMostOne("partition-key")
        if let keyElement = first("partition-key", in: requestElement) {
            let keyReader = request.child(keyElement, partitionKeySchema)
            let dataType = keyReader.literal("data-type") ?? "string"
            let value = dataType == "none" || dataType == "null" ? nil : literalOrExpression(keyReader)
            partitionKey = PartitionKey(value: value, dataType: dataType)
        }
        if kind == .delete || kind == .write {
            request.atMostOne("etag")
            if let etagElement = first("etag", in: requestElement) {
                let etagReader = request.child(etagElement, etagSchema)
                etagType = etagReader.literal("type") ?? "match"
                etag = literalOrExpression(etagReader)
            }
        }
        if kind == .write {
            request.atMostOne("set-body")
            if let bodyElement = first("set-body", in: requestElement) {
                body = SetBodyPolicy.make(request.child(bodyElement, SetBodyPolicy.schema))
            }
            if request.literal("type") == "replace", id == nil { request.error("'<write-request type=\"replace\">' requires '<id>'") }
        }
        // Trigger names go into headers: printable ASCII only.
        for name in ["pre-trigger", "post-trigger"] {
            if let value = request.literal(name), !value.unicodeScalars.allSatisfy({ $0.value >= 0x21 && $0.value < 0x7F }) {
                request.error(attribute: name, "the '\(name)' of \(request.tag) must be a trigger id (printable ASCII, no spaces)")
            }
        }
        // The response.
        var response: [PolicyStatement]? = nil
        if let responseElement = first("response", in: element) {
            let responseReader = reader.child(responseElement, responseSchema)
            var statements: [PolicyStatement] = []
            for child in responseElement.childElements {
                if child.name == "publish-event" {
                    if let policy = PublishEventPolicy.parse(responseReader.child(child, PublishEventPolicy.schema)) {
                        statements.append(PolicyStatement(
                            policy: policy, name: child.name, id: nil, path: "\(responseReader.path)/publish-event[1]", scope: reader.context.scope,
                            position: child.position, element: child))
                    }
                } else if child.name == "set-body" {
                    statements += reader.context.statements([child], section: .outbound, parentPath: responseReader.path, allowsBase: false)
                }
            }
            response = statements
        }
        guard reader.isValid, let endpoint else { return nil }
        return .cosmosDBDataSource(
            CosmosDBDataSourcePolicy(
                endpoint: endpoint, key: key, useManagedIdentity: managed, database: database, container: container, kind: kind, sql: sql,
                parameters: parameters, id: id, partitionKey: partitionKey, etag: etag, etagType: etagType, maxItemCount: maxItemCount,
                continuationToken: continuation, writeType: request.literal("type") ?? "upsert", consistencyLevel: request.literal("consistency-level"),
                preTrigger: request.literal("pre-trigger"), postTrigger: request.literal("post-trigger"),
                indexingDirective: request.literal("indexing-directive"),
                lowPrecisionOrderBy: request.literal("enable-low-precision-order-by").flatMap(PolicyAttributeType.boolean), body: body,
                response: response))
    }

    /// `AccountEndpoint=https://…;AccountKey=…;` (whitespace inside is ignored: the reference breaks the endpoint over
    /// two lines). The key is required unless a managed identity is used, and must be base64.
    static func connection(_ text: String, managed: Bool, _ reader: PolicyElementReader) -> (URL?, [UInt8]?) {
        let compact = String(text.unicodeScalars.filter { !CharacterSet.whitespacesAndNewlines.contains($0) }.map(Character.init))
        var fields: [String: String] = [:]
        for part in compact.split(separator: ";") {
            guard let equals = part.firstIndex(of: "=") else { continue }
            fields[part[..<equals].lowercased()] = String(part[part.index(after: equals)...])
        }
        guard let endpointText = fields["accountendpoint"], let url = PolicyAttributeType.absoluteURL(endpointText) else {
            reader.error("'<connection-string>' requires 'AccountEndpoint=' with an absolute http or https URL")
            return (nil, nil)
        }
        if managed { return (url, nil) }
        guard let keyText = fields["accountkey"] else {
            reader.error("'<connection-string>' requires 'AccountKey=' (or use-managed-identity=\"true\")")
            return (url, nil)
        }
        guard let decoded = Data(base64Encoded: keyText), !decoded.isEmpty else {
            reader.error("the 'AccountKey' of '<connection-string>' is not base64")
            return (url, nil)
        }
        return (url, Array(decoded))
    }
}

// MARK: Run

extension CosmosDBDataSourcePolicy {
    struct Step: WaitingPolicyStep {
        let policy: CosmosDBDataSourcePolicy
        let sql: RuntimeParameter<String>?
        let parameters: [(name: String, value: RuntimeParameter<String>)]
        let id: RuntimeParameter<String>?
        let partitionKey: RuntimeParameter<String>?
        let etag: RuntimeParameter<String>?
        let maxItemCount: RuntimeParameter<String>?
        let continuation: RuntimeParameter<String>?
        let body: RuntimeParameter<String>??
        let managedIdentity: AuthenticationManagedIdentityPolicy.Step?
        let response: [CompiledStep]?

        var children: [CompiledStep] { response ?? [] }

        func run(_ execution: PolicyExecution, _ step: CompiledStep) async throws -> Flow {
            let state = execution.state
            let collection = "dbs/\(Self.segment(policy.database))/colls/\(Self.segment(policy.container))"
            var headers: [PolicyHeader] = [PolicyHeader("x-ms-version", "2018-12-31"), PolicyHeader("Accept", "application/json")]
            var method = "GET"
            var link = collection
            var path = "/" + collection + "/docs"
            var bytes: [UInt8] = []
            if let partitionKey = try partitionKeyHeader(execution, step) { headers.append(PolicyHeader("x-ms-documentdb-partitionkey", partitionKey)) }
            switch policy.kind {
            case .query:
                method = "POST"
                headers += [
                    PolicyHeader("Content-Type", "application/query+json"), PolicyHeader("x-ms-documentdb-isquery", "True"),
                ]
                if policy.partitionKey == nil { headers.append(PolicyHeader("x-ms-documentdb-query-enablecrosspartition", "True")) }
                if let low = policy.lowPrecisionOrderBy { headers.append(PolicyHeader("x-ms-documentdb-query-enable-low-precision-order-by", low ? "True" : "False")) }
                if let maxItemCount {
                    let text = try execution.string(maxItemCount, step).trimmingCharacters(in: .whitespaces)
                    guard let count = Int(text), count >= -1 else { throw PolicyFailure.expression(step.name, "'\(text)' is not a max-item-count (-1 or more).") }
                    headers.append(PolicyHeader("x-ms-max-item-count", String(count)))
                }
                if let continuation {
                    let token = try execution.string(continuation, step)
                    if !token.isEmpty {
                        try execution.checkHeaderField(name: "x-ms-continuation", values: [token], step)
                        headers.append(PolicyHeader("x-ms-continuation", token))
                    }
                }
                var query = "{\"query\":\"\(ErrorBody.escape(try sql.map { try execution.string($0, step) } ?? "SELECT * FROM c"))\",\"parameters\":["
                query += try parameters.map { parameter in
                    "{\"name\":\"\(ErrorBody.escape(parameter.name))\",\"value\":\(Self.json(try execution.value(parameter.value, step)))}"
                }.joined(separator: ",")
                bytes = Array((query + "]}").utf8)
            case .read, .delete:
                method = policy.kind == .read ? "GET" : "DELETE"
                let item = try itemID(execution, step)
                link = collection + "/docs/" + Self.segment(item)
                path = "/" + link
            case .write:
                if let body {
                    switch body {
                    case .none: bytes = []
                    case .constant(let text)?: bytes = Array(text.utf8)
                    case .expression(let expression)?: bytes = ValueConversion.bytes(try execution.evaluate(expression, step))
                    }
                } else {
                    // Without set-body, the field's arguments are the item.
                    bytes = Array((state.graphQL?.arguments ?? "{}").utf8)
                }
                headers.append(PolicyHeader("Content-Type", "application/json"))
                if policy.writeType == "replace" {
                    method = "PUT"
                    let item = try itemID(execution, step)
                    link = collection + "/docs/" + Self.segment(item)
                    path = "/" + link
                } else {
                    method = "POST"
                    if policy.writeType == "upsert" { headers.append(PolicyHeader("x-ms-documentdb-is-upsert", "True")) }
                }
                if let directive = policy.indexingDirective { headers.append(PolicyHeader("x-ms-indexing-directive", directive.capitalized)) }
            }
            if policy.kind == .delete || policy.kind == .write {
                if let level = policy.consistencyLevel { headers.append(PolicyHeader("x-ms-consistency-level", Self.consistency(level))) }
                if let trigger = policy.preTrigger { headers.append(PolicyHeader("x-ms-documentdb-pre-trigger-include", trigger)) }
                if let trigger = policy.postTrigger { headers.append(PolicyHeader("x-ms-documentdb-post-trigger-include", trigger)) }
                if let etag {
                    let value = try execution.string(etag, step).trimmingCharacters(in: .whitespaces)
                    try execution.checkHeaderField(name: "If-Match", values: [value], step)
                    headers.append(PolicyHeader(policy.etagType == "match" ? "If-Match" : "If-None-Match", value))
                }
            }
            let date = Self.httpDate(Date())
            headers.append(PolicyHeader("x-ms-date", date))
            headers.append(PolicyHeader("Authorization", try await authorization(method: method, link: link, date: date, execution, step)))
            let base = policy.endpoint.absoluteString.hasSuffix("/") ? String(policy.endpoint.absoluteString.dropLast()) : policy.endpoint.absoluteString
            guard let url = URL(string: base + path) else { throw PolicyFailure.expression(step.name, "the item id makes no valid URL.") }
            state.record(.backend, "cosmosdb-data-source \(method) \(url.absoluteString)")
            let call = PolicyExecution.SideCall(
                request: BackendRequest(method: method, url: url, headers: headers, body: .bytes(bytes), timeout: .seconds(60), followRedirects: false,
                                        clientCertificate: nil),
                timeout: 60)
            switch await execution.performSideCall(call) {
            case .failure(let error):
                throw PolicyExecution.backendFailure(error, timeout: 60, step)
            case .success(let (answer, received)):
                execution.backendCalled = true
                state.status = answer.status
                state.reason = answer.reason
                state.responseHeaders = answer.headers
                var value = received
                if policy.kind == .query, answer.status < 300, let token = try? JToken.parse(json: String(decoding: received, as: UTF8.self)),
                    case .object(let properties) = token.storage, let documents = properties.first(where: { $0.0 == "Documents" })?.1
                {
                    value = Array(GraphQLJSON.text(GraphQLJSON.value(documents)).utf8)
                }
                if policy.kind == .delete, answer.status < 300 { value = Array("null".utf8) }
                state.responseBody = MessageBodyObject(value)
                state.backendBody = nil
                state.record(.backend, "cosmosdb-data-source: Cosmos DB answered \(answer.status)")
                if answer.status >= 400 {
                    throw PolicyFailure(
                        source: step.name, reason: "CosmosDBErrorStatusCode", message: "Cosmos DB answered with status code \(answer.status).",
                        status: 502, clientMessage: "Bad gateway")
                }
            }
            if let response {
                state.section = .outbound
                _ = try await execution.run(response)
            }
            return .stop
        }

        func itemID(_ execution: PolicyExecution, _ step: CompiledStep) throws -> String {
            guard let id else { throw PolicyFailure.expression(step.name, "the request has no '<id>'.") }
            let value = try execution.string(id, step).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !value.isEmpty, value.utf8.count <= 1_024 else { throw PolicyFailure.expression(step.name, "the item id is empty or longer than 1024 bytes.") }
            return value
        }

        /// `["value"]` typed by `data-type` (`[{}]` for none, `[null]` for null).
        func partitionKeyHeader(_ execution: PolicyExecution, _ step: CompiledStep) throws -> String? {
            guard let key = policy.partitionKey else { return nil }
            switch key.dataType {
            case "none": return "[{}]"
            case "null": return "[null]"
            default: break
            }
            guard let partitionKey else { return nil }
            let text = try execution.string(partitionKey, step).trimmingCharacters(in: .whitespacesAndNewlines)
            switch key.dataType {
            case "number":
                guard let number = Double(text), number.isFinite else { throw PolicyFailure.expression(step.name, "the partition key '\(text)' is not a number.") }
                return "[\(GraphQLJSON.text(number))]"
            case "bool":
                guard let flag = PolicyAttributeType.boolean(text) else { throw PolicyFailure.expression(step.name, "the partition key '\(text)' is not a bool.") }
                return flag ? "[true]" : "[false]"
            default:
                return "[\"\(ErrorBody.escape(text))\"]"
            }
        }

        /// The master-key signature (`type=master&ver=1.0&sig=…`) or an Entra token (`type=aad&ver=1.0&sig=…`), URL-encoded.
        func authorization(method: String, link: String, date: String, _ execution: PolicyExecution, _ step: CompiledStep) async throws -> String {
            if let managedIdentity {
                guard let token = try await managedIdentity.token(execution, step) else {
                    throw PolicyFailure.generic(step.name, reason: "ManagedIdentityTokenFailure", "No managed identity token for Cosmos DB.")
                }
                return URLText.encode("type=aad&ver=1.0&sig=\(token)")
            }
            guard let key = policy.key else { throw PolicyFailure.generic(step.name, reason: "CosmosDBKeyMissing", "No account key.") }
            // The resource link: the collection for a query or a create, the item for the others.
            let payload = "\(method.lowercased())\ndocs\n\(link)\n\(date.lowercased())\n\n"
            let signature = HMAC<SHA256>.authenticationCode(for: Array(payload.utf8), using: SymmetricKey(data: key))
            return URLText.encode("type=master&ver=1.0&sig=\(Data(signature).base64EncodedString())")
        }

        /// A name or id as a URL path segment (percent-encoded).
        static func segment(_ text: String) -> String { URLText.encode(text) }

        static func consistency(_ level: String) -> String {
            switch level {
            case "bounded-staleness": "BoundedStaleness"
            case "consistent-prefix": "ConsistentPrefix"
            case "eventual": "Eventual"
            case "session": "Session"
            default: "Strong"
            }
        }

        /// RFC 1123 (`Tue, 01 Nov 1994 08:12:31 GMT`), as the signature and `x-ms-date` take it.
        static func httpDate(_ date: Date) -> String {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
            return formatter.string(from: date)
        }

        /// An expression's value as JSON (a JSON token as it is, text as a string, numbers and bools as such).
        static func json(_ value: Value) -> String {
            switch value {
            case .null: return "null"
            case .bool(let flag): return flag ? "true" : "false"
            case .int(let number): return String(number)
            case .long(let number): return String(number)
            case .double(let number): return number.isFinite ? String(number) : "null"
            case .string(let text): return "\"\(ErrorBody.escape(text))\""
            case .json(let token): return GraphQLJSON.text(GraphQLJSON.value(token))
            default: return "\"\(ErrorBody.escape(String(decoding: ValueConversion.bytes(value), as: UTF8.self)))\""
            }
        }
    }

    func compile(_ compiler: inout StepCompiler, _ statement: PolicyStatement) -> (any WaitingPolicyStep)? {
        func made(_ parameter: PolicyParameter<String>?) -> RuntimeParameter<String>?? {
            guard let parameter else { return .some(nil) }
            guard let compiled = compiler.parameter(parameter) else { return nil }
            return .some(compiled)
        }
        guard let sql = made(sql), let id = made(id), let key = made(partitionKey?.value), let etag = made(etag), let max = made(maxItemCount),
            let continuation = made(continuationToken)
        else { return nil }
        var compiledParameters: [(name: String, value: RuntimeParameter<String>)] = []
        for parameter in parameters {
            guard let value = compiler.parameter(parameter.value) else { return nil }
            compiledParameters.append((parameter.name, value))
        }
        var compiledBody: RuntimeParameter<String>?? = .none
        if let body {
            guard let made = compiler.body(body, at: statement) else { return nil }
            compiledBody = .some(made)
        }
        var managedIdentity: AuthenticationManagedIdentityPolicy.Step? = nil
        if useManagedIdentity {
            let identity = AuthenticationManagedIdentityPolicy(
                resource: .constant("https://cosmos.azure.com"), clientID: nil, outputTokenVariableName: nil, ignoreError: .constant(false))
            guard let step = identity.compile(&compiler) else { return nil }
            managedIdentity = step
        }
        var steps: [CompiledStep]? = nil
        if let response {
            let section = compiler.section
            compiler.section = .outbound
            steps = compiler.steps(response)
            compiler.section = section
        }
        return Step(
            policy: self, sql: sql, parameters: compiledParameters, id: id, partitionKey: key, etag: etag, maxItemCount: max, continuation: continuation,
            body: compiledBody, managedIdentity: managedIdentity, response: steps)
    }
}
