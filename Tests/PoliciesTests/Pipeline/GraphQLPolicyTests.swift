import Foundation
import Testing

@testable import Policies

/// GraphQL APIs through the pipeline: `validate-graphql-request` against the API's schema, and synthetic APIs
/// whose `forward-request` executes the query with `http-data-source` resolvers (data sources played by a
/// backend that answers by URL), `context.GraphQL`, Liquid's `JSONArrayFor`, and `publish-event`.
@Suite struct GraphQLPolicyTests {
    static let schema = """
        type Query { users: [User] user(id: ID!): User secret: String missions: [Mission] }
        type Mutation { makeUser(name: String!): User deleteUser(id: ID!): Boolean }
        type Subscription { onUserCreated: User! }
        type User { id: ID! name: String! friends: [User] }
        type Mission { id: ID! name: String }
        """

    static func api(resolvers: [GraphQLAPI.ResolverDocument] = [], synthetic: Bool = false) throws -> GraphQLAPI {
        try GraphQLAPI.load(
            schema: schema, schemaFile: "schema.graphql", resolvers: resolvers, synthetic: synthetic,
            loader: PolicyLoader(compiler: ContextExpressionCompiler()), options: PolicyPipelineOptions(tracing: true))
    }

    static func options(_ api: GraphQLAPI) -> PolicyPipelineOptions {
        var options = PolicyPipelineOptions(tracing: true)
        options.graphQL = api
        return options
    }

    static func post(_ query: String, headers: [PolicyHeader] = []) -> (PolicyRequest, BufferedBody) {
        let body = "{\"query\":\"\(ErrorBody.escape(query))\"}"
        return (request(method: "POST", path: "/echo/graphql", headers: [PolicyHeader("Content-Type", "application/json")] + headers), BufferedBody(body))
    }

    static let validation = """
        <validate-graphql-request error-variable-name="problems" max-size="2000" max-depth="3">
            <authorize>
                <rule path="/__*" action="reject" />
                <rule path="/Query/secret" action="remove" />
                <rule path="/Mutation/deleteUser" action="@(context.Request.Headers.ContainsKey(&quot;X-Admin&quot;) ? &quot;allow&quot; : &quot;reject&quot;)" />
                <rule path="/Mission/name" action="ignore" />
            </authorize>
        </validate-graphql-request>
        """

    func validated(_ query: String, headers: [PolicyHeader] = [], inbound extra: String = "") async throws -> (PolicyResult, [BackendRequest]) {
        let (request, body) = Self.post(query, headers: headers)
        return try await execute(document(inbound: Self.validation + extra), request, body: body, options: Self.options(try Self.api()))
    }

    @Test func aValidQueryGoesThroughUnchanged() async throws {
        let (result, sent) = try await validated("{ users { id name friends { id } } }")
        #expect(result.status == 200)
        #expect(sent.count == 1)
        #expect(ReferenceExampleRuntimeTests.sentBody(sent) == #"{"query":"{ users { id name friends { id } } }"}"#)
    }

    @Test func requestErrorsAnswerWithErrorsAndNoData() async throws {
        let deep = try await validated("{ users { friends { friends { id } } } }")
        #expect(deep.0.status == 400)
        #expect(deep.1.isEmpty)
        #expect(deep.0.bodyText == #"{"errors":[{"message":"The query exceeds the maximum depth of 3."}]}"#)
        let invalid = try await validated("{ users { age } }")
        #expect(invalid.0.status == 400)
        #expect(invalid.0.bodyText?.contains(#"Cannot query field \"age\" on type \"User\"."#) == true, "\(invalid.0.bodyText ?? "")")
        #expect(invalid.0.bodyText?.contains(#""locations":[{"line":1,"column":11}]"#) == true)
        let syntax = try await validated("{ users { id }")
        #expect(syntax.0.status == 400)
        #expect(syntax.0.bodyText?.hasPrefix(#"{"errors":[{"message":"Syntax Error"#) == true, "\(syntax.0.bodyText ?? "")")
        let large = try await validated("{ users { id } }" + String(repeating: " ", count: 2_100))
        #expect(large.0.status == 400)
        #expect(large.0.bodyText?.contains("larger than 2000 bytes") == true)
        let (request, _) = Self.post("")
        let notJSON = try await execute(document(inbound: Self.validation), request, body: BufferedBody("query=x"), options: Self.options(try Self.api()))
        #expect(notJSON.0.status == 400)
        #expect(notJSON.0.bodyText?.contains("not JSON") == true)
        #expect(notJSON.1.isEmpty)
    }

