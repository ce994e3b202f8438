import Foundation
import GraphQL
import PolicyExpressions
import Synchronization

/// A GraphQL API: its schema (SDL, built once at load) and, for a synthetic API, its resolvers — one compiled
/// resolver document per `Type.field`. A pass-through API (no resolvers) forwards the request to its GraphQL
/// backend; a synthetic one executes it in the gateway: each field with a resolver runs its resolver document
/// (`http-data-source`), the others take the member of the parent's value of the same name.
public final class GraphQLAPI: Sendable {
    public let schema: GraphQLSchema
    /// Compiled resolver documents by `Type.field`.
    let resolvers: [String: PolicyPipeline]
    /// Whether `forward-request` executes the query here (the API has resolvers) instead of calling a backend.
    public let isSynthetic: Bool
    /// Where `publish-event` delivers (shared by the API's resolvers).
    public let events: GraphQLEventHub
    /// Bounds of one execution.
    let limits: Limits

    public struct Limits: Sendable {
        /// Resolver documents run for one request at most (a list of parents runs one per item).
        public var maximumResolverCalls = 1_000
        /// The largest data-source answer a resolver reads.
        public var maximumResolverBodyBytes = 4 << 20
        public init() {}
    }

    /// A resolver document to load: `type`.`field` resolved by the document `text` (from `file`).
    public struct ResolverDocument: Sendable {
        public let type: String
        public let field: String
        public let text: String
        public let file: String
        public init(type: String, field: String, text: String, file: String) {
            self.type = type
            self.field = field
            self.text = text
            self.file = file
        }
    }

    public struct LoadError: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    init(schema: GraphQLSchema, resolvers: [String: PolicyPipeline], isSynthetic: Bool, events: GraphQLEventHub, limits: Limits) {
        self.schema = schema
        self.resolvers = resolvers
        self.isSynthetic = isSynthetic
        self.events = events
        self.limits = limits
    }

    /// Builds the schema from SDL and compiles the resolvers (each checked against the schema: its type and
    /// field exist; `publish-event` targets are fields of the subscription type). With `resolvers` empty and
    /// `synthetic` false, the API is a pass-through one.
    public static func load(
        schema sdl: String, schemaFile: String, resolvers documents: [ResolverDocument], synthetic: Bool,
        loader: PolicyLoader, options: PolicyPipelineOptions, limits: Limits = Limits()
    ) throws -> GraphQLAPI {
        guard GraphQLOperationRequest.nesting(sdl, limit: 256) <= 256 else {
            throw LoadError(description: "\(schemaFile): the schema is nested deeper than 256 levels")
        }
        let schema: GraphQLSchema
        do { schema = try buildSchema(source: sdl) } catch let error as GraphQLError {
            throw LoadError(description: "\(schemaFile): invalid GraphQL schema: \(error.message)"
                + (error.locations.first.map { " (line \($0.line), column \($0.column))" } ?? ""))
        } catch {
            throw LoadError(description: "\(schemaFile): invalid GraphQL schema: \(error)")
        }
        let events = GraphQLEventHub()
        // What the resolvers' own pipelines see: the schema and the hub, never the executor (no recursion).
        var resolverOptions = options
        resolverOptions.graphQL = GraphQLAPI(schema: schema, resolvers: [:], isSynthetic: false, events: events, limits: limits)
        var resolvers: [String: PolicyPipeline] = [:]
        var problems: [String] = []
        let subscriptionFields = Set((try? schema.subscriptionType?.fields().keys.map { $0 }) ?? [])
        for document in documents {
            let key = "\(document.type).\(document.field)"
            guard let type = schema.getType(name: document.type) as? GraphQLObjectType else {
                problems.append("\(document.file): resolver for '\(key)': the schema has no object type '\(document.type)'")
                continue
            }
            guard (try? type.fields()[document.field]) != nil else {
                problems.append("\(document.file): resolver for '\(key)': the type '\(document.type)' has no field '\(document.field)'")
                continue
            }
            guard resolvers[key] == nil else {
                problems.append("\(document.file): a second resolver for '\(key)'")
                continue
            }
            do {
                let (pipeline, targets) = try loadResolver(document.text, file: document.file, loader: loader, options: resolverOptions)
                for target in targets where !subscriptionFields.contains(target) {
                    problems.append("\(document.file): publish-event target '\(target)' is not a field of the schema's subscription type")
                }
                resolvers[key] = pipeline
            } catch {
                problems.append("\(error)")
            }
        }
        guard problems.isEmpty else { throw LoadError(description: problems.joined(separator: "\n")) }
        let api = GraphQLAPI(schema: schema, resolvers: resolvers, isSynthetic: synthetic || !resolvers.isEmpty, events: events, limits: limits)
        api.attachResolvers()
        return api
    }

