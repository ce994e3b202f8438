import Crypto
import Foundation
import GatewayConfiguration
import Policies
import Testing

@testable import Gateway

/// GraphQL APIs end to end with curl: a synthetic API whose resolvers call a loopback data source, and
/// `validate-graphql-request` refusing a too-deep query, introspection and an unauthorized field.
@Suite(.serialized, .enabled(if: Curl.isAvailable, "needs /usr/bin/curl"))
struct GraphQLGatewayTests {
    static func write(_ text: String, _ suffix: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("graphql-\(UUID().uuidString).\(suffix)").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func post(_ gateway: TestGateway, _ path: String, _ json: String, headers: [String] = []) async throws -> Curl.Result {
        var arguments = SecurityProbeTests.common(gateway) + ["--http1.1", "--max-time", "10", "-H", "Content-Type: application/json"]
        for header in headers { arguments += ["-H", header] }
        return try await Curl.run(arguments + ["--data-binary", json, "\(gateway.baseURL)\(path)"])
    }

    @Test func aSyntheticAPIResolvesFieldsThroughItsDataSourceAndValidatesRequests() async throws {
        let data = try await DocumentServer.start([
            "/users": .json(#"[{"uid": "1", "username": "ada"}, {"uid": "2", "username": "grace"}]"#),
            "/users/2": .json(#"{"id": "2", "name": "grace"}"#),
        ])
        let schema = try Self.write("""
            type Query { users: [User] user(id: ID!): User secret: String }
            type User { id: ID! name: String! best: User }
            """, "graphql")
        let users = try Self.write("""
            <http-data-source>
                <http-request>
                    <set-method>GET</set-method>
                    <set-url>\(data.baseURL)/users</set-url>
                </http-request>
                <http-response>
                    <set-body template="liquid">[{% JSONArrayFor u in body %}{"id": "{{u.uid}}", "name": "{{u.username}}"}{% endJSONArrayFor %}]</set-body>
                </http-response>
            </http-data-source>
            """, "xml")
        let user = try Self.write("""
            <http-data-source>
                <http-request>
                    <set-method>GET</set-method>
                    <set-url>@("\(data.baseURL)/users/" + context.GraphQL.Arguments["id"].ToString())</set-url>
                </http-request>
            </http-data-source>
            """, "xml")
        let policy = try Self.write("""
            <policies>
              <inbound>
                <validate-graphql-request max-size="4096" max-depth="2">
                  <authorize>
                    <rule path="/__*" action="reject" />
                    <rule path="/Query/secret" action="@(context.Request.Headers.ContainsKey(&quot;X-Admin&quot;) ? &quot;allow&quot; : &quot;reject&quot;)" />
                  </authorize>
                </validate-graphql-request>
              </inbound>
              <backend><forward-request /></backend>
              <outbound />
              <on-error />
            </policies>
            """, "xml")
        defer { for file in [schema, users, user, policy] { try? FileManager.default.removeItem(atPath: file) } }
        let gateway = try await TestGateway.start(tweaking: { config, _, _ in
            var api = APIConfig(name: "graph", pathPrefix: "/graph", backendURL: GraphQLConfig.syntheticBackend, policyFile: policy)
            api.graphQL = GraphQLConfig(schemaFile: schema, resolvers: [
                GraphQLResolverConfig(type: "Query", field: "users", policyFile: users),
                GraphQLResolverConfig(type: "Query", field: "user", policyFile: user),
            ])
            config.apis.insert(api, at: 0)
        })
        let list = try await Self.post(gateway, "/graph", #"{"query": "{ users { id name } }"}"#)
        #expect(list.httpCode == 200, "\(list.stdout) \(list.stderr)")
        #expect(list.body == #"{"data":{"users":[{"id":"1","name":"ada"},{"id":"2","name":"grace"}]}}"#)
        let one = try await Self.post(gateway, "/graph", #"{"query": "query One($id: ID!) { user(id: $id) { name } }", "variables": {"id": "2"}}"#)
        #expect(one.body == #"{"data":{"user":{"name":"grace"}}}"#, "\(one.body)")
        #expect(data.requests.contains("/users/2"))
        let deep = try await Self.post(gateway, "/graph", #"{"query": "{ user(id: 2) { best { name } } }"}"#)
        #expect(deep.httpCode == 400)
        #expect(deep.body == #"{"errors":[{"message":"The query exceeds the maximum depth of 2."}]}"#)
        let introspection = try await Self.post(gateway, "/graph", #"{"query": "{ __type(name: \"User\") { name } }"}"#)
        #expect(introspection.httpCode == 400)
        #expect(introspection.body.contains("not authorized (rule '/__*')"))
        let secret = try await Self.post(gateway, "/graph", #"{"query": "{ secret }"}"#)
        #expect(secret.httpCode == 400)
        let big = try await Self.post(gateway, "/graph", #"{"query": "{ users { id } }", "pad": ""# + String(repeating: "x", count: 5_000) + "\"}")
        #expect(big.httpCode == 400)
        #expect(big.body.contains("larger than 4096 bytes"))
        // The data source is down: a field error, the rest of the answer stands.
        await data.stop()
        let down = try await Self.post(gateway, "/graph", #"{"query": "{ users { id } }"}"#)
        #expect(down.httpCode == 200)
        #expect(down.body.hasPrefix(#"{"data":{"users":null},"errors":[{"message":"The resolver of 'Query.users' failed: BackendConnectionFailure""#), "\(down.body)")
        try await gateway.stop()
    }

    @Test func aPassThroughAPIForwardsValidatedQueriesToItsGraphQLBackend() async throws {
        let schema = try Self.write("type Query { users: [User] secret: String } type User { id: ID! }", "graphql")
        let policy = try Self.write("""
            <policies>
              <inbound>
                <validate-graphql-request max-size="4096">
                  <authorize><rule path="/Query/secret" action="remove" /></authorize>
                </validate-graphql-request>
              </inbound>
              <backend><forward-request /></backend>
              <outbound />
              <on-error />
            </policies>
            """, "xml")
        defer { for file in [schema, policy] { try? FileManager.default.removeItem(atPath: file) } }
        let gateway = try await TestGateway.start(tweaking: { config, _, echoPort in
            var api = APIConfig(name: "graph", pathPrefix: "/graph", backendURL: "http://127.0.0.1:\(echoPort)", policyFile: policy)
            api.graphQL = GraphQLConfig(schemaFile: schema)
            config.apis.insert(api, at: 0)
        })
        // The echo backend describes the request it received (the body's length and digest): the query arrives
        // without the removed field.
        let answer = try await Self.post(gateway, "/graph", #"{"query": "{ users { id } secret }"}"#)
        #expect(answer.httpCode == 200, "\(answer.stdout) \(answer.stderr)")
        let forwarded = #"{"query":"{ users { id }  }"}"#
        let digest = SHA256.hash(data: Array(forwarded.utf8)).map { String(format: "%02x", $0) }.joined()
        #expect(answer.body.contains("\"bodyBytes\":\(forwarded.utf8.count),\"bodySHA256\":\"\(digest)\""), "\(answer.body)")
        let invalid = try await Self.post(gateway, "/graph", #"{"query": "{ nope }"}"#)
        #expect(invalid.httpCode == 400)
        #expect(invalid.body.contains(#"Cannot query field \"nope\" on type \"Query\"."#), "\(invalid.body)")
        try await gateway.stop()
    }

    /// A cosmosdb-data-source resolver reads an item from a loopback server playing Cosmos DB; the request it received
    /// carries the master-key signature of its verb, resource link and date.
    @Test func aCosmosDBResolverSignsItsRequests() async throws {
        let key = Data((0..<32).map { UInt8($0) })
        let cosmos = try await DocumentServer.start(["/dbs/db/colls/people/docs/7": .json(#"{"id": "7", "name": "ada", "_etag": "x"}"#)])
        let schema = try Self.write("type Query { person(id: ID!): Person } type Person { id: ID! name: String }", "graphql")
        let resolver = try Self.write("""
            <cosmosdb-data-source>
                <connection-info>
                    <connection-string>AccountEndpoint=\(cosmos.baseURL)/;AccountKey=\(key.base64EncodedString());</connection-string>
                    <database-name>db</database-name>
                    <container-name>people</container-name>
                </connection-info>
                <read-request>
                    <id>@(context.GraphQL.Arguments["id"].ToString())</id>
                    <partition-key>@(context.GraphQL.Arguments["id"].ToString())</partition-key>
                </read-request>
            </cosmosdb-data-source>
            """, "xml")
        defer { for file in [schema, resolver] { try? FileManager.default.removeItem(atPath: file) } }
        let gateway = try await TestGateway.start(tweaking: { config, _, _ in
            var api = APIConfig(name: "graph", pathPrefix: "/graph", backendURL: GraphQLConfig.syntheticBackend)
            api.graphQL = GraphQLConfig(schemaFile: schema, resolvers: [GraphQLResolverConfig(type: "Query", field: "person", policyFile: resolver)])
            config.apis.insert(api, at: 0)
        })
        let answer = try await Self.post(gateway, "/graph", #"{"query": "{ person(id: 7) { name } }"}"#)
        #expect(answer.httpCode == 200, "\(answer.stdout) \(answer.stderr)")
        #expect(answer.body == #"{"data":{"person":{"name":"ada"}}}"#, "\(answer.body)")
        let head = try #require(cosmos.requestHeads.last)
        var fields: [String: String] = [:]
        for line in head.split(separator: "\r\n").dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        #expect(head.hasPrefix("GET /dbs/db/colls/people/docs/7 "), "\(head)")
        #expect(fields["x-ms-documentdb-partitionkey"] == #"["7"]"#)
        let date = try #require(fields["x-ms-date"])
        let payload = "get\ndocs\ndbs/db/colls/people/docs/7\n\(date.lowercased())\n\n"
        let signature = Data(HMAC<SHA256>.authenticationCode(for: Array(payload.utf8), using: SymmetricKey(data: key))).base64EncodedString()
        let unreserved = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
        #expect(fields["authorization"] == "type=master&ver=1.0&sig=\(signature)".addingPercentEncoding(withAllowedCharacters: unreserved))
        try await gateway.stop()
        await cosmos.stop()
    }
}
