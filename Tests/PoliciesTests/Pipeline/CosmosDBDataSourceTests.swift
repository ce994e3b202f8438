import Crypto
import Foundation
import Testing

@testable import Policies

/// `cosmosdb-data-source` resolvers against a backend playing Cosmos DB's REST API: it checks each request's
/// master-key signature (HMAC-SHA256 of verb, resource type, resource link and date, with the account key) and
/// answers queries, reads, writes and deletes.
@Suite struct CosmosDBDataSourceTests {
    static let key = Array(repeating: UInt8(7), count: 32)
    static var keyText: String { Data(key).base64EncodedString() }

    /// Cosmos DB: refuses (401) a request whose signature does not verify.
    final class Cosmos: PolicyBackend, @unchecked Sendable {
        let lock = NSLock()
        var sent: [BackendRequest] = []

        static func expectedAuthorization(method: String, link: String, date: String) -> String {
            let payload = "\(method.lowercased())\ndocs\n\(link)\n\(date.lowercased())\n\n"
            let signature = HMAC<SHA256>.authenticationCode(for: Array(payload.utf8), using: SymmetricKey(data: CosmosDBDataSourceTests.key))
            return "type=master&ver=1.0&sig=\(Data(signature).base64EncodedString())"
                .addingPercentEncoding(withAllowedCharacters: CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")) ?? ""
        }

        func send(_ request: BackendRequest) async throws -> BackendResponse {
            lock.withLock { sent.append(request) }
            func header(_ name: String) -> String? { request.headers.first { $0.name.lowercased() == name.lowercased() }?.value }
            let path = request.url.path
            let item = path.hasPrefix("/dbs/db/colls/people/docs/")
            let link = String(path.dropFirst())
            let signedLink = item ? link : "dbs/db/colls/people"
            guard let date = header("x-ms-date"), header("Authorization") == Self.expectedAuthorization(method: request.method, link: signedLink, date: date),
                header("x-ms-version") == "2018-12-31"
            else { return BackendResponse(status: 401, body: BufferedBody(#"{"code":"Unauthorized"}"#)) }
            switch (request.method, item) {
            case ("POST", false) where header("x-ms-documentdb-isquery") == "True":
                return BackendResponse(status: 200, body: BufferedBody(#"{"_rid":"x","Documents":[{"id":"1","name":"ada"},{"id":"2","name":"grace"}],"_count":2}"#))
            case ("POST", false):
                guard case .bytes(let bytes) = request.body else { return BackendResponse(status: 400) }
                return BackendResponse(status: 201, body: BufferedBody(bytes))
            case ("GET", true): return BackendResponse(status: 200, body: BufferedBody(#"{"id":"1","name":"ada","_etag":"\"e1\""}"#))
            case ("DELETE", true): return BackendResponse(status: 204)
            default: return BackendResponse(status: 400)
            }
        }
    }

    static let schema = """
        type Query { people(name: String): [Person] person(id: ID!): Person }
        type Mutation { savePerson(id: ID!, name: String!): Person removePerson(id: ID!): Boolean }
        type Person { id: ID! name: String }
        """

    static func connection(_ extra: String = "") -> String {
        """
        <connection-info>
            <connection-string>AccountEndpoint=https://contoso.documents.example:443/;AccountKey=\(keyText);</connection-string>
            <database-name>db</database-name>
            <container-name>people</container-name>
        </connection-info>
        """
    }

    static let resolvers = [
        GraphQLAPI.ResolverDocument(type: "Query", field: "people", text: """
            <cosmosdb-data-source>
                \(connection())
                <query-request>
                    <sql-statement>SELECT * FROM c WHERE c.name = @name</sql-statement>
                    <parameters><parameter name="@name">@(context.GraphQL.Arguments["name"])</parameter></parameters>
                    <paging><max-item-count>10</max-item-count><continuation-token></continuation-token></paging>
                </query-request>
            </cosmosdb-data-source>
            """, file: "people.xml"),
        GraphQLAPI.ResolverDocument(type: "Query", field: "person", text: """
            <cosmosdb-data-source>
                \(connection())
                <read-request>
                    <id>@(context.GraphQL.Arguments["id"].ToString())</id>
                    <partition-key>@(context.GraphQL.Arguments["id"].ToString())</partition-key>
                </read-request>
            </cosmosdb-data-source>
            """, file: "person.xml"),
        GraphQLAPI.ResolverDocument(type: "Mutation", field: "savePerson", text: """
            <cosmosdb-data-source>
                \(connection())
                <write-request type="upsert" pre-trigger="validateInput" consistency-level="session">
                    <partition-key>@(context.GraphQL.Arguments["id"].ToString())</partition-key>
                    <set-body template="liquid">{"id": "{{body.arguments.id}}", "name": "{{body.arguments.name}}"}</set-body>
                </write-request>
            </cosmosdb-data-source>
            """, file: "save.xml"),
        GraphQLAPI.ResolverDocument(type: "Mutation", field: "removePerson", text: """
            <cosmosdb-data-source>
                \(connection())
                <delete-request>
                    <id>@(context.GraphQL.Arguments["id"].ToString())</id>
                    <partition-key>@(context.GraphQL.Arguments["id"].ToString())</partition-key>
                    <etag type="match">"e1"</etag>
                </delete-request>
                <response><set-body>true</set-body></response>
            </cosmosdb-data-source>
            """, file: "remove.xml"),
    ]

    func run(_ query: String, _ cosmos: Cosmos) async throws -> String {
        let api = try GraphQLAPI.load(
            schema: Self.schema, schemaFile: "s.graphql", resolvers: Self.resolvers, synthetic: true,
            loader: PolicyLoader(compiler: ContextExpressionCompiler()), options: PolicyPipelineOptions())
        var options = PolicyPipelineOptions()
        options.graphQL = api
        let built = try pipeline(document(), options: options)
        let body = BufferedBody("{\"query\":\"\(ErrorBody.escape(query))\"}")
        let result = await built.run(request(method: "POST", headers: [PolicyHeader("Content-Type", "application/json")]), body: body, backend: cosmos)
        switch result.body {
        case .bytes(let bytes): return String(decoding: bytes, as: UTF8.self)
        case .backend(let source): return String(decoding: try await source.collect(upTo: 1 << 20), as: UTF8.self)
        }
    }

    @Test func queriesAreSignedAndAnswerTheDocuments() async throws {
        let cosmos = Cosmos()
        let answer = try await run(#"{ people(name: "ada") { id name } }"#, cosmos)
        #expect(answer == #"{"data":{"people":[{"id":"1","name":"ada"},{"id":"2","name":"grace"}]}}"#, "\(answer)")
        let sent = try #require(cosmos.sent.first)
        #expect(sent.urlText == "https://contoso.documents.example:443/dbs/db/colls/people/docs")
        #expect(ReferenceExampleRuntimeTests.sentBody([sent]) == #"{"query":"SELECT * FROM c WHERE c.name = @name","parameters":[{"name":"@name","value":"ada"}]}"#)
        #expect(sent.headers.contains { $0.name == "x-ms-documentdb-query-enablecrosspartition" && $0.value == "True" })
        #expect(sent.headers.contains { $0.name == "x-ms-max-item-count" && $0.value == "10" })
    }

    @Test func readsWritesAndDeletesAddressTheItem() async throws {
        let cosmos = Cosmos()
        #expect(try await run(#"{ person(id: "1") { name } }"#, cosmos) == #"{"data":{"person":{"name":"ada"}}}"#)
        #expect(cosmos.sent.last?.urlText == "https://contoso.documents.example:443/dbs/db/colls/people/docs/1")
        #expect(cosmos.sent.last?.headers.contains { $0.name == "x-ms-documentdb-partitionkey" && $0.value == #"["1"]"# } == true)
        let saved = try await run(#"mutation { savePerson(id: "3", name: "linus") { id name } }"#, cosmos)
        #expect(saved == #"{"data":{"savePerson":{"id":"3","name":"linus"}}}"#, "\(saved)")
        let write = try #require(cosmos.sent.last)
        for (name, value) in [("x-ms-documentdb-is-upsert", "True"), ("x-ms-documentdb-pre-trigger-include", "validateInput"), ("x-ms-consistency-level", "Session")] {
            #expect(write.headers.contains { $0.name == name && $0.value == value }, "\(name)")
        }
        let removed = try await run(#"mutation { removePerson(id: "1") }"#, cosmos)
        #expect(removed == #"{"data":{"removePerson":true}}"#, "\(removed)")
        #expect(cosmos.sent.last?.method == "DELETE")
        #expect(cosmos.sent.last?.headers.contains { $0.name == "If-Match" && $0.value == #""e1""# } == true)
    }

    @Test func aWrongKeyIsAFieldError() async throws {
        final class WrongKey: PolicyBackend, @unchecked Sendable {
            func send(_ request: BackendRequest) async throws -> BackendResponse { BackendResponse(status: 401) }
        }
        let api = try GraphQLAPI.load(
            schema: Self.schema, schemaFile: "s.graphql", resolvers: [Self.resolvers[1]], synthetic: true,
            loader: PolicyLoader(compiler: ContextExpressionCompiler()), options: PolicyPipelineOptions())
        var options = PolicyPipelineOptions()
        options.graphQL = api
        let result = await (try pipeline(document(), options: options)).run(
            request(method: "POST", headers: [PolicyHeader("Content-Type", "application/json")]),
            body: BufferedBody(#"{"query":"{ person(id: 1) { name } }"}"#), backend: WrongKey())
        guard case .backend(let source) = result.body else { Issue.record("no body"); return }
        let text = String(decoding: try await source.collect(upTo: 1 << 20), as: UTF8.self)
        #expect(text.contains("The resolver of 'Query.person' failed: CosmosDBErrorStatusCode"), "\(text)")
    }

    @Test func loadErrorsNameTheProblem() {
        func problem(_ body: String) -> String {
            do {
                _ = try GraphQLAPI.resolverPipeline("<cosmosdb-data-source>\(body)</cosmosdb-data-source>", file: "c.xml",
                                                    loader: PolicyLoader(compiler: ContextExpressionCompiler()), options: PolicyPipelineOptions())
                return ""
            } catch { return "\(error)" }
        }
        let read = "<read-request><id>1</id></read-request>"
        #expect(problem(read).contains("requires '<connection-info>'"))
        #expect(problem(Self.connection() + "<read-request /><delete-request><id>1</id></delete-request>").contains("exactly one of"))
        #expect(problem(Self.connection().replacingOccurrences(of: Self.keyText, with: "not*base64") + read).contains("is not base64"))
        #expect(problem(Self.connection().replacingOccurrences(of: "AccountKey=\(Self.keyText);", with: "") + read).contains("requires 'AccountKey='"))
        #expect(problem(Self.connection() + "<read-request></read-request>").contains("'<read-request>' requires '<id>'"))
        #expect(problem(Self.connection() + #"<read-request><id template="liquid">1</id></read-request>"#)
            .contains("is not supported yet"))
        #expect(problem(Self.connection() + #"<query-request><parameters><parameter name="x">1</parameter></parameters></query-request>"#)
            .contains("starts with '@'"))
        #expect(problem(Self.connection() + #"<write-request type="replace"><set-body>{}</set-body></write-request>"#).contains("requires '<id>'"))
        #expect(problem(Self.connection() + #"<write-request pre-trigger="a&#10;X-Injected: 1"><set-body>{}</set-body></write-request>"#)
            .contains("must be a trigger id"))
        let managed = Self.connection().replacingOccurrences(of: "<connection-string>", with: #"<connection-string use-managed-identity="true">"#)
            .replacingOccurrences(of: "AccountKey=\(Self.keyText);", with: "")
        #expect(problem(managed + read) == "")
    }
}