    /// Loads and compiles one resolver document (root `<http-data-source>`); returns its pipeline and the
    /// subscriptions its `publish-event`s target.
    static func loadResolver(_ text: String, file: String, loader: PolicyLoader, options: PolicyPipelineOptions) throws
        -> (PolicyPipeline, [String])
    {
        let root = try loader.readXML(text, file: file)
        let context = PolicyParsingContext(
            compiler: loader.compiler, skipUnsupportedPolicies: false, scope: .api, maximumDepth: loader.options.limits.maximumElementDepth)
        if !resolverRoots.contains(root.name) {
            context.error(
                at: root.position,
                "a resolver document's root is '<http-data-source>' (or '<cosmosdb-data-source>', '<sql-data-source>'), not '<\(root.name)>'")
        }
        let statements = context.statements([root], section: nil, parentPath: "", allowsBase: false)
        guard context.errorCount == 0 else { throw PolicyLoadError(diagnostics: context.diagnostics.map(loader.redacted)) }
        var targets: [String] = []
        for statement in statements {
            var response: [PolicyStatement] = []
            if case .httpDataSource(let source) = statement.policy { response = source.response ?? [] }
            if case .cosmosDBDataSource(let source) = statement.policy { response = source.response ?? [] }
            for inner in response { if case .publishEvent(let event) = inner.policy { targets += event.targets } }
        }
        let scoped = ScopedPolicy(
            scope: .api, file: file, sections: [.inbound: statements], warnings: context.diagnostics.map(loader.redacted),
            secrets: loader.options.namedValues.secrets)
        return (try PolicyPipeline(EffectivePolicy.merge([scoped]), options: options), targets)
    }

    /// A resolver document compiled on its own (no schema to check it against): what `drawbridge policy` tools
    /// and the reference corpus load.
    public static func resolverPipeline(_ text: String, file: String, loader: PolicyLoader, options: PolicyPipelineOptions) throws
        -> PolicyPipeline
    {
        try loadResolver(text, file: file, loader: loader, options: options).0
    }

    /// The root elements of resolver documents.
    public static let resolverRoots: Set<String> = ["http-data-source", "cosmosdb-data-source", "sql-data-source"]

    /// Whether a document's text is a resolver document (its root element is a resolver policy).
    public static func isResolverDocument(_ text: String) -> Bool {
        var rest = Substring(text)
        while true {
            rest = rest.drop { $0.isWhitespace }
            if rest.hasPrefix("<?") || rest.hasPrefix("<!--") {
                guard let end = rest.range(of: rest.hasPrefix("<?") ? "?>" : "-->") else { return false }
                rest = rest[end.upperBound...]
                continue
            }
            return resolverRoots.contains { rest.hasPrefix("<\($0)>") || rest.hasPrefix("<\($0) ") || rest.hasPrefix("<\($0)\n") || rest.hasPrefix("<\($0)\r") }
        }
    }

    /// Gives every field of every object type the resolver: its document if it has one, otherwise the member
    /// of the parent's value of the field's name. Done once, at load, before the schema is shared.
    private func attachResolvers() {
        let table = resolvers
        for (_, named) in schema.typeMap {
            guard let object = named as? GraphQLObjectType, !object.name.hasPrefix("__") else { continue }
            let typeName = object.name
            let original = object.fields
            object.fields = {
                let map = try original()
                for (fieldName, field) in map {
                    let document = table["\(typeName).\(fieldName)"]
                    field.resolve = { source, arguments, context, info in
                        if let document {
                            guard let resolution = context as? GraphQLResolution else { return nil }
                            return try await resolution.resolve(document, arguments: arguments, parent: source, info: info)
                        }
                        return (source as? GraphQLJSON.Object)?[info.fieldName] ?? nil
                    }
                }
                return map
            }
        }
    }