    @Test func introspectionIsRejectedByTheUnderscoreRule() async throws {
        let (result, sent) = try await validated("{ __schema { queryType { name } } }")
        #expect(result.status == 400)
        #expect(sent.isEmpty)
        #expect(result.bodyText?.contains("The field 'Query.__schema' is not authorized (rule '/__*').") == true, "\(result.bodyText ?? "")")
    }

    @Test func removedFieldsAreCutOutOfTheRequestAndRecorded() async throws {
        let (result, sent) = try await validated(
            "{ users { id } secret }",
            inbound: #"<set-header name="X-Problems" exists-action="override"><value>@(context.Variables["problems"].ToString().Replace("\r", "").Replace("\n", " "))</value></set-header>"#)
        #expect(result.status == 200, "\(String(describing: result.lastError))")
        let body = ReferenceExampleRuntimeTests.sentBody(sent) ?? ""
        #expect(body == #"{"query":"{ users { id }  }"}"#, "\(body)")
        let problems = sent.first?.headers.first { $0.name == "X-Problems" }?.value ?? ""
        #expect(problems.contains("The field 'Query.secret' was removed"), "\(problems)")
        // Removing every field leaves nothing to run: a request error.
        let empty = try await validated("{ secret }")
        #expect(empty.0.status == 400)
        #expect(empty.1.isEmpty)
    }

    @Test func anActionCanComeFromAnExpression() async throws {
        let denied = try await validated("mutation { deleteUser(id: 1) }")
        #expect(denied.0.status == 400)
        #expect(denied.1.isEmpty)
        let allowed = try await validated("mutation { deleteUser(id: 1) }", headers: [PolicyHeader("X-Admin", "1")])
        #expect(allowed.0.status == 200)
        #expect(allowed.1.count == 1)
    }

    @Test func getRequestsCarryTheQueryInTheURL() async throws {
        let good = request(method: "GET", path: "/echo/graphql", query: [("query", "{ users { id } secret }")])
        let (result, sent) = try await execute(document(inbound: Self.validation), good, options: Self.options(try Self.api()))
        #expect(result.status == 200)
        #expect(sent.first?.urlText.contains("secret") == false, "\(sent.first?.urlText ?? "")")
        let missing = request(method: "GET", path: "/echo/graphql")
        #expect(try await execute(document(inbound: Self.validation), missing, options: Self.options(try Self.api())).0.status == 400)
    }

    /// Hostile documents: 2,000 nested braces are refused before parsing; 100 KB of fields parse and validate.
    @Test func hostileDocumentsAreBounded() async throws {
        let nested = String(repeating: "{ users ", count: 2_000)
        let policy = #"<validate-graphql-request max-size="102400" />"#
        let (request, body) = Self.post(nested)
        let deep = try await execute(document(inbound: policy), request, body: body, options: Self.options(try Self.api()))
        #expect(deep.0.status == 400)
        #expect(deep.0.bodyText?.contains("nested deeper than 128 levels") == true)
        let wide = "{ users { " + String(repeating: "id ", count: 30_000) + "} }"
        let (wideRequest, wideBody) = Self.post(wide)
        let many = try await execute(document(inbound: policy), wideRequest, body: wideBody, options: Self.options(try Self.api()))
        #expect(many.0.status == 200)
    }

    @Test func withoutASchemaThePolicyFailsClosed() async throws {
        let (request, body) = Self.post("{ users { id } }")
        let (result, sent) = try await execute(document(inbound: #"<validate-graphql-request max-size="1000" />"#), request, body: body)
        #expect(result.status == 500)
        #expect(sent.isEmpty)
        #expect(result.lastError?.reason == "GraphQLSchemaMissing")
    }

    @Test func loadErrorsNameTheProblem() throws {
        func errors(_ inbound: String) -> String {
            do {
                _ = try pipeline(document(inbound: inbound))
                return ""
            } catch { return "\(error)" }
        }
        #expect(errors(#"<validate-graphql-request max-size="102401" />"#).contains("expected an integer from 1 to 102400"))
        #expect(errors(#"<validate-graphql-request />"#).contains("requires the attribute 'max-size'"))
        #expect(errors(#"<validate-graphql-request max-size="10"><authorize><rule path="Query.users" /></authorize></validate-graphql-request>"#)
            .contains("invalid path 'Query.users' in '<rule>'"))
        #expect(errors(#"<validate-graphql-request max-size="10"><authorize><rule path="/a" action="deny" /></authorize></validate-graphql-request>"#)
            .contains("expected one of 'allow', 'remove', 'reject', 'ignore'"))
        #expect(errors(#"<http-data-source><http-request><set-method>GET</set-method><set-url>http://a.example/</set-url></http-request></http-data-source>"#)
            .contains("'<http-data-source>' is a GraphQL resolver policy"))
    }

    // MARK: Synthetic APIs