    // MARK: Execution

    /// Executes a GraphQL request that the API's pipeline forwards (synthetic APIs): the answer is
    /// `{"data": …, "errors": […]}` with status 200 (a request that is not GraphQL, or not valid: 400 and
    /// `errors` only).
    func execute(_ request: BackendRequest, client: PolicyRequest, backend: any PolicyBackend) async -> BackendResponse {
        func answer(_ status: Int, _ json: String) -> BackendResponse {
            BackendResponse(
                status: status, reason: HTTPReason.phrase(status), headers: [PolicyHeader("Content-Type", "application/json")],
                body: BufferedBody(json))
        }
        var bytes: [UInt8] = []
        if case .bytes(let given) = request.body { bytes = given }
        let url = request.url
        let query = URLComponents(url: url, resolvingAgainstBaseURL: false)?.queryItems?.map { (name: $0.name, value: $0.value ?? "") } ?? []
        let operation: GraphQLOperationRequest
        let document: Document
        do {
            operation = try GraphQLOperationRequest.read(
                method: request.method, query: query, contentType: HeaderList.values(request.headers, "Content-Type").first, body: bytes)
            document = try operation.document()
        } catch {
            return answer(400, GraphQLJSON.errorsDocument([GraphQLError(message: error.message)]))
        }
        let errors = validate(schema: schema, ast: document)
        guard errors.isEmpty else { return answer(400, GraphQLJSON.errorsDocument(errors)) }
        if let chosen = GraphQLOperations.select(document, name: operation.operationName), chosen.operation == .subscription {
            return answer(400, GraphQLJSON.errorsDocument([GraphQLError(
                message: "Subscriptions are served over WebSocket (graphql-ws), which this gateway does not offer yet.")]))
        }
        let resolution = GraphQLResolution(request: request, client: client, backend: backend, limits: limits)
        let result: GraphQLResult
        do {
            result = try await GraphQL.execute(
                schema: schema, documentAST: document, rootValue: GraphQLJSON.Object(), context: resolution,
                variableValues: operation.variableValues, operationName: operation.operationName)
        } catch let error as GraphQLError {
            return answer(400, GraphQLJSON.errorsDocument([error]))
        } catch {
            return answer(500, GraphQLJSON.errorsDocument([GraphQLError(message: "\(error)")]))
        }
        var text = "{"
        if let data = result.data { text += "\"data\":\(GraphQLJSON.text(map: data))" }
        if !result.errors.isEmpty {
            text += (text.count > 1 ? "," : "") + "\"errors\":[" + result.errors.map(GraphQLJSON.errorText).joined(separator: ",") + "]"
        }
        return answer(200, text + "}")
    }
}

/// What one execution's resolvers share: the forwarded request (whose headers and URL the resolvers'
/// `context.Request` shows), the client's, the backend that calls data sources, and the call budget.
final class GraphQLResolution: Sendable {
    let request: BackendRequest
    let client: PolicyRequest
    let backend: any PolicyBackend
    let limits: GraphQLAPI.Limits
    private let calls = Mutex(0)

    init(request: BackendRequest, client: PolicyRequest, backend: any PolicyBackend, limits: GraphQLAPI.Limits) {
        self.request = request
        self.client = client
        self.backend = backend
        self.limits = limits
    }

    func resolve(_ document: PolicyPipeline, arguments: Map, parent: any Sendable, info: GraphQLResolveInfo) async throws -> (any Sendable)? {
        let admitted = calls.withLock { count -> Bool in
            guard count < limits.maximumResolverCalls else { return false }
            count += 1
            return true
        }
        guard admitted else { throw ResolverFailure(description: "More than \(limits.maximumResolverCalls) resolver calls in one request.") }
        let argumentsText = GraphQLJSON.text(GraphQLJSON.value(arguments))
        let parentText = GraphQLJSON.text(parent as? GraphQLJSON.Object ?? GraphQLJSON.Object())
        var policyRequest = client
        policyRequest.method = request.method
        policyRequest.headers = request.headers
        policyRequest.graphQL = PolicyGraphQLField(arguments: argumentsText, parent: parentText, typeName: info.parentType.name, fieldName: info.fieldName)
        HeaderList.set(&policyRequest.headers, "Content-Type", "application/json")
        let body = "{\"arguments\":\(argumentsText),\"parent\":\(parentText)}"
        let result = await document.run(policyRequest, body: BufferedBody(body), backend: backend)
        if let error = result.lastError {
            // The client learns the reason only (`BackendConnectionFailure`, `Timeout`, …): the message can name
            // internal hosts. The whole error is in the resolver run's trace.
            throw ResolverFailure(description: "The resolver of '\(info.parentType.name).\(info.fieldName)' failed: \(error.reason)")
        }
        let bytes: [UInt8]
        switch result.body {
        case .bytes(let given): bytes = given
        case .backend(let source): bytes = try await source.collect(upTo: limits.maximumResolverBodyBytes)
        }
        let text = String(decoding: bytes, as: UTF8.self)
        if let value = GraphQLJSON.parse(text) { return value }
        return text
    }
}

/// A field error (the executor adds the field's path and location to it).
struct ResolverFailure: Error, CustomStringConvertible {
    let description: String
}

/// What a resolver's expressions see as `context.GraphQL`: the field's arguments and its parent's value
/// (JSON texts, read as `JObject`s when first used).
public struct PolicyGraphQLField: Sendable {
    public let arguments: String
    public let parent: String
    public let typeName: String
    public let fieldName: String
    public init(arguments: String, parent: String, typeName: String, fieldName: String) {
        self.arguments = arguments
        self.parent = parent
        self.typeName = typeName
        self.fieldName = fieldName
    }
}

/// One event `publish-event` published: the subscription field and the resolver's answer (JSON text).
public struct GraphQLEvent: Sendable, Equatable {
    public let subscription: String
    public let json: String
}

/// The API's subscribers, by subscription field. Each subscriber's stream keeps the newest 64 events
/// (a slow subscriber loses old ones rather than growing without bound).
public final class GraphQLEventHub: Sendable {
    private let subscribers = Mutex<[String: [UUID: AsyncStream<GraphQLEvent>.Continuation]]>([:])
    /// At most this many subscribers per API.
    static let maximumSubscribers = 10_000

    public init() {}

    /// Events published to `subscription` from now on, until the stream is dropped.
    public func subscribe(_ subscription: String) -> AsyncStream<GraphQLEvent> {
        let (stream, continuation) = AsyncStream<GraphQLEvent>.makeStream(bufferingPolicy: .bufferingNewest(64))
        let id = UUID()
        let admitted = subscribers.withLock { table -> Bool in
            guard table.values.reduce(0, { $0 + $1.count }) < Self.maximumSubscribers else { return false }
            table[subscription, default: [:]][id] = continuation
            return true
        }
        guard admitted else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            self?.subscribers.withLock { table in
                table[subscription]?[id] = nil
                if table[subscription]?.isEmpty == true { table[subscription] = nil }
            }
        }
        return stream
    }

    /// Delivers an event; returns how many subscribers it reached.
    @discardableResult
    public func publish(_ event: GraphQLEvent) -> Int {
        let targets = subscribers.withLock { Array(($0[event.subscription] ?? [:]).values) }
        for continuation in targets { continuation.yield(event) }
        return targets.count
    }
}

/// A backend that executes a synthetic GraphQL API's requests (what its `forward-request` reaches); data
/// sources are called through `inner`.
struct GraphQLExecutorBackend: PolicyBackend {
    let api: GraphQLAPI
    let client: PolicyRequest
    let inner: any PolicyBackend

    func send(_ request: BackendRequest) async throws -> BackendResponse {
        await api.execute(request, client: client, backend: inner)
    }
}