    /// A data source: answers by method and path, recording what it was sent.
    final class DataSource: PolicyBackend, @unchecked Sendable {
        let lock = NSLock()
        var sent: [BackendRequest] = []
        let routes: [String: (Int, String)]
        init(_ routes: [String: (Int, String)]) { self.routes = routes }
        func send(_ request: BackendRequest) async throws -> BackendResponse {
            lock.withLock { sent.append(request) }
            guard let (status, body) = routes["\(request.method) \(request.url.path)"] else { throw PolicyBackendError.connectionFailed("refused") }
            return BackendResponse(status: status, headers: [PolicyHeader("Content-Type", "application/json")], body: BufferedBody(body))
        }
    }

    static let resolvers = [
        GraphQLAPI.ResolverDocument(type: "Query", field: "users", text: """
            <http-data-source>
                <http-request>
                    <set-method>GET</set-method>
                    <set-url>https://data.example/users</set-url>
                </http-request>
                <http-response>
                    <set-body template="liquid">[{% JSONArrayFor elem in body %}{"id": "{{elem.uid}}", "name": "{{elem.username}}"}{% endJSONArrayFor %}]</set-body>
                </http-response>
            </http-data-source>
            """, file: "users.xml"),
        GraphQLAPI.ResolverDocument(type: "Query", field: "user", text: """
            <http-data-source>
                <http-request>
                    <set-method>GET</set-method>
                    <set-url>@("https://data.example/users/" + context.GraphQL.Arguments["id"].ToString())</set-url>
                    <set-header name="X-Field" exists-action="override"><value>user</value></set-header>
                </http-request>
            </http-data-source>
            """, file: "user.xml"),
        GraphQLAPI.ResolverDocument(type: "User", field: "friends", text: """
            <http-data-source>
                <http-request>
                    <set-method>GET</set-method>
                    <set-url>@("https://data.example/users/" + context.GraphQL.Parent["id"].ToString() + "/friends")</set-url>
                </http-request>
            </http-data-source>
            """, file: "friends.xml"),
        GraphQLAPI.ResolverDocument(type: "Mutation", field: "makeUser", text: """
            <http-data-source>
                <http-request>
                    <set-method>POST</set-method>
                    <set-url>https://data.example/users</set-url>
                    <set-body template="liquid">{"name": "{{body.arguments.name}}"}</set-body>
                </http-request>
                <http-response>
                    <publish-event><targets><graphql-subscription id="onUserCreated" /></targets></publish-event>
                </http-response>
            </http-data-source>
            """, file: "make-user.xml"),
    ]

    static let source = DataSource([
        "GET /users": (200, #"[{"uid": "1", "username": "ada"}, {"uid": "2", "username": "grace"}]"#),
        "GET /users/1": (200, #"{"id": "1", "name": "ada"}"#),
        "GET /users/1/friends": (200, #"[{"id": "2", "name": "grace"}]"#),
        "GET /users/2/friends": (500, #"{"error": "down"}"#),
        "POST /users": (201, #"{"id": "3", "name": "linus"}"#),
    ])

    /// The executor's answer, its body read.
    struct Answer {
        let status: Int
        let bodyText: String?
    }

    func run(_ query: String, api: GraphQLAPI, source: DataSource = GraphQLPolicyTests.source) async throws -> Answer {
        let (request, body) = Self.post(query)
        let built = try pipeline(document(), options: Self.options(api))
        let result = await built.run(request, body: body, backend: source)
        switch result.body {
        case .bytes(let bytes): return Answer(status: result.status, bodyText: String(decoding: bytes, as: UTF8.self))
        case .backend(let stream): return Answer(status: result.status, bodyText: String(decoding: try await stream.collect(upTo: 1 << 20), as: UTF8.self))
        }
    }

    @Test func resolversAnswerFromTheirDataSources() async throws {
        let api = try Self.api(resolvers: Self.resolvers)
        let users = try await run("{ users { name id } }", api: api)
        #expect(users.status == 200)
        #expect(users.bodyText == #"{"data":{"users":[{"name":"ada","id":"1"},{"name":"grace","id":"2"}]}}"#, "\(users.bodyText ?? "")")
        let source = DataSource(Self.source.routes)
        let one = try await run(#"{ user(id: "1") { name friends { name } } }"#, api: api, source: source)
        #expect(one.bodyText == #"{"data":{"user":{"name":"ada","friends":[{"name":"grace"}]}}}"#, "\(one.bodyText ?? "")")
        #expect(source.sent.map(\.urlText) == ["https://data.example/users/1", "https://data.example/users/1/friends"])
        #expect(source.sent.first?.headers.contains { $0.name == "X-Field" && $0.value == "user" } == true)
    }

    @Test func aFailingDataSourceIsAFieldError() async throws {
        let api = try Self.api(resolvers: Self.resolvers)
        let result = try await run("{ users { name friends { id } } }", api: api)
        #expect(result.status == 200)
        let text = result.bodyText ?? ""
        #expect(text.hasPrefix(#"{"data":{"users":[{"name":"ada","friends":[{"id":"2"}]},{"name":"grace","friends":null}]},"errors":[{"message":"The resolver of 'User.friends' failed: DataSourceErrorStatusCode""#), "\(text)")
        #expect(text.contains(#""path":["users",1,"friends"]"#))
    }

    @Test func aMutationPublishesItsAnswerToSubscribers() async throws {
        let api = try Self.api(resolvers: Self.resolvers)
        let events = api.events.subscribe("onUserCreated")
        let result = try await run(#"mutation { makeUser(name: "linus") { id name } }"#, api: api)
        #expect(result.bodyText == #"{"data":{"makeUser":{"id":"3","name":"linus"}}}"#, "\(result.bodyText ?? "")")
        var iterator = events.makeAsyncIterator()
        let event = await iterator.next()
        #expect(event == GraphQLEvent(subscription: "onUserCreated", json: #"{"id": "3", "name": "linus"}"#))
        #expect(ReferenceExampleRuntimeTests.sentBody(Self.source.sent.filter { $0.method == "POST" }) == #"{"name": "linus"}"#)
    }

    @Test func invalidQueriesAndSubscriptionsAreRefusedByTheExecutor() async throws {
        let api = try Self.api(resolvers: Self.resolvers)
        let invalid = try await run("{ nothing }", api: api)
        #expect(invalid.status == 400)
        #expect(invalid.bodyText?.contains(#"Cannot query field \"nothing\" on type \"Query\"."#) == true)
        // Documents are bounded before parsing: 128 KiB of tokens parse (and are released) fine, more is refused.
        let many = try await run("{ " + String(repeating: "__typename ", count: 11_900) + "}", api: api)
        #expect(many.status == 200)
        let tooMany = try await run("{ " + String(repeating: "__typename ", count: 12_000) + "}", api: api)
        #expect(tooMany.status == 400)
        #expect(tooMany.bodyText?.contains("larger than 131072 bytes") == true)
        // Commas are ignored tokens: 120,000 of them, each a node of the parser's token list.
        let tokens = try await run("{ users { id" + String(repeating: ",", count: 120_000) + " } }", api: api)
        #expect(tokens.status == 200)
        let subscription = try await run("subscription { onUserCreated { id } }", api: api)
        #expect(subscription.status == 400)
        #expect(subscription.bodyText?.contains("WebSocket") == true)
    }

    @Test func resolverDocumentsAreCheckedAgainstTheSchema() throws {
        func problem(_ documents: [GraphQLAPI.ResolverDocument]) -> String {
            do {
                _ = try Self.api(resolvers: documents)
                return ""
            } catch { return "\(error)" }
        }
        let source = Self.resolvers[0].text
        #expect(problem([.init(type: "Query", field: "nope", text: source, file: "a.xml")]).contains("the type 'Query' has no field 'nope'"))
        #expect(problem([.init(type: "Nope", field: "x", text: source, file: "a.xml")]).contains("the schema has no object type 'Nope'"))
        let wrongTarget = Self.resolvers[3].text.replacingOccurrences(of: "onUserCreated", with: "users")
        #expect(problem([.init(type: "Mutation", field: "makeUser", text: wrongTarget, file: "m.xml")])
            .contains("publish-event target 'users' is not a field of the schema's subscription type"))
        let noURL = "<http-data-source><http-request><set-method>GET</set-method></http-request></http-data-source>"
        #expect(problem([.init(type: "Query", field: "users", text: noURL, file: "u.xml")]).contains("'<http-request>' requires '<set-url>'"))
        let policies = "<policies><inbound /></policies>"
        #expect(problem([.init(type: "Query", field: "users", text: policies, file: "p.xml")]).contains("a resolver document's root is '<http-data-source>'"))
        #expect(throws: (any Error).self) { try GraphQLAPI.load(schema: "type Query {", schemaFile: "s.graphql", resolvers: [], synthetic: false,
                                                               loader: PolicyLoader(), options: PolicyPipelineOptions()) }
    }

    @Test func jsonArrayForSeparatesItsIterationsWithCommas() async throws {
        let xml = document(outbound: #"<set-body template="liquid">[{% JSONArrayFor x in body.items %}{{x}}{% endJSONArrayFor %}]</set-body>"#)
        let backend = RecordingBackend(headers: [PolicyHeader("Content-Type", "application/json")], body: #"{"items": [1, 2, 3]}"#)
        let (result, _) = try await execute(xml, backend: backend)
        #expect(result.bodyText == "[1,2,3]")
    }
}
